/**
 * Chunk lifecycle on a real 3-node cluster: concurrent S3 clients PUT, overwrite, CopyObject and
 * DELETE objects drawn from a small pool of contents (dedup collides constantly), through random
 * nodes, while GC with grace 0 runs in a loop through the Admin RPC (on the leader) and the leader
 * is SIGKILLed and restarted. At the end: every object reads back byte-identical to one of the
 * values the model allows (an operation that failed ambiguously may or may not have happened), no
 * live chunk lacks its blob, and after a final GC + sweep past grace no backend holds a blob the
 * manifest does not know.
 *
 * Default ~60 s of workload; ENIGMA_LONG=1 runs 10 minutes. The seed is printed.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Manifest } from "../../packages/manifest/src/index.js";
import { ClusterClient } from "../../packages/raft-node/src/index.js";
import { CLUSTER_SECRET, sleep, TestCluster } from "../cluster/harness.js";
import { runEnigma } from "../support/cli.js";

const LONG = process.env.ENIGMA_LONG === "1";
const WORKLOAD_MS = LONG ? 10 * 60_000 : 60_000;
const CLIENTS = 4;
const KEYS_PER_CLIENT = 6;
const BUCKET = "gcwork";
const SEED = Number(process.env.ENIGMA_SEED ?? Date.now() % 1_000_000);

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Contents built from a few shared blocks, so chunks repeat across contents as well as within. */
function contentPool(rand: () => number): Buffer[] {
  const blocks = Array.from({ length: 6 }, () => randomBytes(48 * 1024 + Math.floor(rand() * 64 * 1024)));
  const pool: Buffer[] = [];
  for (let i = 0; i < 8; i++) {
    const n = 1 + Math.floor(rand() * 4);
    pool.push(Buffer.concat(Array.from({ length: n }, () => blocks[Math.floor(rand() * blocks.length)]!)));
  }
  pool.push(Buffer.from("tiny object"));
  return pool;
}

/** Possible content hashes of a key; "absent" when it may not exist. */
type Possible = Set<string>;
const ABSENT = "absent";

function blobNameTags(chunksDir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(d, e.name));
      else if (/^[0-9a-f]{16,128}$/.test(e.name)) out.push(e.name);
    }
  };
  visit(chunksDir);
  return out;
}

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start({ size: 3, requestTimeoutMs: 5000 });
}, 180_000);

afterAll(async () => {
  await cluster?.close();
});

async function admin(action: string, args: unknown, via?: number): Promise<unknown> {
  const running = cluster.ids.filter((id) => cluster.node(id).running);
  const id = via ?? running[Math.floor(Math.random() * running.length)]!;
  const c = new ClusterClient(`127.0.0.1:${cluster.node(id).grpcPort}`, { secret: CLUSTER_SECRET });
  try {
    const res = await c.admin({
      action,
      argsJson: JSON.stringify(args),
      onLeader: true,
      timeoutMs: 60_000,
      hops: 0,
    });
    if (res.failure !== undefined) throw new Error(`${res.failure.code}: ${res.failure.message}`);
    return JSON.parse(res.resultJson);
  } finally {
    c.close();
  }
}

async function body(c: S3Client, key: string): Promise<Buffer | undefined> {
  try {
    const r = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } catch (err) {
    if ((err as { name?: string }).name === "NoSuchKey") return undefined;
    throw err;
  }
}

