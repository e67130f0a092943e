import { GEAR } from "./gear.js";

/**
 * The FastCDC Gear inner loop as a tiny WebAssembly module, assembled here byte by byte (no
 * toolchain, nothing downloaded: ~3 KB built at load). V8's optimizing tier turns it into loops
 * without bounds checks (guard pages). Both exported functions compute the same thing:
 *
 *   scan(p, end, fp, mask) -> i32
 *     while p < end:
 *       fp = (fp << 1) + GEAR[mem[p]]      (32-bit wrap-around, exactly as the JS loop)
 *       p += 1
 *       if (fp & mask) == 0: return p      (absolute address just past the cut byte)
 *     mem32[FP_SLOT] = fp; return -1       (the caller carries fp to its next call)
 *
 * `scan1` runs that literally (unrolled ×4, a mask test after every byte). Its speed is bound by
 * the chain through fp: each byte's shift-add waits for the previous one.
 *
 * `scan` (what the cutter calls) breaks that chain. The 32-bit fingerprint after byte i depends
 * only on the last 32 bytes, fp_i = Σ_{k<32} GEAR[b_{i-k}] << k (mod 2^32): older bytes and the
 * carried fp are shifted out. So `scan` cuts the range into superblocks of LANES × stride bytes and
 * hashes the LANES segments of a superblock as independent chains in one loop (one shared pointer,
 * the lanes at constant offsets j × stride, so V8 keeps everything in registers):
 *   - lane 0 starts with the fp carried from before the superblock, exactly as scan1 would;
 *   - lane j > 0 starts with fp = 0 WARMUP_BYTES (32) before its segment and hashes those bytes
 *     untested (they are lane j-1's to test); from its first own byte on, its fp is the sequential
 *     one bit for bit. The last lane's fp at the superblock's end is the carried fp for the next.
 * Every byte still gets its mask test, as a branch (not taken except at a cut: one fused test+jump,
 * cheaper than any branch-free accumulation of the tests). Per byte and lane V8 emits movzx, shl,
 * load, lea (the shift-add) and test+jz. A hit in lane 0 is the first cut of the superblock. A hit
 * in lane j > 0 at address r is a cut, but a lane before it may still cut later in its own segment,
 * i.e. earlier in the stream, so scan1 re-scans [superblock start, r - 1) from the superblock's
 * carried fp and its cut, if any, wins: at most one re-scan of < 3 × BIG_STRIDE bytes per cut.
 * Superblocks use stride BIG_STRIDE while they fit, then SMALL_STRIDE, and the last
 * < LANES × SMALL_STRIDE bytes go to scan1 (which stores the final fp).
 *
 * Measured on the shared 2-core bench VM, interleaved runs, CPU time: the loop alone ~1.1 GB/s
 * (scan1) → ~2.0–2.3 GB/s (scan), best of; FastCdcCutter over 64 MiB random with default chunking,
 * window copy included, best 1.2–1.35 → 1.5–2.1 GB/s, median 1.05–1.08 → 1.24–1.31 GB/s. More lanes
 * (5, 6, 8), a longer unroll or byte extraction from 32-bit loads were not faster: with 3–4 chains
 * the loop is bound by instruction throughput, not by the fp chain.
 *
 * Memory layout (one instance per thread, shared by that thread's cutters — calls never interleave):
 *   [0, 4)                     fp slot
 *   [GEAR_OFFSET, +1024)       the Gear table, little-endian int32
 *   [WINDOW_OFFSET, +WINDOW)   the bytes to scan, copied in by the caller
 */
export const WINDOW_BYTES = 1024 * 1024;
const FP_SLOT = 0;
const GEAR_OFFSET = 64;
export const WINDOW_OFFSET = 2048;
const PAGE = 64 * 1024;
const PAGES = Math.ceil((WINDOW_OFFSET + WINDOW_BYTES) / PAGE);

/** Independent dependency chains in `scan`'s superblocks. */
export const LANES = 4;
/** Lane lengths of `scan`'s superblocks, largest first (multiples of UNROLL, ≥ WARMUP_BYTES). */
export const BIG_STRIDE = 4096;
export const SMALL_STRIDE = 256;
/** Bytes per lane per iteration of a superblock loop (every byte is still tested). */
const UNROLL = 8;
/** Bytes a lane j > 0 hashes before its segment: the fingerprint's memory (32 bits, 1 bit/byte). */
export const WARMUP_BYTES = 32;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
}

/** A function body: `count` extra i32 locals, then the code. */
function funcBody(locals: number, code: number[]): number[] {
  const body = [...(locals > 0 ? [1, ...uleb(locals), I32] : [0]), ...code, END];
  return [...uleb(body.length), ...body];
}

