import { createHash } from "node:crypto";
import { BufferPool } from "./buffer-pool.js";
import { ChunkSealer, type SealKeys, sealedAllocBytes, sealedCapacityBytes } from "./chunk-sealer.js";
import { splitChunks } from "./chunk-stream.js";
import { createCutter } from "./cutter.js";
import { ChunkerError } from "./errors.js";
import { noteStreamedBytes } from "./heap-tuning.js";
import { type ChunkingOptions, DEFAULT_CHUNKING } from "./options.js";
import { chunkNameTag, SEAL_OVERHEAD_BYTES, SEALED_HEADER_BYTES } from "./seal-api.js";
import { defaultSealWorkers, type Md5Lane, SealWorkerPool } from "./seal-pool.js";

export interface CompressionOptions {
  /** zstd level (1..19 typical; negative levels are zstd's fast modes). */
  readonly level: number;
}

export interface PipelineOptions {
  /** Default: FastCDC, avg 4 MiB (DEFAULT_CHUNKING). Must match across gateway and CLI to dedup. */
  readonly chunking?: ChunkingOptions;
  /** zstd before sealing; off when absent. A chunk is stored compressed only if that saves bytes. */
  readonly compression?: CompressionOptions | undefined;
  readonly dataKey: { readonly keyId: number; readonly key: Uint8Array };
  /** Derives chunk names: nameTag = HMAC-SHA256(nameKey, sha256(plaintext)). */
  readonly nameKey: Uint8Array;
  /** Also compute SHA3-256 of each plaintext chunk (backup integrity chain). */
  readonly sha3?: boolean;
  /** Private worker threads for this stream (0 = seal on the calling thread). Default min(2, cores). */
  readonly workers?: number;
  /** A shared pool to use instead of private workers (not closed by the stream). */
  readonly pool?: SealWorkerPool;
  /** Chunks cut but not yet handed to the consumer, at most. Default: 1 without workers, workers+4 with. */
  readonly maxInFlight?: number;
  /** Dedup: chunks for which this returns true are neither compressed nor sealed (`sealed: null`). */
  readonly isKnown?: (hashHex: string) => boolean | Promise<boolean>;
  /**
   * Also compute the MD5 of the whole input (the S3 ETag): called with the digest after the input
   * ended, before the stream finishes. With workers it runs on one worker's MD5 lane, fed every
   * chunk's shared buffer in stream order while sealing goes to any worker: MD5 is ~450 MB/s and
   * would otherwise be the largest cost left on the thread reading the network.
   */
  readonly md5?: (digest: Buffer) => void;
}

export interface SealedChunk {
  /** 0-based position in the stream. */
  readonly seq: number;
  /** SHA-256 of the plaintext. */
  readonly hash: Buffer;
  readonly hashHex: string;
  /** Plaintext bytes. */
  readonly size: number;
  readonly nameTag: Buffer;
  readonly nameTagHex: string;
  readonly keyId: number;
  readonly compressed: boolean;
  /** SHA3-256 of the plaintext, when `sha3` was requested. */
  readonly sha3?: Buffer;
  /**
   * The sealed blob, owned by the consumer, or null when `isKnown` said the chunk is stored.
   * Optionally call `release()` once done with it (e.g. after the upload) so the pipeline can reuse
   * its memory; never touch `sealed` after that. Not calling it is safe (the GC reclaims it).
   */
  readonly sealed: Buffer | null;
  release(): void;
}

const MAX_IN_FLIGHT_LIMIT = 1024;

function validate(opts: PipelineOptions): void {
  const bad = (m: string) => new ChunkerError("InvalidOptions", `pipeline: ${m}`);
  if (opts.dataKey.key.length !== 32) throw bad("dataKey.key must be 32 bytes");
  if (!Number.isInteger(opts.dataKey.keyId) || opts.dataKey.keyId < 0 || opts.dataKey.keyId > 0xffffffff)
    throw bad(`dataKey.keyId must be a uint32, got ${opts.dataKey.keyId}`);
  if (opts.nameKey.length < 16) throw bad("nameKey must be at least 16 bytes");
  if (opts.compression !== undefined && !Number.isInteger(opts.compression.level))
    throw bad(`compression.level must be an integer, got ${opts.compression.level}`);
  if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 0))
    throw bad(`workers must be a non-negative integer, got ${opts.workers}`);
  if (opts.workers !== undefined && opts.workers > 0 && opts.pool !== undefined)
    throw bad("give either workers or pool, not both");
  const m = opts.maxInFlight;
  if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > MAX_IN_FLIGHT_LIMIT))
    throw bad(`maxInFlight must be 1..${MAX_IN_FLIGHT_LIMIT}, got ${m}`);
}

