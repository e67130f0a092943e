/**
 * Snapshot actions of the `Admin` RPC: `snapshot.create` makes an operator snapshot of this node's
 * state without stopping it (same code as `enigma snapshot create`).
 */
import type { AdminContext, AdminRegistry } from "../admin/registry.js";

export function registerSnapshotActions(_registry: AdminRegistry, _ctx: AdminContext): void {}
