/**
 * GC actions of the `Admin` RPC, meant to run on the leader (callers pass `onLeader`):
 *   gc.run    {dryRun?, graceMs?, sweep?, sweepGraceMs?} → GcReport
 *   gc.status {} → this node's GC state (running step, totals, last report), chunk statistics
 *             and the GC pause (the manifest's replicated one and this node's marker)
 *   gc.confirm {by?} → lifts the pause after a restore (`enigma snapshot confirm-gc --node`): proposes
 *             ResumeGc (forwarded to the leader like any write) and removes this node's marker;
 *             runs on the node called (onLeader false), so a reseeded node's marker can be cleared
 * A refusal (paused after restore, a run already in progress, bad arguments) is an AdminRejected
 * the caller receives as failure code "Rejected".
 */
import { AdminRejected } from "@enigma/raft-node";
import { z } from "zod";
import type { AdminContext, AdminRegistry } from "../admin/registry.js";
import { proposeOrThrow } from "../engine/committer.js";
import { SnapshotError } from "../snapshot/errors.js";
import { confirmGcAfterRestore, gcPauseStatus } from "../snapshot/gc-pause.js";
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

const ConfirmArgs = z.object({ by: z.string().min(1).max(256).optional() }).strict();

export const GC_CONFIRM_ACTION = "gc.confirm";

export interface GcConfirmResult {
  /** Whether anything was paused (the manifest or this node's marker). */
  readonly wasPaused: boolean;
  /** The replicated pause ResumeGc lifted (null: the manifest was not paused). */
  readonly replicated: unknown;
  /** This node's marker that was removed (null: none). */
  readonly localMarker: unknown;
  readonly nodeId: number;
}

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

  registry.register(GC_CONFIRM_ACTION, async (raw): Promise<GcConfirmResult> => {
    const parsed = ConfirmArgs.safeParse(raw ?? {});
    if (!parsed.success) throw new AdminRejected("gc.confirm: bad arguments: only {by?: string}");
    const dataDir = ctx.settings.raft.dataDir;
    // The state every write acknowledged before the call produced (a pause lifted elsewhere too).
    await ctx.engine.committer.readBarrier();
    const before = gcPauseStatus(dataDir, ctx.engine.manifest);
    if (before.replicated !== null) {
      await proposeOrThrow(ctx.engine.committer, {
        type: "ResumeGc",
        atMs: Date.now(),
        by: parsed.data.by ?? `enigma snapshot confirm-gc via node ${ctx.settings.raft.nodeId}`,
      });
    }
    const marker = confirmGcAfterRestore(dataDir) ?? null;
    ctx.logger.warn(
      { replicated: before.replicated, localMarker: marker },
      "GC pause after restore confirmed: GC may delete again",
    );
    return {
      wasPaused: before.replicated !== null || marker !== null,
      replicated: before.replicated,
      localMarker: marker,
      nodeId: ctx.settings.raft.nodeId,
    };
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
      sweeping: ctx.engine.manifest.sweepingCount(),
      pause: gcPauseStatus(ctx.settings.raft.dataDir, ctx.engine.manifest),
    };
  });
}
