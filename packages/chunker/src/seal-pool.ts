import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { BufferPool } from "./buffer-pool.js";
import { ChunkerError } from "./errors.js";
import { openSealedInto, sealedBlobBound } from "./open-into.js";
import { CHUNK_MAX_LIMIT_BYTES } from "./options.js";
import { parseSealedHeader } from "./seal-api.js";
import {
  type DecideMessage,
  type DoneMessage,
  detachedCopy,
  type FromWorker,
  type JobMessage,
  type Md5FedMessage,
  type Md5Message,
  type OpenedMessage,
  type OpenMessage,
} from "./worker-protocol.js";

/** Upper bound on pool size: sealing is CPU-bound, more threads than cores only add switching. */
export const SEAL_POOL_MAX_WORKERS = 64;

/** Default worker count: min(2, cores) — the main thread chunks, workers hash and seal. */
export function defaultSealWorkers(): number {
  return Math.min(2, availableParallelism());
}

export type JobInput = Omit<JobMessage, "kind" | "id">;
/** Called with the plaintext SHA-256 when a job was submitted with `ask`; true = seal it. */
export type Decide = (hash: Buffer) => boolean | Promise<boolean>;

type Reply = DoneMessage | Md5Message | Md5FedMessage | OpenedMessage;

interface Pending {
  readonly resolve: (done: Reply) => void;
  /** Rejects with a ChunkerError, or with whatever `decide` threw (passed through unchanged). */
  readonly reject: (err: unknown) => void;
  readonly decide: Decide | undefined;
}

interface Slot {
  /** "seal" workers take seal and open jobs (and MD5 lanes when hash workers are taken); "hash" only lanes. */
  readonly role: "seal" | "hash";
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
  /** MD5 lanes open on this worker (streams pinned to it). */
  lanes: number;
  failed: ChunkerError | null;
}

/**
 * A stream's whole-body MD5, a running hash on one worker: the stream feeds it every chunk in
 * order (`feedMd5`, reading the shared plaintext buffer while another worker may be sealing it)
 * and `endMd5` returns the digest.
 */
export interface Md5Lane {
  readonly id: number;
  /** What the worker holding it is: a hash worker, or a seal worker sharing its thread with the lane. */
  readonly role: "seal" | "hash";
}

/**
 * Replacement workers a pool starts at most per `WORKER_RESTART_WINDOW_MS` after workers died (an
 * uncaught exception, running out of memory, an external terminate). Beyond that the pool stops
 * replacing them until the window has passed, then starts the missing seal workers again: a worker
 * that dies on every start is a bug to report, not a loop to spin in, but a node must not stay
 * unable to seal for good. Jobs meanwhile fail with WorkerFailed, naming the cause.
 */
export const WORKER_RESTARTS_PER_WINDOW = 5;
export const WORKER_RESTART_WINDOW_MS = 60_000;

/** A worker that stopped while the pool was open (`SealWorkerPoolOptions.onWorkerExit`). */
export interface WorkerExit {
  readonly role: "seal" | "hash";
  readonly exitCode: number;
  /** Why its jobs failed (the worker's error, or its exit). */
  readonly error: ChunkerError;
  /**
   * A seal worker's replacement started (within the restart budget). A hash worker is replaced
   * when the next MD5 lane opens, from the same budget; until then lanes share the seal workers.
   */
  readonly replaced: boolean;
}

/**
 * Starts a seal worker. From compiled JavaScript the entry is seal-worker.js. From TypeScript
 * sources (tsx, vitest) we cannot rely on `execArgv: ["--import", "tsx"]`: on Node 20 module hooks
 * registered by --import do not apply inside worker threads (measured: "Unknown file extension
 * .ts"), and a bare "tsx" resolves from the process cwd. So a small eval'd bootstrap registers tsx's
 * ESM hooks inside the worker (tsx resolved from this package), then imports the .ts entry.
 */
