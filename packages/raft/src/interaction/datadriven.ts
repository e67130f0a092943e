/**
 * A tiny data-driven test format (after cockroachdb/datadriven, as etcd's raft uses it):
 *
 *   # comment
 *   command arg key=value key=(1,2,3)
 *   ----
 *   expected output line
 *   expected output line
 *   <blank line ends the case>
 *
 * Expected output may not contain blank lines. Pure string handling: the test file does the I/O.
 */

export interface TestCase {
  /** 1-based line of the command. */
  readonly line: number;
  /** Comment lines just before the command, kept when rewriting. */
  readonly comments: readonly string[];
  readonly command: string;
  readonly expected: string;
}

export interface CommandArgs {
  readonly name: string;
  readonly positional: readonly string[];
  readonly named: ReadonlyMap<string, string>;
}

export function parseTestFile(text: string, fileName: string): TestCase[] {
  const lines = text.split("\n");
  const cases: TestCase[] = [];
  let comments: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === "") {
      i++;
      continue;
    }
    if (line.startsWith("#")) {
      comments.push(line);
      i++;
      continue;
    }
    const commandLine = i + 1;
    const sep = lines[i + 1];
    if (sep !== "----") throw new Error(`${fileName}:${commandLine + 1}: expected "----" after "${line}"`);
    i += 2;
    const out: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== "") out.push(lines[i++]!);
    cases.push({ line: commandLine, comments, command: line, expected: out.join("\n") });
    comments = [];
  }
  return cases;
}

export function renderTestFile(
  cases: ReadonlyArray<{ comments: readonly string[]; command: string; output: string }>,
): string {
  const parts = cases.map((c) => {
    const lines = [...c.comments, c.command, "----"];
    if (c.output !== "") lines.push(c.output);
    return lines.join("\n");
  });
  return `${parts.join("\n\n")}\n`;
}

/** Splits `cmd a b=c d=(1,2)` into name, positional and named arguments. */
export function parseCommand(command: string): CommandArgs {
  const tokens = command.trim().split(/\s+/);
  const name = tokens.shift() ?? "";
  const positional: string[] = [];
  const named = new Map<string, string>();
  for (const t of tokens) {
    const eq = t.indexOf("=");
    if (eq > 0) named.set(t.slice(0, eq), t.slice(eq + 1));
    else positional.push(t);
  }
  return { name, positional, named };
}

/** `(1,2,3)` or `1,2,3` → [1, 2, 3]; `()` → []. */
export function parseIdList(v: string): number[] {
  const inner = v.replace(/^\(/, "").replace(/\)$/, "").trim();
  if (inner === "") return [];
  return inner.split(",").map((s) => {
    const n = Number(s.trim());
    if (!Number.isSafeInteger(n)) throw new Error(`bad id list ${v}`);
    return n;
  });
}
