/**
 * GC in the server, on a real single-node engine (local backend): report per backend, the dedup
 * fence through the real chunk writer, the admin actions and the scheduler's decisions.
 */
import { randomBytes } from "node:crypto";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AdminRejected } from "@enigma/raft-node";
import { chunkObjectKey } from "@enigma/storage";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openTestEngine, type TestEngine } from "../../../../test/support/engine.js";
import { AdminRegistry } from "../admin/registry.js";
import type { Engine } from "../engine/engine.js";
import { registerGcActions } from "./admin.js";
import { GcBusyError, gcState, runGc } from "./run.js";
import { GcScheduler } from "./scheduler.js";

const logger = pino({ level: "silent" });

async function* source(buf: Buffer): AsyncIterable<Uint8Array> {
  yield buf;
}

async function putObject(engine: Engine, key: string, data: Buffer) {
  const w = await engine.writer.write(source(data));
  return {
    written: w,
    result: await engine.committer.propose({
      type: "PutObject",
      bucket: "b",
      key,
      size: w.size,
      etag: w.md5Hex,
      meta: {},
      lastModifiedMs: Date.now(),
      chunks: w.chunks,
    }),
  };
}

function pause(dir: string): string {
  const marker = join(dir, "gc-paused.json");
  writeFileSync(marker, JSON.stringify({ reason: "snapshot-restore", mode: "reseed" }));
  return marker;
}

let t: TestEngine;

