import { ChunkerError } from "./errors.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Default average chunk size; the gateway and the CLI must use the same value to dedup. */
export const DEFAULT_CHUNK_AVG_BYTES = 4 * MiB;
/** Smallest chunk bound accepted: below this the per-chunk overhead dominates. */
export const CHUNK_MIN_LIMIT_BYTES = 64;
/** Largest chunk bound accepted: bounds pipeline memory (O(maxInFlight × max)). */
export const CHUNK_MAX_LIMIT_BYTES = 64 * MiB;

/**
 * How a stream is cut. For "fastcdc", `avgBytes` must be a power of two and the bounds default to
 * min = avg/4 and max = avg×4. For "fixed", every chunk but the last is exactly `avgBytes` and
 * `minBytes`/`maxBytes` must be absent.
 */
export interface ChunkingOptions {
  readonly strategy: "fastcdc" | "fixed";
  readonly avgBytes: number;
  readonly minBytes?: number;
  readonly maxBytes?: number;
}

/** Validated, complete chunking parameters (for "fixed", min = avg = max). */
export interface ChunkingParams {
  readonly strategy: "fastcdc" | "fixed";
  readonly minBytes: number;
  readonly avgBytes: number;
  readonly maxBytes: number;
}

export const DEFAULT_CHUNKING: ChunkingOptions = { strategy: "fastcdc", avgBytes: DEFAULT_CHUNK_AVG_BYTES };

function invalid(message: string): ChunkerError {
  return new ChunkerError("InvalidOptions", `chunking: ${message}`);
}

function checkSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw invalid(`${name} must be an integer, got ${value}`);
  if (value < CHUNK_MIN_LIMIT_BYTES || value > CHUNK_MAX_LIMIT_BYTES) {
    throw invalid(
      `${name} must be between ${CHUNK_MIN_LIMIT_BYTES} and ${CHUNK_MAX_LIMIT_BYTES} bytes, got ${value}`,
    );
  }
}

export function resolveChunking(opts: ChunkingOptions = DEFAULT_CHUNKING): ChunkingParams {
  const { strategy, avgBytes } = opts;
  if (strategy === "fixed") {
    if (opts.minBytes !== undefined || opts.maxBytes !== undefined) {
      throw invalid("fixed chunking takes only avgBytes (the exact chunk size), not minBytes/maxBytes");
    }
    checkSize("avgBytes", avgBytes);
    return { strategy, minBytes: avgBytes, avgBytes, maxBytes: avgBytes };
  }
  if (strategy !== "fastcdc") throw invalid(`unknown strategy ${JSON.stringify(strategy)}`);
  checkSize("avgBytes", avgBytes);
  if ((avgBytes & (avgBytes - 1)) !== 0) throw invalid(`avgBytes must be a power of two, got ${avgBytes}`);
  const minBytes = opts.minBytes ?? avgBytes / 4;
  const maxBytes = opts.maxBytes ?? Math.min(avgBytes * 4, CHUNK_MAX_LIMIT_BYTES);
  checkSize("minBytes", minBytes);
  checkSize("maxBytes", maxBytes);
  if (!(minBytes < avgBytes))
    throw invalid(`minBytes (${minBytes}) must be less than avgBytes (${avgBytes})`);
  if (!(avgBytes < maxBytes))
    throw invalid(`maxBytes (${maxBytes}) must be greater than avgBytes (${avgBytes})`);
  return { strategy, minBytes, avgBytes, maxBytes };
}
