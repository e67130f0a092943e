/**
 * Cluster figures for `pnpm bench` (and standalone: `pnpm bench:cluster [--quick]`), measured on a
 * 3-node cluster of real `enigma serve` processes on 127.0.0.1 with the product's default Raft
 * timeouts (election 1000 ms, heartbeat 100 ms, snapshot threshold 10,000):
 *
 * - small.put.cluster / small.get.cluster: 4 KiB objects, 32 clients spread over the 3 nodes, with
 *   p50/p99; reference: the same load against the npm `s3rver` peer in this run.
 * - raft.commit.{1,8,64}: committed Noop proposals/s (sent to the leader's cluster service) with
 *   1, 8 and 64 concurrent proposers, latency p50/p99; reference for .1: the fsync rate of the disk
 *   the nodes write to (4 KiB write + fdatasync, measured here); for .64: raft.commit.1 (the group
 *   commit gain, target ≥ 10).
 * - failover.median / failover.max: leader SIGKILL → first acknowledged PUT issued after the kill
 *   on a survivor, over 10 kills (3 with --quick); reference: the election timeout.
 * - catchup.entries: a follower is SIGKILLed, N Noop entries are committed without it (100,000; 10,000
 *   with --quick), then it is restarted: seconds from the restart until it has applied the
 *   leader's commit index (process start included); reference: the time a restart with no backlog
 *   takes to become ready (median of the failover restarts).
 *
 * Environment overrides: BENCH_KILLS, BENCH_CATCHUP_ENTRIES, BENCH_RAFT_SECONDS, BENCH_SMALL_OPS.
 */
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Figure } from "../../../bench/figure.js";
import { smallObjectLoad } from "../../../bench/small.js";
import { createBucket, newAgent, type Target } from "../../../bench/support/http.js";
import { encodeEnvelope } from "../../../packages/manifest/src/index.js";
import { ClusterClient } from "../../../packages/raft-node/src/index.js";
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, S3rverFake } from "../../support/s3rver.js";
import { ACCESS_KEY, CLUSTER_SECRET, SECRET_KEY, sleep, TestCluster } from "../harness.js";

export interface ClusterBenchOptions {
  readonly quick: boolean;
  readonly log: (line: string) => void;
}

const ELECTION_TIMEOUT_MS = 1000;
const HEARTBEAT_MS = 100;
const SMALL_CLIENTS = 32;

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined || v === "" ? fallback : Number(v);
}

const fig = (name: string, value: number, unit: string, reference: number | null): Figure => ({
  name,
  value,
  unit,
  reference,
  ratio: reference === null || reference === 0 ? null : value / reference,
});

