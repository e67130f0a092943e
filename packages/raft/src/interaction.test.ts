import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseCommand, parseTestFile, renderTestFile } from "./interaction/datadriven.js";
import { InteractionEnv } from "./interaction/env.js";

// Interaction scripts: testdata/*.txt. Set RAFT_REWRITE=1 to regenerate expected output, then
// review the diff: the scripts are the specification.
const testdata = join(dirname(fileURLToPath(import.meta.url)), "..", "testdata");
const rewrite = process.env.RAFT_REWRITE === "1";
const files = readdirSync(testdata)
  .filter((f) => f.endsWith(".txt"))
  .sort();

describe("interaction scripts", () => {
  it("finds the scripts", () => {
    expect(files.length).toBeGreaterThanOrEqual(11);
  });

  for (const file of files) {
    it(file, () => {
      const path = join(testdata, file);
      const cases = parseTestFile(readFileSync(path, "utf8"), file);
      expect(cases.length).toBeGreaterThan(0);
      const env = new InteractionEnv();
      const results = cases.map((c) => ({ ...c, output: env.handle(parseCommand(c.command)) }));
      if (rewrite) {
        writeFileSync(path, renderTestFile(results));
        return;
      }
      for (const r of results) {
        expect(r.output, `${file}:${r.line}: ${r.command}`).toBe(r.expected);
      }
    });
  }
});
