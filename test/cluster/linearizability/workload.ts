/**
 * Records a history of concurrent PUT / GET / DELETE on a few keys, issued by clients spread over
 * every node of a `TestCluster`, while faults (leader SIGKILL + restart, partitions + heal) are
 * injected. The history goes to checker.ts.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { sleep, type TestCluster } from "../harness.js";
import type { Operation } from "./checker.js";

export type Fault = "none" | "kill-leader" | "partition-leader" | "partition-follower" | "blackhole-leader";
export const FAULTS: readonly Fault[] = [
  "kill-leader",
  "partition-leader",
  "partition-follower",
  "blackhole-leader",
  "none",
];

/** mulberry32: a small seeded PRNG, so a run's choices are reproducible from its printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RunOptions {
  readonly bucket: string;
  readonly keys: readonly string[];
  readonly clientsPerNode: number;
  readonly durationMs: number;
  readonly fault: Fault;
  readonly seed: number;
}

export interface RunRecord {
  readonly ops: Operation[];
  readonly t0: number;
  readonly faultLog: string[];
}

/** The request never reached a server: the write certainly had no effect. */
function neverSent(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === "ECONNREFUSED";
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof S3ServiceException && (err.name === "NoSuchKey" || err.$metadata.httpStatusCode === 404)
  );
}

export async function runWorkload(cluster: TestCluster, o: RunOptions): Promise<RunRecord> {
  const rand = prng(o.seed);
  const ops: Operation[] = [];
  const faultLog: string[] = [];
  const t0 = performance.now();
  const now = () => performance.now();
  let stop = false;
  let nextId = 0;

  const clientLoop = async (clientNo: number, nodeId: number, r: () => number) => {
    const client: S3Client = cluster.client(nodeId, { timeoutMs: 8000 });
    try {
      for (let seq = 0; !stop; seq++) {
        const key = o.keys[Math.floor(r() * o.keys.length)]!;
        const dice = r();
        const callMs = now();
        let failed = false;
        if (dice < 0.45) {
          const value = `c${clientNo}-${seq}`;
          let returnMs = Infinity;
          let noEffect = false;
          try {
            await client.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: value }));
            returnMs = now();
          } catch (err) {
            failed = true;
            noEffect = neverSent(err);
          }
          if (!noEffect)
            ops.push({ id: nextId++, client: clientNo, key, kind: "put", value, callMs, returnMs });
        } else if (dice < 0.9) {
          try {
            const got = await client.send(new GetObjectCommand({ Bucket: o.bucket, Key: key }));
            const value = await got.Body!.transformToString();
            ops.push({ id: nextId++, client: clientNo, key, kind: "get", value, callMs, returnMs: now() });
          } catch (err) {
            if (isNotFound(err)) {
              ops.push({
                id: nextId++,
                client: clientNo,
                key,
                kind: "get",
                value: null,
                callMs,
                returnMs: now(),
              });
            } else failed = true; // the read had no effect; leave it out
          }
        } else {
          let returnMs = Infinity;
          let noEffect = false;
          try {
            await client.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: key }));
            returnMs = now();
          } catch (err) {
            failed = true;
            noEffect = neverSent(err);
          }
          if (!noEffect)
            ops.push({ id: nextId++, client: clientNo, key, kind: "delete", value: null, callMs, returnMs });
        }
        if (failed) await sleep(20); // a failing node: do not spin
      }
    } finally {
      client.destroy();
    }
  };

  const loops: Promise<void>[] = [];
  let clientNo = 0;
  for (const nodeId of cluster.ids) {
    for (let k = 0; k < o.clientsPerNode; k++) {
      const seed = Math.floor(rand() * 2 ** 31);
      loops.push(clientLoop(clientNo++, nodeId, prng(seed)));
    }
  }

  const faults = (async () => {
    if (o.fault === "none") return;
    // Faults span the middle half of the run: longer than a request deadline, so requests on the
    // cut-off side fail instead of riding out the fault.
    await sleep(o.durationMs * 0.25);
    const leader = await cluster.leader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const log = (s: string) => faultLog.push(`${(now() - t0).toFixed(0)}ms ${s}`);
    switch (o.fault) {
      case "kill-leader":
        log(`SIGKILL leader ${leader}`);
        await cluster.kill(leader, "SIGKILL");
        await sleep(o.durationMs * 0.5);
        log(`restart ${leader}`);
        await cluster.restart(leader);
        log(`${leader} ready`);
        return;
      case "partition-leader":
      case "blackhole-leader":
        log(`${o.fault === "blackhole-leader" ? "blackhole" : "partition"} leader ${leader}`);
        cluster.partition(leader, o.fault === "blackhole-leader" ? "blackhole" : "reset");
        await sleep(o.durationMs * 0.5);
        log("heal");
        cluster.heal();
        return;
      case "partition-follower":
        log(`partition follower ${follower}`);
        cluster.partition(follower);
        await sleep(o.durationMs * 0.5);
        log("heal");
        cluster.heal();
        return;
    }
  })();

  await sleep(o.durationMs);
  await faults;
  stop = true;
  await Promise.all(loops);
  return { ops, t0, faultLog };
}
