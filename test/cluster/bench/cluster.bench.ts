/**
 * `pnpm bench:cluster`: a 3-node cluster of real `enigma serve` processes on 127.0.0.1.
 *
 * 1. Small-object PUT/s through the cluster (1 KiB bodies, clients spread over all nodes).
 * 2. Commit latency p50/p99: a metadata command proposed through a follower's cluster service
 *    (forwarded to the leader, committed by a majority, applied) — sequential, then 32 concurrent.
 * 3. Time from a leader SIGKILL to the first acknowledged write on a survivor, median of 10.
 *
 * Environment: BENCH_PUT_SECONDS (default 10), BENCH_PUT_CLIENTS (default 24), BENCH_KILLS (10).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { encodeEnvelope } from "../../../packages/manifest/src/index.js";
import { ClusterClient } from "../../../packages/raft-node/src/index.js";
import { CLUSTER_SECRET, sleep, TestCluster } from "../harness.js";

const PUT_SECONDS = Number(process.env.BENCH_PUT_SECONDS ?? 10);
const PUT_CLIENTS = Number(process.env.BENCH_PUT_CLIENTS ?? 24);
const KILLS = Number(process.env.BENCH_KILLS ?? 10);

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(lat: number[]): string {
  const s = [...lat].sort((a, b) => a - b);
  return `p50 ${pct(s, 50).toFixed(1)} ms, p99 ${pct(s, 99).toFixed(1)} ms (n=${s.length})`;
}

async function putThroughput(cluster: TestCluster): Promise<void> {
  const body = randomBytes(1024);
  const lat: number[] = [];
  let errors = 0;
  const until = performance.now() + PUT_SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: PUT_CLIENTS }, async (_, i) => {
      const client = cluster.client(cluster.ids[i % cluster.ids.length]!);
      for (let seq = 0; performance.now() < until; seq++) {
        const t = performance.now();
        try {
          await client.send(new PutObjectCommand({ Bucket: "bench", Key: `small/${i}/${seq}`, Body: body }));
          lat.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
      client.destroy();
    }),
  );
  const secs = (performance.now() - start) / 1000;
  console.log(
    `small-object PUT (1 KiB, ${PUT_CLIENTS} clients over 3 nodes, ${PUT_SECONDS}s): ` +
      `${(lat.length / secs).toFixed(0)} PUT/s, latency ${summary(lat)}, errors ${errors}`,
  );
}

async function commitLatency(cluster: TestCluster): Promise<void> {
  const leader = await cluster.leader();
  const follower = cluster.ids.find((id) => id !== leader)!;
  for (const [label, id] of [
    ["leader", leader],
    ["follower (forwarded)", follower],
  ] as const) {
    const client = new ClusterClient(`127.0.0.1:${cluster.node(id).grpcPort}`, { secret: CLUSTER_SECRET });
    const propose = async () => {
      const command = encodeEnvelope({
        requestId: randomUUID(),
        command: { type: "CreateBucket", bucket: `b-${randomUUID().slice(0, 18)}`, createdAtMs: Date.now() },
      });
      const t = performance.now();
      const res = await client.propose({ command, timeoutMs: 10_000, hops: 0 });
      if (res.failure !== undefined) throw new Error(`${res.failure.code}: ${res.failure.message}`);
      return performance.now() - t;
    };
    const seq: number[] = [];
    for (let i = 0; i < 200; i++) seq.push(await propose());
    const conc: number[] = [];
    const until = performance.now() + 5000;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (performance.now() < until) conc.push(await propose());
      }),
    );
    console.log(`commit latency via ${label}: sequential ${summary(seq)}; 32 concurrent ${summary(conc)}`);
    client.close();
  }
}

async function failover(cluster: TestCluster): Promise<void> {
  const times: number[] = [];
  for (let k = 0; k < KILLS; k++) {
    await cluster.converged();
    const leader = await cluster.leader();
    const survivors = cluster.ids.filter((id) => id !== leader);
    const clients = survivors.map((id) => cluster.client(id, { timeoutMs: 10_000 }));
    let killedAt = 0;
    let firstOk = 0;
    let stop = false;
    const writers = clients.flatMap((c, ci) =>
      [0, 1].map(async (w) => {
        for (let seq = 0; !stop; seq++) {
          const started = performance.now();
          try {
            await c.send(
              new PutObjectCommand({ Bucket: "bench", Key: `fo/${k}/${ci}/${w}/${seq}`, Body: "x" }),
            );
            // Only a write issued after the kill proves the survivors took over.
            if (killedAt > 0 && started > killedAt && firstOk === 0) firstOk = performance.now();
          } catch {
            await sleep(5);
          }
        }
      }),
    );
    await sleep(500);
    killedAt = performance.now();
    await cluster.kill(leader, "SIGKILL");
    while (firstOk === 0 && performance.now() - killedAt < 30_000) await sleep(5);
    stop = true;
    await Promise.all(writers);
    for (const c of clients) c.destroy();
    times.push(firstOk - killedAt);
    await cluster.restart(leader);
  }
  const s = [...times].sort((a, b) => a - b);
  console.log(
    `leader SIGKILL -> first acknowledged write: median ${pct(s, 50).toFixed(0)} ms ` +
      `(min ${s[0]!.toFixed(0)}, max ${s[s.length - 1]!.toFixed(0)}, n=${s.length}; election timeout 1000 ms, heartbeat 100 ms)`,
  );
}

const cluster = await TestCluster.start({
  electionTimeoutMs: 1000,
  heartbeatMs: 100,
  requestTimeoutMs: 10_000,
  workers: 1,
});
try {
  const c = cluster.client(1);
  await c.send(new CreateBucketCommand({ Bucket: "bench" }));
  c.destroy();
  await putThroughput(cluster);
  await commitLatency(cluster);
  await failover(cluster);
} finally {
  await cluster.close();
}
