/**
 * Small objects: PUT/s and GET/s of 4 KiB objects with 32 concurrent clients against one node, with
 * p50/p99 latency; the reference is the same load against the npm `s3rver` peer (a plain S3
 * emulator: no encryption, no dedup, no replicated metadata), run in this process.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, S3rverFake } from "../test/support/s3rver.js";
import type { Figure } from "./figure.js";
import { createBucket, get, newAgent, put, type Target } from "./support/http.js";
import { ACCESS_KEY, SECRET_KEY, startNode } from "./support/node-process.js";

const OBJECT_BYTES = 4096;
const CLIENTS = 32;

export interface LoadResult {
  readonly putPerSec: number;
  readonly getPerSec: number;
  readonly putP50Ms: number;
  readonly putP99Ms: number;
  readonly getP50Ms: number;
  readonly getP99Ms: number;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** `ops` PUTs then `ops` GETs of distinct 4 KiB objects from CLIENTS concurrent loops. */
export async function smallObjectLoad(
  targets: readonly Target[],
  bucket: string,
  ops: number,
): Promise<LoadResult> {
  const bodies = Array.from({ length: ops }, () => randomBytes(OBJECT_BYTES));
  const phase = async (fn: (i: number, t: Target) => Promise<void>) => {
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const t = targets[c % targets.length]!;
        for (let i = next++; i < ops; i = next++) {
          const s = performance.now();
          await fn(i, t);
          lat.push(performance.now() - s);
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    return { perSec: ops / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
  };
  const p = await phase(async (i, t) => {
    const status = await put(t, `/${bucket}/o-${i}`, bodies[i]!, OBJECT_BYTES);
    if (status !== 200) throw new Error(`PUT o-${i}: ${status}`);
  });
  const g = await phase(async (i, t) => {
    await get(t, `/${bucket}/o-${i}`);
  });
  return {
    putPerSec: p.perSec,
    getPerSec: g.perSec,
    putP50Ms: p.p50,
    putP99Ms: p.p99,
    getP50Ms: g.p50,
    getP99Ms: g.p99,
  };
}

export async function runSmallObjectBench(opts: {
  quick: boolean;
  log: (s: string) => void;
}): Promise<Figure[]> {
  const ops = opts.quick ? 1000 : 5000;
  const dir = mkdtempSync(join(tmpdir(), "enigma-bench-small-"));
  const node = await startNode(dir);
  const peer = await S3rverFake.start(["bench"]);
  const agent = newAgent(CLIENTS);
  try {
    const gw: Target = {
      port: node.s3Port,
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      region: "us-east-1",
      agent,
    };
    const peerTarget: Target = {
      port: Number(new URL(peer.endpoint).port),
      accessKeyId: S3RVER_ACCESS_KEY,
      secretAccessKey: S3RVER_SECRET_KEY,
      region: "us-east-1",
      agent,
    };
    await createBucket(gw, "bench");
    const ref = await smallObjectLoad([peerTarget], "bench", ops);
    const r = await smallObjectLoad([gw], "bench", ops);
    opts.log(
      `small objects, one node: PUT ${r.putPerSec.toFixed(0)}/s (p50 ${r.putP50Ms.toFixed(1)} ms, p99 ${r.putP99Ms.toFixed(1)} ms), ` +
        `GET ${r.getPerSec.toFixed(0)}/s (p50 ${r.getP50Ms.toFixed(1)}, p99 ${r.getP99Ms.toFixed(1)}); ` +
        `s3rver PUT ${ref.putPerSec.toFixed(0)}/s, GET ${ref.getPerSec.toFixed(0)}/s`,
    );
    return [
      {
        name: "small.put.node",
        value: r.putPerSec,
        unit: "ops/s",
        reference: ref.putPerSec,
        ratio: r.putPerSec / ref.putPerSec,
      },
      {
        name: "small.get.node",
        value: r.getPerSec,
        unit: "ops/s",
        reference: ref.getPerSec,
        ratio: r.getPerSec / ref.getPerSec,
      },
      {
        name: "small.put.node.p99",
        value: r.putP99Ms,
        unit: "ms",
        reference: ref.putP99Ms,
        ratio: r.putP99Ms / ref.putP99Ms,
      },
    ];
  } finally {
    agent.destroy();
    await peer.stop();
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
