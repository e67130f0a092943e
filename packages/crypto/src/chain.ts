/**
 * A backup's integrity chain (ARCHITECTURE §8):
 *
 *   chain[0] = HMAC-SHA256(chainKey, "enigma-ha/v1/chain-init" ‖ 0x00 ‖ utf8(backupId))
 *   chain[n] = HMAC-SHA256(key = chain[n-1], data = sha256(chunk n) ‖ sha3-256(chunk n))
 *
 * Keyed by the keystore, so someone with write access to the manifest or the backend but not the
 * keystore cannot forge a chain after deleting, reordering or substituting chunks. Two hash
 * families make a collision in one of them insufficient.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { SCHEME } from "./hkdf.js";

export const CHAIN_VALUE_BYTES = 32;
const HASH_BYTES = 32;

/**
 * SHA3-256 via node:crypto (OpenSSL). Measured faster than hash-wasm's SHA3 on 4 MiB buffers
 * (see DESIGN.md), and synchronous, so it fits the per-chunk pipeline without an await.
 */
export function sha3_256(data: Uint8Array): Buffer {
  return createHash("sha3-256").update(data).digest();
}

/** Incremental SHA3-256 for data that arrives in pieces. */
export function createSha3_256(): { update(data: Uint8Array): void; digest(): Buffer } {
  const h = createHash("sha3-256");
  return {
    update: (data) => {
      h.update(data);
    },
    digest: () => h.digest(),
  };
}

export function chainInit(chainKey: Uint8Array, backupId: string): Buffer {
  if (backupId.length === 0) throw new Error("backup id must not be empty");
  return createHmac("sha256", chainKey)
    .update(`${SCHEME.chainInit}\0`, "utf8")
    .update(backupId, "utf8")
    .digest();
}

export function chainStep(prev: Uint8Array, sha256: Uint8Array, sha3: Uint8Array): Buffer {
  if (prev.length !== CHAIN_VALUE_BYTES) throw new Error(`chain value must be ${CHAIN_VALUE_BYTES} bytes`);
  if (sha256.length !== HASH_BYTES || sha3.length !== HASH_BYTES)
    throw new Error("chunk hashes must be 32 bytes");
  return createHmac("sha256", prev).update(sha256).update(sha3).digest();
}

export interface ChainLink {
  readonly sha256: Uint8Array;
  readonly sha3_256: Uint8Array;
}

/** Folds `links` in order from `chainInit(chainKey, backupId)`; returns the final value. */
export function chainFold(chainKey: Uint8Array, backupId: string, links: Iterable<ChainLink>): Buffer {
  let v = chainInit(chainKey, backupId);
  for (const l of links) v = chainStep(v, l.sha256, l.sha3_256);
  return v;
}

/** Constant-time comparison of two chain values. */
export function chainEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
