/**
 * Keeps the listing benchmark (packages/server/bench/list.bench.ts) working: a small run through
 * the same code path. No timing assertions — only that every page came back with the expected
 * number of entries (runListBench checks that) and that the figures are well formed.
 */
import { describe, expect, it } from "vitest";
import { runListBench } from "../../packages/server/bench/list.bench.js";

describe("list benchmark", () => {
  it("fills both buckets and times pages through the S3 path", async () => {
    const lines: string[] = [];
    const figures = await runListBench({
      largeKeys: 3_000,
      smallKeys: 1_000,
      repeats: 2,
      log: (l) => lines.push(l),
    });
    expect(figures.map((f) => f.unit)).toEqual(["ms", "ms", "ms"]);
    for (const f of figures) {
      expect(f.value).toBeGreaterThan(0);
      expect(f.reference).toBeGreaterThan(0);
      expect(f.ratio).toBeCloseTo(f.value / f.reference!, 6);
    }
    expect(lines[0]).toMatch(/^filled 3,000 \+ 1,000 keys over 100 prefixes/);
  });
});
