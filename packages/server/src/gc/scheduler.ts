/**
 * Scheduled GC: every `gc_interval` the leader runs one GC (grace `gc_grace`, sweep with the sweep
 * floor). Skipped when this node is not the leader, while GC is paused after a restore, and while
 * a run (scheduled or operator's) is in progress. `stop()` cancels the timer and waits for a run in
 * progress to finish its current step chain.
 */
import type { Logger } from "pino";
import type { RunningCluster } from "../cluster/start-cluster.js";
import type { Engine } from "../engine/engine.js";
import { gcPauseStatus } from "../snapshot/gc-pause.js";
import { gcState, runGc } from "./run.js";
import { SWEEP_MIN_GRACE_MS } from "./sweep.js";

export interface GcSchedulerOptions {
  readonly engine: Engine;
  readonly cluster: RunningCluster | undefined;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly graceMs: number;
}

export type TickOutcome = "ran" | "not-leader" | "paused" | "busy" | "failed" | "stopped";

export class GcScheduler {
  readonly #opts: GcSchedulerOptions;
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<TickOutcome> | undefined;
  #stopped = false;

  constructor(opts: GcSchedulerOptions) {
    this.#opts = opts;
  }

  /** Starts the timer (no-op when the interval is 0: scheduled GC off). */
  start(): this {
    if (this.#opts.intervalMs <= 0 || this.#stopped) return this;
    this.#timer = setInterval(() => {
      if (this.#current === undefined) {
        this.#current = this.tick().finally(() => {
          this.#current = undefined;
        });
      }
    }, this.#opts.intervalMs);
    this.#timer.unref();
    return this;
  }

  /** One scheduled decision and, when due, one run. Exposed for tests. */
  async tick(): Promise<TickOutcome> {
    const { engine, cluster, logger } = this.#opts;
    if (this.#stopped) return "stopped";
    if (cluster !== undefined && cluster.node.raft.role !== "leader") return "not-leader";
    // The manifest's replicated pause (new-cluster restore) or this node's marker (reseed).
    if (gcPauseStatus(engine.settings.raft.dataDir, engine.manifest).paused) {
      logger.warn("scheduled GC skipped: paused after a snapshot restore (enigma snapshot confirm-gc)");
      return "paused";
    }
    if (gcState(engine).running !== undefined) return "busy";
    try {
      const r = await runGc(engine, {
        dryRun: false,
        graceMs: this.#opts.graceMs,
        sweepGraceMs: Math.max(this.#opts.graceMs, SWEEP_MIN_GRACE_MS),
      });
      logger.info(
        {
          gc: {
            freedChunks: r.freedChunks,
            freedBytes: r.freedBytes,
            marked: r.marked,
            errors: r.errors.length,
          },
        },
        "scheduled GC done",
      );
      return "ran";
    } catch (err) {
      logger.error({ err }, "scheduled GC failed");
      return "failed";
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#current;
  }
}
