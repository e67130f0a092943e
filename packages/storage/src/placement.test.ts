import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chunkObjectName } from "./backend.js";
import { rankProviders } from "./placement.js";

const tag = (i: number) => createHash("sha256").update(`chunk-${i}`).digest("hex");
const three = [
  { name: "a", weight: 1 },
  { name: "b", weight: 1 },
  { name: "c", weight: 1 },
];

describe("rankProviders", () => {
  it.each(["round-robin", "weighted"] as const)(
    "%s: a permutation of the eligible providers, deterministic",
    (mode) => {
      for (let i = 0; i < 50; i++) {
        const r = rankProviders(tag(i), three, mode);
        expect([...r].sort()).toEqual(["a", "b", "c"]);
        expect(rankProviders(tag(i), three, mode)).toEqual(r);
      }
    },
  );

  it("round-robin: replicas go to consecutive providers, starts spread evenly", () => {
    const firsts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const r = rankProviders(tag(i), three, "round-robin");
      const start = three.findIndex((p) => p.name === r[0]);
      expect(r).toEqual([0, 1, 2].map((d) => three[(start + d) % 3]!.name));
      firsts.set(r[0]!, (firsts.get(r[0]!) ?? 0) + 1);
    }
    for (const n of ["a", "b", "c"]) expect(firsts.get(n)).toBeGreaterThan(850);
  });

  it("weighted: first choice follows the weights", () => {
    const providers = [
      { name: "big", weight: 3 },
      { name: "small", weight: 1 },
    ];
    let big = 0;
    for (let i = 0; i < 4000; i++) if (rankProviders(tag(i), providers, "weighted")[0] === "big") big++;
    // Expected 3000 (75 %); binomial sd ≈ 27, so ±200 never flakes yet catches a wrong formula.
    expect(big).toBeGreaterThan(2800);
    expect(big).toBeLessThan(3200);
  });

  it("weighted: adding a provider only moves chunks onto the new one", () => {
    const four = [...three, { name: "d", weight: 1 }];
    for (let i = 0; i < 500; i++) {
      const before = rankProviders(tag(i), three, "weighted")[0];
      const after = rankProviders(tag(i), four, "weighted")[0];
      if (after !== "d") expect(after).toBe(before);
    }
  });

  it("weight 0 drains a provider from new placements", () => {
    const drained = [...three.slice(0, 2), { name: "c", weight: 0 }];
    for (const mode of ["round-robin", "weighted"] as const) {
      for (let i = 0; i < 100; i++) expect(rankProviders(tag(i), drained, mode)).not.toContain("c");
    }
  });

  it("ranks an upload's object name (tag + nonce) exactly as its name tag", () => {
    const five = ["a", "b", "c", "d", "e"].map((name, i) => ({ name, weight: i + 1 }));
    for (const mode of ["round-robin", "weighted"] as const) {
      for (let i = 0; i < 50; i++) {
        const name = chunkObjectName(tag(i), createHash("md5").update(`${i}`).digest("hex").slice(0, 16));
        expect(rankProviders(name, five, mode)).toEqual(rankProviders(tag(i), five, mode));
      }
    }
  });

  it("rejects a malformed name", () => {
    expect(() => rankProviders("abc", three, "weighted")).toThrow(/chunk object name/);
    expect(() => rankProviders(`${tag(1)}00`, three, "weighted")).toThrow(/chunk object name/);
  });
});
