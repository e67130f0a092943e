import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The core must stay pure: no I/O, no timers, no clock, no ambient randomness. This check covers
// every source file under src/ except tests (*.test.ts) and the simulator's CLI entry point
// (src/sim/main.ts, which reads argv and sets the exit code).
const srcDir = dirname(fileURLToPath(import.meta.url));
const EXEMPT = new Set(["sim/main.ts"]);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

/** Drops comments, so prose may mention what code may not use. */
function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

const FORBIDDEN: ReadonlyArray<[RegExp, string]> = [
  [/\bfrom\s+["']node:/, "node:* import"],
  [/\bimport\s*\(/, "dynamic import"],
  [/\brequire\s*\(/, "require()"],
  [/\b(setTimeout|setInterval|setImmediate|clearTimeout|clearInterval|queueMicrotask)\b/, "timer"],
  [/\bDate\b/, "Date"],
  [/\bMath\.random\b/, "Math.random"],
  [/\bperformance\b/, "performance clock"],
  [/\bprocess\s*\./, "process"],
  [/\bcrypto\b/, "ambient crypto randomness"],
];

export function violations(relPath: string, code: string): string[] {
  const stripped = stripComments(code);
  const out: string[] = [];
  for (const [re, what] of FORBIDDEN) if (re.test(stripped)) out.push(`${relPath}: ${what}`);
  // Only relative imports: the package depends on nothing, not even node built-ins.
  for (const m of stripped.matchAll(/\bfrom\s+["']([^"']+)["']/g)) {
    if (!m[1]!.startsWith("./") && !m[1]!.startsWith("../")) out.push(`${relPath}: imports ${m[1]}`);
  }
  return out;
}

describe("purity of packages/raft", () => {
  const files = sourceFiles(srcDir).filter((f) => !EXEMPT.has(relative(srcDir, f)));

  it("checks the core and the simulator", () => {
    const rel = files.map((f) => relative(srcDir, f));
    expect(rel).toContain("raft.ts");
    expect(rel).toContain("sim/sim.ts");
  });

  it("has no I/O, timers, clock or ambient randomness", () => {
    const found = files.flatMap((f) => violations(relative(srcDir, f), readFileSync(f, "utf8")));
    expect(found).toEqual([]);
  });

  it("the check itself flags each forbidden use", () => {
    const bad = [
      'import { readFileSync } from "node:fs";',
      "setTimeout(() => {}, 1);",
      "const now = Date.now();",
      "const x = Math.random();",
      'import { z } from "zod";',
      "const t = performance.now();",
      "const argv = process.argv;",
    ];
    for (const line of bad) expect(violations("x.ts", line), line).not.toEqual([]);
    expect(
      violations("x.ts", "// Math.random and Date are mentioned only in a comment\nconst a = 1;"),
    ).toEqual([]);
  });
});
