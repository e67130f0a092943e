/**
 * Operator actions a running node offers over the cluster service's `Admin` RPC (snapshot create,
 * GC run, …). Each feature registers its actions from its own module (`gc/admin.ts`,
 * `snapshot/admin.ts`); the node installs `handler()` on its `ClusterNode`.
 *
 * Arguments arrive as untrusted JSON: an action validates them (zod) and throws `AdminRejected`
 * with a message an operator can act on.
 */
import { type AdminHandler, AdminRejected } from "@enigma/raft-node";
import type { Logger } from "pino";
import type { RunningCluster } from "../cluster/start-cluster.js";
import type { EnigmaSettings } from "../config/index.js";
import type { Engine } from "../engine/engine.js";

/** What an action may use: the node's settings, its open engine, its cluster membership. */
export interface AdminContext {
  readonly settings: EnigmaSettings;
  readonly engine: Engine;
  readonly cluster: RunningCluster | undefined;
  readonly logger: Logger;
}

export type AdminAction = (args: unknown, ctx: { readonly deadline: number }) => Promise<unknown>;

export class AdminRegistry {
  readonly #actions = new Map<string, AdminAction>();

  register(name: string, action: AdminAction): void {
    if (this.#actions.has(name)) throw new Error(`admin action ${name} registered twice`);
    this.#actions.set(name, action);
  }

  names(): string[] {
    return [...this.#actions.keys()].sort();
  }

  handler(): AdminHandler {
    return (name, args, ctx) => {
      const action = this.#actions.get(name);
      if (action === undefined)
        throw new AdminRejected(
          `unknown admin action ${JSON.stringify(name)}; this node offers: ${this.names().join(", ")}`,
        );
      return action(args, ctx);
    };
  }
}
