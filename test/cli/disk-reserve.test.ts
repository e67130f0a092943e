/**
 * The free-space reserve from the CLI: a Local provider whose `min_free_space` is larger than its
 * disk refuses the backup's first chunk; `enigma backup` exits 5 (storage) with one line naming
 * the reserve, and the backup is not listed as complete. With the reserve lowered the same backup
 * runs to completion and verifies.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runEnigma } from "../support/cli.js";

const PASS = "correct horse battery staple";
const work = mkdtempSync(join(tmpdir(), "enigma-reserve-"));
const configDir = join(work, "cfg");
const env = { ENIGMA_CONFIG_DIR: configDir, ENIGMA_PASSPHRASE: PASS };
const enigma = (args: string[]) => runEnigma(args, { env });

function writeConfig(minFree: string): void {
  writeFileSync(
    join(configDir, "enigma.toml"),
    [
      "[enigma]",
      'chunk_size = "64KiB"',
      "",
      "[[providers]]",
      'name = "disk"',
      'type = "Local"',
      'bucket = "chunks"',
      `min_free_space = "${minFree}"`,
      "",
    ].join("\n"),
  );
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("backup at the free-space reserve", () => {
  it("exits 5 naming the reserve, then completes once the reserve allows it", async () => {
    mkdirSync(configDir, { recursive: true });
    writeConfig("100000GiB");
    expect((await enigma(["init"])).code).toBe(0);
    const src = join(work, "src");
    mkdirSync(src);
    writeFileSync(join(src, "data.bin"), randomBytes(300 * 1024));

    const refused = await enigma(["backup", src, "--name", "docs"]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/reserve \(min_free_space\)/);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    // `enigma status` shows the disk under the provider as full against its reserve.
    const status = await enigma(["status", "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const disk = (
      JSON.parse(status.stdout.toString()) as {
        providers: { name: string; availableBytes: number; reserveBytes: number; directIo: boolean }[];
      }
    ).providers[0]!;
    expect(disk).toMatchObject({ name: "disk", reserveBytes: 100_000 * 1024 ** 3 });
    expect(disk.availableBytes).toBeGreaterThan(0);
    expect(disk.availableBytes).toBeLessThan(disk.reserveBytes);
    // Whether chunks bypass the page cache, known before any was written (a one-block probe).
    expect(typeof disk.directIo).toBe("boolean");
    const table = (await enigma(["status"])).stdout.toString();
    expect(table).toMatch(/FULL: /);
    expect(table).toMatch(/O_DIRECT/);
    expect(table).toMatch(disk.directIo ? /\byes\s*$/m : /\bno\s*$/m);

    writeConfig("1MiB");
    const done = await enigma(["backup", src, "--name", "docs", "--json"]);
    expect(done.code, done.stderr).toBe(0);
    const verified = await enigma(["verify", "docs", "--json"]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout.toString())).toMatchObject({ ok: true, bytesChecked: 300 * 1024 });
  });
});
