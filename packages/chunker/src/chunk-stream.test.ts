import { describe, expect, it } from "vitest";
import { chunkStream, splitChunks } from "./chunk-stream.js";
import { createCutter } from "./cutter.js";
import { pseudoRandomBytes, splitInto } from "./test-bytes.js";

const CDC = { strategy: "fastcdc", avgBytes: 8192 } as const;

describe("splitChunks with a smaller first buffer", () => {
  it("cuts the same chunks, moving each chunk that outgrows it to a max-size buffer", async () => {
    const data = pseudoRandomBytes(600_000, 77);
    const expected = [];
    for await (const c of chunkStream([data], CDC)) expected.push(c);
    const cutter = createCutter(CDC);
    const { avgBytes, maxBytes } = cutter.params;
    const taken: number[] = [];
    const given: Buffer[] = [];
    const got: Buffer[] = [];
    const take = (minBytes: number) => {
      taken.push(minBytes);
      return Buffer.alloc(minBytes, 0xee);
    };
    const source = splitInto(data, [1, 4095, 70_000, 3]);
    for await (const view of splitChunks(source, cutter, take, {
      initialBytes: avgBytes,
      give: (b) => given.push(b),
    })) {
      got.push(Buffer.from(view));
    }
    expect(got.map((c) => c.length)).toEqual(expected.map((c) => c.length));
    expect(Buffer.concat(got).equals(data)).toBe(true);
    const grown = expected.filter((c) => c.length > avgBytes).length;
    expect(grown).toBeGreaterThan(0);
    // One first buffer per chunk, one max-size buffer per chunk that outgrew it, and that many given back.
    expect(taken.filter((n) => n === avgBytes).length).toBe(expected.length);
    expect(taken.filter((n) => n === maxBytes).length).toBe(grown);
    expect(given.length).toBe(grown);
    expect(given.every((b) => b.length === avgBytes)).toBe(true);
  });

  it("an initialBytes above the max is clamped to the max (no growth ever needed)", async () => {
    const data = pseudoRandomBytes(200_000, 78);
    const cutter = createCutter(CDC);
    const taken: number[] = [];
    const take = (n: number) => {
      taken.push(n);
      return Buffer.alloc(n);
    };
    let total = 0;
    for await (const v of splitChunks([data], cutter, take, { initialBytes: 1 << 30 })) total += v.length;
    expect(total).toBe(data.length);
    expect(new Set(taken)).toEqual(new Set([cutter.params.maxBytes]));
  });
});
