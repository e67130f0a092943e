/**
 * Listing-at-scale benchmark: `tsx packages/server/bench/list.bench.ts [--quick] [--keys N]`.
 *
 * Two gateways (S3 front end over `EngineObjectService` on a real `Engine`, each with its own
 * manifest): one bucket of 100,000 keys and one of 1,000, both spread over the same 100 prefixes
 * (1,000 vs 10 keys per prefix). Keys are written straight into the manifest with batched PutObject
 * commands (zero chunks, size 0), so filling takes seconds. Then ListObjectsV2 pages of the same
 * size are timed through the real HTTP path with the AWS SDK:
 *   - a delimiter page at the root (100 common prefixes: one seek per prefix),
 *   - a delimiter page resumed from a continuation token in the middle,
 *   - a page inside one prefix.
 * The figure is the median page time; the ratio 100k / 1k should stay ≤ 2 (seeks, not scans).
 * No assertions here: numbers move with machine load.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ListObjectsV2Command, type ListObjectsV2CommandInput, S3Client } from "@aws-sdk/client-s3";
import { createKeystore } from "@enigma/crypto";
import type { ApplyEntry, Command } from "@enigma/manifest";
import { type RunningS3Server, startS3Server } from "@enigma/s3";
import { loadConfig, toSettings } from "../src/config/index.js";
import { type Engine, openEngine } from "../src/engine/engine.js";
import { EngineObjectService } from "../src/s3/object-service.js";

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The same measurement on the small bucket (same unit), when compared. */
  readonly reference: number | null;
  readonly ratio: number | null;
}

export interface ListBenchOptions {
  /** Keys in the large bucket; default 100,000 (20,000 with quick). */
  readonly largeKeys?: number;
  /** Keys in the small bucket; default 1,000. */
  readonly smallKeys?: number;
  /** Prefixes both buckets spread their keys over; default 100. */
  readonly prefixes?: number;
  /** Timed requests per measurement (after warm-up); default 40 (15 with quick). */
  readonly repeats?: number;
  readonly quick?: boolean;
  readonly log?: (line: string) => void;
}

const PASSPHRASE = "list bench";
const EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e";
const ACCESS_KEY = "AKIALISTBENCH0000001";
const SECRET_KEY = "list-bench-secret-key-000000000000000001";
const REGION = "us-east-1";
const BUCKET = "bench";
/** Commands per applyEntries batch (one SQLite transaction each). */
const FILL_BATCH = 5_000;
const PAGE_KEYS = 100;

interface Gateway {
  readonly dir: string;
  readonly engine: Engine;
  readonly server: RunningS3Server;
  readonly client: S3Client;
  close(): Promise<void>;
}

function prefixName(i: number): string {
  return `p${String(i).padStart(3, "0")}/`;
}

async function openGateway(keys: number, prefixes: number): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), "enigma-list-bench-"));
  // No seal workers: this benchmark never writes data.
  writeFileSync(join(dir, "enigma.toml"), "[enigma]\nworkers = 0\n");
  await createKeystore(join(dir, "keystore.enigma"), PASSPHRASE, {
    argon2: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  const engine = await openEngine(toSettings(loadConfig({ configDir: dir, env: {} })), {
    passphrase: PASSPHRASE,
  });
  const nowMs = Date.now();
  const m = engine.manifest;
  let index = m.raftMeta().appliedIndex;
  const entry = (command: Command): ApplyEntry => ({ index: ++index, term: 1, command });
  const refused = (results: readonly { ok: boolean }[]) => results.some((r) => !r.ok);
  if (refused(m.applyEntries([entry({ type: "CreateBucket", bucket: BUCKET, createdAtMs: nowMs })]))) {
    throw new Error("list bench: CreateBucket refused");
  }
  const perPrefix = Math.ceil(keys / prefixes);
  for (let start = 0; start < keys; start += FILL_BATCH) {
    const batch: ApplyEntry[] = [];
    for (let i = start; i < Math.min(keys, start + FILL_BATCH); i++) {
      const key = `${prefixName(i % prefixes)}obj-${String(Math.floor(i / prefixes)).padStart(7, "0")}`;
      batch.push(
        entry({
          type: "PutObject",
          bucket: BUCKET,
          key,
          size: 0,
          etag: EMPTY_MD5,
          meta: {},
          lastModifiedMs: nowMs,
          chunks: [],
        }),
      );
    }
    if (refused(m.applyEntries(batch))) throw new Error("list bench: a PutObject was refused");
  }
  if (perPrefix < 1) throw new Error("list bench: fewer keys than prefixes");
  const server = await startS3Server({
    host: "127.0.0.1",
    port: 0,
    service: new EngineObjectService(engine),
    credentials: [{ accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY }],
    region: REGION,
  });
  const client = new S3Client({
    endpoint: server.url,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
  });
  return {
    dir,
    engine,
    server,
    client,
    async close() {
      client.destroy();
      await server.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median ms of one ListObjectsV2 request; checks the page holds `expectEntries`. */
async function timePage(
  g: Gateway,
  input: Omit<ListObjectsV2CommandInput, "Bucket">,
  expectEntries: number,
  repeats: number,
): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const page = await g.client.send(new ListObjectsV2Command({ Bucket: BUCKET, ...input }));
    const ms = performance.now() - t0;
    const n = (page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0);
    if (n !== expectEntries) throw new Error(`list bench: page has ${n} entries, expected ${expectEntries}`);
    return ms;
  };
  for (let i = 0; i < 5; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) times.push(await once());
  return median(times);
}

async function continuationToken(g: Gateway): Promise<string> {
  const first = await g.client.send(
    new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: "/", MaxKeys: PAGE_KEYS / 2 }),
  );
  if (first.NextContinuationToken === undefined) throw new Error("list bench: expected a truncated page");
  return first.NextContinuationToken;
}

