/**
 * Seal worker entry: digests, compresses and seals chunks sent by SealWorkerPool.
 * Runs under tsx (`--import tsx`) when started from TypeScript sources.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parentPort } from "node:worker_threads";
import { type ChunkDigests, ChunkSealer } from "./chunk-sealer.js";
import { ChunkerError } from "./errors.js";
import { isLaneMessage, Md5Lanes } from "./md5-lanes.js";
import { openSealedInto } from "./open-into.js";
import { chunkNameTag, GCM_TAG_BYTES, SEALED_HEADER_BYTES } from "./seal-api.js";
import {
  detachedCopy,
  type FromWorker,
  type JobMessage,
  type OpenMessage,
  type ToWorker,
} from "./worker-protocol.js";

const port = parentPort;
if (port === null) throw new Error("seal-worker must run in a worker thread");

/**
 * node:crypto's cipher returns a fresh chunk-sized buffer per update, so each sealed chunk leaves
 * that much dead memory in this isolate (and every transferred-in ArrayBuffer counts as new external
 * memory); V8 collects it only when its own heuristics fire, which let a busy worker hold ~80 MiB of
 * dead cipher output, and then collects with a full mark-compact. The dead buffers are young, so a
 * scavenge (minor GC) every MINOR_GC_EVERY_BYTES frees them for well under a millisecond; a full GC
 * every MAJOR_GC_EVERY_BYTES catches anything promoted. Measured in a CPU profile of the worker:
 * GC time went from ~25–50 % of the crypto time (full GC every 32 MiB) to ~12–16 %, peak RSS equal.
 */
const MINOR_GC_EVERY_BYTES = 8 * 1024 * 1024;
const MAJOR_GC_EVERY_BYTES = 256 * 1024 * 1024;
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as ((opts?: { type: "minor" | "major" }) => void) | undefined;
let sinceMinor = 0;
let sinceMajor = 0;

function noteSealed(bytes: number): void {
  if (collect === undefined) return;
  sinceMinor += bytes;
  sinceMajor += bytes;
  if (sinceMajor >= MAJOR_GC_EVERY_BYTES) {
    sinceMajor = 0;
    sinceMinor = 0;
    collect({ type: "major" });
  } else if (sinceMinor >= MINOR_GC_EVERY_BYTES) {
    sinceMinor = 0;
    collect({ type: "minor" });
  }
}

const sealers = new Map<number | null, ChunkSealer>();
const awaitingDecision = new Map<number, { job: JobMessage; digests: ChunkDigests }>();
/** MD5 lanes placed here (the pool's hash workers take lanes first; see SealWorkerPool.openMd5). */
const md5Lanes = new Md5Lanes();

function sealerFor(level: number | null): ChunkSealer {
  let sealer = sealers.get(level);
  if (sealer === undefined) {
    sealer = new ChunkSealer(level);
    sealers.set(level, sealer);
  }
  return sealer;
}

/**
 * Every job and open message carries its own structured-clone copy of the data key and name key:
 * wipe that copy once the message is done with (sealed, skipped, opened or failed), so key bytes do
 * not linger in this isolate's garbage until a GC reuses the memory.
 */
function wipeKeys(...keys: (Uint8Array | undefined)[]): void {
  for (const k of keys) k?.fill(0);
}

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(msg, transfer);
}

function finish(job: JobMessage, digests: ChunkDigests, seal: boolean): void {
  try {
    finishJob(job, digests, seal);
  } finally {
    wipeKeys(job.keys.key, job.keys.nameKey);
  }
}