interface Settled {
  done: boolean;
  readonly promise: Promise<SealedChunk>;
}

/**
 * Chunks `source`, then per chunk: SHA-256 (+ SHA3-256) → dedup check → optional zstd → AES-256-GCM
 * (sealChunk). Yields chunks in stream order. The calling thread only cuts and copies; hashing and
 * sealing run on the worker pool when there is one. At most `maxInFlight` chunks are cut ahead of
 * the consumer, so memory is O(maxInFlight × maxBytes) whatever the input size.
 */
export async function* sealStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: PipelineOptions,
): AsyncGenerator<SealedChunk, void, undefined> {
  validate(opts);
  const cutter = createCutter(opts.chunking ?? DEFAULT_CHUNKING);
  const maxBytes = cutter.params.maxBytes;
  const workers = opts.pool !== undefined ? 0 : (opts.workers ?? defaultSealWorkers());
  const pool = opts.pool ?? (workers > 0 ? new SealWorkerPool(workers) : null);
  const ownPool = opts.pool === undefined && pool !== null;
  // With workers, a chunk passes the seal worker and the MD5 lane (the seal waits for the lane) before
  // its upload: size + 4 keeps both fed. Measured in a gateway, one seal worker + the hash worker,
  // 1 GiB PUTs run alternately: size + 4 gave 208–238 MB/s where size + 2 gave 171–189.
  const maxInFlight = opts.maxInFlight ?? (pool === null ? 1 : pool.size + 4);
  const keys: SealKeys = { keyId: opts.dataKey.keyId, key: opts.dataKey.key, nameKey: opts.nameKey };
  const level = opts.compression?.level ?? null;
  const sha3 = opts.sha3 === true;
  const isKnown = opts.isKnown;
  // With workers, a chunk lives in one SharedArrayBuffer from the pool from its cut to its
  // release(): a seal worker and the MD5 lane read the plaintext at once, then the chunk is sealed
  // over it in place (headroom for the header before the plaintext, room for the tag after).
  // Inline, plaintext buffers cycle back at once and sealed buffers at release(), per stream.
  const plainPool: BufferPool<ArrayBuffer | SharedArrayBuffer> =
    pool?.plainBuffers ?? new BufferPool(maxInFlight + 1);
  const sealedPool = new BufferPool(maxInFlight + 2);
  const sealer = pool === null ? new ChunkSealer(level) : null;

  const makeChunk = (
    seq: number,
    size: number,
    hash: Buffer,
    sha3Digest: Buffer | null,
    nameTag: Buffer,
    compressed: boolean,
    sealed: Buffer | null,
    back: BufferPool<ArrayBuffer | SharedArrayBuffer> = sealedPool,
  ): SealedChunk => {
    let released = sealed === null;
    return {
      seq,
      hash,
      hashHex: hash.toString("hex"),
      size,
      nameTag,
      nameTagHex: nameTag.toString("hex"),
      keyId: keys.keyId,
      compressed,
      ...(sha3Digest !== null ? { sha3: sha3Digest } : {}),
      sealed,
      release() {
        if (released || sealed === null) return;
        released = true;
        back.give(sealed.buffer as ArrayBuffer | SharedArrayBuffer);
      },
    };
  };

  const onThread = async (view: Buffer, seq: number): Promise<SealedChunk> => {
    const s = sealer!;
    const { hash, sha3: sha3Digest } = s.digest(view, sha3);
    if (isKnown !== undefined && (await isKnown(hash.toString("hex")))) {
      plainPool.give(view.buffer as ArrayBuffer);
      return makeChunk(
        seq,
        view.length,
        hash,
        sha3Digest ?? null,
        chunkNameTag(keys.nameKey, hash),
        false,
        null,
      );
    }
    const need = sealedCapacityBytes(view.length);
    const pooled = sealedPool.take(need);
    const out = pooled === null ? Buffer.allocUnsafeSlow(sealedAllocBytes(need)) : Buffer.from(pooled);
    const r = s.seal(view, hash, keys, out);
    plainPool.give(view.buffer as ArrayBuffer);
    return makeChunk(seq, view.length, hash, sha3Digest ?? null, r.nameTag, r.compressed, r.sealed);
  };

  const onPool = async (p: SealWorkerPool, view: Buffer, seq: number): Promise<SealedChunk> => {
    const size = view.length;
    const plain = view.buffer as SharedArrayBuffer;
    // Fed now, synchronously, so the lane gets the chunks in stream order.
    const fed = lane !== undefined ? p.feedMd5(lane, plain, view.byteOffset, size) : undefined;
    fed?.catch(() => {});
    // The seal overwrites the plaintext: never before the lane has read it.
    const ask = isKnown !== undefined;
    if (!ask) await fed;
    const done = await p.run(
      { plain, offset: view.byteOffset, length: size, keys, compressionLevel: level, sha3, ask },
      ask
        ? async (hash) => {
            if (await isKnown(hash.toString("hex"))) return false;
            await fed;
            return true;
          }
        : undefined,
    );
    const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
    let sealed: Buffer | null = null;
    if (done.sealed) {
      sealed = Buffer.from(plain, 0, done.sealedLength);
    } else {
      await fed;
      plainPool.give(plain);
    }
    return makeChunk(
      seq,
      size,
      buf(done.hash),
      done.sha3 === null ? null : buf(done.sha3),
      buf(done.nameTag),
      done.compressed,
      sealed,
      plainPool,
    );
  };

  // Whole-input MD5: on the calling thread inline, else on a lane (a hash worker's, see openMd5).
  const md5Done = opts.md5;
  const md5Here = md5Done !== undefined && pool === null ? createHash("md5") : undefined;
  let lane: Md5Lane | undefined = md5Done !== undefined && pool !== null ? pool.openMd5() : undefined;

  const queue: Settled[] = [];
  const submit = (view: Buffer, seq: number): void => {
    const promise = pool === null ? onThread(view, seq) : onPool(pool, view, seq);
    const entry: Settled = { done: false, promise };
    promise.then(
      () => {
        entry.done = true;
      },
      () => {
        entry.done = true;
      },
    );
    queue.push(entry);
  };

  // With workers: room for sealing in place around the plaintext (see JobMessage), and chunk
  // buffers of twice the average first: a buffer is resident up to the largest chunk it ever held,
  // and a max-size one (4× the average) per chunk in flight weighed on the gateway's memory budget
  // once more chunks were in flight. A chunk that outgrows it (FastCDC's normalized chunking makes
  // that rare: ~2 % of chunks at level 2) moves to a max-size buffer, copied once.
  const overhead = pool === null ? 0 : SEAL_OVERHEAD_BYTES;
  const at = pool === null ? 0 : SEALED_HEADER_BYTES;
  const initialBytes = pool === null ? maxBytes : Math.min(maxBytes, 2 * cutter.params.avgBytes);
  const take = (minBytes: number): Buffer => {
    const ab =
      plainPool.take(minBytes + overhead) ??
      (pool === null ? Buffer.allocUnsafeSlow(minBytes).buffer : pool.allocate(minBytes + overhead));
    return Buffer.from(ab, at, ab.byteLength - overhead);
  };
  const give = (buf: Buffer) => plainPool.give(buf.buffer as ArrayBuffer | SharedArrayBuffer);
  let seq = 0;
  try {
    for await (const view of splitChunks(source, cutter, take, { initialBytes, give })) {
      md5Here?.update(view);
      noteStreamedBytes(view.length);
      submit(view, seq++);
      // Hand over finished chunks early (lets uploads start); block once maxInFlight are cut ahead.
      while (queue.length > 0 && (queue.length >= maxInFlight || queue[0]!.done)) {
        yield await queue.shift()!.promise;
      }
    }
    // The lane's worker replies after the stream's last job: ask now, collect after the chunks.
    const md5Digest = lane !== undefined ? pool!.endMd5(lane, true) : undefined;
    lane = undefined;
    md5Digest?.catch(() => {});
    while (queue.length > 0) yield await queue.shift()!.promise;
    if (md5Done !== undefined) md5Done(md5Here !== undefined ? md5Here.digest() : await md5Digest!);
  } finally {
    // On early exit or error, let outstanding jobs settle so nothing rejects unobserved.
    await Promise.allSettled(queue.map((e) => e.promise));
    if (lane !== undefined) pool?.endMd5(lane, false);
    if (ownPool) await pool.close();
  }
}
