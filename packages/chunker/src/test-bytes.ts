/** Deterministic pseudo-random bytes for tests and benchmarks (xorshift32; not for secrets). */
export function pseudoRandomBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let x = seed | 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeInt32LE(x, i);
  }
  for (; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Splits `data` into consecutive views of the given sizes (cycled), for split-invariance tests. */
export function* splitInto(data: Uint8Array, sizes: readonly number[]): Generator<Uint8Array> {
  let off = 0;
  for (let k = 0; off < data.length; k++) {
    const n = sizes[k % sizes.length]!;
    yield data.subarray(off, off + n);
    off += n;
  }
}
