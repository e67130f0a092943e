import { createHash } from "node:crypto";
import { chunkNameTag, FLAG_COMPRESSED, SEAL_OVERHEAD_BYTES, sealChunk } from "./seal-api.js";
import { sealInto } from "./seal-into.js";
import { zstd } from "./zstd.js";

/** Key material and switches for sealing; small enough to send with every worker job. */
export interface SealKeys {
  readonly keyId: number;
  readonly key: Uint8Array;
  readonly nameKey: Uint8Array;
}

export interface ChunkDigests {
  readonly hash: Buffer;
  readonly sha3: Buffer | undefined;
}

export interface SealOutcome {
  readonly nameTag: Buffer;
  readonly compressed: boolean;
  /** View of the sealed blob; lies in `out` when `out` was large enough. */
  readonly sealed: Buffer;
}

/** Bytes a sealed-output buffer needs for a plaintext of `maxBytes` (compression never grows it). */
export function sealedCapacityBytes(maxBytes: number): number {
  return maxBytes + SEAL_OVERHEAD_BYTES;
}

const ALLOC_GRANULE_BYTES = 1024 * 1024;

/**
 * Size to allocate for a fresh sealed-output buffer that must hold `needBytes`: rounded up to a
 * whole MiB (small chunks: to a power of two), so a pooled buffer fits the many chunks of similar
 * size that follow (exact sizes made most later chunks miss the pool and page-fault a fresh
 * buffer). Only touched pages count in RSS.
 */
export function sealedAllocBytes(needBytes: number): number {
  if (needBytes >= ALLOC_GRANULE_BYTES)
    return Math.ceil(needBytes / ALLOC_GRANULE_BYTES) * ALLOC_GRANULE_BYTES;
  let n = 4096;
  while (n < needBytes) n *= 2;
  return n;
}

/**
 * The per-chunk work, identical on the main thread and in workers: SHA-256 (and SHA3-256) of the
 * plaintext, then optional zstd and AES-256-GCM sealing. Owns one reused compression buffer and one
 * zstd context, so a sealer belongs to one thread.
 */
export class ChunkSealer {
  private readonly level: number | null;
  private cctx: InstanceType<typeof zstd.CCtx> | null = null;
  private zbuf: Buffer | null = null;

  constructor(compressionLevel: number | null) {
    this.level = compressionLevel;
  }

  digest(plain: Uint8Array, sha3: boolean): ChunkDigests {
    return {
      hash: createHash("sha256").update(plain).digest(),
      sha3: sha3 ? createHash("sha3-256").update(plain).digest() : undefined,
    };
  }

  /** Compresses (when enabled and it saves bytes) and seals `plain` into `out` when it fits. */
  seal(plain: Uint8Array, hash: Uint8Array, keys: SealKeys, out?: Buffer): SealOutcome {
    const nameTag = chunkNameTag(keys.nameKey, hash);
    let payload = plain;
    let flags = 0;
    if (this.level !== null) {
      const bound = zstd.compressBound(plain.length);
      if (this.zbuf === null || this.zbuf.length < bound) this.zbuf = Buffer.allocUnsafeSlow(bound);
      this.cctx ??= new zstd.CCtx();
      const n = this.cctx.compress(this.zbuf, plain, this.level);
      if (n < plain.length) {
        payload = this.zbuf.subarray(0, n);
        flags = FLAG_COMPRESSED;
      }
    }
    const input = { keyId: keys.keyId, key: keys.key, nameTag, payload, flags };
    const sealed = out === undefined ? sealChunk(input) : sealInto(input, out);
    return { nameTag, compressed: flags !== 0, sealed };
  }
}
