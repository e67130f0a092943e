import { describe, expect, it } from "vitest";
import { CI_SEEDS, CI_STEPS, runSeeds } from "./ci-budget.js";

// The CI budget for 5 nodes. A failure names its seed and how to replay it.
const CHUNK = 50;

describe("deterministic simulator, 5 nodes", () => {
  for (let first = 1; first <= CI_SEEDS; first += CHUNK) {
    it(`seeds ${first}-${first + CHUNK - 1}, ${CI_STEPS} steps each: safe and live`, () => {
      const { failures, totals } = runSeeds(5, first, CHUNK);
      expect(failures).toEqual([]);
      for (const [what, n] of Object.entries(totals)) expect(n, what).toBeGreaterThan(5);
    }, 150_000);
  }
});
