/**
 * Fenced garbage collection (ARCHITECTURE §3 step 7), resumable after a crash at any step:
 *   1. MarkChunksDeleting — chunks with refcount 0 whose zero time is past the grace period; the
 *      timestamp is carried in the command, apply never reads a clock. From now on a command that
 *      references one of them is refused at apply, so no new reference can appear.
 *   2. Delete the sealed blobs from every location.
 *   3. ForgetChunks (leaves a tombstone: a writer that looked before it must re-upload).
 * Chunks found already `deleting` (an earlier run crashed after step 1) are finished too. Then the
 * sweep of unknown backend objects, fenced the same way (sweep.ts). Safety does not depend on the
 * grace period (manifest DESIGN.md "Dedup against GC", "Sweep against writers"), only on one run
 * at a time deleting: runs are serialized per engine here, and in a cluster they run on the leader.
 * Refused while GC is paused after a restore (the manifest's replicated pause or this node's
 * marker; snapshot/gc-pause.ts).
 */

import { proposeOrThrow } from "../engine/committer.js";
import type { Engine } from "../engine/engine.js";
import { assertGcNotPaused } from "../snapshot/gc-pause.js";
import { crashPoint } from "./crash-point.js";
import type { BackendFreed, GcReport } from "./report.js";
import { sweep } from "./sweep.js";

/** Chunks marked / forgotten per command: bounds entry size and work redone after a crash. */
export const GC_BATCH_CHUNKS = 500;
/** Candidates one run looks at (the next run continues). */
export const GC_MAX_CANDIDATES_PER_RUN = 200_000;
const PAGE = 10_000;

export interface GcRunOptions {
  readonly dryRun: boolean;
  readonly graceMs: number;
  /** Also sweep backends for unknown objects older than this (undefined: no sweep). */
  readonly sweepGraceMs?: number;
  /** The run's clock (default Date.now()). */
  readonly nowMs?: number;
}

export class GcBusyError extends Error {
  constructor() {
    super("a GC run is already in progress on this node; wait for it (enigma gc status)");
    this.name = "GcBusyError";
  }
}

/** What this process knows about its GC runs (gc.status, metrics). */
export interface GcState {
  running: { readonly startedAtMs: number; step: string } | undefined;
  runs: number;
  failedRuns: number;
  freedChunks: number;
  freedBytes: number;
  lastRunAtMs: number | undefined;
  lastReport: GcReport | undefined;
  lastError: string | undefined;
}

const states = new WeakMap<Engine, GcState>();

export function gcState(engine: Engine): GcState {
  let s = states.get(engine);
  if (s === undefined) {
    s = {
      running: undefined,
      runs: 0,
      failedRuns: 0,
      freedChunks: 0,
      freedBytes: 0,
      lastRunAtMs: undefined,
      lastReport: undefined,
      lastError: undefined,
    };
    states.set(engine, s);
  }
  return s;
}

function freedFor(map: Map<string, BackendFreed>, name: string): BackendFreed {
  return map.get(name) ?? { blobs: 0, bytes: 0, sweptObjects: 0, sweptBytes: 0 };
}

export async function runGc(engine: Engine, opts: GcRunOptions): Promise<GcReport> {
  const state = gcState(engine);
  if (state.running !== undefined) throw new GcBusyError();
  // After a node-state restore, chunks newer than the restored manifest would look orphaned. The
  // replicated pause is checked again after the read barrier (a new leader may lag a little), and
  // apply refuses GC's marks while it is set whatever this check saw.
  if (!opts.dryRun) assertGcNotPaused(engine.settings.raft.dataDir, engine.manifest);
  const started = Date.now();
  state.running = { startedAtMs: started, step: "listing" };
  try {
    const report = await runSteps(engine, opts, state);
    state.runs++;
    state.lastRunAtMs = Date.now();
    state.lastReport = report;
    state.lastError = undefined;
    if (!report.dryRun) {
      state.freedChunks += report.freedChunks;
      state.freedBytes += report.freedBytes;
    }
    return report;
  } catch (err) {
    state.failedRuns++;
    state.lastError = err instanceof Error ? err.message : String(err);
    throw err;
  } finally {
    state.running = undefined;
  }
}