// Opcodes used (WebAssembly core spec, binary format).
const I32 = 0x7f;
const VOID = 0x40;
const [BLOCK, LOOP, IF, END, BR, BR_IF, RETURN, CALL, UNREACHABLE] = [
  0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d, 0x0f, 0x10, 0x00,
];
const [LOCAL_GET, LOCAL_SET, LOCAL_TEE, I32_CONST] = [0x20, 0x21, 0x22, 0x41];
const [I32_LOAD, I32_LOAD8_U, I32_STORE] = [0x28, 0x2d, 0x36];
const [I32_EQZ, I32_NE, I32_LT_U, I32_GT_U, I32_GE_U] = [0x45, 0x47, 0x49, 0x4b, 0x4f];
const [I32_ADD, I32_SUB, I32_AND, I32_SHL] = [0x6a, 0x6b, 0x71, 0x74];
const SCAN1 = 0; // function indices
const SCAN = 1;
// Parameters of both functions.
const [P, END_, FP, MASK] = [0, 1, 2, 3];

/** `(fpLocal << 1) + GEAR[mem[ptrLocal + offset]]` on the stack. */
function gearStep(fpLocal: number, ptrLocal: number, offset: number): number[] {
  return [
    ...[LOCAL_GET, fpLocal, I32_CONST, 1, I32_SHL],
    ...[LOCAL_GET, ptrLocal, I32_LOAD8_U, 0, ...uleb(offset), I32_CONST, 2, I32_SHL],
    ...[I32_LOAD, 2, ...uleb(GEAR_OFFSET), I32_ADD],
  ];
}

/** scan1: fp = (fp << 1) + GEAR[mem[p + k]]; if ((fp & mask) == 0) return p + k + 1. */
function step1(k: number): number[] {
  return [
    ...gearStep(FP, P, k),
    ...[LOCAL_TEE, FP, LOCAL_GET, MASK, I32_AND, I32_EQZ],
    ...[IF, VOID, LOCAL_GET, P, I32_CONST, ...sleb(k + 1), I32_ADD, RETURN, END],
  ];
}

function scan1Body(): number[] {
  return funcBody(0, [
    // ×4 loop while p + 4 <= end
    ...[BLOCK, VOID, LOOP, VOID],
    ...[LOCAL_GET, P, I32_CONST, 4, I32_ADD, LOCAL_GET, END_, I32_GT_U, BR_IF, 1],
    ...step1(0),
    ...step1(1),
    ...step1(2),
    ...step1(3),
    ...[LOCAL_GET, P, I32_CONST, 4, I32_ADD, LOCAL_SET, P, BR, 0],
    ...[END, END],
    // tail: one byte at a time
    ...[LOOP, VOID],
    ...[LOCAL_GET, P, LOCAL_GET, END_, I32_GE_U],
    ...[IF, VOID, I32_CONST, FP_SLOT, LOCAL_GET, FP, I32_STORE, 2, 0, I32_CONST, ...sleb(-1), RETURN, END],
    ...step1(0),
    ...[LOCAL_GET, P, I32_CONST, 1, I32_ADD, LOCAL_SET, P, BR, 0],
    END,
    UNREACHABLE,
  ]);
}

// Locals of `scan` beyond the parameters (P advances superblock by superblock, FP is carried).
const X = 4; // the shared pointer: lane j's next byte is X + j * stride
const X_END = 5; // where X stops (end of the warm-up, or of lane 0's segment)
const HIT = 6; // address just past a cut byte found by a lane
const LANE0_END = 7; // end of the current superblock's lane 0
const F = (j: number) => 8 + j; // lane j's fingerprint
const SCAN_LOCALS = 4 + LANES;

/**
 * `while end - p >= LANES * stride`: one superblock [p, p + LANES * stride) as LANES chains, then
 * p advances and fp is the last lane's. Emitted directly inside the $hit block: a hit sets HIT and
 * leaves to $hit's end, with P and FP still the superblock's start and carried fp.
 */