describe("chunk lifecycle under a concurrent workload with GC and a node crash", () => {
  it(
    "every object reads back as the model says; no missing and no unknown blobs",
    async () => {
      console.log(`gc workload seed ${SEED} (ENIGMA_SEED to replay the choices), ${WORKLOAD_MS} ms`);
      const rand = prng(SEED);
      const pool = contentPool(rand);
      const hashes = pool.map(sha);
      await cluster.client(1).send(new CreateBucketCommand({ Bucket: BUCKET }));

      const model = new Map<string, Possible>();
      const stop = { now: false };
      const stats = { ok: 0, failed: 0, gcRuns: 0, gcRefused: 0, freedChunks: 0 };
      const clientFor = (id: number) => cluster.client(id, { timeoutMs: 20_000 });

      const worker = async (w: number) => {
        const r = prng(SEED * 31 + w);
        const keys = Array.from({ length: KEYS_PER_CLIENT }, (_, i) => `c${w}/k${i}`);
        for (const k of keys) model.set(k, new Set([ABSENT]));
        while (!stop.now) {
          const running = cluster.ids.filter((id) => cluster.node(id).running);
          const node = running[Math.floor(r() * running.length)]!;
          const c = clientFor(node);
          const key = keys[Math.floor(r() * keys.length)]!;
          const before = model.get(key)!;
          const op = r();
          try {
            if (op < 0.55) {
              const i = Math.floor(r() * pool.length);
              model.set(key, new Set([...before, hashes[i]!]));
              await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: pool[i]! }));
              model.set(key, new Set([hashes[i]!]));
            } else if (op < 0.75) {
              const src = keys[Math.floor(r() * keys.length)]!;
              const srcPossible = model.get(src)!;
              if (src === key || srcPossible.has(ABSENT)) continue;
              model.set(key, new Set([...before, ...srcPossible]));
              await c.send(
                new CopyObjectCommand({ Bucket: BUCKET, Key: key, CopySource: `${BUCKET}/${src}` }),
              );
              model.set(key, new Set(srcPossible));
            } else {
              model.set(key, new Set([...before, ABSENT]));
              await c.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
              model.set(key, new Set([ABSENT]));
            }
            stats.ok++;
          } catch {
            // Refused (SlowDown: a chunk GC fenced), timed out, node killed: the outcome is open.
            stats.failed++;
            await sleep(20);
          } finally {
            c.destroy();
          }
        }
      };

      const gcLoop = async () => {
        while (!stop.now) {
          try {
            const r = (await admin("gc.run", { graceMs: 0, sweep: false })) as { freedChunks: number };
            stats.gcRuns++;
            stats.freedChunks += r.freedChunks;
          } catch {
            stats.gcRefused++;
            await sleep(200);
          }
        }
      };

      const chaos = async () => {
        const start = Date.now();
        while (!stop.now) {
          await sleep(Math.min(15_000, WORKLOAD_MS / 3));
          if (stop.now || Date.now() - start > WORKLOAD_MS - 10_000) break;
          const victim = await cluster.leader();
          await cluster.kill(victim, "SIGKILL");
          await sleep(2000);
          await cluster.restart(victim);
        }
      };

      const work = [...Array.from({ length: CLIENTS }, (_, w) => worker(w)), gcLoop(), chaos()];
      await sleep(WORKLOAD_MS);
      stop.now = true;
      await Promise.all(work);
      for (const id of cluster.ids) if (!cluster.node(id).running) await cluster.restart(id);
      await cluster.waitReady();
      console.log(`workload: ${JSON.stringify(stats)}`);
      expect(stats.ok).toBeGreaterThan(20);
      expect(stats.gcRuns).toBeGreaterThan(0);

      // Final GC + sweep with no grace: the workload is over, nothing is in flight.
      const final = (await admin("gc.run", { graceMs: 0, sweep: true, sweepGraceMs: 0 })) as {
        errors: string[];
        sweep: { errors: unknown[] };
      };
      expect(final.errors).toEqual([]);
      expect(final.sweep.errors).toEqual([]);
      await cluster.converged();

      // The CLI through any node (Admin RPC on the leader), and the leader's GC figures on /metrics.
      const cli = await runEnigma(
        ["--json", "gc", "--dry-run", "--grace", "0s", "--node", `127.0.0.1:${cluster.node(2).grpcPort}`],
        {
          env: { ENIGMA_CONFIG_DIR: cluster.node(2).dir, ENIGMA_RAFT_CLUSTER_SECRET: CLUSTER_SECRET },
        },
      );
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout.toString())).toMatchObject({ dryRun: true, candidates: 0 });
      const texts = await Promise.all(
        cluster.ids.map(async (id) => (await fetch(`${cluster.node(id).opsUrl}/metrics`)).text()),
      );
      for (const m of texts) expect(m).toMatch(/^enigma_chunks_live(\{[^}]*\})? \d+/m);
      // GC ran on whichever nodes led; the counters are per process.
      expect(texts.some((m) => /^enigma_gc_runs_total(\{[^}]*\})? [1-9]/m.test(m))).toBe(true);

      // Every object as the model allows, through every node.
      for (const id of cluster.ids) {
        const c = clientFor(id);
        try {
          for (const [key, possible] of model) {
            const got = await body(c, key);
            const h = got === undefined ? ABSENT : sha(got);
            expect(possible.has(h), `${key} on node ${id}: ${h.slice(0, 12)} not in model`).toBe(true);
          }
          const listed = await c.send(new ListObjectsV2Command({ Bucket: BUCKET }));
          for (const o of listed.Contents ?? []) expect(model.has(o.Key!)).toBe(true);
        } finally {
          c.destroy();
        }
      }

      // Manifest vs backend: the same set of blobs, no garbage, invariants hold on every node.
      const blobs = new Set(blobNameTags(cluster.chunksDir));
      for (const id of cluster.ids) {
        const m = Manifest.open(join(cluster.node(id).dir, "manifest.db"), { integrityCheck: "none" });
        try {
          expect(m.checkInvariants()).toEqual([]);
          const st = m.chunkStats();
          expect(st.garbage + st.deleting).toBe(0);
          const known = new Set(m.allNameTags());
          for (const tag of known)
            expect(blobs.has(tag), `live chunk ${tag.slice(0, 12)} has no blob`).toBe(true);
          for (const tag of blobs)
            expect(known.has(tag), `blob ${tag.slice(0, 12)} unknown to node ${id}`).toBe(true);
        } finally {
          m.close();
        }
      }
    },
    WORKLOAD_MS + 300_000,
  );
});
