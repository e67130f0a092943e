/**
 * `enigma gc` as a process on a single node (embedded): killed (SIGKILL, from a crash point in the
 * GC code enabled by ENIGMA_GC_CRASH_AT) between each of its steps, then rerun: the rerun
 * completes, frees everything that was garbage, and every live backup still verifies. Also: a dry
 * run changes nothing, a grace period keeps young garbage, and GC refuses while paused after a
 * restore. The fenced sweep killed after its mark and after its delete: the rerun finishes the
 * fence it left. A new-cluster restore pauses GC in the manifest itself: `enigma gc` refuses,
 * `enigma status` says so, `enigma snapshot confirm-gc` lifts it (ResumeGc) and GC runs again.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEnigma } from "../support/cli.js";

const PASS = "correct horse battery staple";
const work = mkdtempSync(join(tmpdir(), "enigma-gc-"));
const configDir = join(work, "cfg");
const env = { ENIGMA_CONFIG_DIR: configDir, ENIGMA_PASSPHRASE: PASS };
const shared = randomBytes(300 * 1024);

const enigma = (args: string[], extraEnv: Record<string, string> = {}) =>
  runEnigma(args, { env: { ...env, ...extraEnv } });

async function ok(args: string[], extraEnv: Record<string, string> = {}) {
  const r = await enigma(args, extraEnv);
  if (r.code !== 0) throw new Error(`enigma ${args.join(" ")} exited ${r.code}/${r.signal}: ${r.stderr}`);
  return r;
}

const json = <T>(r: { stdout: Buffer }) => JSON.parse(r.stdout.toString()) as T;

interface Status {
  chunks: { live: number; garbage: number; deleting: number };
  gc: { paused: boolean; replicated: unknown; localMarker: unknown; sweepingNameTags: number };
  providers: { name: string; liveChunks: number; garbageChunks: number; chunks: number }[];
}

function storedBlobs(): number {
  let n = 0;
  const visit = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(d, e.name));
      else n++;
    }
  };
  visit(join(configDir, "chunks"));
  return n;
}

/** A directory with one file shared with the kept backup and two of its own. */
function makeDir(name: string, withShared: boolean): string {
  const d = join(work, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "own-1.bin"), randomBytes(200 * 1024));
  writeFileSync(join(d, "own-2.bin"), randomBytes(150 * 1024));
  if (withShared) writeFileSync(join(d, "shared.bin"), shared);
  return d;
}

/** Backs up a throwaway directory and deletes the backup: its own chunks become garbage. */
async function makeGarbage(tag: string): Promise<void> {
  const d = makeDir(`garbage-${tag}`, true);
  const b = json<{ backupId: string }>(await ok(["--json", "backup", d, "--name", `garbage-${tag}`]));
  await ok(["delete", b.backupId]);
}

/** `enigma status`, without the disk's free space (the machine's, which moves on its own). */
async function status(): Promise<Status> {
  const s = json<Status & { providers: { availableBytes?: number }[] }>(await ok(["--json", "status"]));
  for (const p of s.providers) delete p.availableBytes;
  return s;
}

