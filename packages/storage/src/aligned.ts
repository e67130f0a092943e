/**
 * Page-aligned memory for direct I/O (O_DIRECT), which needs the buffer's address, the file
 * offset and the length aligned to the device's block size. JavaScript cannot see an address, so
 * alignment is known by provenance: buffers allocated here come from WebAssembly memories, whose
 * base V8 maps at a page boundary, and are remembered in a WeakSet. A view of one starting at a
 * multiple of DIRECT_IO_ALIGN bytes is aligned; anything else is not assumed to be.
 */

/** Alignment used for direct I/O addresses, offsets and lengths: a page covers every block size. */
export const DIRECT_IO_ALIGN = 4096;

const WASM_PAGE = 65536;
/** WebAssembly memories above this are not attempted (memory32's own cap is 4 GiB). */
const MAX_ALIGNED_BYTES = 1024 * 1024 * 1024;

const known = new WeakSet<ArrayBufferLike>();

/** The slice of the WebAssembly JS API used here (the project's TS lib has no DOM typings). */
interface WasmMemoryApi {
  Memory: new (desc: {
    initial: number;
    maximum: number;
    shared?: boolean;
  }) => { readonly buffer: ArrayBuffer | SharedArrayBuffer };
}

/**
 * A zero-filled buffer of at least `bytes` (rounded up to 64 KiB) whose start is page aligned. Falls
 * back to an ordinary (unregistered, so never used for direct I/O) buffer when no WebAssembly
 * memory can be had: each one reserves address space, and a process may run out of that.
 */
export function allocAligned(bytes: number, opts: { shared: true }): SharedArrayBuffer;
export function allocAligned(bytes: number, opts?: { shared?: false }): ArrayBuffer;
export function allocAligned(
  bytes: number,
  opts: { shared?: boolean } = {},
): ArrayBuffer | SharedArrayBuffer {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`allocAligned: bad size ${bytes}`);
  const shared = opts.shared === true;
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  const wasm = (globalThis as { WebAssembly?: WasmMemoryApi }).WebAssembly;
  if (wasm !== undefined && bytes <= MAX_ALIGNED_BYTES) {
    try {
      const mem = new wasm.Memory(
        shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages, maximum: pages },
      );
      known.add(mem.buffer);
      return mem.buffer;
    } catch {
      // fall through to an ordinary buffer
    }
  }
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/** True when `view` starts on a DIRECT_IO_ALIGN boundary of memory from allocAligned. */
export function isAlignedView(view: Uint8Array): boolean {
  return known.has(view.buffer) && view.byteOffset % DIRECT_IO_ALIGN === 0;
}

/** `n` rounded down to a multiple of DIRECT_IO_ALIGN. */
export function alignDown(n: number): number {
  return n - (n % DIRECT_IO_ALIGN);
}

/** `n` rounded up to a multiple of DIRECT_IO_ALIGN. */
export function alignUp(n: number): number {
  return alignDown(n + DIRECT_IO_ALIGN - 1);
}
