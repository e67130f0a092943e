/**
 * `enigma verify --bucket` through the CLI: objects written by the engine into a config dir, then
 * verified by the `enigma` process: exit 0 with the JSON report, exit 4 naming the object once a
 * chunk file is corrupted, exit 6 for an unknown bucket and exit 2 for a bad combination of
 * arguments.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEnigma } from "../support/cli.js";
import { openTestEngine, putBytes, TEST_PASSPHRASE } from "../support/engine.js";

const dir = mkdtempSync(join(tmpdir(), "enigma-verify-objects-"));
const env = { ENIGMA_CONFIG_DIR: dir, ENIGMA_PASSPHRASE: TEST_PASSPHRASE };
const enigma = (args: string[]) => runEnigma(args, { env });

interface Report {
  ok: boolean;
  objectsChecked: number;
  etagsChecked: number;
  bytesChecked: number;
  problems: string[];
}

beforeAll(async () => {
  const t = await openTestEngine({ dir, chunkSize: "16KiB" });
  try {
    await t.engine.committer.propose({ type: "CreateBucket", bucket: "photos", createdAtMs: 1 });
    await putBytes(t.engine, "photos", "2026/a.jpg", randomBytes(90 * 1024));
    await putBytes(t.engine, "photos", "2026/b.jpg", randomBytes(10 * 1024));
  } finally {
    await t.engine.close();
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The chunk files under the data dir, largest first (a.jpg's 16 KiB chunks lead). */
function chunkFiles(): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (/^[0-9a-f]{80}$/.test(e.name)) out.push(p);
    }
  };
  visit(dir);
  return out.sort((x, y) => statSync(y).size - statSync(x).size);
}

describe("enigma verify --bucket", () => {
  it("verifies every object and prints a JSON report", async () => {
    const r = await enigma(["verify", "--bucket", "photos", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.toString()) as Report;
    expect(report).toMatchObject({ ok: true, objectsChecked: 2, etagsChecked: 2, bytesChecked: 100 * 1024 });
  });

  it("refuses unknown buckets (6) and ambiguous arguments (2)", async () => {
    expect((await enigma(["verify", "--bucket", "nope"])).code).toBe(6);
    expect((await enigma(["verify"])).code).toBe(2);
    expect((await enigma(["verify", "some-backup", "--bucket", "photos"])).code).toBe(2);
    expect((await enigma(["verify", "some-backup", "--prefix", "x"])).code).toBe(2);
  });

  it("exits 4 and names the object whose chunk was corrupted", async () => {
    const files = chunkFiles();
    expect(files.length).toBeGreaterThanOrEqual(3);
    const victim = files[0]!;
    const blob = readFileSync(victim);
    blob.writeUInt8(blob.readUInt8(100) ^ 1, 100);
    writeFileSync(victim, blob);
    const r = await enigma(["verify", "--bucket", "photos", "--prefix", "2026/", "--json"]);
    expect(r.code).toBe(4);
    const report = JSON.parse(r.stdout.toString()) as Report;
    expect(report.ok).toBe(false);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(/^photos\/2026\/a\.jpg chunk #\d+ /);
  });
});
