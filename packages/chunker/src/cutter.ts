import { GEAR } from "./gear.js";
import { type ChunkingOptions, type ChunkingParams, resolveChunking } from "./options.js";

/**
 * An incremental cutter: feed it the bytes of a stream in any split, and it reports the same chunk
 * boundaries. It holds no bytes, only a few integers of state.
 */
export interface Cutter {
  readonly params: ChunkingParams;
  /**
   * Scans `data` from `start`. Returns the offset in `data` just past the end of the current chunk,
   * or -1 when `data` ends first (the state carries over to the next call).
   */
  findCut(data: Uint8Array, start: number): number;
  /** End of input: returns the length of the final, partial chunk (0 if none) and resets. */
  finish(): number;
}

/**
 * FastCDC (Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking Approach for Data
 * Deduplication", USENIX ATC 2016): a Gear rolling hash, `fp = (fp << 1) + GEAR[byte]`, no hashing
 * of the first `min` bytes of a chunk (cut-point skipping, §3.4), and normalized chunking (§3.3)
 * at level 2: before `avg` bytes a cut needs log2(avg)+2 zero bits (harder), after it
 * log2(avg)-2 (easier), which tightens the chunk-size distribution around `avg`.
 *
 * The masks select the *top* bits of the 32-bit fingerprint: bit k of a Gear hash depends on the
 * last k+1 bytes, so high bits give each cut decision a window of up to 32 bytes.
 */
export const NORMALIZATION_LEVEL = 2;

function topBitsMask(bits: number): number {
  return bits >= 32 ? -1 : (-1 << (32 - bits)) | 0;
}

export class FastCdcCutter implements Cutter {
  readonly params: ChunkingParams;
  private readonly maskStrict: number;
  private readonly maskLoose: number;
  /** Bytes of the current chunk consumed so far (skipped or hashed). */
  private pos = 0;
  private fp = 0;

  constructor(params: ChunkingParams) {
    this.params = params;
    const bits = Math.log2(params.avgBytes);
    this.maskStrict = topBitsMask(bits + NORMALIZATION_LEVEL);
    this.maskLoose = topBitsMask(bits - NORMALIZATION_LEVEL);
  }

  findCut(data: Uint8Array, start: number): number {
    const n = data.length;
    const { minBytes, avgBytes, maxBytes } = this.params;
    // origin: the (possibly negative) offset in `data` where the current chunk began.
    const origin = start - this.pos;
    let i = Math.max(start, origin + minBytes);
    if (i >= n) {
      this.pos += n - start;
      return -1;
    }
    const gear = GEAR;
    let fp = this.fp;
    const endStrict = Math.min(n, origin + avgBytes);
    const maskStrict = this.maskStrict;
    // Unrolled by two (same boundaries, fewer loop-bound checks: measured faster in V8).
    for (; i + 1 < endStrict; i += 2) {
      fp = ((fp << 1) + gear[data[i]!]!) | 0;
      if ((fp & maskStrict) === 0) return this.cut(i + 1);
      fp = ((fp << 1) + gear[data[i + 1]!]!) | 0;
      if ((fp & maskStrict) === 0) return this.cut(i + 2);
    }
    if (i < endStrict) {
      fp = ((fp << 1) + gear[data[i]!]!) | 0;
      if ((fp & maskStrict) === 0) return this.cut(i + 1);
      i++;
    }
    const endLoose = Math.min(n, origin + maxBytes);
    const maskLoose = this.maskLoose;
    for (; i + 1 < endLoose; i += 2) {
      fp = ((fp << 1) + gear[data[i]!]!) | 0;
      if ((fp & maskLoose) === 0) return this.cut(i + 1);
      fp = ((fp << 1) + gear[data[i + 1]!]!) | 0;
      if ((fp & maskLoose) === 0) return this.cut(i + 2);
    }
    if (i < endLoose) {
      fp = ((fp << 1) + gear[data[i]!]!) | 0;
      if ((fp & maskLoose) === 0) return this.cut(i + 1);
      i++;
    }
    if (i === origin + maxBytes) return this.cut(i);
    this.pos += n - start;
    this.fp = fp;
    return -1;
  }

  finish(): number {
    const rest = this.pos;
    this.pos = 0;
    this.fp = 0;
    return rest;
  }

  private cut(end: number): number {
    this.pos = 0;
    this.fp = 0;
    return end;
  }
}

/** Fixed-size chunks: every chunk but the last is exactly `avgBytes` long. */
export class FixedCutter implements Cutter {
  readonly params: ChunkingParams;
  private pos = 0;

  constructor(params: ChunkingParams) {
    this.params = params;
  }

  findCut(data: Uint8Array, start: number): number {
    const need = this.params.avgBytes - this.pos;
    if (data.length - start >= need) {
      this.pos = 0;
      return start + need;
    }
    this.pos += data.length - start;
    return -1;
  }

  finish(): number {
    const rest = this.pos;
    this.pos = 0;
    return rest;
  }
}

/** Validates `opts` (throws ChunkerError "InvalidOptions") and returns a fresh cutter. */
export function createCutter(opts?: ChunkingOptions): Cutter {
  const params = resolveChunking(opts);
  return params.strategy === "fixed" ? new FixedCutter(params) : new FastCdcCutter(params);
}
