/**
 * A bounded free list of ArrayBuffers. Reusing multi-MiB buffers avoids page-faulting fresh
 * memory on every chunk (measured: fresh output buffers halve AES-GCM throughput).
 */
export class BufferPool<B extends ArrayBuffer | SharedArrayBuffer = ArrayBuffer> {
  private readonly free: B[] = [];
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** The smallest free buffer of at least `minBytes`, or null (the caller allocates). */
  take(minBytes: number): B | null {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.byteLength >= minBytes && (best < 0 || b.byteLength < this.free[best]!.byteLength)) best = i;
    }
    if (best < 0) return null;
    const [buf] = this.free.splice(best, 1);
    return buf ?? null;
  }

  /**
   * Returns a buffer; dropped (left to the GC) when it was detached, or when the pool is full and
   * it is not larger than the smallest pooled one — which it then replaces, so a pool filled with
   * small buffers cannot block the larger ones every later `take` would otherwise allocate afresh.
   */
  give(buf: B): void {
    if (buf.byteLength === 0) return;
    if (this.free.length < this.limit) {
      this.free.push(buf);
      return;
    }
    let smallest = -1;
    for (let i = 0; i < this.free.length; i++) {
      if (smallest < 0 || this.free[i]!.byteLength < this.free[smallest]!.byteLength) smallest = i;
    }
    if (smallest >= 0 && this.free[smallest]!.byteLength < buf.byteLength) this.free[smallest] = buf;
  }

  get size(): number {
    return this.free.length;
  }
}
