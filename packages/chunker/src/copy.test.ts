import { describe, expect, it } from "vitest";
import { copyInto } from "./copy.js";

describe("copyInto", () => {
  it.each([
    ["ArrayBuffer", () => Buffer.alloc(64)],
    ["SharedArrayBuffer", () => Buffer.from(new SharedArrayBuffer(64))],
  ])("copies exactly the source bytes into a %s-backed buffer, nothing around them", (_n, make) => {
    const dst = make();
    const src = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
    copyInto(dst, src, 7);
    expect([...dst.subarray(5, 19)]).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 0]);
    copyInto(dst, new Uint8Array(0), 64); // empty: no-op even at the end
    copyInto(dst, src.subarray(3, 5), 62);
    expect([...dst.subarray(60)]).toEqual([0, 0, 4, 5]);
  });

  it("refuses a range past the end instead of writing a partial copy", () => {
    const dst = Buffer.alloc(8, 0xee);
    expect(() => copyInto(dst, new Uint8Array(4), 5)).toThrow(RangeError);
    expect(() => copyInto(dst, new Uint8Array(1), -1)).toThrow(RangeError);
    expect(dst.every((b) => b === 0xee)).toBe(true);
  });
});
