/**
 * GC actions of the `Admin` RPC (`gc.run`, `gc.status`, …), run on the leader.
 */
import type { AdminContext, AdminRegistry } from "../admin/registry.js";

export function registerGcActions(_registry: AdminRegistry, _ctx: AdminContext): void {}
