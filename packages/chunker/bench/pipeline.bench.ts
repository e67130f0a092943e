/**
 * Pipeline throughput benchmark: `pnpm bench:pipeline [--quick] [--mib N]`.
 *
 * Prints MB/s (10^6 bytes/s of plaintext) for each stage alone, for the raw single-core reference
 * (node:crypto SHA-256 + AES-256-GCM over the same chunk buffers), and for the whole pipeline with
 * and without worker threads, with their ratio to the reference. Numbers from one run are
 * comparable with each other; across runs they move with machine load.
 */
import { createCipheriv, createHash, randomBytes, randomFillSync } from "node:crypto";
import { pathToFileURL } from "node:url";
import { createCutter, FastCdcCutter } from "../src/cutter.js";
import { tuneHeapForStreaming } from "../src/heap-tuning.js";
import { resolveChunking } from "../src/options.js";
import { chunkNameTag, SEAL_OVERHEAD_BYTES, sealChunk } from "../src/seal-api.js";
import { defaultSealWorkers, SealWorkerPool } from "../src/seal-pool.js";
import { type PipelineOptions, sealStream } from "../src/seal-stream.js";

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The raw reference this figure is compared against (same unit), when there is one. */
  readonly reference: number | null;
  readonly ratio: number | null;
}

export interface PipelineBenchOptions {
  /** Input size; default 256 MiB (64 MiB with quick). */
  readonly totalBytes?: number;
  readonly quick?: boolean;
  readonly avgBytes?: number;
  readonly workers?: number;
  /** Interleaved rounds; each figure keeps its best (reduces noise from other load). Default 3. */
  readonly repeats?: number;
  readonly log?: (line: string) => void;
}

const MiB = 1024 * 1024;
const READ_BYTES = 1 * MiB;

function* reads(data: Buffer): Generator<Buffer> {
  for (let off = 0; off < data.length; off += READ_BYTES) yield data.subarray(off, off + READ_BYTES);
}

async function best(repeats: number, bytes: number, run: () => unknown): Promise<number> {
  let top = 0;
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    top = Math.max(top, bytes / seconds / 1e6);
  }
  return top;
}

export async function runPipelineBench(opts: PipelineBenchOptions = {}): Promise<Figure[]> {
  const total = opts.totalBytes ?? (opts.quick ? 64 : 256) * MiB;
  const avgBytes = opts.avgBytes ?? 4 * MiB;
  const workers = opts.workers ?? defaultSealWorkers();
  const repeats = opts.repeats ?? 3;
  const log = opts.log ?? (() => {});
  const data = randomFillSync(Buffer.allocUnsafe(total));
  const key = randomBytes(32);
  const nameKey = randomBytes(32);
  const chunking = { strategy: "fastcdc" as const, avgBytes };

  // Chunk boundaries once, so the per-stage figures run over the same chunk slices.
  const cutter = createCutter(chunking);
  const slices: Buffer[] = [];
  let from = 0;
  for (let at = cutter.findCut(data, 0); at >= 0; at = cutter.findCut(data, at)) {
    slices.push(data.subarray(from, at));
    from = at;
  }
  if (cutter.finish() > 0) slices.push(data.subarray(from));
  log(
    `input ${total / MiB} MiB, ${slices.length} chunks (avg ${(total / slices.length / MiB).toFixed(2)} MiB)`,
  );

  const out = Buffer.allocUnsafeSlow(4 * avgBytes + SEAL_OVERHEAD_BYTES);
  const tag = chunkNameTag(nameKey, Buffer.alloc(32));
  const base: PipelineOptions = { chunking, dataKey: { keyId: 1, key }, nameKey };
  const drain = async (o: PipelineOptions, release: boolean) => {
    for await (const c of sealStream(reads(data), o)) if (release) c.release();
  };
  const pool = workers > 0 ? new SealWorkerPool(workers) : null;
  // name → [run, compared with the raw reference?]
  const cases: [string, () => unknown, boolean][] = [
    [
      "raw sha256+aes-gcm (1 core)",
      () => {
        for (const s of slices) {
          createHash("sha256").update(s).digest();
          const c = createCipheriv("aes-256-gcm", key, randomBytes(12));
          c.update(s);
          c.final();
          c.getAuthTag();
        }
      },
      false,
    ],
    [
      "fastcdc chunking",
      () => {
        const c = createCutter(chunking);
        for (let at = c.findCut(data, 0); at >= 0; at = c.findCut(data, at));
        c.finish();
      },
      false,
    ],
    [
      "fastcdc chunking (JS loop, before WASM)",
      () => {
        const c = new FastCdcCutter(resolveChunking(chunking), "js");
        for (let at = c.findCut(data, 0); at >= 0; at = c.findCut(data, at));
        c.finish();
      },
      false,
    ],
    [
      "sha256",
      () => {
        for (const s of slices) createHash("sha256").update(s).digest();
      },
      false,
    ],
    [
      "sha3-256 (node:crypto)",
      () => {
        for (const s of slices) createHash("sha3-256").update(s).digest();
      },
      false,
    ],
    [
      "seal (sealChunk, reused out)",
      () => {
        for (const s of slices) sealChunk({ keyId: 1, key, nameTag: tag, payload: s, flags: 0 }, out);
      },
      false,
    ],
    [
      "seal (sealChunk, fresh out)",
      () => {
        for (const s of slices) sealChunk({ keyId: 1, key, nameTag: tag, payload: s, flags: 0 });
      },
      false,
    ],
    ["pipeline workers=0", () => drain({ ...base, workers: 0 }, true), true],
    ["pipeline workers=0, no release()", () => drain({ ...base, workers: 0 }, false), true],
  ];
  if (pool !== null) {
    cases.push([`pipeline workers=${workers}`, () => drain({ ...base, pool }, true), true]);
    cases.push([`pipeline workers=${workers}, no release()`, () => drain({ ...base, pool }, false), true]);
  }
  // Rounds interleave every case, so the reference and the pipeline see the same machine load;
  // each figure keeps its best round.
  const top = new Map<string, number>();
  try {
    if (pool !== null) await drain({ ...base, pool }, true); // boot workers outside the timing
    for (let round = 0; round < repeats; round++) {
      for (const [name, run] of cases) {
        const mbps = await best(1, total, run);
        top.set(name, Math.max(top.get(name) ?? 0, mbps));
      }
    }
  } finally {
    await pool?.close();
  }
  const raw = top.get(cases[0]![0])!;
  const figures: Figure[] = cases.map(([name, , compared]) => {
    const value = top.get(name)!;
    return {
      name,
      value,
      unit: "MB/s",
      reference: compared ? raw : null,
      ratio: compared ? value / raw : null,
    };
  });
  for (const f of figures) {
    const ratio = f.ratio === null ? "" : `   ratio ${f.ratio.toFixed(2)}`;
    log(`${f.name.padEnd(40)} ${f.value.toFixed(0).padStart(6)} MB/s${ratio}`);
  }
  return figures;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  tuneHeapForStreaming(); // as in the processes that run the pipeline (enigma serve, backup)
  const args = process.argv.slice(2);
  const mibAt = args.indexOf("--mib");
  const mib = mibAt >= 0 ? Number(args[mibAt + 1]) : undefined;
  await runPipelineBench({
    quick: args.includes("--quick"),
    ...(mib !== undefined ? { totalBytes: mib * MiB } : {}),
    log: (line) => console.log(line),
  });
  console.log("targets: pipeline/raw ≥ 0.5 single-threaded, ≥ 0.8 with workers");
}
