import { canonicalJson } from "../canonical-json.js";
import type { ApplyResult, ChunkRef, Command, ObjectPartSpec } from "../commands.js";
import { toKeyBytes } from "../key-bytes.js";
import { type ChunkRefs, countHashes } from "./chunk-refs.js";
import { etagMatches } from "./etag.js";
import { MAX_PART_NUMBER } from "./multipart.js";
import type { ObjectStore } from "./object-store.js";
import { type ApplyContext, refuse } from "./refusal.js";

type PutObject = Extract<Command, { type: "PutObject" }>;
type CopyObject = Extract<Command, { type: "CopyObject" }>;
type DeleteObject = Extract<Command, { type: "DeleteObject" }>;
type DeleteObjects = Extract<Command, { type: "DeleteObjects" }>;

/** S3's limits, enforced at apply (the codec only checks structure). */
export const MAX_KEY_BYTES = 1024;
export const MAX_DELETE_OBJECTS_KEYS = 1000;

export function checkKey(key: string): Buffer {
  const bytes = toKeyBytes(key);
  if (bytes.length > MAX_KEY_BYTES) refuse("InvalidArgument", `key longer than ${MAX_KEY_BYTES} bytes`);
  return bytes;
}

/** The plaintext sizes of the chunks must add up to the object's size: reads rely on it. */
export function checkChunkSizes(chunks: readonly ChunkRef[], size: number, what: string): void {
  let total = 0;
  for (const c of chunks) total += c.size;
  if (total !== size) {
    refuse("InvalidArgument", `${what}: chunk sizes add up to ${total}, not the declared ${size}`);
  }
}

/** Parts carried by a PutObject: numbered upwards from 1, adding up to the object's size and chunks. */
function checkParts(parts: readonly ObjectPartSpec[], size: number, chunkCount: number): void {
  let bytes = 0;
  let chunks = 0;
  let previous = 0;
  for (const p of parts) {
    if (p.partNumber <= previous || p.partNumber > MAX_PART_NUMBER)
      refuse("InvalidArgument", "PutObject: part numbers must ascend within 1..10000");
    previous = p.partNumber;
    bytes += p.size;
    chunks += p.chunkCount;
  }
  if (bytes !== size || chunks !== chunkCount)
    refuse(
      "InvalidArgument",
      `PutObject: parts hold ${bytes} bytes in ${chunks} chunks, not ${size} in ${chunkCount}`,
    );
}

export class ObjectCommands {
  readonly #store: ObjectStore;
  readonly #refs: ChunkRefs;

  constructor(store: ObjectStore, refs: ChunkRefs) {
    this.#store = store;
    this.#refs = refs;
  }

  put(cmd: PutObject, ctx: ApplyContext): ApplyResult {
    const key = checkKey(cmd.key);
    if (!this.#store.bucketExists(cmd.bucket)) refuse("NoSuchBucket", `no bucket ${cmd.bucket}`);
    checkChunkSizes(cmd.chunks, cmd.size, "PutObject");
    if (cmd.parts !== undefined) checkParts(cmd.parts, cmd.size, cmd.chunks.length);
    const head = this.#store.head(cmd.bucket, key);
    if (cmd.ifNoneMatch === true && head !== undefined) {
      refuse("PreconditionFailed", "If-None-Match: the key already exists");
    }
    if (cmd.ifMatch !== undefined) {
      // S3: If-Match on a key that does not exist is 404 NoSuchKey, not 412.
      if (head === undefined) refuse("NoSuchKey", "If-Match: the key does not exist");
      if (!etagMatches(head.etag, cmd.ifMatch))
        refuse("PreconditionFailed", "If-Match: the current ETag differs");
    }
    // Acquire before releasing: an overwrite with (partly) the same chunks never passes through 0.
    this.#refs.acquire(cmd.chunks);
    if (head !== undefined) this.#store.remove(cmd.bucket, key, cmd.lastModifiedMs, ctx);
    this.#store.insert(
      {
        bucket: cmd.bucket,
        key,
        size: cmd.size,
        etag: cmd.etag,
        meta: canonicalJson(cmd.meta),
        lastModifiedMs: cmd.lastModifiedMs,
      },
      cmd.chunks.map((c) => c.hash),
      cmd.parts,
    );
    return { ok: true, etag: cmd.etag, lastModifiedMs: cmd.lastModifiedMs };
  }

  copy(cmd: CopyObject, ctx: ApplyContext): ApplyResult {
    const srcKey = checkKey(cmd.srcKey);
    const dstKey = checkKey(cmd.dstKey);
    if (!this.#store.bucketExists(cmd.srcBucket)) refuse("NoSuchBucket", `no bucket ${cmd.srcBucket}`);
    if (!this.#store.bucketExists(cmd.dstBucket)) refuse("NoSuchBucket", `no bucket ${cmd.dstBucket}`);
    const src = this.#store.head(cmd.srcBucket, srcKey);
    if (src === undefined) refuse("NoSuchKey", `no key ${cmd.srcKey} in bucket ${cmd.srcBucket}`);
    if (cmd.srcIfMatch !== undefined && !etagMatches(src.etag, cmd.srcIfMatch)) {
      refuse("PreconditionFailed", "x-amz-copy-source-if-match: the source ETag differs");
    }
    // Dedup: a copy shares the source's chunks, it never re-uploads.
    const hashes = this.#store.chunkHashes(cmd.srcBucket, srcKey);
    // Read before a copy onto itself removes the source's rows.
    const parts = this.#store.parts(cmd.srcBucket, srcKey);
    this.#refs.retain(countHashes(hashes));
    if (this.#store.head(cmd.dstBucket, dstKey) !== undefined) {
      this.#store.remove(cmd.dstBucket, dstKey, cmd.lastModifiedMs, ctx);
    }
    this.#store.insert(
      {
        bucket: cmd.dstBucket,
        key: dstKey,
        size: src.size,
        etag: src.etag,
        meta: cmd.replaceMeta === undefined ? src.meta : canonicalJson(cmd.replaceMeta),
        lastModifiedMs: cmd.lastModifiedMs,
      },
      hashes,
      parts,
    );
    return { ok: true, etag: src.etag, lastModifiedMs: cmd.lastModifiedMs };
  }

  /** Idempotent: deleting an absent key succeeds (S3 semantics). */
  delete(cmd: DeleteObject, ctx: ApplyContext): ApplyResult {
    const key = checkKey(cmd.key);
    if (!this.#store.bucketExists(cmd.bucket)) refuse("NoSuchBucket", `no bucket ${cmd.bucket}`);
    this.#store.remove(cmd.bucket, key, cmd.atMs, ctx);
    return { ok: true };
  }

  /** Returns the keys that existed and were deleted, in request order (a repeated key once). */
  deleteMany(cmd: DeleteObjects, ctx: ApplyContext): ApplyResult {
    if (cmd.keys.length > MAX_DELETE_OBJECTS_KEYS) {
      refuse("InvalidArgument", `DeleteObjects takes at most ${MAX_DELETE_OBJECTS_KEYS} keys`);
    }
    if (!this.#store.bucketExists(cmd.bucket)) refuse("NoSuchBucket", `no bucket ${cmd.bucket}`);
    const keys = cmd.keys.map(checkKey);
    const deleted: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      if (this.#store.remove(cmd.bucket, keys[i] as Buffer, cmd.atMs, ctx))
        deleted.push(cmd.keys[i] as string);
    }
    return { ok: true, deleted };
  }
}
