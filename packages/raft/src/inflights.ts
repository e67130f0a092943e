import { assert } from "./errors.js";

/**
 * The window of App messages in flight to one follower (pipelining): each records the last index
 * it carries and its size in bytes. An acknowledgment up to index i frees every message ending at
 * or below i. Full when either limit is reached.
 */
export class Inflights {
  private indexes: number[] = [];
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxCount: number,
    private readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.indexes.length - this.head;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  full(): boolean {
    return this.count >= this.maxCount || this.bytes >= this.maxBytes;
  }

  add(lastIndex: number, sizeBytes: number): void {
    assert(!this.full(), "inflights: add to a full window");
    const prev = this.indexes[this.indexes.length - 1];
    assert(this.count === 0 || prev === undefined || lastIndex > prev, "inflights: indexes must increase");
    this.indexes.push(lastIndex);
    this.sizes.push(sizeBytes);
    this.bytes += sizeBytes;
  }

  /** Frees every message whose last index is <= index. */
  freeLE(index: number): void {
    while (this.head < this.indexes.length && this.indexes[this.head]! <= index) {
      this.bytes -= this.sizes[this.head]!;
      this.head++;
    }
    this.compact();
  }

  reset(): void {
    this.indexes = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }

  private compact(): void {
    if (this.head === this.indexes.length) {
      this.reset();
    } else if (this.head > 64 && this.head * 2 > this.indexes.length) {
      this.indexes = this.indexes.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
  }
}
