/**
 * Key rotation as one operation, embedded (`enigma keys rotate`) or over the cluster service's
 * `Admin` RPC (`keys.rotate`, called with `onLeader`: `enigma keys rotate --node HOST:PORT`).
 *
 * In a cluster the rotation runs on the leader, one at a time there: the leader adds the provider
 * key (vault providers) and proposes the data key wrapped under it; every node gets the data key
 * through the manifest (AddDataKey) and the provider key by refreshing its key provider when that
 * data key does not unwrap (keys.ts). Any node can be called: it forwards to the leader.
 */
import { isKeyProviderError, type ProviderKeyInfo } from "@enigma/crypto";
import { AdminRejected, RaftNodeError } from "@enigma/raft-node";
import { z } from "zod";
import type { AdminContext, AdminRegistry } from "../admin/registry.js";
import { CommandRefused } from "./committer.js";
import type { Engine } from "./engine.js";
import { rotateDataKey } from "./keys.js";

export const KEYS_ROTATE_ACTION = "keys.rotate";

/** What a rotation did (the `keys.rotate` result, and what `enigma keys rotate --json` prints). */
export interface KeysRotateResult {
  /** The new current data key. */
  readonly currentKeyId: number;
  /** Data keys the rotating node holds after the rotation. */
  readonly keyIds: number[];
  readonly provider: { readonly kind: string; readonly description: string; readonly canRotate: boolean };
  readonly providerKeyRotated: boolean;
  /** The provider key the new data key is wrapped under. */
  readonly currentProviderKeyId: number;
  /** The new provider key's secret (vault providers), or null when the provider key did not rotate. */
  readonly providerKeySecret: string | null;
  /**
   * The call carried a request id whose rotation was already applied (a retry after a timeout or
   * a leader change): nothing was rotated again; `currentKeyId` is the current data key.
   */
  readonly repeated: boolean;
}

/**
 * Adds a provider key when the provider can (a vault; a keystore file copied to every node
 * cannot), then a data key wrapped under the current provider key, committed through the engine's
 * committer. The data key id is chosen after a read barrier, so it follows every data key committed
 * anywhere before the call. If the data key step fails, the new provider key wraps nothing yet:
 * rotating again is safe. Throws the provider's KeyProviderError, or CommandRefused.
 */
export async function rotateKeys(
  engine: Engine,
  nowMs: number,
  opts: { readonly requestId?: string } = {},
): Promise<KeysRotateResult> {
  const kp = engine.keyProvider;
  const provider = { kind: kp.kind, description: kp.description, canRotate: kp.canRotate };
  if (opts.requestId !== undefined) {
    // A retry of a rotation that went through (its data key committed): report, rotate nothing.
    await engine.committer.readBarrier();
    if (engine.manifest.hasAppliedRequest(opts.requestId)) {
      await engine.keyring.sync();
      return {
        currentKeyId: engine.keyring.current().keyId,
        keyIds: engine.keyring.ids(),
        provider,
        providerKeyRotated: false,
        currentProviderKeyId: engine.keystore.currentKeyId,
        providerKeySecret: null,
        repeated: true,
      };
    }
  }
  const rotated: ProviderKeyInfo | undefined = kp.canRotate ? await kp.rotate() : undefined;
  await engine.committer.readBarrier();
  // The data key proposal carries the request id: the state machine applies it at most once even
  // if this attempt and a retry both reach it.
  const keyId = await rotateDataKey(
    engine.keystore,
    engine.manifest,
    engine.committer,
    nowMs,
    opts.requestId,
  );
  await engine.keyring.sync();
  return {
    currentKeyId: keyId,
    keyIds: engine.keyring.ids(),
    provider,
    providerKeyRotated: rotated !== undefined,
    currentProviderKeyId: engine.keystore.currentKeyId,
    providerKeySecret: rotated?.secretName ?? null,
    repeated: false,
  };
}

/**
 * `requestId`: makes a retried call idempotent (the CLI sends a fresh one per invocation and the
 * node forwarding it reuses it on every attempt). Same shape as the manifest's request ids.
 */
const RotateArgs = z
  .object({
    requestId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{8,64}$/, "requestId: 8-64 of [A-Za-z0-9_-]")
      .optional(),
  })
  .strict();

/** `keys.rotate` {} → KeysRotateResult & {nodeId}: on the leader only, one rotation at a time. */
export function registerKeyActions(registry: AdminRegistry, ctx: AdminContext): void {
  let running = false;
  registry.register(KEYS_ROTATE_ACTION, async (raw) => {
    const parsed = RotateArgs.safeParse(raw ?? {});
    if (!parsed.success)
      throw new AdminRejected(
        `${KEYS_ROTATE_ACTION}: takes only an optional requestId (call it with onLeader): ${parsed.error.issues[0]?.message ?? "bad arguments"}`,
      );
    const raft = ctx.cluster?.node.raft;
    // Forwarded here as the leader but no longer it: the caller's node retries on the new leader.
    if (raft !== undefined && raft.role !== "leader")
      throw raft.leader === 0 || raft.leader === ctx.settings.raft.nodeId
        ? new RaftNodeError("NoLeader", `${KEYS_ROTATE_ACTION}: not the leader; no leader known`)
        : new RaftNodeError("NotLeader", `${KEYS_ROTATE_ACTION}: not the leader; leader is ${raft.leader}`, {
            leaderHint: raft.leader,
          });
    if (running)
      throw new AdminRejected(
        `${KEYS_ROTATE_ACTION}: a key rotation is running on the leader already; retry`,
      );
    running = true;
    try {
      const r = await rotateKeys(
        ctx.engine,
        Date.now(),
        parsed.data.requestId === undefined ? {} : { requestId: parsed.data.requestId },
      );
      ctx.logger.info(
        {
          keys: {
            dataKeyId: r.currentKeyId,
            providerKeyId: r.currentProviderKeyId,
            providerKeyRotated: r.providerKeyRotated,
          },
        },
        "keys rotated",
      );
      return { ...r, nodeId: ctx.settings.raft.nodeId };
    } catch (err) {
      // Provider messages name the provider and the secret, never a secret value.
      if (isKeyProviderError(err)) throw new AdminRejected(`${KEYS_ROTATE_ACTION}: ${err.message}`);
      if (err instanceof CommandRefused) throw new AdminRejected(`${KEYS_ROTATE_ACTION}: ${err.message}`);
      throw err;
    } finally {
      running = false;
    }
  });
}