beforeAll(async () => {
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, "enigma.toml"), '[enigma]\nchunk_size = "64KiB"\n');
  await ok(["init"]);
  const keep = makeDir("keep", true);
  await ok(["backup", keep, "--name", "keep"]);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("enigma gc (embedded, single node)", () => {
  it("dry run reports the garbage and changes nothing", async () => {
    await makeGarbage("dry");
    const before = await status();
    const blobs = storedBlobs();
    expect(before.chunks.garbage).toBeGreaterThan(0);
    const r = json<{
      dryRun: boolean;
      candidates: number;
      freedBytes: number;
      perBackend: Record<string, unknown>;
    }>(await ok(["--json", "gc", "--dry-run", "--grace", "0s", "--no-sweep"]));
    expect(r.dryRun).toBe(true);
    expect(r.candidates).toBe(before.chunks.garbage);
    expect(r.freedBytes).toBeGreaterThan(0);
    expect(Object.keys(r.perBackend)).toEqual(["local"]);
    expect(await status()).toEqual(before);
    expect(storedBlobs()).toBe(blobs);
  });

  it("a grace period keeps young garbage", async () => {
    const before = await status();
    const r = json<{ marked: number; freedChunks: number }>(
      await ok(["--json", "gc", "--grace", "1h", "--no-sweep"]),
    );
    expect(r).toMatchObject({ marked: 0, freedChunks: 0 });
    expect((await status()).chunks.garbage).toBe(before.chunks.garbage);
  });

  it("refuses to run while paused after a restore; dry run still works", async () => {
    const marker = join(configDir, "gc-paused.json");
    writeFileSync(
      marker,
      JSON.stringify({
        reason: "snapshot-restore",
        pausedAt: new Date().toISOString(),
        mode: "reseed",
        snapshotFile: "x.tar",
        snapshotSha256: "0".repeat(64),
        appliedIndex: 1,
        clusterId: null,
      }),
    );
    try {
      const refused = await enigma(["gc", "--grace", "0s", "--no-sweep"]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/paused/i);
      expect((await status()).chunks.garbage).toBeGreaterThan(0);
      await ok(["gc", "--dry-run", "--grace", "0s", "--no-sweep"]);
    } finally {
      unlinkSync(marker);
    }
  });

  for (const step of ["after-mark", "mid-delete", "after-delete", "after-forget"]) {
    it(`killed ${step}, the rerun completes and nothing live is lost`, async () => {
      await makeGarbage(step);
      const before = await status();
      expect(before.chunks.garbage).toBeGreaterThan(0);
      const killed = await enigma(["gc", "--grace", "0s", "--no-sweep"], { ENIGMA_GC_CRASH_AT: step });
      expect(killed.signal).toBe("SIGKILL");
      const r = json<{ freedChunks: number; errors: string[] }>(
        await ok(["--json", "gc", "--grace", "0s", "--no-sweep"]),
      );
      expect(r.errors).toEqual([]);
      const after = await status();
      expect(after.chunks).toMatchObject({ garbage: 0, deleting: 0, live: before.chunks.live });
      // Exactly one blob per known chunk (one provider, replication 1).
      expect(storedBlobs()).toBe(after.chunks.live);
      await ok(["verify", "keep"]);
    });
  }

  it("a final sweep with no grace leaves exactly the live blobs", async () => {
    // An orphan the manifest never heard of (a failed PUT's leftover).
    const orphanDir = join(configDir, "chunks", "chunks", "ab");
    mkdirSync(orphanDir, { recursive: true });
    writeFileSync(join(orphanDir, `ab${"0".repeat(62)}`), randomBytes(100));
    const r = json<{ sweep: { orphanObjects: number; deletedObjects: number } }>(
      await ok(["--json", "gc", "--grace", "0s", "--sweep-grace", "0s"]),
    );
    expect(r.sweep.deletedObjects).toBeGreaterThanOrEqual(1);
    expect(storedBlobs()).toBe((await status()).chunks.live);
    await ok(["verify", "keep"]);
  });

  for (const step of ["sweep-after-mark", "sweep-after-delete"]) {
    it(`the sweep killed ${step}: the fence stays until the rerun finishes it`, async () => {
      const tag = (step === "sweep-after-mark" ? "c1" : "d2").repeat(32);
      const orphanDir = join(configDir, "chunks", "chunks", tag.slice(0, 2));
      mkdirSync(orphanDir, { recursive: true });
      writeFileSync(join(orphanDir, tag), randomBytes(100));
      const killed = await enigma(["gc", "--grace", "0s", "--sweep-grace", "0s"], {
        ENIGMA_GC_CRASH_AT: step,
      });
      expect(killed.signal).toBe("SIGKILL");
      // Fenced in the manifest: a writer of this content is refused until the fence is finished.
      expect((await status()).gc.sweepingNameTags).toBe(1);
      const r = json<{ sweep: { resumedFences: number; errors: unknown[] } }>(
        await ok(["--json", "gc", "--grace", "0s", "--sweep-grace", "0s"]),
      );
      expect(r.sweep).toMatchObject({ resumedFences: 1, errors: [] });
      const after = await status();
      expect(after.gc.sweepingNameTags).toBe(0);
      expect(existsSync(join(orphanDir, tag))).toBe(false);
      expect(storedBlobs()).toBe(after.chunks.live);
      await ok(["verify", "keep"]);
    });
  }

  it("a new-cluster restore pauses GC in the manifest until snapshot confirm-gc", async () => {
    await makeGarbage("restore");
    const snaps = join(work, "snaps");
    mkdirSync(snaps, { recursive: true });
    const snap = json<{ file: string }>(await ok(["--json", "snapshot", "create", "--out", `${snaps}/`]));
    const restored = json<{ gcPause: string; gcPauseFile: string | null }>(
      await ok(["--json", "snapshot", "restore", snap.file, "--mode", "new-cluster"]),
    );
    expect(restored).toMatchObject({ gcPause: "manifest", gcPauseFile: null });
    expect(existsSync(join(configDir, "gc-paused.json"))).toBe(false);

    const st = await status();
    expect(st.gc).toMatchObject({ paused: true, replicated: { mode: "new-cluster" }, localMarker: null });
    const human = await ok(["status"]);
    expect(human.stdout.toString()).toMatch(
      /gc: +PAUSED after a new-cluster restore \(replicated in the manifest/,
    );
    const refused = await enigma(["gc", "--grace", "0s"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/GC is paused after a new-cluster restore.*enigma snapshot confirm-gc/);
    expect((await status()).chunks.garbage).toBe(st.chunks.garbage);
    expect(st.chunks.garbage).toBeGreaterThan(0);

    const confirmed = json<{ wasPaused: boolean; replicated: unknown }>(
      await ok(["--json", "snapshot", "confirm-gc"]),
    );
    expect(confirmed).toMatchObject({ wasPaused: true, replicated: { mode: "new-cluster" } });
    expect((await status()).gc).toMatchObject({ paused: false, replicated: null });
    const again = json<{ wasPaused: boolean }>(await ok(["--json", "snapshot", "confirm-gc"]));
    expect(again.wasPaused).toBe(false);
    const r = json<{ freedChunks: number; errors: string[] }>(await ok(["--json", "gc", "--grace", "0s"]));
    expect(r.freedChunks).toBeGreaterThan(0);
    expect(r.errors).toEqual([]);
    expect(storedBlobs()).toBe((await status()).chunks.live);
    await ok(["verify", "keep"]);
  });
});
