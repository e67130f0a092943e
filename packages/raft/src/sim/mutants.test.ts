import { describe, expect, it } from "vitest";
import { TEST_MUTATIONS } from "../config.js";
import { CI_SEEDS, CI_STEPS } from "./ci-budget.js";
import { runSimulation } from "./sim.js";

// The tests are themselves tested: each mutation breaks the core in one known way, and the
// simulator must notice within the CI seed budget (200 seeds × 2,000 steps, 3 then 5 nodes).
// A run stops at the first failing seed, so a caught mutant costs little.
const SEEDS = CI_SEEDS;
const STEPS = CI_STEPS;

describe("mutants are caught by the simulator", () => {
  for (const mutation of TEST_MUTATIONS) {
    it(mutation, () => {
      let caught: string | undefined;
      search: for (const nodes of [3, 5]) {
        for (let seed = 1; seed <= SEEDS; seed++) {
          const r = runSimulation({ seed, steps: STEPS, nodes, mutation });
          if (!r.ok) {
            caught = `seed ${seed} (${nodes} nodes): ${r.failure?.invariant}`;
            break search;
          }
        }
      }
      expect(caught, `${mutation} survived ${SEEDS} seeds × ${STEPS} steps`).toBeDefined();
    }, 170_000);
  }
});