/** fdatasync'd 4 KiB appends per second in `dir` (the disk the Raft logs live on). */
export function fsyncRate(dir: string, seconds: number): number {
  const file = join(dir, "fsync-probe");
  const fd = openSync(file, "w");
  const block = Buffer.alloc(4096, 7);
  let n = 0;
  const t0 = performance.now();
  try {
    while (performance.now() - t0 < seconds * 1000) {
      writeSync(fd, block);
      fdatasyncSync(fd);
      n++;
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return n / ((performance.now() - t0) / 1000);
}

/** `concurrency` loops proposing Noop entries to `client` until `until` (or `count` in total). */
async function proposeLoad(
  client: ClusterClient,
  concurrency: number,
  limit: { untilMs?: number; count?: number },
): Promise<{ perSec: number; lat: number[]; errors: number }> {
  const command = encodeEnvelope({ command: { type: "Noop" } });
  const lat: number[] = [];
  let issued = 0;
  let errors = 0;
  const more = () =>
    (limit.untilMs === undefined || performance.now() < limit.untilMs) &&
    (limit.count === undefined || issued < limit.count);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (more()) {
        issued++;
        const t = performance.now();
        const res = await client.propose({ command, timeoutMs: 10_000, hops: 0 }).catch((e: Error) => ({
          failure: { code: "error", message: e.message },
        }));
        if (res.failure !== undefined) {
          errors++;
          if (errors > 100) throw new Error(`propose keeps failing: ${res.failure.message}`);
          continue;
        }
        lat.push(performance.now() - t);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { perSec: lat.length / ((performance.now() - t0) / 1000), lat, errors };
}

async function smallFigures(cluster: TestCluster, o: ClusterBenchOptions): Promise<Figure[]> {
  const ops = envInt("BENCH_SMALL_OPS", o.quick ? 1000 : 5000);
  const agent = newAgent(SMALL_CLIENTS);
  const peer = await S3rverFake.start(["bench"]);
  try {
    const targets: Target[] = cluster.ids.map((id) => ({
      port: cluster.node(id).s3Port,
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      region: "us-east-1",
      agent,
    }));
    await createBucket(targets[0]!, "small");
    const peerTarget: Target = {
      port: Number(new URL(peer.endpoint).port),
      accessKeyId: S3RVER_ACCESS_KEY,
      secretAccessKey: S3RVER_SECRET_KEY,
      region: "us-east-1",
      agent,
    };
    const ref = await smallObjectLoad([peerTarget], "bench", ops);
    const r = await smallObjectLoad(targets, "small", ops);
    o.log(
      `small objects, 3 nodes: PUT ${r.putPerSec.toFixed(0)}/s (p50 ${r.putP50Ms.toFixed(1)} ms, p99 ${r.putP99Ms.toFixed(1)} ms), ` +
        `GET ${r.getPerSec.toFixed(0)}/s (p50 ${r.getP50Ms.toFixed(1)}, p99 ${r.getP99Ms.toFixed(1)}); ` +
        `s3rver PUT ${ref.putPerSec.toFixed(0)}/s, GET ${ref.getPerSec.toFixed(0)}/s`,
    );
    return [
      fig("small.put.cluster", r.putPerSec, "ops/s", ref.putPerSec),
      fig("small.put.cluster.p50", r.putP50Ms, "ms", ref.putP50Ms),
      fig("small.put.cluster.p99", r.putP99Ms, "ms", ref.putP99Ms),
      fig("small.get.cluster", r.getPerSec, "ops/s", ref.getPerSec),
      fig("small.get.cluster.p50", r.getP50Ms, "ms", ref.getP50Ms),
      fig("small.get.cluster.p99", r.getP99Ms, "ms", ref.getP99Ms),
    ];
  } finally {
    agent.destroy();
    await peer.stop();
  }
}

async function raftFigures(cluster: TestCluster, o: ClusterBenchOptions): Promise<Figure[]> {
  const seconds = envInt("BENCH_RAFT_SECONDS", o.quick ? 3 : 8);
  const fsyncs = fsyncRate(cluster.root, o.quick ? 1 : 2);
  const leader = await cluster.leader();
  const client = new ClusterClient(`127.0.0.1:${cluster.node(leader).grpcPort}`, { secret: CLUSTER_SECRET });
  try {
    await proposeLoad(client, 8, { count: 200 }); // warm the channel and the statements
    const res = new Map<number, Awaited<ReturnType<typeof proposeLoad>>>();
    for (const c of [1, 8, 64]) {
      const r = await proposeLoad(client, c, { untilMs: performance.now() + seconds * 1000 });
      res.set(c, r);
      o.log(
        `raft commit, ${c} proposer(s): ${r.perSec.toFixed(0)}/s, p50 ${pct(r.lat, 50).toFixed(1)} ms, ` +
          `p99 ${pct(r.lat, 99).toFixed(1)} ms (n=${r.lat.length}, errors ${r.errors}); disk fsync ${fsyncs.toFixed(0)}/s`,
      );
    }
    const one = res.get(1)!;
    const out: Figure[] = [fig("raft.fsync_rate", fsyncs, "fsync/s", null)];
    for (const c of [1, 8, 64]) {
      const r = res.get(c)!;
      out.push(fig(`raft.commit.${c}`, r.perSec, "commits/s", c === 1 ? fsyncs : one.perSec));
      out.push(fig(`raft.commit.${c}.p50`, pct(r.lat, 50), "ms", null));
      out.push(fig(`raft.commit.${c}.p99`, pct(r.lat, 99), "ms", null));
    }
    out.push(fig("raft.commit.64.vs_fsync", res.get(64)!.perSec, "commits/s", fsyncs));
    return out;
  } finally {
    client.close();
  }
}

async function failoverFigures(
  cluster: TestCluster,
  o: ClusterBenchOptions,
): Promise<{ figures: Figure[]; restartMs: number[] }> {
  const kills = envInt("BENCH_KILLS", o.quick ? 3 : 10);
  const times: number[] = [];
  const restartMs: number[] = [];
  for (let k = 0; k < kills; k++) {
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
    times.push(firstOk === 0 ? Number.NaN : firstOk - killedAt);
    const t = performance.now();
    await cluster.restart(leader);
    restartMs.push(performance.now() - t);
  }
  const s = times.filter(Number.isFinite).sort((a, b) => a - b);
  o.log(
    `leader SIGKILL -> first acknowledged write: median ${pct(s, 50).toFixed(0)} ms, max ${s[s.length - 1]?.toFixed(0)} ms ` +
      `(n=${s.length} of ${kills}; election timeout ${ELECTION_TIMEOUT_MS} ms, heartbeat ${HEARTBEAT_MS} ms)`,
  );
  return {
    figures: [
      fig("failover.median", pct(s, 50), "ms", ELECTION_TIMEOUT_MS),
      fig("failover.max", s[s.length - 1] ?? Number.NaN, "ms", ELECTION_TIMEOUT_MS),
    ],
    restartMs,
  };
}

async function catchupFigures(
  cluster: TestCluster,
  o: ClusterBenchOptions,
  restartMs: number[],
): Promise<Figure[]> {
  const entries = envInt("BENCH_CATCHUP_ENTRIES", o.quick ? 10_000 : 100_000);
  await cluster.converged();
  const leader = await cluster.leader();
  const follower = cluster.ids.find((id) => id !== leader)!;
  const from = (await cluster.node(follower).status())?.appliedIndex ?? 0;
  await cluster.kill(follower, "SIGKILL");
  const client = new ClusterClient(`127.0.0.1:${cluster.node(leader).grpcPort}`, { secret: CLUSTER_SECRET });
  let wrote: Awaited<ReturnType<typeof proposeLoad>>;
  try {
    wrote = await proposeLoad(client, 64, { count: entries });
  } finally {
    client.close();
  }
  const target = (await cluster.node(leader).status())?.commitIndex ?? 0;
  const before = (await cluster.node(leader).status())?.snapshotIndex ?? 0;
  const t0 = performance.now();
  await cluster.restart(follower);
  for (;;) {
    const st = await cluster.node(follower).status();
    if (st !== undefined && st.appliedIndex >= target) break;
    if (performance.now() - t0 > 600_000) throw new Error("restarted follower did not catch up in 10 min");
    await sleep(20);
  }
  const secs = (performance.now() - t0) / 1000;
  const backlog = target - from;
  const boot = [...restartMs].sort((a, b) => a - b);
  const bootSecs = boot.length > 0 ? pct(boot, 50) / 1000 : null;
  o.log(
    `catch-up: ${wrote.lat.length} entries committed without node ${follower} (${wrote.perSec.toFixed(0)}/s, leader snapshot at ${before}), ` +
      `restart → applied ${from}..${target} (${backlog} entries) in ${secs.toFixed(2)} s (${(backlog / secs).toFixed(0)} entries/s); ` +
      `restart with no backlog: ${bootSecs?.toFixed(2) ?? "?"} s`,
  );
  return [
    fig("catchup.entries", secs, "s", bootSecs),
    fig("catchup.rate", backlog / secs, "entries/s", wrote.perSec),
  ];
}

export async function runClusterBench(o: ClusterBenchOptions): Promise<Figure[]> {
  const cluster = await TestCluster.start({
    electionTimeoutMs: ELECTION_TIMEOUT_MS,
    heartbeatMs: HEARTBEAT_MS,
    requestTimeoutMs: 10_000,
    workers: 1,
  });
  const out: Figure[] = [];
  try {
    const c = cluster.client(cluster.ids[0]!);
    await c.send(new CreateBucketCommand({ Bucket: "bench" }));
    c.destroy();
    out.push(...(await smallFigures(cluster, o)));
    out.push(...(await raftFigures(cluster, o)));
    const fo = await failoverFigures(cluster, o);
    out.push(...fo.figures);
    out.push(...(await catchupFigures(cluster, o, fo.restartMs)));
  } finally {
    await cluster.close();
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await runClusterBench({
    quick: process.argv.includes("--quick"),
    log: (line) => console.log(line),
  });
  for (const f of figures) {
    const ratio = f.ratio === null ? "" : `  ratio ${f.ratio.toFixed(2)}`;
    console.log(`${f.name.padEnd(26)} ${f.value.toFixed(2).padStart(10)} ${f.unit}${ratio}`);
  }
}
