/**
 * GC actions of the `Admin` RPC, meant to run on the leader (callers pass `onLeader`):
 *   gc.run    {dryRun?, graceMs?, sweep?, sweepGraceMs?} → GcReport
 *   gc.status {} → this node's GC state (running step, totals, last report) and chunk statistics
 * A refusal (paused after restore, a run already in progress, bad arguments) is an AdminRejected
 * the caller receives as failure code "Rejected".
 */
import { AdminRejected } from "@enigma/raft-node";
import { z } from "zod";
import type { AdminContext, AdminRegistry } from "../admin/registry.js";
import { SnapshotError } from "../snapshot/errors.js";
import { GcBusyError, gcState, runGc } from "./run.js";
import { SWEEP_MIN_GRACE_MS } from "./sweep.js";

const MAX_DURATION_MS = 10 * 365 * 24 * 3600 * 1000;
const duration = z.number().int().min(0).max(MAX_DURATION_MS);

const RunArgs = z
  .object({
    dryRun: z.boolean().optional(),
    graceMs: duration.optional(),
    sweep: z.boolean().optional(),
    sweepGraceMs: duration.optional(),
  })
  .strict();

export function registerGcActions(registry: AdminRegistry, ctx: AdminContext): void {
  registry.register("gc.run", async (raw) => {
    const parsed = RunArgs.safeParse(raw ?? {});
    if (!parsed.success) {
      throw new AdminRejected(
        `gc.run: bad arguments: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
      );
    }
    const a = parsed.data;
    // One deleting run at a time cluster-wide: runs belong to the leader (callers pass onLeader).
    if (ctx.cluster !== undefined && ctx.cluster.node.raft.role !== "leader" && a.dryRun !== true) {
      throw new AdminRejected("gc.run must run on the leader: call it with onLeader");
    }
    const graceMs = a.graceMs ?? ctx.settings.gcGraceMs;
    const sweepGraceMs = a.sweepGraceMs ?? Math.max(graceMs, SWEEP_MIN_GRACE_MS);
    try {
      return await runGc(ctx.engine, {
        dryRun: a.dryRun ?? false,
        graceMs,
        ...(a.sweep !== false ? { sweepGraceMs } : {}),
      });
    } catch (err) {
      if (err instanceof GcBusyError) throw new AdminRejected(err.message);
      if (err instanceof SnapshotError && err.code === "GcPaused") throw new AdminRejected(err.message);
      throw err;
    }
  });

  registry.register("gc.status", async () => {
    const s = gcState(ctx.engine);
    return {
      running: s.running ?? null,
      runs: s.runs,
      failedRuns: s.failedRuns,
      freedChunks: s.freedChunks,
      freedBytes: s.freedBytes,
      lastRunAtMs: s.lastRunAtMs ?? null,
      lastError: s.lastError ?? null,
      lastReport: s.lastReport ?? null,
      intervalMs: ctx.settings.gcIntervalMs,
      graceMs: ctx.settings.gcGraceMs,
      chunks: ctx.engine.manifest.chunkStats(),
    };
  });
}
