/**
 * The Foundation acceptance, through the real CLI processes: init, backup/restore round trip of an
 * awkward tree, dedup, streams, resume after SIGKILL, and every "bad input" path with its exit code.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_BIN, runEnigma, runEnigmaOk, spawnEnigma } from "../support/cli.js";
import { makeTree, snapshotTree } from "../support/tree.js";

const PASS = "correct horse battery staple";
const work = mkdtempSync(join(tmpdir(), "enigma-cli-"));
const configDir = join(work, "cfg");
const env = { ENIGMA_CONFIG_DIR: configDir, ENIGMA_PASSPHRASE: PASS };

const enigma = (args: string[], extra: Parameters<typeof runEnigma>[1] = {}) =>
  runEnigma(args, { ...extra, env: { ...env, ...extra.env } });

const ok = (args: string[], extra: Parameters<typeof runEnigma>[1] = {}) =>
  runEnigmaOk(args, { ...extra, env: { ...env, ...extra.env } });

const json = <T>(r: { stdout: Buffer }) => JSON.parse(r.stdout.toString()) as T;

interface BackupJson {
  backupId: string;
  resumed: boolean;
  files: number;
  chunks: number;
  uploadedChunks: number;
  dedupedChunks: number;
  verifiedPrefixChunks: number;
}

/** Files in the local chunk store. */
function storedBlobs(): string[] {
  const root = join(configDir, "chunks");
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  if (existsSync(root)) visit(root);
  return out;
}

