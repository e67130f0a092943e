/**
 * Chunk list → plaintext stream: fetch (any replica, falling back on error or a blob that fails
 * verification) → open (name tag, AES-GCM) → decompress → verify SHA-256. A bad chunk is an error
 * naming it, never wrong bytes. Fetches run ahead by a bounded prefetch window.
 *
 * Memory: a backend that can read into a caller's buffer (`getInto`, the local backend) reads the
 * sealed blob into a buffer from here, and the blob is decrypted over itself, so an uncompressed
 * chunk costs one buffer from disk to client. `read` hands each buffer to its consumer for good;
 * `readLeased` lends them and takes them back on `release()`, so a long read recycles a few
 * buffers instead of allocating one per chunk (fresh multi-MiB buffers page-fault and, counted as
 * external memory, drive the isolate's mark-compacts).
 *
 * With a seal worker pool, `readLeased` reads blobs into SharedArrayBuffers and opens them on the
 * workers (decrypt in place + SHA-256, the same checks as on this thread; the plaintext comes
 * back only once both verified), so the main thread only reads files and writes sockets. A chunk
 * is opened on this thread instead when it is small (a worker round trip costs more) or when
 * every worker is already busy (this thread then takes a share of the work instead of waiting).
 */
import { ChunkerError, openSealedInto, type SealWorkerPool, sealedBlobBound } from "@enigma/chunker";
import type { ChunkRef } from "@enigma/manifest";
import { allocAligned, DIRECT_IO_MIN_BYTES, type Distributor } from "@enigma/storage";
import type { Keyring } from "./keys.js";

/** What reading needs from a chunk reference. */
export type ReadableChunk = Pick<ChunkRef, "hash" | "size" | "nameTag" | "locations">;

export const DEFAULT_PREFETCH_CHUNKS = 2;

/**
 * `readLeased` with workers: chunks fetched and opening while one is written out. Three, with
 * WORKER_QUEUE_DEPTH 2, gives one worker about two chunks in three and this thread the third:
 * this thread also writes the socket (~0.5 s per GiB) and an open costs ~2 s per GiB (AES-GCM +
 * SHA-256), so that split roughly balances the two (measured per thread, 1 GiB GET, 1 worker,
 * load 5: main 1.0–1.16 s / worker 1.16–1.34 s, against 2.0–2.2 s on the main thread alone).
 */
export const WORKER_PREFETCH_CHUNKS = 3;

/** Opens queued per worker before further chunks open on this thread instead of waiting. */
export const WORKER_QUEUE_DEPTH = 2;

/**
 * Sealed blobs smaller than this are opened on the calling thread even with a worker pool: a
 * worker round trip takes as long as opening them here (measured: 1 KiB 0.15 vs 0.11 ms, 16 KiB
 * 0.40 vs 0.18 ms, 64 KiB 0.32 vs 0.33 ms, 256 KiB 0.80 vs 0.95 ms per chunk).
 */
export const WORKER_OPEN_MIN_BYTES = 64 * 1024;

/** Pooled buffers are allocated in whole MiB (small ones in powers of two) so later chunks fit. */
const MiB = 1 << 20;
function roundedSize(bytes: number): number {
  if (bytes >= MiB) return Math.ceil(bytes / MiB) * MiB;
  return Math.max(4096, 2 ** Math.ceil(Math.log2(Math.max(1, bytes))));
}

/** Where idle shared buffers can be kept: the seal pool's plaintext buffers (a chunker BufferPool). */
export interface IdleSharedBuffers {
  take(minBytes: number): SharedArrayBuffer | null;
  give(buf: SharedArrayBuffer): void;
}

/**
 * Buffers for reading chunks. `take` hands out a buffer no one else holds; `give` returns one
 * `take` handed out (anything else is ignored), keeping at most `maxIdle` idle ones (a full pool
 * keeps the larger). Whoever calls `give` promises nothing reads or writes the buffer any more.
 */
