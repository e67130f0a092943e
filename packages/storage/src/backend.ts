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

export interface StorageBackend {
  /** Provider name from config (`[[providers]] name`); appears in every error. */
  readonly name: string;
  /** Stores `data` under `key` atomically and durably: readers see all of it or nothing. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Returns the whole object. Throws StorageError("NotFound") when absent. */
  get(key: string): Promise<Buffer>;
  /** Removes `key`. Idempotent: deleting an absent key succeeds. */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, in no particular order. */
  list(prefix?: string): AsyncIterable<ListedObject>;
  /** Cheap reachability/permission check used by `enigma status`. */
  test(): Promise<void>;
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
}

/**
 * Backend object key for a chunk: a two-hex-digit fan-out directory then the hex name tag
 * (HMAC of the plaintext hash, never the hash itself).
 */
export function chunkObjectKey(nameTagHex: string): string {
  if (!/^[0-9a-f]{64}$/.test(nameTagHex)) throw new Error(`bad chunk name tag ${nameTagHex}`);
  return `chunks/${nameTagHex.slice(0, 2)}/${nameTagHex}`;
}

export const CHUNK_KEY_PREFIX = "chunks/";
