/**
 * `dst[at, at + src.length) = src` as one native memcpy.
 *
 * `TypedArray.prototype.set` (and Node 20's `Buffer#copy`, which calls it) copies into a
 * SharedArrayBuffer with V8's word-by-word "relaxed" copy, and is not the fastest path for plain
 * ArrayBuffers either; `Buffer#fill` with a buffer value of exactly the range's length is a single
 * C++ memcpy. Measured on the bench machine, cutting 1 GiB into pooled chunk buffers (FastCDC scan
 * plus this copy): 1.24–1.39 s of CPU with `set` into shared buffers, 0.88–0.95 s with this
 * (0.73 s for the scan alone).
 */
export function copyInto(dst: Buffer, src: Uint8Array, at: number): void {
  if (src.length === 0) return;
  if (at < 0 || at + src.length > dst.length) {
    throw new RangeError(`copyInto: ${src.length} bytes at ${at} do not fit in ${dst.length}`);
  }
  dst.fill(src, at, at + src.length);
}