function finishJob(job: JobMessage, digests: ChunkDigests, seal: boolean): void {
  const base = {
    kind: "done" as const,
    id: job.id,
    hash: detachedCopy(digests.hash),
    sha3: digests.sha3 ? detachedCopy(digests.sha3) : null,
  };
  if (!seal) {
    const nameTag = detachedCopy(chunkNameTag(job.keys.nameKey, digests.hash));
    post({ ...base, nameTag, compressed: false, sealed: false, sealedLength: 0 });
    return;
  }
  // Sealed in place, over the plaintext (see JobMessage): no output buffer to allocate or move.
  const end = job.offset + job.length;
  if (job.offset < SEALED_HEADER_BYTES || end + GCM_TAG_BYTES > job.plain.byteLength) {
    throw new Error(
      `seal-worker: no room to seal in place (plaintext at ${job.offset}..${end} of ${job.plain.byteLength})`,
    );
  }
  const plain = Buffer.from(job.plain, job.offset, job.length);
  const r = sealerFor(job.compressionLevel).seal(
    plain,
    digests.hash,
    job.keys,
    Buffer.from(job.plain, 0, end + GCM_TAG_BYTES),
  );
  noteSealed(job.length);
  if (r.sealed.buffer !== job.plain || r.sealed.byteOffset !== 0)
    throw new Error("seal-worker invariant: sealed outside its buffer");
  post({
    ...base,
    nameTag: detachedCopy(r.nameTag),
    compressed: r.compressed,
    sealed: true,
    sealedLength: r.sealed.length,
  });
}

/** Memory this thread allocated outright (never the shared Buffer pool), so it can be transferred. */
const ownedAlloc = (bytes: number): Buffer => Buffer.allocUnsafeSlow(bytes);

/** Opens a chunk in place in the shared blob buffer; replies only after tag and SHA-256 checked. */
function open(msg: OpenMessage): void {
  const blob = Buffer.from(msg.blob, msg.blobOffset, msg.blobLength);
  let plain: Buffer;
  try {
    plain = openSealedInto(
      blob,
      (id) => (id === msg.keyId ? msg.key : undefined),
      msg.expectedHash,
      msg.nameKey,
      { maxBytes: msg.maxBytes, inPlace: true, alloc: ownedAlloc },
    );
  } finally {
    wipeKeys(msg.key, msg.nameKey);
  }
  noteSealed(msg.blobLength);
  if (plain.buffer === msg.blob) {
    post({ kind: "opened", id: msg.id, plain: null, offset: plain.byteOffset, length: plain.length });
    return;
  }
  // A compressed chunk decompressed into memory of this thread: move it to the main thread.
  const ab = plain.buffer;
  const whole =
    ab instanceof ArrayBuffer && plain.byteOffset === 0 && ab.byteLength === plain.length
      ? ab
      : (new Uint8Array(plain).buffer as ArrayBuffer);
  post({ kind: "opened", id: msg.id, plain: whole, offset: 0, length: plain.length }, [whole]);
}

port.on("message", (msg: ToWorker) => {
  try {
    if (isLaneMessage(msg)) {
      const reply = md5Lanes.handle(msg);
      if (reply !== null) post(reply);
    } else if (msg.kind === "open") {
      open(msg);
    } else if (msg.kind === "job") {
      const digests = sealerFor(msg.compressionLevel).digest(
        new Uint8Array(msg.plain, msg.offset, msg.length),
        msg.sha3,
      );
      if (msg.ask) {
        awaitingDecision.set(msg.id, { job: msg, digests });
        post({ kind: "digested", id: msg.id, hash: detachedCopy(digests.hash) });
      } else {
        finish(msg, digests, true);
      }
    } else {
      const waiting = awaitingDecision.get(msg.id);
      if (waiting === undefined) throw new Error(`seal-worker: no job ${msg.id} awaiting a decision`);
      awaitingDecision.delete(msg.id);
      finish(waiting.job, waiting.digests, msg.seal);
    }
  } catch (err) {
    if (msg.kind === "job") wipeKeys(msg.keys.key, msg.keys.nameKey);
    const message = err instanceof Error ? err.message : String(err);
    if (msg.kind === "open" && err instanceof ChunkerError) {
      // Corrupt, Mismatch, UnknownKey, TooLarge: the main thread rethrows the same code.
      post({ kind: "failed", id: msg.id, message, code: err.code });
    } else if (msg.kind !== "md5-open") post({ kind: "failed", id: msg.id, message });
  }
});
