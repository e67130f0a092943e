import { describe, expect, it } from "vitest";
import { CI_SEEDS, CI_STEPS, runSeeds } from "./ci-budget.js";
import { runSimulation } from "./sim.js";

// The CI budget for 3 nodes (sim-5.test.ts has 5 nodes, so the two files run in parallel).
// Each run ends with a liveness phase. A failure names its seed and how to replay it.
const CHUNK = 50;

describe("deterministic simulator, 3 nodes", () => {
  it("replays a seed exactly", () => {
    const a = runSimulation({ seed: 7, steps: 300, nodes: 3 });
    const b = runSimulation({ seed: 7, steps: 300, nodes: 3 });
    expect(b).toEqual(a);
    expect(a.stats.messages).toBeGreaterThan(0);
  });

  for (let first = 1; first <= CI_SEEDS; first += CHUNK) {
    it(`seeds ${first}-${first + CHUNK - 1}, ${CI_STEPS} steps each: safe and live`, () => {
      const { failures, totals } = runSeeds(3, first, CHUNK);
      expect(failures).toEqual([]);
      // The runs exercised every kind of event they claim to.
      for (const [what, n] of Object.entries(totals)) expect(n, what).toBeGreaterThan(5);
    }, 150_000);
  }
});