beforeEach(async () => {
  t = await openTestEngine();
  await t.engine.committer.propose({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
});

afterEach(async () => {
  await t.close();
});

describe("runGc on a node's engine", () => {
  it("frees a deleted object's chunks, reports them per backend, and the content can be written again", async () => {
    const data = randomBytes(300 * 1024);
    const first = await putObject(t.engine, "k", data);
    expect(first.result.ok).toBe(true);
    await t.engine.committer.propose({ type: "DeleteObject", bucket: "b", key: "k", atMs: Date.now() });
    const n = first.written.chunks.length;

    const r = await runGc(t.engine, { dryRun: false, graceMs: 0 });
    expect(r).toMatchObject({ marked: n, freedChunks: n, forgotten: n, deletedBlobs: n, errors: [] });
    expect(r.freedPlainBytes).toBe(data.length);
    const sealed = first.written.chunks.reduce((s, c) => s + c.sealedSize, 0);
    expect(r.freedBytes).toBe(sealed);
    expect(Object.keys(r.perBackend)).toHaveLength(1);
    expect(Object.values(r.perBackend)[0]).toMatchObject({ blobs: n, bytes: sealed });
    expect(t.engine.manifest.chunkStats()).toMatchObject({ live: 0, garbage: 0, deleting: 0 });
    expect(gcState(t.engine)).toMatchObject({ runs: 1, freedChunks: n, freedBytes: sealed });

    // Forgotten → uploaded afresh (not a dedup hit on a deleted blob) and readable.
    const again = await putObject(t.engine, "k2", data);
    expect(again.result.ok).toBe(true);
    expect(again.written.uploadedChunks).toBe(n);
    const obj = t.engine.manifest.getObject("b", "k2");
    expect(obj?.size).toBe(data.length);
  });

  it("a late delete of a forgotten upload (an old leader's, still in flight) spares the content written again", async () => {
    const data = randomBytes(300 * 1024);
    const first = await putObject(t.engine, "k", data);
    await t.engine.committer.propose({ type: "DeleteObject", bucket: "b", key: "k", atMs: Date.now() });
    const r = await runGc(t.engine, { dryRun: false, graceMs: 0 });
    expect(r.forgotten).toBe(first.written.chunks.length);
    // The same content is written again after the forget: uploaded afresh, under new object names.
    const again = await putObject(t.engine, "k2", data);
    expect(again.result.ok).toBe(true);
    expect(again.written.uploadedChunks).toBe(first.written.chunks.length);
    const oldKeys = first.written.chunks.map((c) => chunkObjectKey(c.nameTag));
    const newKeys = again.written.chunks.map((c) => chunkObjectKey(c.nameTag));
    for (const k of newKeys) expect(oldKeys).not.toContain(k);
    // A deposed leader's delete of the first upload lands only now (its request was stalled).
    for (const backend of t.engine.backends) for (const k of oldKeys) await backend.delete(k);
    const obj = t.engine.manifest.getObject("b", "k2")!;
    const out: Buffer[] = [];
    for await (const b of t.engine.reader.read(obj.chunks)) out.push(Buffer.from(b));
    expect(Buffer.concat(out).equals(data)).toBe(true);
  });

  it("a dedup hit forgotten by GC before its commit is refused (the writer must re-upload)", async () => {
    const data = randomBytes(200 * 1024);
    await putObject(t.engine, "k", data);
    await t.engine.committer.propose({ type: "DeleteObject", bucket: "b", key: "k", atMs: Date.now() });
    // The writer sees the garbage chunks as present: no upload.
    const w = await t.engine.writer.write(source(data));
    expect(w.dedupedChunks).toBe(w.chunks.length);
    expect(w.chunks.every((c) => c.uploaded === false)).toBe(true);
    // GC (grace 0) deletes and forgets them before the writer commits.
    const r = await runGc(t.engine, { dryRun: false, graceMs: 0 });
    expect(r.freedChunks).toBe(w.chunks.length);
    const res = await t.engine.committer.propose({
      type: "PutObject",
      bucket: "b",
      key: "late",
      size: w.size,
      etag: w.md5Hex,
      meta: {},
      lastModifiedMs: Date.now(),
      chunks: w.chunks,
    });
    expect(res).toMatchObject({ ok: false, code: "ChunkDeleting" });
    expect(t.engine.manifest.getObject("b", "late")).toBeUndefined();
    expect(t.engine.manifest.checkInvariants()).toEqual([]);
  });

  it("dry run changes nothing; a paused node refuses to delete; one run at a time", async () => {
    await putObject(t.engine, "k", randomBytes(100 * 1024));
    await t.engine.committer.propose({ type: "DeleteObject", bucket: "b", key: "k", atMs: Date.now() });
    const before = t.engine.manifest.checksum();
    const dry = await runGc(t.engine, { dryRun: true, graceMs: 0 });
    expect(dry.candidates).toBeGreaterThan(0);
    expect(t.engine.manifest.checksum()).toBe(before);

    const marker = pause(t.engine.settings.raft.dataDir);
    await expect(runGc(t.engine, { dryRun: false, graceMs: 0 })).rejects.toThrow(/paused/);
    expect(t.engine.manifest.checksum()).toBe(before);
    rmSync(marker);

    const first = runGc(t.engine, { dryRun: false, graceMs: 0 });
    await expect(runGc(t.engine, { dryRun: false, graceMs: 0 })).rejects.toBeInstanceOf(GcBusyError);
    expect((await first).freedChunks).toBeGreaterThan(0);
  });
});

describe("gc admin actions", () => {
  it("validate arguments, refuse while paused, and report status", async () => {
    const reg = new AdminRegistry();
    registerGcActions(reg, { settings: t.engine.settings, engine: t.engine, cluster: undefined, logger });
    const call = (name: string, args: unknown) =>
      reg.handler()(name, args, { deadline: Date.now() + 60_000 });
    await expect(call("gc.run", { graceMs: -1 })).rejects.toBeInstanceOf(AdminRejected);
    await expect(call("gc.run", { bogus: true })).rejects.toBeInstanceOf(AdminRejected);

    const marker = pause(t.engine.settings.raft.dataDir);
    await expect(call("gc.run", { graceMs: 0, sweep: false })).rejects.toThrow(/paused/);
    rmSync(marker);

    await putObject(t.engine, "k", randomBytes(100 * 1024));
    await t.engine.committer.propose({ type: "DeleteObject", bucket: "b", key: "k", atMs: Date.now() });
    const r = (await call("gc.run", { graceMs: 0, sweep: true, sweepGraceMs: 0 })) as {
      freedChunks: number;
      sweep: { scannedObjects: number };
    };
    expect(r.freedChunks).toBeGreaterThan(0);
    expect(r.sweep.scannedObjects).toBe(0);
    const st = (await call("gc.status", {})) as {
      runs: number;
      running: unknown;
      chunks: { garbage: number };
    };
    expect(st).toMatchObject({ runs: 1, running: null, chunks: { garbage: 0 } });
  });
});

describe("GcScheduler", () => {
  it("runs on a single node, skips while paused or busy, and stops", async () => {
    const s = new GcScheduler({ engine: t.engine, cluster: undefined, logger, intervalMs: 0, graceMs: 0 });
    await putObject(t.engine, "k", randomBytes(100 * 1024));
    await t.engine.committer.propose({ type: "DeleteObject", bucket: "b", key: "k", atMs: Date.now() });

    const marker = pause(t.engine.settings.raft.dataDir);
    expect(await s.tick()).toBe("paused");
    expect(t.engine.manifest.chunkStats().garbage).toBeGreaterThan(0);
    rmSync(marker);

    const manual = runGc(t.engine, { dryRun: false, graceMs: 0 });
    expect(await s.tick()).toBe("busy");
    await manual;

    await putObject(t.engine, "k", randomBytes(100 * 1024));
    await t.engine.committer.propose({ type: "DeleteObject", bucket: "b", key: "k", atMs: Date.now() });
    expect(await s.tick()).toBe("ran");
    expect(t.engine.manifest.chunkStats().garbage).toBe(0);
    await s.stop();
    expect(await s.tick()).toBe("stopped");
  });
});

describe("the fenced sweep", () => {
  it("an upload whose objects the sweep removed before its commit is refused; the retry re-uploads", async () => {
    const data = randomBytes(150 * 1024);
    // A failed PUT's leftover: uploaded, never committed → objects no chunk row owns.
    const orphan = await t.engine.writer.write(source(data));
    expect(orphan.uploadedChunks).toBe(orphan.chunks.length);
    // A writer uploads the same content: its own object names (a fresh nonce per upload) …
    const racing = await t.engine.writer.write(source(data));
    expect(racing.chunks.every((c) => c.uploaded === true)).toBe(true);
    for (const [i, c] of racing.chunks.entries()) {
      expect(c.nameTag.slice(0, 64)).toBe(orphan.chunks[i]!.nameTag.slice(0, 64));
      expect(c.nameTag).not.toBe(orphan.chunks[i]!.nameTag);
    }
    // … and the sweep (grace 0, so both sets look abandoned) fences, deletes and clears all of them
    // before that writer commits.
    const r = await runGc(t.engine, { dryRun: false, graceMs: 0, sweepGraceMs: 0 });
    expect(r.sweep).toMatchObject({ deletedObjects: 2 * orphan.chunks.length, errors: [], resumedFences: 0 });
    expect(t.engine.manifest.sweepingCount()).toBe(0);
    const late = await t.engine.committer.propose({
      type: "PutObject",
      bucket: "b",
      key: "late",
      size: racing.size,
      etag: racing.md5Hex,
      meta: {},
      lastModifiedMs: Date.now(),
      chunks: racing.chunks,
    });
    // Without the fence this commit would make a live object over deleted blobs.
    expect(late).toMatchObject({ ok: false, code: "ChunkDeleting" });
    expect(t.engine.manifest.getObject("b", "late")).toBeUndefined();
    // The retry uploads afresh and reads back.
    const again = await putObject(t.engine, "late", data);
    expect(again.result.ok).toBe(true);
    expect(again.written.uploadedChunks).toBe(orphan.chunks.length);
    const obj = t.engine.manifest.getObject("b", "late")!;
    const parts: Buffer[] = [];
    for (const c of obj.chunks) {
      const info = t.engine.manifest.getChunk(c.hash)!;
      parts.push(await t.engine.reader.readChunk(info));
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(t.engine.manifest.checkInvariants()).toEqual([]);
  });

  it("finishes the fence a killed sweep left, and never sweeps a tag a chunk row owns", async () => {
    const kept = await putObject(t.engine, "kept", randomBytes(80 * 1024));
    const orphan = await t.engine.writer.write(source(randomBytes(90 * 1024)));
    const tag = orphan.chunks[0]!.nameTag;
    // A sweep killed after its mark: the tag stays fenced, writers of it are refused meanwhile.
    await t.engine.committer.propose({
      type: "MarkSweeping",
      nameTags: [tag, kept.written.chunks[0]!.nameTag],
    });
    expect(t.engine.manifest.isNameTagSweeping(tag)).toBe(true);
    expect(t.engine.manifest.isNameTagSweeping(kept.written.chunks[0]!.nameTag)).toBe(false);
    // The next run, even with the sweep's grace keeping every young object, finishes it.
    const r = await runGc(t.engine, { dryRun: false, graceMs: 0, sweepGraceMs: 3_600_000 });
    expect(r.sweep).toMatchObject({ resumedFences: 1, deletedObjects: 0, errors: [] });
    expect(t.engine.manifest.sweepingCount()).toBe(0);
    const listed: string[] = [];
    for await (const o of t.engine.backends[0]!.list("chunks/")) listed.push(o.key);
    expect(listed.some((k) => k.endsWith(tag))).toBe(false);
    // The referenced object is intact.
    expect(listed.some((k) => k.endsWith(kept.written.chunks[0]!.nameTag))).toBe(true);
  });
});

describe("the replicated GC pause", () => {
  it("refuses GC, shows in gc.status and is lifted by gc.confirm through the committer", async () => {
    await putObject(t.engine, "k", randomBytes(100 * 1024));
    await t.engine.committer.propose({ type: "DeleteObject", bucket: "b", key: "k", atMs: Date.now() });
    // What a new-cluster restore leaves in the manifest.
    t.engine.manifest.setGcPause({
      reason: "snapshot-restore",
      mode: "new-cluster",
      pausedAtMs: 1,
      appliedIndex: 9,
    });
    await expect(runGc(t.engine, { dryRun: false, graceMs: 0 })).rejects.toThrow(
      /paused after a new-cluster restore \(replicated in the manifest/,
    );
    const s = new GcScheduler({ engine: t.engine, cluster: undefined, logger, intervalMs: 0, graceMs: 0 });
    expect(await s.tick()).toBe("paused");
    await s.stop();
    // Apply refuses the marks too, whoever proposes them.
    const garbage = t.engine.manifest.listGarbageChunks({ olderThanMs: Date.now() }).map((c) => c.hash);
    expect(
      await t.engine.committer.propose({
        type: "MarkChunksDeleting",
        hashes: garbage,
        nowMs: Date.now(),
        graceMs: 0,
      }),
    ).toMatchObject({ ok: false, code: "GcPaused" });

    const reg = new AdminRegistry();
    registerGcActions(reg, { settings: t.engine.settings, engine: t.engine, cluster: undefined, logger });
    const call = (name: string, args: unknown) =>
      reg.handler()(name, args, { deadline: Date.now() + 60_000 });
    const st = (await call("gc.status", {})) as { pause: { paused: boolean; replicated: unknown } };
    expect(st.pause).toMatchObject({ paused: true, replicated: { mode: "new-cluster", appliedIndex: 9 } });
    const marker = pause(t.engine.settings.raft.dataDir);
    const confirmed = (await call("gc.confirm", { by: "test" })) as {
      wasPaused: boolean;
      replicated: unknown;
      localMarker: unknown;
    };
    expect(confirmed).toMatchObject({
      wasPaused: true,
      replicated: { mode: "new-cluster" },
      localMarker: { mode: "reseed" },
    });
    expect(existsSync(marker)).toBe(false);
    expect(t.engine.manifest.gcPause()).toBeUndefined();
    expect(t.engine.manifest.gcPauseConfirmation()).toMatchObject({ by: "test", pause: { appliedIndex: 9 } });
    expect((await call("gc.confirm", {})) as { wasPaused: boolean }).toMatchObject({ wasPaused: false });
    expect((await runGc(t.engine, { dryRun: false, graceMs: 0 })).freedChunks).toBeGreaterThan(0);
  });
});
