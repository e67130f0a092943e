/**
 * A tiny, strict reader for the YAML subset the files under deploy/ are written in. The repository
 * has no YAML dependency; rather than add one for tests, the manifests keep to constructs this
 * reader handles and it refuses everything else loudly (so a manifest that drifts out of the
 * subset fails its test instead of being half-read):
 *
 * - documents separated by `---` lines; comments (`#` at line start or after a space)
 * - block mappings (`key: value`, plain or quoted keys; duplicate keys are errors)
 * - block sequences (`- item`, including `- key: value` starting a mapping item)
 * - scalars: plain, 'single' and "double" quoted (\\ \" \n \t \$ escapes), `|` / `|-` literal block
 *   scalars; `true`/`false`, `null`/`~`, integers, decimals; `0440`-style integers are octal, as
 *   kubectl's YAML 1.1 reader takes them
 * - anchors (`&name`), aliases (`*name`) and merge keys (`<<: *name`), as docker compose uses them
 * - the empty flow collections `[]` and `{}`
 *
 * Refused: tabs in indentation, other flow collections, tags (`!`), complex keys (`?`), folded
 * scalars (`>`), multi-line plain scalars, and plain scalars YAML 1.1 would read differently from
 * YAML 1.2 (`yes`/`no`/`on`/`off`, `1:30`-style sexagesimals): those must be quoted.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlLiteError extends Error {
  constructor(message: string, line: number) {
    super(`yaml-lite: line ${line}: ${message}`);
    this.name = "YamlLiteError";
  }
}

/** Parses every non-empty document of a (multi-document) YAML text. */
export function parseYamlDocuments(text: string): YamlValue[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const docs: YamlValue[] = [];
  let start = 0;
  for (let i = 0; i <= lines.length; i++) {
    const line = lines[i];
    if (i === lines.length || (line !== undefined && /^---(\s+#.*)?\s*$/.test(line))) {
      const doc = new Parser(lines.slice(start, i), start).parseDocument();
      if (doc !== null) docs.push(doc);
      start = i + 1;
    }
  }
  return docs;
}

/** Parses a text holding exactly one document. */
export function parseYaml(text: string): YamlValue {
  const docs = parseYamlDocuments(text);
  if (docs.length !== 1) throw new YamlLiteError(`expected one document, found ${docs.length}`, 1);
  return docs[0] as YamlValue;
}

const AMBIGUOUS_PLAIN = /^(y|n|yes|no|on|off|true|false|null)$/i;
const SEXAGESIMAL = /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/;

class Parser {
  private i = 0;
  private readonly anchors = new Map<string, YamlValue>();

  constructor(
    private readonly lines: string[],
    private readonly firstLine: number,
  ) {}

  parseDocument(): YamlValue {
    this.skipBlank();
    if (this.i >= this.lines.length) return null;
    const indent = this.indentOf(this.i);
    if (indent !== 0) this.fail("a document must start at column 0");
    const value = this.parseNode(0);
    this.skipBlank();
    if (this.i < this.lines.length) this.fail("unexpected content (bad indentation?)");
    return value;
  }

  private fail(message: string, at = this.i): never {
    throw new YamlLiteError(message, this.firstLine + at + 1);
  }

  private line(at = this.i): string {
    return this.lines[at] ?? "";
  }

  private indentOf(at: number): number {
    const line = this.line(at);
    const m = /^( *)(\t?)/.exec(line);
    if (m?.[2]) this.fail("tab in indentation", at);
    return m?.[1]?.length ?? 0;
  }

  private isBlank(at: number): boolean {
    const t = this.line(at).trim();
    return t === "" || t.startsWith("#");
  }

  private skipBlank(): void {
    while (this.i < this.lines.length && this.isBlank(this.i)) this.i++;
  }

  /** Parses the block node whose first line is the next non-blank line, which sits at `indent`. */
  private parseNode(indent: number): YamlValue {
    this.skipBlank();
    const content = this.line().slice(indent);
    if (content === "-" || content.startsWith("- ")) return this.parseSequence(indent);
    return this.parseMapping(indent);
  }

  private parseSequence(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (;;) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const ind = this.indentOf(this.i);
      if (ind < indent) break;
      if (ind > indent) this.fail("bad indentation in sequence");
      const content = this.line().slice(indent);
      if (!(content === "-" || content.startsWith("- "))) break;
      const rest = content.slice(1);
      const body = rest.trimStart();
      const bodyIndent = indent + 1 + (rest.length - body.length);
      if (stripComment(body) === "") {
        this.i++;
        out.push(this.childNode(indent));
      } else if (findMapColon(stripComment(body)) >= 0) {
        // `- key: value`: a mapping item whose keys line up with this first key.
        this.lines[this.i] = " ".repeat(bodyIndent) + body;
        out.push(this.parseMapping(bodyIndent));
      } else {
        out.push(this.inlineValue(body, indent));
      }
    }
    return out;
  }

  private parseMapping(indent: number): { [key: string]: YamlValue } {
    const explicit: { [key: string]: YamlValue } = {};
    let merged: { [key: string]: YamlValue } = {};
    const seen = new Set<string>();
    for (;;) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const ind = this.indentOf(this.i);
      if (ind < indent) break;
      if (ind > indent) this.fail("bad indentation in mapping");
      const content = stripComment(this.line().slice(indent));
      if (content === "-" || content.startsWith("- ")) break; // a sequence at the parent key's indent ends here
      if (/^[?!>[{]/.test(content)) this.fail(`unsupported construct: ${content}`);
      const colon = findMapColon(content);
      if (colon < 0) this.fail(`expected "key: value", got ${JSON.stringify(content)}`);
      const key = parseKey(content.slice(0, colon), () => this.fail("bad key"));
      const rawValue = this.line()
        .slice(indent + colon + 1)
        .trimStart();
      if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
      seen.add(key);
      let value: YamlValue;
      if (stripComment(rawValue) === "") {
        this.i++;
        value = this.childNode(indent, true);
      } else {
        value = this.inlineValue(rawValue, indent);
      }
      if (key === "<<") {
        const sources = Array.isArray(value) ? value : [value];
        for (const src of sources) {
          if (src === null || typeof src !== "object" || Array.isArray(src))
            this.fail("merge key needs a mapping alias", this.i - 1);
          merged = { ...merged, ...src };
        }
      } else {
        explicit[key] = value;
      }
    }
    // Explicit keys win over merged ones, wherever they appear.
    for (const k of Object.keys(explicit)) delete merged[k];
    return { ...merged, ...explicit };
  }

  /** The block node nested under a `key:` / `-` line at `parentIndent`; null when there is none. */
  private childNode(parentIndent: number, allowSameIndentSequence = false): YamlValue {
    this.skipBlank();
    if (this.i >= this.lines.length) return null;
    const ind = this.indentOf(this.i);
    const content = this.line().slice(ind);
    const isSeq = content === "-" || content.startsWith("- ");
    if (ind > parentIndent || (allowSameIndentSequence && ind === parentIndent && isSeq)) {
      return this.parseNode(ind);
    }
    return null;
  }

  /** A value written after `key:` or `- ` on the same line (the line at this.i). */
  private inlineValue(raw: string, parentIndent: number): YamlValue {
    let text = raw;
    let anchor: string | undefined;
    const anchorMatch = /^&([A-Za-z0-9_-]+)(\s+|$)/.exec(text);
    if (anchorMatch) {
      anchor = anchorMatch[1];
      text = text.slice(anchorMatch[0].length);
    }
    const bare = stripComment(text);
    let value: YamlValue;
    if (bare === "") {
      this.i++;
      value = this.childNode(parentIndent, true);
    } else if (/^\|[-]?$/.test(bare)) {
      this.i++;
      value = this.blockScalar(parentIndent, bare === "|-");
    } else if (bare.startsWith("*")) {
      const name = bare.slice(1);
      if (!this.anchors.has(name)) this.fail(`unknown alias *${name}`);
      value = structuredClone(this.anchors.get(name) as YamlValue);
      this.i++;
    } else {
      value = this.scalar(bare);
      this.i++;
    }
    if (anchor !== undefined) this.anchors.set(anchor, value);
    return value;
  }

  private blockScalar(parentIndent: number, strip: boolean): string {
    const body: string[] = [];
    let contentIndent = -1;
    while (this.i < this.lines.length) {
      const line = this.line();
      if (line.trim() === "") {
        body.push("");
        this.i++;
        continue;
      }
      const ind = this.indentOf(this.i);
      if (contentIndent < 0) {
        if (ind <= parentIndent) break;
        contentIndent = ind;
      }
      if (ind < contentIndent) break;
      body.push(line.slice(contentIndent));
      this.i++;
    }
    // Trailing blank lines belong to the chomping, not the content; give them back to the parser.
    let end = body.length;
    while (end > 0 && body[end - 1] === "") end--;
    this.i -= body.length - end;
    const text = body.slice(0, end).join("\n");
    return strip || text === "" ? text : `${text}\n`;
  }

  private scalar(text: string): YamlValue {
    if (text.startsWith('"'))
      return parseDoubleQuoted(text, () => this.fail(`bad double-quoted string ${text}`));
    if (text.startsWith("'"))
      return parseSingleQuoted(text, () => this.fail(`bad single-quoted string ${text}`));
    if (text === "[]") return [];
    if (text === "{}") return {};
    if (/^[[{!&*|>%@`]/.test(text)) this.fail(`unsupported construct: ${text}`);
    if (text === "true") return true;
    if (text === "false") return false;
    if (text === "null" || text === "~") return null;
    if (AMBIGUOUS_PLAIN.test(text)) this.fail(`ambiguous plain scalar ${text}: quote it`);
    if (SEXAGESIMAL.test(text)) this.fail(`${text} is a YAML 1.1 sexagesimal number: quote it`);
    if (/^0[0-7]+$/.test(text)) return Number.parseInt(text, 8);
    if (/^[-+]?(0|[1-9][0-9]*)$/.test(text)) return Number(text);
    if (/^[-+]?[0-9]+\.[0-9]+$/.test(text)) return Number(text);
    if (/^0[0-9]+$/.test(text)) this.fail(`${text}: not an octal number; quote it`);
    if (/:\s|\s#/.test(text)) this.fail(`plain scalar ${JSON.stringify(text)} needs quotes`);
    return text;
  }
}

/** Removes a trailing ` # comment` outside quotes, and trailing spaces. */
function stripComment(text: string): string {
  let quote: string | undefined;
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if (quote) {
      if (c === "\\" && quote === '"') k++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      if (k === 0 || /[\s:[{,-]/.test(text[k - 1] ?? "")) quote = c;
    } else if (c === "#" && (k === 0 || /\s/.test(text[k - 1] ?? ""))) {
      return text.slice(0, k).trimEnd();
    }
  }
  return text.trimEnd();
}

/** Index of the `:` that ends a mapping key (followed by a space or the end), or -1. */
function findMapColon(text: string): number {
  let quote: string | undefined;
  if (text.startsWith('"') || text.startsWith("'")) {
    quote = text[0];
    for (let k = 1; k < text.length; k++) {
      const c = text[k];
      if (c === "\\" && quote === '"') k++;
      else if (c === quote) {
        if (quote === "'" && text[k + 1] === "'") {
          k++;
          continue;
        }
        return text[k + 1] === ":" && (k + 2 === text.length || text[k + 2] === " ") ? k + 1 : -1;
      }
    }
    return -1;
  }
  for (let k = 0; k < text.length; k++) {
    if (text[k] === ":" && (k + 1 === text.length || text[k + 1] === " ")) return k;
  }
  return -1;
}

function parseKey(raw: string, fail: () => never): string {
  const t = raw.trim();
  if (t.startsWith('"')) return parseDoubleQuoted(t, fail);
  if (t.startsWith("'")) return parseSingleQuoted(t, fail);
  if (t === "" || /^[-[{&*!|>'"%@`]/.test(t.replace(/^<<$/, "x"))) fail();
  return t;
}

function parseDoubleQuoted(text: string, fail: () => never): string {
  if (text.length < 2 || !text.endsWith('"')) fail();
  let out = "";
  for (let k = 1; k < text.length - 1; k++) {
    const c = text[k];
    if (c === '"') fail();
    if (c !== "\\") {
      out += c;
      continue;
    }
    k++;
    const e = text[k];
    const map: Record<string, string> = {
      n: "\n",
      t: "\t",
      '"': '"',
      "\\": "\\",
      "/": "/",
      $: "$",
      "0": "\0",
    };
    const v = e === undefined ? undefined : map[e];
    if (v === undefined) fail();
    out += v;
  }
  return out;
}

function parseSingleQuoted(text: string, fail: () => never): string {
  if (text.length < 2 || !text.endsWith("'")) fail();
  const inner = text.slice(1, -1);
  if (/'(?!')/.test(inner.replace(/''/g, ""))) fail();
  return inner.replace(/''/g, "'");
}
