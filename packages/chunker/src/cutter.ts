import { copyInto } from "./copy.js";
import { GEAR } from "./gear.js";
import { type GearScanner, gearScanner, WINDOW_BYTES, WINDOW_OFFSET } from "./gear-wasm.js";
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
  /** The WASM Gear loop, or null for the JS loop (same boundaries; the tests compare both). */
  private readonly wasm: GearScanner | null;
  /** Bytes of the current chunk consumed so far (skipped or hashed). */
  private pos = 0;
  private fp = 0;

  /** `engine` is for tests and benchmarks: "js" forces the JS loop; default: WASM when available. */
  constructor(params: ChunkingParams, engine: "auto" | "js" = "auto") {
    this.params = params;
    const bits = Math.log2(params.avgBytes);
    this.maskStrict = topBitsMask(bits + NORMALIZATION_LEVEL);
    this.maskLoose = topBitsMask(bits - NORMALIZATION_LEVEL);
    this.wasm = engine === "js" ? null : gearScanner();
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
    const endStrict = Math.min(n, origin + avgBytes);
    if (i < endStrict) {
      const at = this.scan(data, i, endStrict, this.maskStrict);
      if (at >= 0) return this.cut(at);
      i = endStrict;
    }
    const endLoose = Math.min(n, origin + maxBytes);
    if (i < endLoose) {
      const at = this.scan(data, i, endLoose, this.maskLoose);
      if (at >= 0) return this.cut(at);
      i = endLoose;
    }
    if (i === origin + maxBytes) return this.cut(i);
    this.pos += n - start;
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

  /** Hashes data[i, end) from this.fp; returns the offset just past a cut byte, or -1 (fp saved). */
  private scan(data: Uint8Array, i: number, end: number, mask: number): number {
    const w = this.wasm;
    if (w === null) return this.scanJs(data, i, end, mask);
    let fp = this.fp;
    while (i < end) {
      const len = Math.min(end - i, WINDOW_BYTES);
      // One memcpy into the instance's window: cheap next to hashing the bytes.
      copyInto(w.bytes, data.subarray(i, i + len), WINDOW_OFFSET);
      const r = w.scan(WINDOW_OFFSET, WINDOW_OFFSET + len, fp, mask);
      if (r >= 0) return i + (r - WINDOW_OFFSET);
      fp = w.lastFp();
      i += len;
    }
    this.fp = fp;
    return -1;
  }

  private scanJs(data: Uint8Array, i: number, end: number, mask: number): number {
    const gear = GEAR;
    let fp = this.fp;
    // Unrolled by two (same boundaries, fewer loop-bound checks: measured faster in V8).
    for (; i + 1 < end; i += 2) {
      fp = ((fp << 1) + gear[data[i]!]!) | 0;
      if ((fp & mask) === 0) return i + 1;
      fp = ((fp << 1) + gear[data[i + 1]!]!) | 0;
      if ((fp & mask) === 0) return i + 2;
    }
    if (i < end) {
      fp = ((fp << 1) + gear[data[i]!]!) | 0;
      if ((fp & mask) === 0) return i + 1;
    }
    this.fp = fp;
    return -1;
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