beforeAll(async () => {
  mkdirSync(configDir, { recursive: true });
  // Small chunks so the tests exercise many of them.
  writeFileSync(join(configDir, "enigma.toml"), '[enigma]\nchunk_size = "256KiB"\n');
  await ok(["init"]);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("enigma init", () => {
  it("keeps an existing enigma.toml and adds only what is missing", async () => {
    expect(readFileSync(join(configDir, "enigma.toml"), "utf8")).toContain('chunk_size = "256KiB"');
    const again = json<{ created: string[] }>(await ok(["init", "--json"]));
    expect(again.created).toEqual([]);
  });
});

describe("directory backup", () => {
  const src = join(work, "src");
  let first: BackupJson;

  beforeAll(async () => {
    mkdirSync(src);
    makeTree(src, { bigMiB: 100 });
    first = json<BackupJson>(await ok(["backup", src, "--name", "tree", "--json"]));
  }, 300_000);

  it("dedups the copy of the big file and duplicate small files within one backup", () => {
    // The 100 MiB file and its copy hold almost all chunks: one of each pair is uploaded.
    expect(first.uploadedChunks + first.dedupedChunks).toBe(first.chunks);
    expect(first.dedupedChunks).toBeGreaterThan(first.chunks * 0.45);
    expect(first.uploadedChunks).toBeLessThan(first.chunks * 0.55);
    expect(storedBlobs()).toHaveLength(first.uploadedChunks);
  });

  it("restores identically: content, modes, symlinks, empty files, non-ASCII names", async () => {
    const dest = join(work, "restored");
    await ok(["restore", "tree", dest]);
    expect(snapshotTree(dest)).toEqual(snapshotTree(src));
    // And the classic tool agrees.
    execFileSync("diff", ["-r", "--no-dereference", src, dest]);
  }, 120_000);

  it("a second backup of the same tree uploads nothing", async () => {
    const second = json<BackupJson>(await ok(["backup", src, "--name", "tree", "--json"]));
    expect(second.uploadedChunks).toBe(0);
    expect(second.chunks).toBe(first.chunks);
  }, 120_000);

  it("lists backups and verifies them", async () => {
    const list = json<{ id: string; name: string; state: string }[]>(await ok(["list", "--json"]));
    expect(list.filter((b) => b.name === "tree" && b.state === "complete")).toHaveLength(2);
    const v = json<{ ok: boolean; chainOk: boolean; chunksChecked: number }>(
      await ok(["verify", first.backupId, "--json"]),
    );
    expect(v.ok).toBe(true);
    expect(v.chainOk).toBe(true);
    expect(v.chunksChecked).toBe(first.chunks);
  }, 120_000);

  it("selective restore: --path, --glob and --list", async () => {
    const listed = json<{ path: string }[]>(
      await ok(["restore", "tree", "--list", "--glob", "**/*.bin", "--json"]),
    );
    expect(listed.map((f) => f.path).sort()).toEqual(
      ["a/b/big-copy.bin", "a/b/c/small-dup.bin", "a/b/c/small.bin", "a/big.bin"].sort(),
    );
    const dest = join(work, "partial");
    await ok(["restore", "tree", dest, "--path", "a/b/c"]);
    expect(readdirSync(join(dest, "a", "b", "c")).sort()).toEqual(["small-dup.bin", "small.bin"]);
    expect(existsSync(join(dest, "a", "big.bin"))).toBe(false);
  }, 120_000);
});

describe("stream backup", () => {
  it("round-trips stdin to stdout byte for byte in bounded memory", async () => {
    const data = randomBytes(96 * 1024 * 1024);
    const b = await ok(["backup", "--stdin", "--name", "dump", "--json"], {
      input: data,
      env: { ENIGMA_REPORT_PEAK_RSS: "1" },
    });
    const rss = Number(/peak-rss-bytes=(\d+)/.exec(b.stderr)?.[1]);
    expect(rss).toBeGreaterThan(0);
    expect(rss).toBeLessThan(300 * 1024 * 1024);
    const r = await ok(["restore", "dump", "-"]);
    expect(createHash("sha256").update(r.stdout).digest("hex")).toBe(
      createHash("sha256").update(data).digest("hex"),
    );
  }, 180_000);

  it("resumes after SIGKILL without re-uploading committed chunks, and refuses different input", async () => {
    const data = randomBytes(48 * 1024 * 1024);
    const child = spawnEnigma(["backup", "--stdin", "--name", "killed"], { env });
    child.stdout?.resume();
    child.stderr?.resume();
    child.stdin?.on("error", () => {}); // EPIPE once it is killed
    // Feed the first half, give the backup time to commit some batches, then kill it hard.
    child.stdin?.write(data.subarray(0, 24 * 1024 * 1024));
    await waitFor(() => {
      const list = execEnigmaJson<{ name: string; state: string; chunks?: number }[]>(["list", "--json"]);
      return list.some((b) => b.name === "killed");
    });
    await new Promise((r) => setTimeout(r, 3000));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("close", r));

    const mismatch = await enigma(["backup", "--stdin", "--name", "killed"], {
      input: randomBytes(48 * 1024 * 1024),
    });
    const list = json<{ name: string; state: string }[]>(await ok(["list", "--json"]));
    const interrupted = list.find((b) => b.name === "killed");
    expect(interrupted?.state).toBe("open");

    const resumed = json<BackupJson>(
      await ok(["backup", "--stdin", "--name", "killed", "--json"], { input: data }),
    );
    expect(resumed.resumed).toBe(true);
    if (resumed.verifiedPrefixChunks > 0) {
      // The run that refused different input must have failed with a clear message.
      expect(mismatch.code).toBe(2);
      expect(mismatch.stderr).toMatch(/input differs from the interrupted backup/);
    }
    expect(resumed.verifiedPrefixChunks).toBeGreaterThan(0);
    expect(resumed.uploadedChunks).toBeLessThan(resumed.chunks - resumed.verifiedPrefixChunks + 1);
    const r = await ok(["restore", "killed", "-"]);
    expect(r.stdout.equals(data)).toBe(true);
  }, 240_000);
});

describe("bad input: clear message, non-zero exit, nothing written", () => {
  it("wrong passphrase → exit 3, one line", async () => {
    const r = await enigma(["list"], { env: { ENIGMA_PASSPHRASE: "not the passphrase" } });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/passphrase/i);
  });

  it("missing keystore → exit 3 naming init", async () => {
    const r = await enigma(["list"], { env: { ENIGMA_CONFIG_DIR: join(work, "nowhere") } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/enigma init/);
    expect(existsSync(join(work, "nowhere"))).toBe(false);
  });

  it("corrupt chunk on disk → verify exit 4 naming the chunk; restore leaves no partial file", async () => {
    const src = join(work, "corrupt-src");
    mkdirSync(src);
    writeFileSync(join(src, "victim.bin"), randomBytes(3 * 1024 * 1024));
    const before = new Set(storedBlobs());
    const b = json<BackupJson>(await ok(["backup", src, "--name", "corrupt", "--json"]));
    const added = storedBlobs().filter((f) => !before.has(f));
    expect(added.length).toBe(b.uploadedChunks);
    const victim = added[0]!;
    const blob = readFileSync(victim);
    blob[blob.length - 20] = (blob[blob.length - 20] ?? 0) ^ 0xff;
    writeFileSync(victim, blob);

    const v = await enigma(["verify", b.backupId]);
    expect(v.code).toBe(4);
    expect(v.stdout.toString()).toMatch(/victim\.bin chunk #\d+ \([0-9a-f]{16}\)/);

    const dest = join(work, "corrupt-restore");
    const r = await enigma(["restore", b.backupId, dest]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/chunk [0-9a-f]{12}/);
    expect(readdirSync(dest)).toEqual([]);
  }, 120_000);

  it("truncated manifest → clear message and non-zero exit", async () => {
    const other = join(work, "trunc");
    mkdirSync(other);
    const e2 = { ENIGMA_CONFIG_DIR: other };
    await ok(["init"], { env: e2 });
    const db = join(other, "manifest.db");
    truncateSync(db, 1000);
    rmSync(`${db}-wal`, { force: true });
    const r = await enigma(["list"], { env: e2 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/manifest/i);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  }, 60_000);

  it("bad config → exit 2 naming the key", async () => {
    const other = join(work, "badcfg");
    mkdirSync(other);
    writeFileSync(join(other, "enigma.toml"), '[enigma]\nchunk_strategy = "rabin"\n');
    const r = await enigma(["list"], { env: { ENIGMA_CONFIG_DIR: other } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/chunk_strategy/);
  });
});

describe("keys and credentials", () => {
  it("rotation keeps old chunks readable and seals new ones with the new key", async () => {
    const src = join(work, "rot");
    mkdirSync(src);
    writeFileSync(join(src, "before.bin"), randomBytes(600_000));
    const b1 = json<BackupJson>(await ok(["backup", src, "--name", "rot", "--json"]));
    const rot = json<{ currentKeyId: number }>(await ok(["keys", "rotate", "--json"]));
    expect(rot.currentKeyId).toBeGreaterThan(1);
    writeFileSync(join(src, "after.bin"), randomBytes(600_000));
    await ok(["backup", src, "--name", "rot", "--json"]);
    expect(json<{ ok: boolean }>(await ok(["verify", b1.backupId, "--json"])).ok).toBe(true);
    const dest = join(work, "rot-out");
    await ok(["restore", "rot", dest]);
    expect(snapshotTree(dest)).toEqual(snapshotTree(src));
  }, 120_000);

  it("encrypt-cred prints an enc: token", async () => {
    const r = await ok(["encrypt-cred", "hunter2"]);
    expect(r.stdout.toString().trim()).toMatch(/^enc:/);
    expect(r.stdout.toString()).not.toContain("hunter2");
  });
});

describe("gc", () => {
  interface GcJson {
    candidates: number;
    marked: number;
    forgotten: number;
    sweep?: { orphanObjects: number; deletedObjects: number };
  }

  it("frees the chunks of a deleted backup, sweeps unknown blobs, and live data survives", async () => {
    const src = join(work, "gc-src");
    mkdirSync(src);
    writeFileSync(join(src, "doomed.bin"), randomBytes(2 * 1024 * 1024));
    const before = storedBlobs().length;
    const doomed = json<BackupJson>(await ok(["backup", src, "--name", "doomed", "--json"]));
    expect(storedBlobs().length).toBe(before + doomed.uploadedChunks);
    await ok(["delete", doomed.backupId]);

    // An orphan left by a failed upload: a chunk-shaped object the manifest does not know.
    const orphanDir = join(configDir, "chunks", "chunks", "ee");
    mkdirSync(orphanDir, { recursive: true });
    const orphan = join(orphanDir, "e".repeat(64));
    writeFileSync(orphan, randomBytes(100));

    const dry = json<GcJson>(await ok(["gc", "--dry-run", "--grace", "0", "--sweep-grace", "0", "--json"]));
    expect(dry.candidates).toBeGreaterThanOrEqual(doomed.uploadedChunks);
    // At least our orphan (an aborted upload earlier in this file may have left more).
    expect(dry.sweep?.orphanObjects).toBeGreaterThanOrEqual(1);
    expect(existsSync(orphan)).toBe(true);
    expect(storedBlobs().length).toBe(before + doomed.uploadedChunks + 1);

    const real = json<GcJson>(await ok(["gc", "--grace", "0", "--sweep-grace", "0", "--json"]));
    expect(real.marked).toBe(dry.candidates);
    expect(real.forgotten).toBe(real.marked);
    expect(real.sweep?.deletedObjects).toBe(dry.sweep?.orphanObjects);
    expect(existsSync(orphan)).toBe(false);
    expect(storedBlobs().length).toBeLessThanOrEqual(before);

    for (const name of ["tree", "rot", "dump"]) {
      expect(json<{ ok: boolean }>(await ok(["verify", name, "--json"])).ok).toBe(true);
    }
    // Nothing left to do: a second run finds no garbage.
    const again = json<GcJson>(await ok(["gc", "--grace", "0", "--sweep-grace", "0", "--json"]));
    expect(again.candidates).toBe(0);
  }, 180_000);
});

function execEnigmaJson<T>(args: string[]): T {
  const out = execFileSync(process.execPath, [CLI_BIN, ...args], { env: { ...process.env, ...env } });
  return JSON.parse(out.toString()) as T;
}

async function waitFor(cond: () => boolean, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i++) {
    try {
      if (cond()) return;
    } catch {
      // not ready yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("condition not met");
}
