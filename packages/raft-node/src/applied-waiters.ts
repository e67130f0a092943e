/** Callers waiting until the local state machine has applied some index, cheapest first. */
export class AppliedWaiters {
  #waiters: Array<{ index: number; resolve: () => void; reject: (e: Error) => void }> = [];

  get size(): number {
    return this.#waiters.length;
  }

  add(index: number, resolve: () => void, reject: (e: Error) => void): () => void {
    const w = { index, resolve, reject };
    // Kept sorted by index; waits are short-lived and mostly appended in order.
    let i = this.#waiters.length;
    while (i > 0 && this.#waiters[i - 1]!.index > index) i--;
    this.#waiters.splice(i, 0, w);
    return () => {
      const at = this.#waiters.indexOf(w);
      if (at >= 0) this.#waiters.splice(at, 1);
    };
  }

  /** Resolves every waiter at or below `applied`. */
  advance(applied: number): void {
    let n = 0;
    while (n < this.#waiters.length && this.#waiters[n]!.index <= applied) n++;
    if (n === 0) return;
    const done = this.#waiters.splice(0, n);
    for (const w of done) w.resolve();
  }

  rejectAll(e: Error): void {
    const all = this.#waiters;
    this.#waiters = [];
    for (const w of all) w.reject(e);
  }
}
