/**
 * The one interface every chunk store implements. Sealed chunks are bounded (max chunk size plus
 * the seal overhead, 16 MiB + 72 bytes by default), so put/get move whole blobs.
 */
export interface ListedObject {
  readonly key: string;
  readonly sizeBytes: number;
  /** Last modification as reported by the backend, ms since the epoch. */
  readonly lastModifiedMs: number;
}

/**
 * Per-call options. The retry wrapper (retry.ts) passes a signal that fires on the per-operation
 * timeout; backends hand it to their SDK so a stuck request is actually cancelled.
 */
export interface OpOptions {
  readonly signal?: AbortSignal;
}

export interface BackendSpace {
  readonly availableBytes: number;
  readonly totalBytes: number;
  /** Writes that would leave less than this free are refused with NoSpace (0 = no reserve). */
  readonly reserveBytes: number;
  /**
   * Local: whether chunk-sized objects go through O_DIRECT (`direct_io`): null until the first one
   * tried, false when off or refused by the filesystem.
   */
  readonly directIo?: boolean | null;
}

export interface StorageBackend {
  /** Provider name from config (`[[providers]] name`); appears in every error. */
  readonly name: string;
  /**
   * Stores `data` under `key` atomically and durably: readers see all of it or nothing.
   * Throws StorageError("InvalidKey") for a key `validateObjectKey` rejects.
   */
  put(key: string, data: Uint8Array, opts?: OpOptions): Promise<void>;
  /** Returns the whole object. Throws StorageError("NotFound") when absent. */
  get(key: string, opts?: OpOptions): Promise<Buffer>;
  /**
   * Optional `get` into a caller's buffer (the local backend has it; callers fall back to `get`):
   * reads the whole object into `alloc(sizeBytes)` (which may return a longer buffer, or throw to
   * refuse the size) and resolves with the view holding exactly the object. The buffer belongs to
   * the backend until the promise settles; after a rejection (a timeout included, when the read
   * may still be running) the caller must not reuse it.
   */
  getInto?(key: string, alloc: (sizeBytes: number) => Buffer, opts?: OpOptions): Promise<Buffer>;
  /** Removes `key`. Idempotent: deleting an absent key succeeds. */
  delete(key: string, opts?: OpOptions): Promise<void>;
  exists(key: string, opts?: OpOptions): Promise<boolean>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix?: string, opts?: OpOptions): AsyncIterable<ListedObject>;
  /** Cheap reachability/permission check used by `enigma status`. */
  test(opts?: OpOptions): Promise<void>;
  /**
   * Optional (the local backend has it): space on the filesystem under the backend and the
   * free-space reserve chunk writes keep (`min_free_space`), for status and metrics.
   */
  space?(): Promise<BackendSpace>;
  /** Releases sockets/handles. */
  close?(): Promise<void>;
}

export type StorageErrorCode =
  | "NotFound"
  | "Unavailable"
  | "AuthFailed"
  | "PreconditionFailed"
  | "Timeout"
  | "Throttled"
  | "NoSpace"
  | "InvalidConfig"
  | "InvalidKey"
  /** Every replica of a chunk failed verification (distributor reads). */
  | "Corrupt"
  | "Internal";

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly provider: string;
  constructor(code: StorageErrorCode, provider: string, message: string, options?: { cause?: unknown }) {
    super(`[${provider}] ${message}`, options);
    this.name = "StorageError";
    this.code = code;
    this.provider = provider;
  }

  static is(err: unknown, code?: StorageErrorCode): err is StorageError {
    return err instanceof StorageError && (code === undefined || err.code === code);
  }

  /**
   * Normalizes anything thrown into a StorageError naming `provider`. A StorageError passes
   * through unchanged; anything else becomes `fallbackCode` (Internal unless told) with the
   * original as `cause`. Backends map their SDK errors first (see backends/*-errors).
   */
  static from(err: unknown, provider: string, fallbackCode: StorageErrorCode = "Internal"): StorageError {
    if (err instanceof StorageError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new StorageError(fallbackCode, provider, message, { cause: err });
  }
}

const NAME_TAG_RE = /^[0-9a-f]{64}$/;

/** Hex digits of the upload nonce a chunk's object name carries after its name tag. */
export const UPLOAD_NONCE_HEX_CHARS = 16;

/** A chunk's object name: its 64-hex name tag, then (uploads since per-upload names) 16 hex of nonce. */
const CHUNK_NAME_RE = /^[0-9a-f]{64}(?:[0-9a-f]{16})?$/;

/**
 * The object name of one upload of a chunk: the name tag (HMAC of the plaintext hash) followed by
 * a nonce the writer draws for that upload. Two uploads of the same content therefore never share
 * a backend key, so a delete aimed at one of them (GC's or the sweep's, possibly late: an old
 * leader's request still in flight) can never remove the other. All hex, so a build that predates
 * nonces still decodes and applies commands that carry such names.
 */
export function chunkObjectName(nameTagHex: string, nonceHex: string): string {
  if (!NAME_TAG_RE.test(nameTagHex)) throw new Error(`bad chunk name tag ${nameTagHex}`);
  if (nonceHex.length !== UPLOAD_NONCE_HEX_CHARS || !/^[0-9a-f]+$/.test(nonceHex)) {
    throw new Error(`bad chunk upload nonce ${nonceHex}`);
  }
  return nameTagHex + nonceHex;
}

/** True for a chunk object name: a bare name tag (uploads before nonces) or tag + nonce. */
export function isChunkObjectName(s: string): boolean {
  return CHUNK_NAME_RE.test(s);
}

/** The name tag a chunk object name starts with (what placement ranks by). */
export function nameTagOf(chunkName: string): string {
  if (!CHUNK_NAME_RE.test(chunkName)) throw new Error(`bad chunk object name ${chunkName}`);
  return chunkName.slice(0, 64);
}

/**
 * Backend object key for a chunk object name (`chunkObjectName`, or a bare name tag): a
 * two-hex-digit fan-out directory then the name (never the plaintext hash itself).
 */
export function chunkObjectKey(chunkName: string): string {
  if (!CHUNK_NAME_RE.test(chunkName)) throw new Error(`bad chunk object name ${chunkName}`);
  return `chunks/${chunkName.slice(0, 2)}/${chunkName}`;
}

export const CHUNK_KEY_PREFIX = "chunks/";

/** Inverse of `chunkObjectKey`: the chunk object name, or null for a key that is not a chunk of ours. */
export function parseChunkObjectKey(key: string): string | null {
  const m = /^chunks\/([0-9a-f]{2})\/([0-9a-f]{64}(?:[0-9a-f]{16})?)$/.exec(key);
  if (!m || !m[2]!.startsWith(m[1]!)) return null;
  return m[2]!;
}
