/**
 * Raising the cluster feature level (packages/manifest DESIGN "Feature level"). Apply behaviour a
 * newer build adds (level 1: multipart part boundaries) must switch on at the same log entry on
 * every replica, and only once every member runs a build that implements it; otherwise a rolling
 * upgrade would leave replicas whose state differs. So the leader asks every member, over the
 * `features` admin action, which level its build implements, and proposes `SetFeatureLevel` with
 * the lowest answer once it exceeds the current level. A member that cannot be asked (down, or an
 * older build without the action) holds the level where it is until it can. A single node raises
 * its own level when it opens its engine (engine.ts).
 */
import { FEATURE_LEVEL } from "@enigma/manifest";
import type { Logger } from "pino";
import type { AdminContext, AdminRegistry } from "../admin/registry.js";
import type { Engine } from "../engine/engine.js";
import type { RunningCluster } from "./start-cluster.js";

/** How often the leader checks whether the level can rise (only while it is below the build's). */
export const FEATURE_CHECK_INTERVAL_MS = 5000;
/** Per member, per check. */
export const FEATURE_ASK_TIMEOUT_MS = 3000;

export interface FeatureAnswer {
  /** The highest level this member's build implements. */
  readonly supported: number;
  /** The level in force in this member's manifest. */
  readonly current: number;
}

export function registerFeatureActions(admin: AdminRegistry, ctx: AdminContext): void {
  admin.register(
    "features",
    async (): Promise<FeatureAnswer> => ({
      supported: FEATURE_LEVEL,
      current: ctx.engine.manifest.featureLevel(),
    }),
  );
}

export type FeatureTick = "current" | "not-leader" | "waiting" | "raised" | "stopped";

export interface FeatureRaiserOptions {
  readonly engine: Pick<Engine, "manifest" | "committer">;
  readonly cluster: Pick<RunningCluster, "node">;
  readonly logger: Logger;
  readonly intervalMs?: number;
}

export class FeatureRaiser {
  readonly #o: FeatureRaiserOptions;
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<FeatureTick> | undefined;
  #stopped = false;
  /** The last reason for waiting that was logged (logged again only when it changes). */
  #logged = "";

  constructor(opts: FeatureRaiserOptions) {
    this.#o = opts;
  }

  start(): this {
    if (this.#stopped) return this;
    this.#timer = setInterval(() => {
      if (this.#current === undefined)
        this.#current = this.tick().finally(() => {
          this.#current = undefined;
        });
    }, this.#o.intervalMs ?? FEATURE_CHECK_INTERVAL_MS);
    this.#timer.unref();
    return this;
  }

  /** One check and, when every member supports more than the current level, one raise. */
  async tick(): Promise<FeatureTick> {
    const { engine, cluster, logger } = this.#o;
    if (this.#stopped) return "stopped";
    const current = engine.manifest.featureLevel();
    if (current >= FEATURE_LEVEL) return "current";
    const node = cluster.node;
    if (node.raft.role !== "leader") return "not-leader";
    let level = FEATURE_LEVEL;
    for (const m of node.status().members) {
      let supported = 0;
      let why: string | undefined;
      try {
        const answer = (await node.adminAt(
          m.id,
          "features",
          null,
          FEATURE_ASK_TIMEOUT_MS,
        )) as Partial<FeatureAnswer>;
        supported = typeof answer?.supported === "number" ? answer.supported : 0;
      } catch (err) {
        why = err instanceof Error ? err.message : String(err);
      }
      if (supported < level) level = supported;
      if (level <= current) {
        const reason = why ?? `its build implements level ${supported}`;
        if (reason !== this.#logged) {
          this.#logged = reason;
          logger.info(
            { featureLevel: current, buildLevel: FEATURE_LEVEL, member: m.id },
            `feature level stays at ${current} for now: member ${m.id}: ${reason}`,
          );
        }
        return "waiting";
      }
    }
    const res = await engine.committer.propose({ type: "SetFeatureLevel", level });
    if (!res.ok) throw new Error(`SetFeatureLevel ${level}: ${res.code} ${res.message}`);
    logger.info({ featureLevel: level }, `every member supports feature level ${level}: raised`);
    return "raised";
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#current?.catch(() => {});
  }
}
