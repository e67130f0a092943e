import { describe, expect, it } from "vitest";
import { BufferPool } from "./buffer-pool.js";
import { sealedAllocBytes } from "./chunk-sealer.js";

describe("BufferPool", () => {
  it("hands out the smallest buffer that fits, or null", () => {
    const pool = new BufferPool(4);
    for (const n of [300, 100, 200]) pool.give(new ArrayBuffer(n));
    expect(pool.take(150)?.byteLength).toBe(200);
    expect(pool.take(301)).toBeNull();
    expect(pool.size).toBe(2);
  });

  it("when full, lets a larger buffer replace the smallest instead of dropping it", () => {
    const pool = new BufferPool(2);
    pool.give(new ArrayBuffer(10));
    pool.give(new ArrayBuffer(20));
    pool.give(new ArrayBuffer(5)); // smaller than all: dropped
    pool.give(new ArrayBuffer(30)); // replaces the 10
    expect(pool.size).toBe(2);
    expect(pool.take(25)?.byteLength).toBe(30);
    expect(pool.take(1)?.byteLength).toBe(20);
    expect(pool.take(1)).toBeNull();
  });

  it("drops detached (empty) buffers", () => {
    const pool = new BufferPool(2);
    pool.give(new ArrayBuffer(0));
    expect(pool.size).toBe(0);
  });
});

describe("sealedAllocBytes", () => {
  it("rounds up to a MiB above 1 MiB and to a power of two below, never under the need", () => {
    const MiB = 1024 * 1024;
    expect(sealedAllocBytes(4 * MiB + 72)).toBe(5 * MiB);
    expect(sealedAllocBytes(MiB)).toBe(MiB);
    expect(sealedAllocBytes(64 * 1024 + 72)).toBe(128 * 1024);
    expect(sealedAllocBytes(100)).toBe(4096);
    for (const n of [1, 4095, 4097, MiB - 1, MiB + 1, 16 * MiB + 72])
      expect(sealedAllocBytes(n)).toBeGreaterThanOrEqual(n);
  });
});
