/**
 * Fenced garbage collection (ARCHITECTURE §3 step 7), resumable after a crash at any step:
 *   1. MarkChunksDeleting — chunks with refcount 0 whose zero time is past the grace period; the
 *      timestamp is carried in the command, apply never reads a clock. From now on a command that
 *      references one of them is refused at apply, so no new reference can appear.
 *   2. Delete the sealed blobs from every location.
 *   3. ForgetChunks.
 * Chunks found already `deleting` (an earlier run crashed after step 1) are finished first.
 */
import type { Engine } from "@enigma/server";
import { proposeOrThrow } from "@enigma/server";
import { type SweepReport, sweepOrphans } from "@enigma/storage";

/**
 * The sweep removes backend objects the manifest does not know. A chunk is uploaded *before* the
 * command referencing it commits, so an in-flight upload looks orphaned: the sweep's grace period
 * must exceed the longest upload, whatever `--grace` says for the fenced phase.
 */
export const SWEEP_MIN_GRACE_MS = 60 * 60 * 1000;

/** Chunks marked per command: bounds entry size and work redone after a crash. */
export const GC_BATCH_CHUNKS = 500;

export interface GcReport {
  readonly dryRun: boolean;
  readonly graceMs: number;
  readonly candidates: number;
  readonly marked: number;
  readonly deletedBlobs: number;
  readonly forgotten: number;
  readonly freedBytes: number;
  readonly errors: readonly string[];
  /** Backend objects the manifest does not know (left by failed writes). */
  readonly sweep?: Omit<SweepReport, "orphans"> & { readonly graceMs: number };
}

export interface GcOptions {
  readonly dryRun: boolean;
  readonly graceMs: number;
  /** Also sweep backends for unknown objects older than this (undefined: no sweep). */
  readonly sweepGraceMs?: number;
  readonly nowMs?: number;
}

async function sweep(engine: Engine, opts: GcOptions, nowMs: number): Promise<GcReport["sweep"]> {
  if (opts.sweepGraceMs === undefined) return undefined;
  const { orphans: _listed, ...report } = await sweepOrphans({
    backends: engine.backends,
    isKnown: (nameTag) => engine.manifest.hasNameTag(nameTag),
    graceMs: opts.sweepGraceMs,
    nowMs,
    dryRun: opts.dryRun,
  });
  return { ...report, graceMs: opts.sweepGraceMs };
}

export async function runGc(engine: Engine, opts: GcOptions): Promise<GcReport> {
  const nowMs = opts.nowMs ?? Date.now();
  const garbage = engine.manifest.listGarbageChunks({ olderThanMs: nowMs - opts.graceMs });
  if (opts.dryRun) {
    return {
      dryRun: true,
      graceMs: opts.graceMs,
      candidates: garbage.length,
      marked: 0,
      deletedBlobs: 0,
      forgotten: 0,
      freedBytes: garbage.reduce((n, c) => n + c.sealedSize * Math.max(1, c.locations.length), 0),
      errors: [],
      ...withSweep(await sweep(engine, opts, nowMs)),
    };
  }
  let marked = 0;
  for (let i = 0; i < garbage.length; i += GC_BATCH_CHUNKS) {
    const res = await proposeOrThrow(engine.committer, {
      type: "MarkChunksDeleting",
      hashes: garbage.slice(i, i + GC_BATCH_CHUNKS).map((c) => c.hash),
      nowMs,
      graceMs: opts.graceMs,
    });
    marked += res.hashes?.length ?? 0;
  }
  // Everything in `deleting` now: this run's marks plus any left by a crashed run.
  const deleting = engine.manifest.listDeletingChunks();
  const errors: string[] = [];
  let deletedBlobs = 0;
  let freedBytes = 0;
  const done: string[] = [];
  for (const c of deleting) {
    try {
      await engine.distributor.deleteChunk(c.nameTag, c.locations);
      deletedBlobs += c.locations.length;
      freedBytes += c.sealedSize * c.locations.length;
      done.push(c.hash);
    } catch (err) {
      // Left in `deleting`: still fenced, retried by the next run.
      errors.push(`${c.hash.slice(0, 16)}: ${(err as Error).message}`);
    }
  }
  let forgotten = 0;
  for (let i = 0; i < done.length; i += GC_BATCH_CHUNKS) {
    const res = await proposeOrThrow(engine.committer, {
      type: "ForgetChunks",
      hashes: done.slice(i, i + GC_BATCH_CHUNKS),
    });
    forgotten += res.hashes?.length ?? 0;
  }
  return {
    dryRun: false,
    graceMs: opts.graceMs,
    candidates: garbage.length,
    marked,
    deletedBlobs,
    forgotten,
    freedBytes,
    errors,
    ...withSweep(await sweep(engine, opts, nowMs)),
  };
}

function withSweep(s: GcReport["sweep"]): { sweep?: NonNullable<GcReport["sweep"]> } {
  return s ? { sweep: s } : {};
}