function startWorker(role: Slot["role"]): Worker {
  const name = role === "seal" ? "seal-worker" : "hash-worker";
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, import.meta.url));
  const entry = new URL(`./${name}.ts`, import.meta.url).href;
  const tsxApi = createRequire(import.meta.url)
    .resolve("tsx/esm/api")
    .replace(/\.cjs$/, ".mjs");
  const tsxApiUrl = pathToFileURL(tsxApi).href;
  const bootstrap = `import(${JSON.stringify(tsxApiUrl)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true });
}

/** Hash workers (MD5 lanes only) a pool starts, on its first lane, unless told otherwise. */
export const DEFAULT_HASH_WORKERS = 1;
/** Upper bound on hash workers: each serves one stream's lane at full speed. */
export const SEAL_POOL_MAX_HASH_WORKERS = 16;

export interface SealWorkerPoolOptions {
  /**
   * Threads that only run MD5 lanes (0..16, default 1), started when the first lane opens. A lane
   * goes to a hash worker without one; when each has a lane, to whichever worker (seal or hash)
   * holds the fewest. With 0, lanes share the seal workers.
   */
  readonly hashWorkers?: number;
  /** Told when a worker stops while the pool is open (for logs and metrics). */
  readonly onWorkerExit?: (exit: WorkerExit) => void;
  /** The restart budget's window (default `WORKER_RESTART_WINDOW_MS`; tests shorten it). */
  readonly restartWindowMs?: number;
  /**
   * Allocates the pool's chunk buffers (default `new SharedArrayBuffer`). A sealed chunk starts at
   * offset 0 of its buffer, so an allocator of page-aligned memory (the storage package's
   * `allocAligned`) lets the local backend write it with O_DIRECT without copying it.
   */
  readonly allocate?: (bytes: number) => SharedArrayBuffer;
}

/**
 * A fixed pool of seal workers, shareable by many concurrent streams (start it once per process:
 * a worker under tsx takes a noticeable time to boot). Jobs go to the seal worker with the fewest
 * outstanding jobs; MD5 lanes go to hash workers first (see `openMd5`). Workers are unref'd while
 * idle, so an open pool does not keep a process alive.
 */
export class SealWorkerPool {
  /** Seal workers. */
  readonly size: number;
  readonly hashWorkers: number;
  /**
   * Chunk buffers (SharedArrayBuffers) shared by every stream using this pool, so a long-lived
   * process (the gateway) reuses the same few max-size buffers across requests instead of
   * allocating them per stream: per-stream pools allocated a 16 MiB buffer even for a 4 KiB PUT
   * (external-memory pressure → GCs) and, when freed, left glibc arenas holding the memory. A
   * chunk's plaintext is read by its seal job and its MD5 lane at once, then sealed over in place,
   * so one buffer carries a chunk from the cut to the end of its upload. Bounded: at most
   * `2 × size + 10` stay pooled — enough for one PUT's steady state (size + 4 in flight, one being
   * cut, up to 4 uploading) plus a GET's leases. With fewer, buffers beyond the bound were dropped
   * and allocated afresh on every chunk, and the gateway's heap grew 87 → 135 MiB over three 1 GiB
   * PUTs instead of staying flat.
   */
  readonly plainBuffers: BufferPool<SharedArrayBuffer>;
  /** Allocates a chunk buffer when `plainBuffers` has none big enough (SealWorkerPoolOptions). */
  readonly allocate: (bytes: number) => SharedArrayBuffer;
  /** Live workers (a dead one leaves at its exit; lanes it held keep failing through `laneSlots`). */
  private readonly slots: Slot[] = [];
  private readonly laneSlots = new WeakMap<Md5Lane, Slot>();
  private readonly onWorkerExit: ((exit: WorkerExit) => void) | undefined;
  /** Start times of replacement workers within the restart window. */
  private restarts: number[] = [];
  /** Hash workers started so far: the first `hashWorkers` are not restarts. */
  private hashStarted = 0;
  /** Why the last worker died: what jobs fail with when no live worker is left. */
  private lastFailure: ChunkerError | null = null;
  private readonly restartWindowMs: number;
  /** Set while the budget is spent and seal workers are missing: starts them when the window ends. */
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 1;
  private closed = false;

  constructor(size: number = defaultSealWorkers(), opts: SealWorkerPoolOptions = {}) {
    if (!Number.isSafeInteger(size) || size < 1 || size > SEAL_POOL_MAX_WORKERS) {
      throw new ChunkerError(
        "InvalidOptions",
        `seal pool: size must be 1..${SEAL_POOL_MAX_WORKERS}, got ${size}`,
      );
    }
    const hashWorkers = opts.hashWorkers ?? DEFAULT_HASH_WORKERS;
    if (!Number.isSafeInteger(hashWorkers) || hashWorkers < 0 || hashWorkers > SEAL_POOL_MAX_HASH_WORKERS) {
      throw new ChunkerError(
        "InvalidOptions",
        `seal pool: hashWorkers must be 0..${SEAL_POOL_MAX_HASH_WORKERS}, got ${hashWorkers}`,
      );
    }
    this.size = size;
    this.hashWorkers = hashWorkers;
    this.onWorkerExit = opts.onWorkerExit;
    this.restartWindowMs = opts.restartWindowMs ?? WORKER_RESTART_WINDOW_MS;
    this.plainBuffers = new BufferPool<SharedArrayBuffer>(2 * size + 10);
    this.allocate = opts.allocate ?? ((bytes) => new SharedArrayBuffer(bytes));
    for (let i = 0; i < size; i++) this.addSlot("seal");
  }

  private addSlot(role: Slot["role"]): Slot {
    const worker = startWorker(role);
    const slot: Slot = { role, worker, pending: new Map(), lanes: 0, failed: null };
    worker.unref();
    worker.on("message", (msg: FromWorker) => this.onMessage(slot, msg));
    worker.on("error", (err) => this.fail(slot, ChunkerError.from(err)));
    worker.on("exit", (code) => {
      if (this.closed) return;
      this.fail(slot, new ChunkerError("WorkerFailed", `${role} worker exited with code ${code}`));
      this.retire(slot, code);
    });
    this.slots.push(slot);
    return slot;
  }

  /**
   * A worker died while the pool was open: its jobs have failed (WorkerFailed); it leaves the pool
   * and a seal worker is replaced at once (a hash worker when the next lane opens), within the
   * restart budget. Callers see one failed request, not a node that can no longer seal.
   */
  private retire(slot: Slot, exitCode: number): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    const error =
      slot.failed ?? new ChunkerError("WorkerFailed", `${slot.role} worker exited with code ${exitCode}`);
    this.lastFailure = error;
    let replaced = false;
    if (slot.role === "seal") replaced = this.restoreSealWorkers() > 0;
    this.onWorkerExit?.({ role: slot.role, exitCode, error, replaced });
  }

  /**
   * Starts the missing seal workers the budget allows; when it runs out with workers still
   * missing, tries again once the oldest restart leaves the window. Returns how many started.
   */
  private restoreSealWorkers(): number {
    let started = 0;
    while (this.liveWorkers.seal < this.size && this.mayRestart()) {
      this.addSlot("seal");
      started++;
    }
    if (this.liveWorkers.seal < this.size && this.restartTimer === undefined && !this.closed) {
      const waitMs = Math.max(1, (this.restarts[0] ?? Date.now()) + this.restartWindowMs - Date.now());
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (!this.closed) this.restoreSealWorkers();
      }, waitMs);
      this.restartTimer.unref();
    }
    return started;
  }

  /** Takes one restart from the budget if there is one left in the window. */
  private mayRestart(): boolean {
    const now = Date.now();
    this.restarts = this.restarts.filter((t) => now - t < this.restartWindowMs);
    if (this.restarts.length >= WORKER_RESTARTS_PER_WINDOW) return false;
    this.restarts.push(now);
    return true;
  }

  /** What a job fails with when no live worker can take it. */
  private noWorker(): ChunkerError {
    const cause = this.lastFailure ?? this.slots.find((s) => s.failed !== null)?.failed ?? null;
    if (cause === null) return new ChunkerError("WorkerFailed", "no seal worker");
    const why =
      this.restartTimer !== undefined
        ? `${WORKER_RESTARTS_PER_WINDOW} restarts within ${this.restartWindowMs / 1000} s; the next when that window ends`
        : "its replacement is starting";
    return new ChunkerError("WorkerFailed", `no live seal worker (${why}); last failure: ${cause.message}`);
  }

  /**
   * Runs one job on the seal worker with the fewest outstanding jobs; `decide` is required when
   * `job.ask` is set. The job seals in place (see JobMessage): the caller must not reuse
   * `job.plain` before the job settled, nor, once it resolved sealed, before it is done with the
   * sealed bytes; after a WorkerFailed rejection never. Rejects with a ChunkerError or `decide`'s
   * error.
   */
  run(job: JobInput, decide?: Decide): Promise<DoneMessage> {
    if (this.closed) return Promise.reject(new ChunkerError("WorkerFailed", "seal pool is closed"));
    const slot = this.pick();
    if (slot === undefined) return Promise.reject(this.noWorker());
    // Exact-size copies, wiped once posted: a key that is a view of a pooled 8 KiB slab would clone
    // the whole slab (other keys, request bytes) into the worker.
    const keys = {
      keyId: job.keys.keyId,
      key: detachedCopy(job.keys.key),
      nameKey: detachedCopy(job.keys.nameKey),
    };
    const msg: JobMessage = { kind: "job", id: this.nextId++, ...job, keys };
    try {
      return this.post(slot, msg, decide) as Promise<DoneMessage>;
    } finally {
      keys.key.fill(0);
      keys.nameKey.fill(0);
    }
  }

  /**
   * Opens an MD5 lane. It goes to a hash worker that holds none (starting one, up to
   * `hashWorkers`); when every hash worker has one, to the live worker (seal or hash) with the
   * fewest lanes, then the fewest outstanding jobs. Feed it with `feedMd5`, end it with `endMd5`
   * (also on failure, to free it).
   */
  openMd5(): Md5Lane {
    if (this.closed) throw new ChunkerError("WorkerFailed", "seal pool is closed");
    const live = this.slots.filter((s) => s.failed === null);
    let slot = live.find((s) => s.role === "hash" && s.lanes === 0);
    const hashSlots = this.slots.filter((s) => s.role === "hash").length;
    // A hash worker that died is replaced here, on demand, from the same budget as seal workers.
    if (
      slot === undefined &&
      hashSlots < this.hashWorkers &&
      (this.hashStarted < this.hashWorkers || this.mayRestart())
    ) {
      this.hashStarted++;
      slot = this.addSlot("hash");
    }
    if (slot === undefined) {
      for (const s of live) {
        if (
          slot === undefined ||
          s.lanes < slot.lanes ||
          (s.lanes === slot.lanes && s.pending.size < slot.pending.size)
        )
          slot = s;
      }
    }
    if (slot === undefined) throw this.noWorker();
    const lane: Md5Lane = { id: this.nextId++, role: slot.role };
    this.laneSlots.set(lane, slot);
    slot.lanes++;
    slot.worker.postMessage({ kind: "md5-open", lane: lane.id });
    return lane;
  }

  /** Hashes `plain[offset, offset + length)` into the lane, after everything fed before; resolves once read. */
  feedMd5(lane: Md5Lane, plain: SharedArrayBuffer, offset: number, length: number): Promise<void> {
    const slot = this.laneSlot(lane);
    if (this.closed) return Promise.reject(new ChunkerError("WorkerFailed", "seal pool is closed"));
    if (slot.failed) return Promise.reject(slot.failed);
    const msg = { kind: "md5-feed" as const, id: this.nextId++, lane: lane.id, plain, offset, length };
    return this.post(slot, msg).then(() => {});
  }

  /**
   * Ends a lane. With `digest` (after the stream's last job was submitted) resolves with the MD5 of
   * every byte the lane's jobs carried, in submission order; without, discards it.
   */
  endMd5(lane: Md5Lane, digest: true): Promise<Buffer>;
  endMd5(lane: Md5Lane, digest: false): void;
  endMd5(lane: Md5Lane, digest: boolean): Promise<Buffer> | undefined {
    const slot = this.laneSlot(lane);
    slot.lanes = Math.max(0, slot.lanes - 1);
    if (!digest) {
      if (!this.closed && slot.failed === null)
        slot.worker.postMessage({ kind: "md5-end", id: 0, lane: lane.id, reply: false });
      return undefined;
    }
    if (this.closed) return Promise.reject(new ChunkerError("WorkerFailed", "seal pool is closed"));
    if (slot.failed) return Promise.reject(slot.failed);
    const msg = { kind: "md5-end" as const, id: this.nextId++, lane: lane.id, reply: true };
    return (this.post(slot, msg) as Promise<Md5Message>).then((m) =>
      Buffer.from(m.digest.buffer, m.digest.byteOffset, m.digest.byteLength),
    );
  }

  private laneSlot(lane: Md5Lane): Slot {
    const slot = this.laneSlots.get(lane);
    if (slot === undefined)
      throw new ChunkerError("InvalidOptions", `seal pool: MD5 lane ${lane.id} is not this pool's`);
    return slot;
  }

  /** Live workers by role (a dead one is gone once it has exited; its replacement counts). */
  get liveWorkers(): { readonly seal: number; readonly hash: number } {
    let seal = 0;
    let hash = 0;
    for (const s of this.slots) if (s.failed === null) s.role === "seal" ? seal++ : hash++;
    return { seal, hash };
  }

  /** Jobs posted and not yet settled, over all workers (open jobs included). */
  get outstanding(): number {
    let n = 0;
    for (const s of this.slots) n += s.pending.size;
    return n;
  }

  /**
   * `openSealedInto(blob, keyFor, expectedHash, nameKey, { inPlace: true, maxBytes })` on a
   * worker: same checks in the same order, same ChunkerError codes and messages, and the
   * plaintext is returned only after the GCM tag and the SHA-256 both checked. `blob` must lie in
   * a SharedArrayBuffer; it is decrypted over itself, so an uncompressed chunk's plaintext is a
   * view of it (a compressed one comes back in a fresh buffer).
   *
   * The header is parsed and its key id resolved here, on the calling thread (only that one
   * key's bytes go to the worker, never the keyring); an oversized blob, a malformed header or an
   * unknown key id fail here, before any job is posted, with openSealedInto's own errors.
   *
   * The caller must not touch `blob` until the promise settles. After a rejection with code
   * WorkerFailed (pool closed, worker died) it must never reuse `blob`'s memory: the worker may
   * still be writing it.
   */
  openSealed(
    blob: Buffer,
    keyFor: (keyId: number) => Uint8Array | undefined,
    expectedHash: Uint8Array,
    nameKey: Uint8Array,
    opts: { readonly maxBytes?: number } = {},
  ): Promise<Buffer> {
    const maxBytes = opts.maxBytes ?? CHUNK_MAX_LIMIT_BYTES;
    const shared = blob.buffer;
    if (!(shared instanceof SharedArrayBuffer)) {
      return Promise.reject(
        new ChunkerError("InvalidOptions", "seal pool: open needs a blob in a SharedArrayBuffer"),
      );
    }
    let keyId: number | undefined;
    let key: Uint8Array | undefined;
    if (blob.length <= sealedBlobBound(maxBytes)) {
      try {
        keyId = parseSealedHeader(blob).keyId;
        key = keyFor(keyId);
      } catch {
        key = undefined;
      }
    }
    if (keyId === undefined || key === undefined) {
      // Fails on this thread exactly as openSealedInto does (or, should it pass, opens here).
      try {
        return Promise.resolve(
          openSealedInto(blob, keyFor, expectedHash, nameKey, { maxBytes, inPlace: true }),
        );
      } catch (err) {
        return Promise.reject(err);
      }
    }
    if (this.closed) return Promise.reject(new ChunkerError("WorkerFailed", "seal pool is closed"));
    const slot = this.pick();
    if (slot === undefined) return Promise.reject(this.noWorker());
    const msg: OpenMessage = {
      kind: "open",
      id: this.nextId++,
      blob: shared,
      blobOffset: blob.byteOffset,
      blobLength: blob.length,
      keyId,
      // Copies: a view's whole backing store would be cloned (a pooled slab, other keys).
      key: detachedCopy(key),
      nameKey: detachedCopy(nameKey),
      expectedHash: detachedCopy(expectedHash),
      maxBytes,
    };
    return (this.post(slot, msg) as Promise<OpenedMessage>).then((r) =>
      r.plain === null ? Buffer.from(shared, r.offset, r.length) : Buffer.from(r.plain, r.offset, r.length),
    );
  }

  /** The live seal worker with the fewest outstanding jobs. */
  private pick(): Slot | undefined {
    let slot: Slot | undefined;
    for (const s of this.slots) {
      if (
        s.role === "seal" &&
        s.failed === null &&
        (slot === undefined || s.pending.size < slot.pending.size)
      )
        slot = s;
    }
    return slot;
  }

  private post(slot: Slot, msg: { readonly id: number }, decide?: Decide): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(msg.id, { resolve, reject, decide });
      slot.worker.postMessage(msg);
    });
  }

  /** Terminates the workers; outstanding jobs reject with WorkerFailed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
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
          (seal) => {
            const decision: DecideMessage = { kind: "decide", id: msg.id, seal };
            slot.worker.postMessage(decision);
          },
          (err: unknown) => {
            // The worker still holds the job; tell it to skip, and fail the job with the cause.
            const skip: DecideMessage = { kind: "decide", id: msg.id, seal: false };
            slot.worker.postMessage(skip);
            this.settle(slot, msg.id)?.reject(err);
          },
        );
    } else if (msg.kind === "done" || msg.kind === "md5" || msg.kind === "md5-fed" || msg.kind === "opened") {
      this.settle(slot, msg.id)?.resolve(msg);
    } else if (msg.code !== undefined) {
      // An open job's verdict on the chunk (Corrupt, Mismatch, ...): same code, same message.
      this.settle(slot, msg.id)?.reject(new ChunkerError(msg.code, msg.message));
    } else {
      this.settle(slot, msg.id)?.reject(
        new ChunkerError("WorkerFailed", `${slot.role} worker: ${msg.message}`),
      );
    }
  }

  private fail(slot: Slot, err: ChunkerError): void {
    slot.failed ??= err;
    for (const id of [...slot.pending.keys()]) this.settle(slot, id)?.reject(err);
  }
}
