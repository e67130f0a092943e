/**
 * Linearizability of S3 PUT / GET / DELETE across a 3-node cluster under faults: each run records
 * a history of concurrent operations on a few keys from clients spread over every node, with a
 * leader SIGKILL + restart or a partition (REJECT or DROP style) + heal injected, and checks it
 * (checker.ts). Zero violations over every run; a failure prints the run's seed, its faults and
 * the offending key's history.
 *
 * Default: 10 short runs. ENIGMA_LONG=1: 40 longer runs.
 */
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCluster } from "./harness.js";
import { checkHistory, describeHistory } from "./linearizability/checker.js";
import { FAULTS, runWorkload } from "./linearizability/workload.js";

const LONG = process.env.ENIGMA_LONG === "1";
const RUNS = LONG ? 40 : 10;
const RUN_MS = LONG ? 8000 : 4000;
const BASE_SEED = Number(process.env.ENIGMA_LIN_SEED ?? Date.now() % 1_000_000);

describe("linearizability under leader kills and partitions", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ proxied: true, requestTimeoutMs: 1500, electionTimeoutMs: 300 });
    const c = cluster.client(1);
    await c.send(new CreateBucketCommand({ Bucket: "lin" }));
    c.destroy();
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it(`has zero violations over ${RUNS} randomized runs`, { timeout: RUNS * (RUN_MS + 20_000) }, async () => {
    let totalOps = 0;
    let totalUnknown = 0;
    for (let run = 0; run < RUNS; run++) {
      const seed = BASE_SEED + run;
      const fault = FAULTS[run % FAULTS.length]!;
      const rec = await runWorkload(cluster, {
        bucket: "lin",
        keys: [`r${run}/a`, `r${run}/b`, `r${run}/c`],
        clientsPerNode: 2,
        durationMs: RUN_MS,
        fault,
        seed,
      });
      // Let the cluster settle (the killed node rejoins, partitions heal) before the next run.
      await cluster.waitReady();
      await cluster.converged();
      const result = checkHistory(rec.ops);
      const unknown = rec.ops.filter((o) => o.returnMs === Infinity).length;
      const reads = rec.ops.filter((o) => o.kind === "get").length;
      totalOps += rec.ops.length;
      totalUnknown += unknown;
      process.stderr.write(
        `linearizability run ${run} seed=${seed} fault=${fault}: ${rec.ops.length} ops (${reads} reads, ` +
          `${unknown} unknown-outcome writes), ${result.statesVisited} states: ${result.ok ? "ok" : "VIOLATION"} ` +
          `${rec.faultLog.join("; ")}\n`,
      );
      if (!result.ok) {
        throw new Error(
          `linearizability violation in run ${run} (seed ${seed}, fault ${fault}; ${rec.faultLog.join("; ")}) ` +
            `on key ${result.key}:\n${describeHistory(result.history ?? [], rec.t0)}`,
        );
      }
      // The history must exercise something: reads and writes that succeeded.
      expect(rec.ops.filter((o) => o.kind !== "get" && o.returnMs !== Infinity).length).toBeGreaterThan(0);
      expect(reads).toBeGreaterThan(0);
    }
    const sums = cluster.ids.map((id) => cluster.manifestChecksum(id));
    expect(new Set(sums).size).toBe(1);
    process.stderr.write(
      `linearizability: ${RUNS} runs, ${totalOps} ops, ${totalUnknown} unknown outcomes\n`,
    );
  });
});
