import type { SealKeys } from "./chunk-sealer.js";
import type { ChunkerErrorCode } from "./errors.js";

/**
 * Messages between the pool and its workers. Chunk buffers are pool-owned SharedArrayBuffers,
 * shared, never moved: a seal job reads the chunk's plaintext where the main thread cut it and
 * writes the sealed chunk over it, in place (see JobMessage); an open job decrypts a blob over
 * itself. Only a compressed chunk's decompressed plaintext is transferred back (OpenedMessage).
 */
export interface JobMessage {
  readonly kind: "job";
  readonly id: number;
  /**
   * The chunk's plaintext is at [offset, offset + length). Sealing writes the sealed chunk over it,
   * at [0, sealedLength): the header in the headroom before the plaintext (offset must be at least
   * SEALED_HEADER_BYTES), each ciphertext slice over plaintext already read, the GCM tag after it
   * (the buffer must extend GCM_TAG_BYTES past the plaintext). The main thread must not let the
   * job seal before every other reader of the plaintext (the stream's MD5 lane) has read it.
   */
  readonly plain: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
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
  readonly hash: Uint8Array;
  readonly sha3: Uint8Array | null;
  readonly nameTag: Uint8Array;
  readonly compressed: boolean;
  /** Sealed: the job's buffer holds the sealed chunk at [0, sealedLength). False: skipped as known. */
  readonly sealed: boolean;
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

/** Copies a (possibly pool-backed) small Buffer so cloning it does not clone an 8 KiB slab. */
export function detachedCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
