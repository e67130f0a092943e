import { runSimulation, type SimResult } from "./sim.js";

/** The CI budget: 200 seeds × 2,000 steps, for 3 and for 5 nodes. */
export const CI_SEEDS = 200;
export const CI_STEPS = 2000;

/** One line per failed run, naming the seed and how to replay it. */
export function describeFailures(results: readonly SimResult[]): string[] {
  return results
    .filter((r) => !r.ok)
    .map(
      (r) =>
        `seed ${r.seed} (${r.nodes} nodes): ${r.failure?.invariant} at step ${r.failure?.step}: ${r.failure?.message}` +
        ` — replay: pnpm sim --seed ${r.seed} --nodes ${r.nodes} --steps ${r.steps} --trace`,
    );
}

/** Totals over runs, to assert that the runs exercised what they claim to. */
export function totals(results: readonly SimResult[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const r of results) {
    const s = r.stats;
    const add = (k: string, v: number) => {
      t[k] = (t[k] ?? 0) + v;
    };
    add("leaderElections", s.leaderElections);
    add("acked", s.acked);
    add("readsServed", s.readsServed);
    add("crashes", s.crashes);
    add("partitions", s.partitions);
    add("snapshotsSent", s.snapshotsSent);
    add("confChanges", s.confChanges);
    add("transfers", s.transfers);
  }
  return t;
}

/** Runs `count` seeds from `first`; returns the failures and the totals. */
export function runSeeds(
  nodes: number,
  first: number,
  count: number,
): { failures: string[]; totals: Record<string, number> } {
  const results: SimResult[] = [];
  for (let seed = first; seed < first + count; seed++)
    results.push(runSimulation({ seed, steps: CI_STEPS, nodes }));
  return { failures: describeFailures(results), totals: totals(results) };
}