export class ChunkBufferPool {
  readonly #idle: (ArrayBuffer | SharedArrayBuffer)[] = [];
  /** Idle shared buffers live here instead of `#idle` when given (the seal pool's plaintext buffers). */
  readonly #backing: IdleSharedBuffers | undefined;
  /** Every buffer this pool allocated and has not taken back (so `give` is safe to repeat). */
  readonly #lent = new WeakSet<ArrayBuffer | SharedArrayBuffer>();
  readonly #maxIdle: number;
  readonly #pooling: boolean;
  /** Buffers allocated (not reused) by `take`; for tests and metrics. */
  allocated = 0;
  /** Whether `take` hands out SharedArrayBuffer-backed buffers (a worker can open them in place). */
  readonly shared: boolean;

  /**
   * `maxIdle` 0: every `take` allocates and `give` only forgets (buffers handed off for good).
   * `shared`: allocate SharedArrayBuffers instead of ArrayBuffers.
   */
  constructor(
    maxIdle: number,
    opts: { readonly shared?: boolean; readonly backing?: IdleSharedBuffers } = {},
  ) {
    this.#maxIdle = maxIdle;
    this.#pooling = maxIdle > 0;
    this.shared = opts.shared ?? false;
    this.#backing = this.shared && this.#pooling ? opts.backing : undefined;
  }

  get idle(): number {
    return this.#idle.length;
  }