export async function runListBench(opts: ListBenchOptions = {}): Promise<Figure[]> {
  const log = opts.log ?? (() => {});
  const quick = opts.quick === true;
  const largeKeys = opts.largeKeys ?? (quick ? 20_000 : 100_000);
  const smallKeys = opts.smallKeys ?? 1_000;
  const prefixes = opts.prefixes ?? 100;
  const repeats = opts.repeats ?? (quick ? 15 : 40);
  if (prefixes < PAGE_KEYS) throw new Error(`list bench: needs at least ${PAGE_KEYS} prefixes`);
  if (smallKeys / prefixes < 10) throw new Error("list bench: the small bucket needs ≥ 10 keys per prefix");

  const t0 = performance.now();
  const large = await openGateway(largeKeys, prefixes);
  const small = await openGateway(smallKeys, prefixes).catch(async (err: unknown) => {
    await large.close();
    throw err;
  });
  log(
    `filled ${largeKeys.toLocaleString("en")} + ${smallKeys.toLocaleString("en")} keys over ${prefixes} prefixes ` +
      `in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  try {
    const cases: [string, (g: Gateway) => Promise<number>][] = [
      [
        `delimiter page, ${PAGE_KEYS} prefixes`,
        (g) => timePage(g, { Delimiter: "/", MaxKeys: PAGE_KEYS }, PAGE_KEYS, repeats),
      ],
      [
        `delimiter page from a token, ${PAGE_KEYS / 2} prefixes`,
        async (g) => {
          const token = await continuationToken(g);
          return timePage(
            g,
            { Delimiter: "/", MaxKeys: PAGE_KEYS, ContinuationToken: token },
            PAGE_KEYS / 2,
            repeats,
          );
        },
      ],
      [
        "page of 10 keys inside one prefix",
        (g) => timePage(g, { Prefix: prefixName(prefixes >> 1), Delimiter: "/", MaxKeys: 10 }, 10, repeats),
      ],
    ];
    const figures: Figure[] = [];
    for (const [name, run] of cases) {
      // Interleave the two buckets so machine load affects both alike.
      const smallMs = await run(small);
      const largeMs = await run(large);
      const figure: Figure = {
        name: `ListObjectsV2 ${name} (${largeKeys.toLocaleString("en")} vs ${smallKeys.toLocaleString("en")} keys)`,
        value: largeMs,
        unit: "ms",
        reference: smallMs,
        ratio: largeMs / smallMs,
      };
      figures.push(figure);
      log(
        `${name.padEnd(44)} ${largeMs.toFixed(2).padStart(7)} ms vs ${smallMs.toFixed(2).padStart(7)} ms   ratio ${figure.ratio!.toFixed(2)}`,
      );
    }
    return figures;
  } finally {
    await large.close();
    await small.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const keysAt = args.indexOf("--keys");
  await runListBench({
    quick: args.includes("--quick"),
    ...(keysAt >= 0 ? { largeKeys: Number(args[keysAt + 1]) } : {}),
    log: (line) => console.log(line),
  });
  console.log("target: page time ratio (100k / 1k keys) ≤ 2");
}