async function runSteps(engine: Engine, opts: GcRunOptions, state: GcState): Promise<GcReport> {
  const started = Date.now();
  const nowMs = opts.nowMs ?? Date.now();
  const { manifest, committer } = engine;
  // Everything committed before now is applied here (a new leader may lag a little).
  await committer.readBarrier();
  if (!opts.dryRun) assertGcNotPaused(engine.settings.raft.dataDir, manifest);
  const perBackend = new Map<string, BackendFreed>();
  const step = (s: string) => {
    if (state.running) state.running.step = s;
  };

  if (opts.dryRun) {
    let candidates = 0;
    let freedBytes = 0;
    let freedPlainBytes = 0;
    const garbage = manifest.listGarbageChunks({ olderThanMs: nowMs - opts.graceMs, limit: PAGE * 10 });
    for (const c of garbage) {
      candidates++;
      freedPlainBytes += c.size;
      for (const l of c.locations) {
        freedBytes += c.sealedSize;
        const b = freedFor(perBackend, l);
        perBackend.set(l, { ...b, blobs: b.blobs + 1, bytes: b.bytes + c.sealedSize });
      }
    }
    step("sweep");
    const sw = await sweep(engine, opts, nowMs);
    return {
      dryRun: true,
      graceMs: opts.graceMs,
      nowMs,
      candidates,
      marked: 0,
      freedChunks: 0,
      forgotten: 0,
      deletedBlobs: 0,
      freedBytes,
      freedPlainBytes,
      perBackend: Object.fromEntries(
        [...addSwept(perBackend, sw.swept)].sort(([a], [b]) => a.localeCompare(b)),
      ),
      errors: [],
      ...(sw.report ? { sweep: sw.report } : {}),
      durationMs: Date.now() - started,
    };
  }

  // 1. Fence.
  step("mark");
  let candidates = 0;
  let marked = 0;
  while (candidates < GC_MAX_CANDIDATES_PER_RUN) {
    const page = manifest.listGarbageChunks({ olderThanMs: nowMs - opts.graceMs, limit: PAGE });
    if (page.length === 0) break;
    candidates += page.length;
    let markedHere = 0;
    for (let i = 0; i < page.length; i += GC_BATCH_CHUNKS) {
      const res = await proposeOrThrow(committer, {
        type: "MarkChunksDeleting",
        hashes: page.slice(i, i + GC_BATCH_CHUNKS).map((c) => c.hash),
        nowMs,
        graceMs: opts.graceMs,
      });
      markedHere += res.hashes?.length ?? 0;
    }
    marked += markedHere;
    // Revived meanwhile (not marked, no longer listed) or a short page: nothing more to take.
    if (page.length < PAGE || markedHere === 0) break;
  }
  crashPoint("after-mark");

  // 2. Delete the blobs of everything `deleting` (this run's marks and any a crashed run left).
  step("delete");
  const errors: string[] = [];
  let deletedBlobs = 0;
  let freedBytes = 0;
  let freedPlainBytes = 0;
  let freedChunks = 0;
  let afterHash = "";
  let first = true;
  for (;;) {
    const deleting = manifest.listDeletingChunks({ afterHash, limit: GC_BATCH_CHUNKS });
    if (deleting.length === 0) break;
    afterHash = deleting[deleting.length - 1]!.hash;
    const done: string[] = [];
    for (const c of deleting) {
      try {
        await engine.distributor.deleteChunk(c.nameTag, c.locations);
        deletedBlobs += c.locations.length;
        freedBytes += c.sealedSize * c.locations.length;
        freedPlainBytes += c.size;
        for (const l of c.locations) {
          const b = freedFor(perBackend, l);
          perBackend.set(l, { ...b, blobs: b.blobs + 1, bytes: b.bytes + c.sealedSize });
        }
        done.push(c.hash);
      } catch (err) {
        // Left in `deleting`: still fenced, retried by the next run.
        errors.push(`${c.hash.slice(0, 16)}: ${(err as Error).message}`);
      }
      if (first) {
        first = false;
        crashPoint("mid-delete");
      }
    }
    crashPoint("after-delete");
    // 3. Forget this page (after its deletes: the forget is what lets writers upload again).
    step("forget");
    if (done.length > 0) {
      const res = await proposeOrThrow(committer, { type: "ForgetChunks", hashes: done });
      freedChunks += res.hashes?.length ?? 0;
    }
    crashPoint("after-forget");
    step("delete");
    if (deleting.length < GC_BATCH_CHUNKS) break;
  }

  step("sweep");
  const sw = await sweep(engine, opts, nowMs);
  return {
    dryRun: false,
    graceMs: opts.graceMs,
    nowMs,
    candidates,
    marked,
    freedChunks,
    forgotten: freedChunks,
    deletedBlobs,
    freedBytes,
    freedPlainBytes,
    perBackend: Object.fromEntries(
      [...addSwept(perBackend, sw.swept)].sort(([a], [b]) => a.localeCompare(b)),
    ),
    errors,
    ...(sw.report ? { sweep: sw.report } : {}),
    durationMs: Date.now() - started,
  };
}

function addSwept(
  perBackend: Map<string, BackendFreed>,
  swept: ReadonlyMap<string, { objects: number; bytes: number }>,
): Map<string, BackendFreed> {
  for (const [name, s] of swept) {
    const b = freedFor(perBackend, name);
    perBackend.set(name, {
      ...b,
      sweptObjects: b.sweptObjects + s.objects,
      sweptBytes: b.sweptBytes + s.bytes,
    });
  }
  return perBackend;
}
