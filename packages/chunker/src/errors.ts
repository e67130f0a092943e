/**
 * The one error class of @enigma/chunker. Expected failures carry a closed `code`; messages that
 * concern a chunk name it by a hex prefix of its plaintext hash so logs point at the right object.
 */
export type ChunkerErrorCode =
  /** Chunking or pipeline options are out of range. */
  | "InvalidOptions"
  /** A sealed chunk is malformed, fails authentication, or its payload does not decompress. */
  | "Corrupt"
  /** A sealed chunk opened fine but is not the chunk asked for (name tag or SHA-256 differs). */
  | "Mismatch"
  /** A sealed chunk names a key id the caller does not hold. */
  | "UnknownKey"
  /** A payload would decompress beyond the maximum chunk size. */
  | "TooLarge"
  /** A seal worker thread failed or exited; the stream cannot continue. */
  | "WorkerFailed";

export class ChunkerError extends Error {
  readonly code: ChunkerErrorCode;

  constructor(code: ChunkerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChunkerError";
    this.code = code;
  }

  /** Normalizes anything thrown into a ChunkerError (unknown failures become `WorkerFailed`). */
  static from(err: unknown, fallback: ChunkerErrorCode = "WorkerFailed"): ChunkerError {
    if (err instanceof ChunkerError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new ChunkerError(fallback, message, { cause: err });
  }
}

/** How chunks are named in messages: the first 16 hex digits of the plaintext SHA-256. */
export function chunkLabel(hash: Uint8Array): string {
  return `chunk ${Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString("hex", 0, 8)}…`;
}
