/**
 * CLI commands that write outside the data dir, aimed at a filesystem that fills up (a 2 MiB
 * tmpfs): `enigma restore` and `enigma snapshot create` fail with one line that says the disk is
 * full and leave no partial file behind (restore writes each file under a temp name and renames
 * it; the snapshot is written beside its target and renamed). Restoring into a roomier directory
 * afterwards still produces every byte. Mounting needs root; without it the file skips with the
 * reason.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEnigma } from "../support/cli.js";
import { fillToTheByte, mountTmpfs, tmpfsUnavailableReason, unmountTmpfs } from "../support/tmpfs.js";

const skip = tmpfsUnavailableReason();
if (skip !== null) console.log(`full-target CLI test: skipping: ${skip}`);

const PASS = "correct horse battery staple";
const work = mkdtempSync(join(tmpdir(), "enigma-full-target-"));
const configDir = join(work, "cfg");
const small = join(work, "small");
const env = { ENIGMA_CONFIG_DIR: configDir, ENIGMA_PASSPHRASE: PASS };
const enigma = (args: string[]) => runEnigma(args, { env });
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Every file under `dir`, relative paths. */
function files(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  visit(dir, "");
  return out.sort();
}

describe.skipIf(skip !== null)("writing to a full filesystem from the CLI", () => {
  const src = join(work, "src");
  const contents = new Map<string, string>();

  beforeAll(async () => {
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, "enigma.toml"), '[enigma]\nchunk_size = "256KiB"\n');
    expect((await enigma(["init"])).code).toBe(0);
    mkdirSync(join(src, "sub"), { recursive: true });
    for (const [name, size] of [
      ["a.txt", 10_000],
      ["big.bin", 3 * 1024 * 1024],
      ["sub/c.bin", 200_000],
    ] as const) {
      const body = randomBytes(size);
      writeFileSync(join(src, name), body);
      contents.set(name, sha(body));
    }
    const b = await enigma(["backup", src, "--name", "docs"]);
    expect(b.code, b.stderr).toBe(0);
    mkdirSync(small);
    const reason = mountTmpfs(small, 2);
    if (reason !== null) throw new Error(reason);
  });

  afterAll(() => {
    try {
      unmountTmpfs(small);
    } catch {}
    rmSync(work, { recursive: true, force: true });
  });

  it("restore: one line naming the full disk, no partial file, then a full restore elsewhere", async () => {
    const dest = join(small, "out");
    const r = await enigma(["restore", "docs", dest]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/disk full|disk is full|ENOSPC|no space/i);
    // Whatever was restored is whole; the file that did not fit is absent, not truncated.
    for (const f of files(dest)) {
      expect(f).not.toMatch(/enigma-restore/);
      expect(sha(readFileSync(join(dest, f))), f).toBe(contents.get(f));
    }
    expect(files(dest)).not.toContain("big.bin");

    const roomy = join(work, "out");
    const ok = await enigma(["restore", "docs", roomy]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(files(roomy)).toEqual([...contents.keys()].sort());
    for (const [f, digest] of contents) expect(sha(readFileSync(join(roomy, f)))).toBe(digest);
  });

  it("snapshot create: one line naming the full disk and no partial snapshot", async () => {
    // Leave 16 KiB: less than a snapshot of this node takes, so its write starts and then fails.
    const filler = fillToTheByte(small, "filler");
    truncateSync(filler, statSync(filler).size - 16 * 1024);
    const out = join(small, "node.snapshot.tar");
    const r = await enigma(["snapshot", "create", "--out", out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`no space left in ${small} for the snapshot`));
    expect(files(small).filter((f) => f !== "filler" && !f.startsWith("out/"))).toEqual([]);
  });
});
