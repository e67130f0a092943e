import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { BufferPool } from "./buffer-pool.js";
import { ChunkerError } from "./errors.js";
import type { DoneMessage, FromWorker, JobMessage } from "./worker-protocol.js";

/** Upper bound on pool size: sealing is CPU-bound, more threads than cores only add switching. */
export const SEAL_POOL_MAX_WORKERS = 64;

/** Default worker count: min(2, cores) — the main thread chunks, workers hash and seal. */
export function defaultSealWorkers(): number {
  return Math.min(2, availableParallelism());
}

export type JobInput = Omit<JobMessage, "kind" | "id">;
/** Called with the plaintext SHA-256 when a job was submitted with `ask`; true = seal it. */
export type Decide = (hash: Buffer) => boolean | Promise<boolean>;

interface Pending {
  readonly resolve: (done: DoneMessage) => void;
  /** Rejects with a ChunkerError, or with whatever `decide` threw (passed through unchanged). */
  readonly reject: (err: unknown) => void;
  readonly decide: Decide | undefined;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  failed: ChunkerError | null;
}

/**
 * Starts a seal worker. From compiled JavaScript the entry is seal-worker.js. From TypeScript
 * sources (tsx, vitest) we cannot rely on `execArgv: ["--import", "tsx"]`: on Node 20 module hooks
 * registered by --import do not apply inside worker threads (measured: "Unknown file extension
 * .ts"), and a bare "tsx" resolves from the process cwd. So a small eval'd bootstrap registers tsx's
 * ESM hooks inside the worker (tsx resolved from this package), then imports the .ts entry.
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./seal-worker.js", import.meta.url));
  const entry = new URL("./seal-worker.ts", import.meta.url).href;
  const tsxApi = createRequire(import.meta.url)
    .resolve("tsx/esm/api")
    .replace(/\.cjs$/, ".mjs");
  const tsxApiUrl = pathToFileURL(tsxApi).href;
  const bootstrap = `import(${JSON.stringify(tsxApiUrl)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/**
 * A fixed pool of seal workers, shareable by many concurrent streams (start it once per process:
 * a worker under tsx takes a noticeable time to boot). Jobs go to the worker with the fewest
 * outstanding jobs. Workers are unref'd while idle, so an open pool does not keep a process alive.
 */
export class SealWorkerPool {
  readonly size: number;
  /**
   * Plaintext and sealed-output buffers shared by every stream using this pool, so a long-lived
   * process (the gateway) reuses the same few max-size buffers across requests instead of
   * allocating them per stream: per-stream pools allocated a 16 MiB plaintext buffer even for a
   * 4 KiB PUT (external-memory pressure → GCs) and, when freed, left glibc arenas holding the
   * memory. Bounded: at most `2 × size + 4` buffers of each kind stay pooled.
   */
  readonly plainBuffers: BufferPool;
  readonly sealedBuffers: BufferPool;
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(size: number = defaultSealWorkers()) {
    if (!Number.isSafeInteger(size) || size < 1 || size > SEAL_POOL_MAX_WORKERS) {
      throw new ChunkerError(
        "InvalidOptions",
        `seal pool: size must be 1..${SEAL_POOL_MAX_WORKERS}, got ${size}`,
      );
    }
    this.size = size;
    this.plainBuffers = new BufferPool(2 * size + 4);
    this.sealedBuffers = new BufferPool(2 * size + 4);
    for (let i = 0; i < size; i++) {
      const worker = startWorker();
      const slot: Slot = { worker, pending: new Map(), failed: null };
      worker.unref();
      worker.on("message", (msg: FromWorker) => this.onMessage(slot, msg));
      worker.on("error", (err) => this.fail(slot, ChunkerError.from(err)));
      worker.on("exit", (code) => {
        if (!this.closed)
          this.fail(slot, new ChunkerError("WorkerFailed", `seal worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  /** Runs one job; `decide` is required when `job.ask` is set. Rejects with a ChunkerError or `decide`'s error. */
  run(job: JobInput, decide?: Decide): Promise<DoneMessage> {
    if (this.closed) return Promise.reject(new ChunkerError("WorkerFailed", "seal pool is closed"));
    let slot: Slot | undefined;
    for (const s of this.slots) {
      if (s.failed === null && (slot === undefined || s.pending.size < slot.pending.size)) slot = s;
    }
    if (slot === undefined) return Promise.reject(this.slots[0]?.failed);
    const chosen = slot;
    const id = this.nextId++;
    const msg: JobMessage = { kind: "job", id, ...job };
    const transfer = msg.out !== null ? [msg.plain, msg.out] : [msg.plain];
    return new Promise<DoneMessage>((resolve, reject) => {
      if (chosen.pending.size === 0) chosen.worker.ref();
      chosen.pending.set(id, { resolve, reject, decide });
      chosen.worker.postMessage(msg, transfer);
    });
  }

  /** Terminates the workers; outstanding jobs reject with WorkerFailed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) this.fail(slot, new ChunkerError("WorkerFailed", "seal pool closed"));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private settle(slot: Slot, id: number): Pending | undefined {
    const p = slot.pending.get(id);
    slot.pending.delete(id);
    if (slot.pending.size === 0) slot.worker.unref();
    return p;
  }

  private onMessage(slot: Slot, msg: FromWorker): void {
    if (msg.kind === "digested") {
      const p = slot.pending.get(msg.id);
      if (p === undefined) return;
      const hash = Buffer.from(msg.hash.buffer, msg.hash.byteOffset, msg.hash.byteLength);
      Promise.resolve()
        .then(() => {
          if (p.decide === undefined) throw new Error("seal pool invariant: job asked without a decider");
          return p.decide(hash);
        })
        .then(
          (seal) => slot.worker.postMessage({ kind: "decide", id: msg.id, seal }),
          (err: unknown) => {
            // The worker still holds the job; tell it to skip, and fail the job with the cause.
            slot.worker.postMessage({ kind: "decide", id: msg.id, seal: false });
            this.settle(slot, msg.id)?.reject(err);
          },
        );
    } else if (msg.kind === "done") {
      this.settle(slot, msg.id)?.resolve(msg);
    } else {
      this.settle(slot, msg.id)?.reject(new ChunkerError("WorkerFailed", `seal worker: ${msg.message}`));
    }
  }

  private fail(slot: Slot, err: ChunkerError): void {
    slot.failed ??= err;
    for (const id of [...slot.pending.keys()]) this.settle(slot, id)?.reject(err);
  }
}