  take(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.#idle.length; i++) {
      const len = this.#idle[i]!.byteLength;
      if (len >= bytes && (best < 0 || len < this.#idle[best]!.byteLength)) best = i;
    }
    let ab: ArrayBuffer | SharedArrayBuffer | null = null;
    if (best >= 0) {
      ab = this.#idle[best]!;
      this.#idle.splice(best, 1);
    } else if (this.#backing !== undefined) {
      ab = this.#backing.take(bytes);
    }
    if (ab === null) {
      const size = this.#pooling ? roundedSize(bytes) : bytes;
      // Pooled chunk-sized buffers are page aligned: the local backend reads into them with
      // O_DIRECT. One-off buffers are not (each aligned one reserves address space until the GC
      // finds it); reads into them go through the backend's staging buffers.
      if (this.#pooling && size >= DIRECT_IO_MIN_BYTES)
        ab = this.shared ? allocAligned(size, { shared: true }) : allocAligned(size);
      else
        ab = this.shared ? new SharedArrayBuffer(size) : (Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer);
      this.allocated++;
    }
    this.#lent.add(ab);
    return Buffer.from(ab, 0, ab.byteLength);
  }

  /** Whether `buf` lies in a buffer this pool has lent out (so its holder may overwrite it). */
  lent(buf: Uint8Array): boolean {
    return this.#lent.has(buf.buffer);
  }

  /**
   * Takes a lent buffer back without ever handing it out again (someone else may still write it,
   * e.g. a worker that failed mid-job); later `give`s of it are ignored.
   */
  forget(buf: Uint8Array): void {
    this.#lent.delete(buf.buffer);
  }

  give(buf: Uint8Array): void {
    const ab = buf.buffer;
    if (!this.#lent.has(ab)) return;
    this.#lent.delete(ab);
    if (!this.#pooling) return;
    if (this.#backing !== undefined && ab instanceof SharedArrayBuffer) {
      this.#backing.give(ab);
      return;
    }
    if (this.#idle.length < this.#maxIdle) {
      this.#idle.push(ab);
      return;
    }
    let smallest = 0;
    for (let i = 1; i < this.#idle.length; i++) {
      if (this.#idle[i]!.byteLength < this.#idle[smallest]!.byteLength) smallest = i;
    }
    if (this.#idle[smallest]!.byteLength < ab.byteLength) this.#idle[smallest] = ab;
  }
}

/** A chunk's plaintext in a lent buffer: call `release()` once nothing reads `data` any more. */
export interface LeasedChunk {
  readonly data: Buffer;
  release(): void;
}

export interface ReadOptions {
  /** Inclusive start, exclusive end, in bytes of the concatenation of the chunks. */
  readonly range?: { readonly start: number; readonly end: number };
  readonly prefetch?: number;
}

export interface ChunkReaderOptions {
  /** Seal workers to open chunks on (`readLeased` only); without, everything opens on this thread. */
  readonly workers?: SealWorkerPool;
  /**
   * Chunks fetched ahead per read unless the read says otherwise (`[enigma] download_concurrency`).
   * Default: WORKER_PREFETCH_CHUNKS with workers, DEFAULT_PREFETCH_CHUNKS without.
   */
  readonly prefetch?: number;
}

/**
 * Idle buffers kept for `readLeased`, shared by every read of one reader (one per process); with
 * seal workers they are kept in the seal pool's plaintext buffers (bounded there), shared with
 * PUTs. A pool per request allocated up to prefetch + 2 fresh chunk-sized buffers for each GET,
 * which the GC freed only at its next full collection: resident memory grew ~40 MiB per large GET
 * (273 MiB after two 512 MiB PUT+GET rounds, against the 256 MiB budget).
 */
export const LEASE_POOL_MAX_IDLE = 6;

export class ChunkReader {
  readonly #distributor: Distributor;
  readonly #keyring: Pick<Keyring, "keyFor" | "nameKey">;
  readonly #workers: SealWorkerPool | undefined;
  readonly #leasePool: ChunkBufferPool;
  readonly #prefetch: number | undefined;

  constructor(
    distributor: Distributor,
    keyring: Pick<Keyring, "keyFor" | "nameKey">,
    opts: ChunkReaderOptions = {},
  ) {
    this.#distributor = distributor;
    this.#keyring = keyring;
    this.#workers = opts.workers;
    if (opts.prefetch !== undefined && !(Number.isInteger(opts.prefetch) && opts.prefetch >= 1)) {
      throw new RangeError(`chunk reader: prefetch must be a positive integer, got ${opts.prefetch}`);
    }
    this.#prefetch = opts.prefetch;
    // With workers, idle read buffers live in the seal pool's plaintext buffers: GETs and PUTs of
    // one process then reuse the same few shared buffers instead of each keeping its own.
    this.#leasePool = new ChunkBufferPool(LEASE_POOL_MAX_IDLE, {
      shared: opts.workers !== undefined,
      ...(opts.workers ? { backing: opts.workers.plainBuffers } : {}),
    });
  }

  /**
   * One chunk's verified plaintext. With `pool`, the result lies in a buffer taken from it (give
   * it back with `pool.give(result)` when done); without, the caller owns the result.
   */
  async readChunk(ref: ReadableChunk, pool?: ChunkBufferPool): Promise<Buffer> {
    const buffers = pool ?? new ChunkBufferPool(0);
    const expected = Buffer.from(ref.hash, "hex");
    const bound = sealedBlobBound();
    const label = ref.hash.slice(0, 16);
    const alloc = (bytes: number): Buffer => {
      if (bytes > bound) {
        throw new RangeError(`chunk ${label}: sealed blob of ${bytes} bytes exceeds the ${bound}-byte bound`);
      }
      return buffers.take(bytes);
    };
    const workers = this.#workers;
    let workerFailure: ChunkerError | undefined;
    const openOnWorker = async (pool: SealWorkerPool, blob: Buffer): Promise<Buffer> => {
      try {
        const plain = await pool.openSealed(
          blob,
          (id) => this.#keyring.keyFor(id),
          expected,
          this.#keyring.nameKey,
        );
        if (plain.buffer !== blob.buffer) buffers.give(blob);
        return plain;
      } catch (err) {
        if (err instanceof ChunkerError && err.code === "WorkerFailed") {
          // The worker may still write the blob: never hand that buffer out again.
          buffers.forget(blob);
          workerFailure ??= new ChunkerError("WorkerFailed", `chunk ${label}: ${err.message}`, {
            cause: err,
          });
        } else buffers.give(blob);
        throw err;
      }
    };
    const open = (blob: Buffer): Buffer | Promise<Buffer> => {
      // Decrypt over the blob only when it lies in our own buffer; a backend's `get` may return
      // memory it keeps (the memory backend copies today, but nothing promises that).
      const inPlace = buffers.lent(blob);
      if (
        workers !== undefined &&
        inPlace &&
        buffers.shared &&
        blob.length >= WORKER_OPEN_MIN_BYTES &&
        workers.outstanding < workers.size * WORKER_QUEUE_DEPTH
      ) {
        return openOnWorker(workers, blob);
      }
      try {
        const plain = openSealedInto(
          blob,
          (id) => this.#keyring.keyFor(id),
          expected,
          this.#keyring.nameKey,
          {
            inPlace,
            alloc: (n) => buffers.take(n),
          },
        );
        if (plain.buffer !== blob.buffer) buffers.give(blob);
        return plain;
      } catch (err) {
        buffers.give(blob);
        throw err;
      }
    };
    let opened: Buffer | undefined;
    let blob: Buffer;
    try {
      blob = await this.#distributor.getChunk(
        ref.nameTag,
        ref.locations,
        async (candidate: Buffer) => {
          // Verification failure makes the distributor try the next replica.
          opened = await open(candidate);
          return true;
        },
        { alloc },
      );
    } catch (err) {
      // No replica opened because the workers failed: say so, not "corrupt".
      throw workerFailure ?? err;
    }
    return opened ?? open(blob);
  }

  /**
   * Streams the plaintext of `refs` in order; with `range` only the chunks overlapping it are
   * fetched. The consumer owns every yielded buffer (it may keep it).
   */
  async *read(refs: readonly ReadableChunk[], opts: ReadOptions = {}): AsyncIterable<Buffer> {
    for await (const lease of this.#leases(refs, opts, undefined)) yield lease.data;
  }

  /** Buffers the leased reads of this reader have allocated so far (reuse keeps it flat). */
  get leasedBuffersAllocated(): number {
    return this.#leasePool.allocated;
  }

  /**
   * Like `read`, but each chunk comes in a buffer lent from this reader's pool (shared by all its
   * reads, at most LEASE_POOL_MAX_IDLE idle buffers): call `release()` once nothing reads `data`
   * any more (for a socket, after its write callback); a chunk not released is simply not reused.
   * Ending the iteration early is fine.
   */
  readLeased(refs: readonly ReadableChunk[], opts: ReadOptions = {}): AsyncIterable<LeasedChunk> {
    // The lease pool is shared exactly when there are workers: #leases picks the prefetch from it.
    return this.#leases(refs, opts, this.#leasePool);
  }

  #defaultPrefetch(pool: ChunkBufferPool | undefined): number {
    if (this.#prefetch !== undefined) return this.#prefetch;
    return pool?.shared ? WORKER_PREFETCH_CHUNKS : DEFAULT_PREFETCH_CHUNKS;
  }

  async *#leases(
    refs: readonly ReadableChunk[],
    opts: ReadOptions,
    pool: ChunkBufferPool | undefined,
  ): AsyncIterable<LeasedChunk> {
    const prefetch = Math.max(1, opts.prefetch ?? this.#defaultPrefetch(pool));
    const start = opts.range?.start ?? 0;
    const end = opts.range?.end ?? Number.POSITIVE_INFINITY;
    const wanted: { ref: ReadableChunk; from: number; to: number }[] = [];
    let offset = 0;
    for (const ref of refs) {
      const chunkStart = offset;
      const chunkEnd = offset + ref.size;
      offset = chunkEnd;
      if (chunkEnd <= start || chunkStart >= end) continue;
      wanted.push({ ref, from: Math.max(0, start - chunkStart), to: Math.min(ref.size, end - chunkStart) });
    }
    const inflight: Promise<Buffer>[] = [];
    let next = 0;
    const fill = () => {
      while (inflight.length < prefetch && next < wanted.length) {
        const p = this.readChunk(wanted[next]!.ref, pool);
        p.catch(() => {});
        inflight.push(p);
        next++;
      }
    };
    const noop = () => {};
    try {
      for (const w of wanted) {
        fill();
        const buf = await inflight.shift()!;
        // With workers, keep `prefetch` chunks opening while this one is written out.
        if (pool?.shared) fill();
        const data = w.from === 0 && w.to === buf.length ? buf : buf.subarray(w.from, w.to);
        let released = false;
        yield {
          data,
          release: pool
            ? () => {
                if (released) return;
                released = true;
                pool.give(buf);
              }
            : noop,
        };
      }
    } finally {
      // Chunks fetched ahead and never yielded go back to the pool once their reads settle.
      const rest = await Promise.allSettled(inflight);
      if (pool) for (const r of rest) if (r.status === "fulfilled") pool.give(r.value);
    }
  }
}
