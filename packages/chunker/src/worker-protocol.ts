import type { SealKeys } from "./chunk-sealer.js";

/**
 * Messages between the pool and a seal worker. Plaintext and sealed-output ArrayBuffers are moved
 * with transferList (never copied); the plaintext buffer always comes back with `done` so the main
 * thread can refill it.
 */
export interface JobMessage {
  readonly kind: "job";
  readonly id: number;
  /** Owns the chunk's bytes at [0, length); transferred. */
  readonly plain: ArrayBuffer;
  readonly length: number;
  /** A recycled sealed-output buffer (transferred), or null for the worker to allocate one. */
  readonly out: ArrayBuffer | null;
  readonly keys: SealKeys;
  readonly compressionLevel: number | null;
  readonly sha3: boolean;
  /** When true the worker posts `digested` and waits for `decide` before sealing (dedup check). */
  readonly ask: boolean;
}

export interface DecideMessage {
  readonly kind: "decide";
  readonly id: number;
  readonly seal: boolean;
}

export type ToWorker = JobMessage | DecideMessage;

export interface DigestedMessage {
  readonly kind: "digested";
  readonly id: number;
  readonly hash: Uint8Array;
}

export interface DoneMessage {
  readonly kind: "done";
  readonly id: number;
  readonly plain: ArrayBuffer;
  readonly hash: Uint8Array;
  readonly sha3: Uint8Array | null;
  readonly nameTag: Uint8Array;
  readonly compressed: boolean;
  /** Holds the sealed blob at [0, sealedLength); null when the chunk was skipped as known. */
  readonly sealed: ArrayBuffer | null;
  readonly sealedLength: number;
}

export interface FailedMessage {
  readonly kind: "failed";
  readonly id: number;
  readonly message: string;
}

export type FromWorker = DigestedMessage | DoneMessage | FailedMessage;

/** Copies a (possibly pool-backed) small Buffer so cloning it does not clone an 8 KiB slab. */
export function detachedCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