function superblocks(stride: number): number[] {
  const last = LANES - 1;
  const code: number[] = [BLOCK, VOID, LOOP, VOID]; // $done > $superblock
  code.push(LOCAL_GET, END_, LOCAL_GET, P, I32_SUB, I32_CONST, ...sleb(LANES * stride), I32_LT_U, BR_IF, 1);
  // Lane 0 takes the carried fp; lanes j > 0 start from 0 over the 32 bytes before their segment.
  code.push(LOCAL_GET, FP, LOCAL_SET, F(0));
  for (let j = 1; j < LANES; j++) code.push(I32_CONST, 0, LOCAL_SET, F(j));
  code.push(LOCAL_GET, P, LOCAL_SET, X, LOCAL_GET, P, I32_CONST, WARMUP_BYTES, I32_ADD, LOCAL_SET, X_END);
  code.push(LOOP, VOID);
  for (let j = 1; j < LANES; j++) code.push(...gearStep(F(j), X, j * stride - WARMUP_BYTES), LOCAL_SET, F(j));
  code.push(LOCAL_GET, X, I32_CONST, 1, I32_ADD, LOCAL_TEE, X, LOCAL_GET, X_END, I32_NE, BR_IF, 0, END);
  // The lanes, UNROLL bytes each per iteration, in stream order within a step.
  code.push(LOCAL_GET, P, LOCAL_TEE, X, I32_CONST, ...sleb(stride), I32_ADD);
  code.push(LOCAL_TEE, X_END, LOCAL_SET, LANE0_END);
  code.push(LOOP, VOID); // blocks from here: $lanes loop (0) > $superblock (1) > $done (2) > outside
  for (let k = 0; k < UNROLL; k++) {
    for (let j = 0; j < LANES; j++) {
      const offset = j * stride + k;
      code.push(...gearStep(F(j), X, offset), LOCAL_TEE, F(j), LOCAL_GET, MASK, I32_AND, I32_EQZ);
      code.push(IF, VOID, LOCAL_GET, X, I32_CONST, ...sleb(offset + 1), I32_ADD, LOCAL_SET, HIT);
      code.push(BR, 4, END); // out of: if, $lanes, $superblock, $done, $hit
    }
  }
  code.push(LOCAL_GET, X, I32_CONST, UNROLL, I32_ADD, LOCAL_TEE, X, LOCAL_GET, X_END, I32_NE, BR_IF, 0, END);
  // No cut in the superblock: on to the next, carrying the last lane's fp.
  code.push(LOCAL_GET, F(last), LOCAL_SET, FP, LOCAL_GET, P, I32_CONST, ...sleb(LANES * stride), I32_ADD);
  code.push(LOCAL_SET, P, BR, 0, END, END);
  return code;
}

function scanBody(): number[] {
  return funcBody(SCAN_LOCALS, [
    ...[BLOCK, VOID], // $hit
    ...superblocks(BIG_STRIDE),
    ...superblocks(SMALL_STRIDE),
    // The rest (< LANES * SMALL_STRIDE bytes): scan1 from the carried fp (it stores fp on no cut).
    ...[LOCAL_GET, P, LOCAL_GET, END_, LOCAL_GET, FP, LOCAL_GET, MASK, CALL, SCAN1, RETURN],
    END,
    // $hit: in lane 0 it is the first cut. Otherwise scan1 looks for an earlier one in
    // [p, HIT - 1) from the superblock's carried fp (P and FP still hold the superblock's start).
    ...[LOCAL_GET, HIT, I32_CONST, 1, I32_SUB, LOCAL_GET, LANE0_END, I32_LT_U],
    ...[IF, VOID, LOCAL_GET, HIT, RETURN, END],
    ...[LOCAL_GET, P, LOCAL_GET, HIT, I32_CONST, 1, I32_SUB, LOCAL_GET, FP, LOCAL_GET, MASK, CALL, SCAN1],
    ...[LOCAL_TEE, X, I32_CONST, ...sleb(-1), I32_NE, IF, VOID, LOCAL_GET, X, RETURN, END],
    ...[LOCAL_GET, HIT],
  ]);
}

function moduleBytes(): Uint8Array {
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 1, I32]), // type 0: (i32 ×4) -> i32
    ...section(3, [2, 0, 0]), // functions 0 (scan1) and 1 (scan) have type 0
    ...section(5, [1, 0x00, ...uleb(PAGES)]), // one memory, fixed minimum
    ...section(7, [3, ...name("scan"), 0x00, SCAN, ...name("scan1"), 0x00, SCAN1, ...name("mem"), 0x02, 0]),
    ...section(10, [2, ...scan1Body(), ...scanBody()]),
  ];
  return Uint8Array.from(bytes);
}

type ScanFn = (p: number, end: number, fp: number, mask: number) => number;

export interface GearScanner {
  /** The instance's memory as bytes (re-read after nothing: the memory never grows). */
  readonly bytes: Buffer;
  /** The lane-parallel scan (what the cutter uses). */
  readonly scan: ScanFn;
  /** The byte-at-a-time scan, for tests and benchmarks. */
  readonly scan1: ScanFn;
  /** The fingerprint left by the last scan that returned -1. */
  lastFp(): number;
}

/** The slice of the WebAssembly JS API used here (the project's TS lib has no DOM typings). */
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: Record<string, unknown> };
}

let cached: GearScanner | null | undefined;

/** This thread's scanner, or null when WebAssembly is unavailable or disabled (ENIGMA_CHUNKER_WASM=0). */
export function gearScanner(): GearScanner | null {
  if (cached !== undefined) return cached;
  cached = null;
  const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (wasm === undefined || process.env.ENIGMA_CHUNKER_WASM === "0") return null;
  const instance = new wasm.Instance(new wasm.Module(moduleBytes()));
  const exports = instance.exports as { scan: ScanFn; scan1: ScanFn; mem: { buffer: ArrayBuffer } };
  const buffer = exports.mem.buffer;
  const view = new DataView(buffer);
  for (let i = 0; i < 256; i++) view.setInt32(GEAR_OFFSET + 4 * i, GEAR[i]!, true);
  const i32 = new Int32Array(buffer, FP_SLOT, 1);
  cached = { bytes: Buffer.from(buffer), scan: exports.scan, scan1: exports.scan1, lastFp: () => i32[0]! };
  return cached;
}
