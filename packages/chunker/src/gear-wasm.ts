import { GEAR } from "./gear.js";

/**
 * The FastCDC Gear inner loop as a tiny WebAssembly function, assembled here byte by byte (no
 * toolchain, nothing downloaded: the module is ~200 bytes built at load). V8's optimizing tier turns
 * it into a loop without bounds checks (guard pages) that runs ~3× faster than the same loop in JS.
 *
 *   scan(p, end, fp, mask) -> i32
 *     while p < end:
 *       fp = (fp << 1) + GEAR[mem[p]]      (32-bit wrap-around, exactly as the JS loop)
 *       p += 1
 *       if (fp & mask) == 0: return p      (absolute address just past the cut byte)
 *     mem32[FP_SLOT] = fp; return -1       (the caller carries fp to its next call)
 *
 * The body is unrolled ×4 while 4 bytes remain, then a 1-byte tail loop; every step tests the mask,
 * so the cut points are the same as the byte-at-a-time definition (the cutter tests pin them).
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

// Opcodes used (WebAssembly core spec, binary format).
const I32 = 0x7f;
const VOID = 0x40;
const [BLOCK, LOOP, IF, END, BR, BR_IF, RETURN, UNREACHABLE] = [
  0x02, 0x03, 0x04, 0x0b, 0x0c, 0x0d, 0x0f, 0x00,
];
const [LOCAL_GET, LOCAL_SET, I32_CONST] = [0x20, 0x21, 0x41];
const [I32_LOAD, I32_LOAD8_U, I32_STORE] = [0x28, 0x2d, 0x36];
const [I32_EQZ, I32_GT_U, I32_GE_U, I32_ADD, I32_AND, I32_SHL] = [0x45, 0x4b, 0x4f, 0x6a, 0x71, 0x74];
const [P, END_, FP, MASK] = [0, 1, 2, 3];

/** fp = (fp << 1) + GEAR[mem[p + k]]; if ((fp & mask) == 0) return p + k + 1. */
function step(k: number): number[] {
  return [
    ...[LOCAL_GET, FP, I32_CONST, 1, I32_SHL],
    ...[LOCAL_GET, P, I32_LOAD8_U, 0, ...uleb(k), I32_CONST, 2, I32_SHL],
    ...[I32_LOAD, 2, ...uleb(GEAR_OFFSET), I32_ADD, LOCAL_SET, FP],
    ...[LOCAL_GET, FP, LOCAL_GET, MASK, I32_AND, I32_EQZ],
    ...[IF, VOID, LOCAL_GET, P, I32_CONST, ...sleb(k + 1), I32_ADD, RETURN, END],
  ];
}

function moduleBytes(): Uint8Array {
  const body = [
    0, // no locals beyond the 4 parameters
    // ×4 loop while p + 4 <= end
    ...[BLOCK, VOID, LOOP, VOID],
    ...[LOCAL_GET, P, I32_CONST, 4, I32_ADD, LOCAL_GET, END_, I32_GT_U, BR_IF, 1],
    ...step(0),
    ...step(1),
    ...step(2),
    ...step(3),
    ...[LOCAL_GET, P, I32_CONST, 4, I32_ADD, LOCAL_SET, P, BR, 0],
    ...[END, END],
    // tail: one byte at a time
    ...[LOOP, VOID],
    ...[LOCAL_GET, P, LOCAL_GET, END_, I32_GE_U],
    ...[IF, VOID, I32_CONST, FP_SLOT, LOCAL_GET, FP, I32_STORE, 2, 0, I32_CONST, ...sleb(-1), RETURN, END],
    ...step(0),
    ...[LOCAL_GET, P, I32_CONST, 1, I32_ADD, LOCAL_SET, P, BR, 0],
    END,
    UNREACHABLE,
    END,
  ];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 4, I32, I32, I32, I32, 1, I32]), // type 0: (i32 ×4) -> i32
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0x00, ...uleb(PAGES)]), // one memory, fixed minimum
    ...section(7, [2, ...name("scan"), 0x00, 0, ...name("mem"), 0x02, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ];
  return Uint8Array.from(bytes);
}

export interface GearScanner {
  /** The instance's memory as bytes (re-read after nothing: the memory never grows). */
  readonly bytes: Buffer;
  readonly scan: (p: number, end: number, fp: number, mask: number) => number;
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
  const exports = instance.exports as { scan: GearScanner["scan"]; mem: { buffer: ArrayBuffer } };
  const buffer = exports.mem.buffer;
  const view = new DataView(buffer);
  for (let i = 0; i < 256; i++) view.setInt32(GEAR_OFFSET + 4 * i, GEAR[i]!, true);
  const i32 = new Int32Array(buffer, FP_SLOT, 1);
  cached = { bytes: Buffer.from(buffer), scan: exports.scan, lastFp: () => i32[0]! };
  return cached;
}
