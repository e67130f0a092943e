import type { SealKeys } from "./chunk-sealer.js";
import type { ChunkerErrorCode } from "./errors.js";

/**
 * Messages between the pool and a seal worker. Plaintext and sealed-output ArrayBuffers are moved
 * with transferList (never copied); the plaintext buffer always comes back with `done` so the main
 * thread can refill it.
 */
export interface JobMessage {
  readonly kind: "job";
  readonly id: number;
  /**
   * The chunk's bytes at [0, length). A SharedArrayBuffer (what the pool's streams use) is shared,
   * not moved: the pool owns it and reuses it once every job reading it replied. A plain
   * ArrayBuffer is transferred and comes back with `done`.
   */
  readonly plain: ArrayBuffer | SharedArrayBuffer;
  readonly length: number;
  /** A recycled sealed-output buffer (transferred), or null for the worker to allocate one. */
  readonly out: ArrayBuffer | null;
  readonly keys: SealKeys;
  readonly compressionLevel: number | null;
  readonly sha3: boolean;
  /** When true the worker posts `digested` and waits for `decide` before sealing (dedup check). */
  readonly ask: boolean;
}

/** Opens an MD5 lane (a running hash of one stream's bytes) on this worker. */
export interface Md5OpenMessage {
  readonly kind: "md5-open";
  readonly lane: number;
}

/**
 * Feeds a lane the next piece of its stream (messages to one worker arrive in order, so the lane
 * sees the stream's bytes in order); the worker replies `md5-fed` with `id` once it read them.
 */
export interface Md5FeedMessage {
  readonly kind: "md5-feed";
  readonly id: number;
  readonly lane: number;
  readonly plain: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
}

/** Ends a lane: the worker replies `md5` with job id `id` (or drops it silently when `reply` is false). */
export interface Md5EndMessage {
  readonly kind: "md5-end";
  readonly id: number;
  readonly lane: number;
  readonly reply: boolean;
}

export interface DecideMessage {
  readonly kind: "decide";
  readonly id: number;
  readonly seal: boolean;
  /**
   * With `seal`: a recycled sealed-output buffer (transferred) for a job that was sent without
   * one, or null. Taking it only now keeps a sealed buffer out of the pool for the seal and upload
   * alone, not while the job waits in the worker's queue and for the dedup check.
   */
  readonly out: ArrayBuffer | null;
}

/**
 * Opens a sealed chunk (`openSealedInto`) in place: the blob at `blob[blobOffset, +blobLength)` is
 * decrypted over itself. The main thread parsed the header and resolved its key id to `key` (the
 * keyring never leaves the main thread). The buffer is shared, not moved: the main thread must
 * not touch it until the job settles, and after a WorkerFailed settlement never again.
 */
export interface OpenMessage {
  readonly kind: "open";
  readonly id: number;
  readonly blob: SharedArrayBuffer;
  readonly blobOffset: number;
  readonly blobLength: number;
  readonly keyId: number;
  readonly key: Uint8Array;
  readonly nameKey: Uint8Array;
  readonly expectedHash: Uint8Array;
  readonly maxBytes: number;
}

export type ToWorker =
  | JobMessage
  | DecideMessage
  | Md5OpenMessage
  | Md5FeedMessage
  | Md5EndMessage
  | OpenMessage;

export interface DigestedMessage {
  readonly kind: "digested";
  readonly id: number;
  readonly hash: Uint8Array;
}

export interface DoneMessage {
  readonly kind: "done";
  readonly id: number;
  /** The job's plaintext buffer when it was transferred; null when it was shared. */
  readonly plain: ArrayBuffer | null;
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
  /**
   * Set for `open` jobs that failed with a ChunkerError (Corrupt, Mismatch, UnknownKey, TooLarge):
   * the pool rethrows that code and message unchanged. Absent: the pool reports WorkerFailed.
   */
  readonly code?: ChunkerErrorCode;
}

/**
 * An `open` job verified (GCM tag and SHA-256): the plaintext is `blob[offset, offset + length)`
 * (uncompressed chunks, decrypted in place), or, for a compressed chunk, `plain` (transferred).
 */
export interface OpenedMessage {
  readonly kind: "opened";
  readonly id: number;
  readonly plain: ArrayBuffer | null;
  readonly offset: number;
  readonly length: number;
}

/** The digest of a lane ended by `md5-end`. */
export interface Md5Message {
  readonly kind: "md5";
  readonly id: number;
  readonly digest: Uint8Array;
}

/** A `md5-feed` was hashed; its buffer may be reused. */
export interface Md5FedMessage {
  readonly kind: "md5-fed";
  readonly id: number;
}

export type FromWorker =
  | DigestedMessage
  | DoneMessage
  | FailedMessage
  | Md5Message
  | Md5FedMessage
  | OpenedMessage;

/** The buffers among `bufs` that must be transferred (SharedArrayBuffers are shared instead). */
export function transferable(...bufs: (ArrayBuffer | SharedArrayBuffer)[]): ArrayBuffer[] {
  return bufs.filter((b): b is ArrayBuffer => !(b instanceof SharedArrayBuffer));
}

/** Copies a (possibly pool-backed) small Buffer so cloning it does not clone an 8 KiB slab. */
export function detachedCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
