/**
 * The S3 front end's port, implemented over the manifest (every change a command through the
 * committer), the chunk pipeline and the storage backends. Data never crosses the committer:
 * chunks are sealed and uploaded here, then one command makes them live (ARCHITECTURE §3).
 */
import { randomBytes } from "node:crypto";
import {
  type ApplyResult,
  type Command,
  FEATURES,
  type ObjectHeadInfo,
  type ObjectMeta,
} from "@enigma/manifest";
import {
  type BucketInfo,
  type ByteRange,
  type ChecksumHasher,
  type Checksums,
  type CompleteMultipartUploadInput,
  type CopyObjectInput,
  type CreateMultipartUploadInput,
  compositeChecksum,
  createChecksumHasher,
  type DeleteOutcome,
  type ListEntry,
  type ListObjectsInput,
  type ListObjectsResult,
  type ListPartsInput,
  type ListPartsResult,
  type ListUploadsInput,
  type ListUploadsResult,
  MAX_OBJECT_BYTES,
  MAX_PART_SIZE_BYTES,
  MAX_PUT_OBJECT_BYTES,
  type ObjectHandle,
  type ObjectInfo,
  type ObjectMetadata,
  type ObjectReadInput,
  type ObjectRef,
  type ObjectService,
  type PutObjectInput,
  type ReadConsistency,
  type RequestBody,
  ServiceError,
  type ServiceErrorCode,
  type UploadInfo,
  type UploadPartCopyInput,
  type UploadPartInput,
  type UploadRef,
  type WritePrecondition,
  type WriteResult,
} from "@enigma/s3";
import { type FreeSpaceGuard, StorageError } from "@enigma/storage";
import { isDiskFull } from "../disk-full.js";
import type { Engine } from "../engine/engine.js";
import { tapPieces } from "../engine/pieces.js";

const REFUSAL_TO_SERVICE: Partial<Record<string, ServiceErrorCode>> = {
  NoSuchBucket: "NoSuchBucket",
  NoSuchKey: "NoSuchKey",
  NoSuchUpload: "NoSuchUpload",
  BucketAlreadyExists: "BucketAlreadyOwnedByYou",
  BucketNotEmpty: "BucketNotEmpty",
  InvalidPart: "InvalidPart",
  InvalidPartOrder: "InvalidPartOrder",
  EntityTooSmall: "EntityTooSmall",
  PreconditionFailed: "PreconditionFailed",
  // A chunk we deduplicated against was fenced by GC meanwhile: the client retries (503 SlowDown)
  // and the retry uploads it afresh.
  ChunkDeleting: "SlowDown",
  KeyExists: "ConditionalRequestConflict",
};

export interface ObjectServiceOptions {
  readonly nowMs?: () => number;
  /** Called after each body went through the chunk pipeline (metrics: uploaded vs deduplicated). */
  readonly onWrite?: (w: { uploadedChunks: number; uploadedBytes: number; dedupedChunks: number }) => void;
  /** The data dir's free-space reserve (`[raft] min_free_space`); writes are refused below it. */
  readonly metadataSpace?: Pick<FreeSpaceGuard, "admit">;
}

export class EngineObjectService implements ObjectService {
  readonly #engine: Engine;
  readonly #now: () => number;
  readonly #onWrite: ObjectServiceOptions["onWrite"];
  readonly #metadataSpace: ObjectServiceOptions["metadataSpace"];

  constructor(engine: Engine, opts: ObjectServiceOptions = {}) {
    this.#engine = engine;
    this.#now = opts.nowMs ?? Date.now;
    this.#onWrite = opts.onWrite;
    this.#metadataSpace = opts.metadataSpace;
  }

  // ── buckets ─────────────────────────────────────────────────────────────────────────────

  async listBuckets(): Promise<BucketInfo[]> {
    await this.#barrier("linearizable");
    return this.#m.listBuckets().map((b) => ({ name: b.name, createdMs: b.createdAtMs }));
  }

  async createBucket(input: { bucket: string }): Promise<void> {
    await this.#refuseWhenFull();
    await this.#propose({ type: "CreateBucket", bucket: input.bucket, createdAtMs: this.#now() });
  }

  async deleteBucket(input: { bucket: string }): Promise<void> {
    await this.#propose({ type: "DeleteBucket", bucket: input.bucket });
  }

  async headBucket(input: { bucket: string; consistency: ReadConsistency }): Promise<BucketInfo> {
    await this.#barrier(input.consistency);
    const b = this.#m.getBucket(input.bucket);
    if (!b) throw new ServiceError("NoSuchBucket");
    return { name: b.name, createdMs: b.createdAtMs };
  }

  // ── objects ─────────────────────────────────────────────────────────────────────────────

  async putObject(input: PutObjectInput): Promise<WriteResult> {
    this.#requireBucket(input.bucket);
    await this.#refuseWhenFull();
    const written = await this.#writeBody(input.body, MAX_PUT_OBJECT_BYTES);
    const res = await this.#propose({
      type: "PutObject",
      bucket: input.bucket,
      key: input.key,
      size: written.size,
      etag: written.md5Hex,
      meta: toManifestMeta(input.metadata, written.checksums, "FULL_OBJECT"),
      lastModifiedMs: this.#now(),
      chunks: written.chunks,
      ...preconditionFields(input.precondition),
    });
    return writeResult(res, written.size, written.checksums, "FULL_OBJECT");
  }

  async getObject(input: ObjectReadInput): Promise<ObjectHandle> {
    await this.#barrier(input.consistency);
    this.#requireBucket(input.bucket);
    const obj = this.#m.getObject(input.bucket, input.key);
    if (!obj) throw new ServiceError("NoSuchKey");
    const reader = this.#engine.reader;
    const opts = (range?: ByteRange) =>
      range ? { range: { start: range.start, end: range.endInclusive + 1 } } : {};
    return {
      info: this.#withPartRange(toObjectInfo(obj), input),
      read: (range?: ByteRange) => mapStorageErrors(reader.read(obj.chunks, opts(range))),
      // The HTTP layer releases each buffer in its socket write's callback; the reader recycles it.
      readLeased: (range?: ByteRange) => mapStorageErrors(reader.readLeased(obj.chunks, opts(range))),
    };
  }

  async headObject(input: ObjectReadInput): Promise<ObjectInfo> {
    await this.#barrier(input.consistency);
    this.#requireBucket(input.bucket);
    const head = this.#m.headObject(input.bucket, input.key);
    if (!head) throw new ServiceError("NoSuchKey");
    return this.#withPartRange(toObjectInfo(head), input);
  }

  /** `?partNumber=N` of a multipart object with recorded parts: the part's byte range. */
  #withPartRange(info: ObjectInfo, input: ObjectReadInput): ObjectInfo {
    const n = input.partNumber;
    if (n === undefined || info.partsCount === undefined || n > info.partsCount) return info;
    const parts = this.#m.getObjectParts(input.bucket, input.key);
    if (parts === undefined) return info;
    let start = 0;
    for (const p of parts) {
      if (p.partNumber === n) {
        return p.size === 0 ? info : { ...info, partRange: { start, endInclusive: start + p.size - 1 } };
      }
      start += p.size;
    }
    return info;
  }

  async deleteObject(input: ObjectRef): Promise<void> {
    await this.#propose({ type: "DeleteObject", bucket: input.bucket, key: input.key, atMs: this.#now() });
  }

  async deleteObjects(input: { bucket: string; keys: string[] }): Promise<DeleteOutcome[]> {
    await this.#propose({ type: "DeleteObjects", bucket: input.bucket, keys: input.keys, atMs: this.#now() });
    return input.keys.map((key) => ({ key }));
  }

  async copyObject(input: CopyObjectInput): Promise<WriteResult> {
    await this.#refuseWhenFull();
    // Read the source after a barrier and re-reference its chunks in one PutObject: no data moves.
    // The destination preconditions are enforced atomically by apply.
    await this.#barrier("linearizable");
    this.#requireBucket(input.bucket);
    const src = this.#source(input.source);
    const checksums = (src.meta.checksums ?? {}) as Checksums;
    // REPLACE swaps the metadata only: checksums and the part count describe the data, which is the same.
    const meta: ObjectMeta = input.metadata
      ? {
          ...toManifestMeta(input.metadata, checksums, src.meta.checksumType ?? "FULL_OBJECT"),
          ...(src.meta.partsCount !== undefined ? { partsCount: src.meta.partsCount } : {}),
        }
      : src.meta;
    // The copy keeps a multipart source's parts (PutObject carries them only once every member
    // knows the field: feature level ≥ 1).
    const parts =
      this.#m.featureLevel() >= FEATURES.objectParts
        ? this.#m.getObjectParts(input.source.bucket, input.source.key)
        : undefined;
    const res = await this.#propose({
      type: "PutObject",
      bucket: input.bucket,
      key: input.key,
      size: src.size,
      etag: src.etag,
      meta,
      lastModifiedMs: this.#now(),
      chunks: src.chunks,
      ...preconditionFields(input.precondition),
      ...(parts === undefined ? {} : { parts }),
    });
    return writeResult(res, src.size, checksums, meta.checksumType);
  }

  async listObjects(input: ListObjectsInput): Promise<ListObjectsResult> {
    await this.#barrier(input.consistency);
    this.#requireBucket(input.bucket);
    const page = this.#m.listObjects({
      bucket: input.bucket,
      prefix: input.prefix,
      ...(input.delimiter ? { delimiter: input.delimiter } : {}),
      ...(input.startAfter !== undefined ? { startAfter: input.startAfter } : {}),
      maxKeys: input.maxKeys,
    });
    const entries: ListEntry[] = [
      ...page.contents.map(
        (o): ListEntry => ({
          type: "object",
          object: { key: o.key, sizeBytes: o.size, etag: o.etag, lastModifiedMs: o.lastModifiedMs },
        }),
      ),
      ...page.commonPrefixes.map((prefix): ListEntry => ({ type: "prefix", prefix })),
    ];
    entries.sort((a, b) => Buffer.compare(Buffer.from(entryKey(a)), Buffer.from(entryKey(b))));
    return { entries, isTruncated: page.isTruncated };
  }

  // ── multipart ───────────────────────────────────────────────────────────────────────────

  async createMultipartUpload(input: CreateMultipartUploadInput): Promise<{ uploadId: string }> {
    await this.#refuseWhenFull();
    const uploadId = randomBytes(16).toString("base64url");
    const meta: ObjectMeta = {
      ...toManifestMeta(input.metadata, {}, undefined),
      ...(input.checksumAlgorithm ? { checksumAlgorithm: input.checksumAlgorithm } : {}),
    };
    await this.#propose({
      type: "CreateMultipartUpload",
      uploadId,
      bucket: input.bucket,
      key: input.key,
      meta,
      initiatedAtMs: this.#now(),
    });
    return { uploadId };
  }

  async uploadPart(input: UploadPartInput): Promise<WriteResult> {
    this.#upload(input);
    await this.#refuseWhenFull();
    const written = await this.#writeBody(input.body, MAX_PART_SIZE_BYTES);
    const lastModifiedMs = this.#now();
    await this.#propose({
      type: "PutPart",
      uploadId: input.uploadId,
      partNumber: input.partNumber,
      size: written.size,
      etag: written.md5Hex,
      ...(Object.keys(written.checksums).length ? { checksums: written.checksums } : {}),
      lastModifiedMs,
      chunks: written.chunks,
    });
    return { etag: written.md5Hex, sizeBytes: written.size, lastModifiedMs, checksums: written.checksums };
  }

  async uploadPartCopy(input: UploadPartCopyInput): Promise<WriteResult> {
    await this.#refuseWhenFull();
    await this.#barrier("linearizable");
    const upload = this.#upload(input);
    const src = this.#source(input.source);
    // The part's bytes are re-chunked (a range rarely starts on a chunk boundary) but chunks that
    // match stored ones are not uploaded again.
    const range = input.range ? { start: input.range.start, end: input.range.endInclusive + 1 } : undefined;
    const plain = mapStorageErrors(this.#engine.reader.read(src.chunks, range ? { range } : {}));
    // An upload created with a checksum algorithm needs every part's checksum (CompleteMultipartUpload
    // builds the COMPOSITE value from them), copied parts included.
    const algorithm = upload.meta.checksumAlgorithm;
    const hasher = algorithm ? createChecksumHasher(algorithm) : undefined;
    const written = await this.#engine.writer
      .write(hasher ? hashing(plain, hasher) : plain)
      .catch((err: unknown) => {
        throw mapStorageError(err);
      });
    this.#onWrite?.(written);
    const checksums: Checksums =
      algorithm && hasher ? { [algorithm]: hasher.digest().toString("base64") } : {};
    const lastModifiedMs = this.#now();
    await this.#propose({
      type: "PutPart",
      uploadId: input.uploadId,
      partNumber: input.partNumber,
      size: written.size,
      etag: written.md5Hex,
      ...(algorithm ? { checksums } : {}),
      lastModifiedMs,
      chunks: written.chunks,
    });
    return { etag: written.md5Hex, sizeBytes: written.size, lastModifiedMs, checksums };
  }

  async listParts(input: ListPartsInput): Promise<ListPartsResult> {
    await this.#barrier("linearizable");
    const upload = this.#upload(input);
    const page = this.#m.listParts(input.uploadId, {
      partNumberMarker: input.partNumberMarker,
      maxParts: input.maxParts,
    });
    return {
      upload: toUploadInfo(upload),
      parts: page.parts.map((p) => ({
        partNumber: p.partNumber,
        etag: p.etag,
        sizeBytes: p.size,
        lastModifiedMs: p.lastModifiedMs,
        checksums: (p.checksums ?? {}) as Checksums,
      })),
      isTruncated: page.isTruncated,
    };
  }

  async listMultipartUploads(input: ListUploadsInput): Promise<ListUploadsResult> {
    await this.#barrier("linearizable");
    this.#requireBucket(input.bucket);
    const page = this.#m.listMultipartUploads({
      bucket: input.bucket,
      prefix: input.prefix,
      ...(input.delimiter ? { delimiter: input.delimiter } : {}),
      ...(input.keyMarker !== undefined ? { keyMarker: input.keyMarker } : {}),
      ...(input.uploadIdMarker !== undefined ? { uploadIdMarker: input.uploadIdMarker } : {}),
      maxUploads: input.maxUploads,
    });
    const entries = [
      ...page.uploads.map((u) => ({ type: "upload" as const, upload: toUploadInfo(u) })),
      ...page.commonPrefixes.map((prefix) => ({ type: "prefix" as const, prefix })),
    ];
    const keyOf = (e: (typeof entries)[number]) => (e.type === "upload" ? e.upload.key : e.prefix);
    entries.sort((a, b) => Buffer.compare(Buffer.from(keyOf(a)), Buffer.from(keyOf(b))));
    return { entries, isTruncated: page.isTruncated };
  }

  async completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<WriteResult> {
    await this.#barrier("linearizable");
    const upload = this.#upload(input);
    const stored = new Map(
      this.#m.listParts(input.uploadId, { maxParts: 10_000 }).parts.map((p) => [p.partNumber, p]),
    );
    let size = 0;
    const algorithm = upload.meta.checksumAlgorithm;
    const partChecksums: string[] = [];
    for (const ref of input.parts) {
      const part = stored.get(ref.partNumber);
      if (!part) throw new ServiceError("InvalidPart", `part ${ref.partNumber} was not uploaded`);
      for (const [alg, value] of Object.entries(ref.checksums)) {
        if ((part.checksums as Checksums | undefined)?.[alg as keyof Checksums] !== value) {
          throw new ServiceError("InvalidPart", `part ${ref.partNumber}: ${alg} checksum differs`);
        }
      }
      if (algorithm) {
        const v = (part.checksums as Checksums | undefined)?.[algorithm];
        if (v === undefined)
          throw new ServiceError("InvalidPart", `part ${ref.partNumber} has no ${algorithm} checksum`);
        partChecksums.push(v);
      }
      size += part.size;
    }
    if (size > MAX_OBJECT_BYTES) throw new ServiceError("EntityTooLarge");
    const checksums: Checksums = algorithm
      ? { [algorithm]: compositeChecksum(algorithm, partChecksums) }
      : {};
    const res = await this.#propose({
      type: "CompleteMultipartUpload",
      uploadId: input.uploadId,
      parts: input.parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      lastModifiedMs: this.#now(),
      ...(algorithm ? { checksums, checksumType: "COMPOSITE" as const } : {}),
      ...preconditionFields(input.precondition),
    });
    return writeResult(res, size, checksums, algorithm ? "COMPOSITE" : undefined);
  }

  async abortMultipartUpload(input: UploadRef): Promise<void> {
    this.#upload(input);
    await this.#propose({ type: "AbortMultipartUpload", uploadId: input.uploadId, atMs: this.#now() });
  }

  // ── helpers ─────────────────────────────────────────────────────────────────────────────

  get #m() {
    return this.#engine.manifest;
  }

  async #barrier(consistency: ReadConsistency): Promise<void> {
    if (consistency === "local") return;
    try {
      await this.#engine.committer.readBarrier();
    } catch (err) {
      throw new ServiceError("Unavailable", "no leader to confirm the read", { cause: err });
    }
  }

  /**
   * Writes that add data or objects are refused (507) while the data dir's filesystem is below its
   * reserve (`[raft] min_free_space`), so the Raft log, the manifest and snapshots keep room and
   * deletes, aborts, completions and GC still commit. Not checked: those, and reads.
   */
  async #refuseWhenFull(): Promise<void> {
    const short = await this.#metadataSpace?.admit(0);
    if (short)
      throw new ServiceError(
        "InsufficientStorage",
        `${short.availableBytes} bytes free under the data dir, below its ${short.reserveBytes}-byte reserve ([raft] min_free_space)`,
      );
  }

  async #propose(command: Command): Promise<Applied> {
    let res: ApplyResult;
    try {
      res = await this.#engine.committer.propose(command);
    } catch (err) {
      // A full disk under the Raft log or the manifest: say so (507), not "try again later".
      if (isDiskFull(err))
        throw new ServiceError("InsufficientStorage", "the metadata commit hit a full disk", { cause: err });
      throw new ServiceError("Unavailable", "the metadata commit did not complete", { cause: err });
    }
    if (!res.ok) throw refusal(res);
    return res;
  }

  #requireBucket(bucket: string): void {
    if (!this.#m.getBucket(bucket)) throw new ServiceError("NoSuchBucket");
  }

  #upload(ref: UploadRef) {
    this.#requireBucket(ref.bucket);
    const u = this.#m.getUpload(ref.uploadId);
    if (!u || u.bucket !== ref.bucket || u.key !== ref.key) throw new ServiceError("NoSuchUpload");
    return u;
  }

  #source(source: ObjectRef & { ifMatch?: string }) {
    if (!this.#m.getBucket(source.bucket))
      throw new ServiceError("NoSuchBucket", "source bucket does not exist");
    const src = this.#m.getObject(source.bucket, source.key);
    if (!src) throw new ServiceError("NoSuchKey", "source object does not exist");
    if (source.ifMatch !== undefined && source.ifMatch !== src.etag)
      throw new ServiceError("PreconditionFailed");
    return src;
  }

  /** Streams a verified request body through the pipeline; nothing is committed here. */
  async #writeBody(body: RequestBody, maxBytes: number) {
    if (body.declaredLengthBytes !== undefined && body.declaredLengthBytes > maxBytes) {
      throw new ServiceError("EntityTooLarge");
    }
    // The pipeline computes the MD5 (ETag) on a seal worker, which sees every byte anyway; the S3
    // layer then checks Content-MD5 against it. A body that cannot delegate hashes it itself.
    const completeMd5 = body.delegateMd5?.();
    const written = await this.#engine.writer.write(limitBody(body, maxBytes)).catch((err: unknown) => {
      throw mapStorageError(err);
    });
    // Nothing is committed yet: a Content-MD5 mismatch (BadDigest) leaves only unreferenced chunks.
    completeMd5?.(Buffer.from(written.md5Hex, "hex"));
    this.#onWrite?.(written);
    // Only valid after the body iterated to the end without throwing (payload hash, trailer, MD5).
    const digests = body.digests();
    if (completeMd5 === undefined && digests.md5Hex !== written.md5Hex)
      throw new Error("object service invariant: body and pipeline MD5 differ");
    return { ...written, checksums: digests.checksums };
  }
}

function hashing(src: AsyncIterable<Buffer>, hasher: ChecksumHasher): AsyncIterable<Buffer> {
  return tapPieces(src, (b) => {
    hasher.update(b);
  });
}

function limitBody(body: AsyncIterable<Buffer>, maxBytes: number): AsyncIterable<Buffer> {
  let n = 0;
  return tapPieces(body, (b) => {
    n += b.length;
    if (n > maxBytes) throw new ServiceError("EntityTooLarge");
  });
}

function entryKey(e: ListEntry): string {
  return e.type === "object" ? e.object.key : e.prefix;
}

function preconditionFields(p: WritePrecondition): { ifNoneMatch?: boolean; ifMatch?: string } {
  return {
    ...(p.ifNoneMatch === "*" ? { ifNoneMatch: true } : {}),
    ...(p.ifMatch !== undefined ? { ifMatch: p.ifMatch } : {}),
  };
}

type Applied = Extract<ApplyResult, { ok: true }>;

function refusal(res: Extract<ApplyResult, { ok: false }>): Error {
  const code = REFUSAL_TO_SERVICE[res.code];
  if (code) return new ServiceError(code, res.message);
  return new Error(`manifest refused ${res.code}: ${res.message}`);
}

function writeResult(
  res: Applied,
  size: number,
  checksums: Checksums,
  checksumType: "FULL_OBJECT" | "COMPOSITE" | undefined,
): WriteResult {
  return {
    etag: res.etag ?? "",
    sizeBytes: size,
    lastModifiedMs: res.lastModifiedMs ?? 0,
    checksums,
    ...(checksumType && Object.keys(checksums).length ? { checksumType } : {}),
  };
}

function toManifestMeta(
  m: ObjectMetadata,
  checksums: Checksums,
  checksumType: "FULL_OBJECT" | "COMPOSITE" | undefined,
): ObjectMeta {
  const hasChecksums = Object.keys(checksums).length > 0;
  return {
    ...(m.contentType !== undefined ? { contentType: m.contentType } : {}),
    ...(m.contentEncoding !== undefined ? { contentEncoding: m.contentEncoding } : {}),
    ...(m.contentDisposition !== undefined ? { contentDisposition: m.contentDisposition } : {}),
    ...(m.contentLanguage !== undefined ? { contentLanguage: m.contentLanguage } : {}),
    ...(m.cacheControl !== undefined ? { cacheControl: m.cacheControl } : {}),
    ...(m.expires !== undefined ? { expires: m.expires } : {}),
    ...(Object.keys(m.userMetadata).length ? { userMeta: m.userMetadata } : {}),
    ...(hasChecksums ? { checksums } : {}),
    ...(hasChecksums && checksumType ? { checksumType } : {}),
  };
}

function toMetadata(m: ObjectMeta): ObjectMetadata {
  return {
    ...(m.contentType !== undefined ? { contentType: m.contentType } : {}),
    ...(m.contentEncoding !== undefined ? { contentEncoding: m.contentEncoding } : {}),
    ...(m.contentDisposition !== undefined ? { contentDisposition: m.contentDisposition } : {}),
    ...(m.contentLanguage !== undefined ? { contentLanguage: m.contentLanguage } : {}),
    ...(m.cacheControl !== undefined ? { cacheControl: m.cacheControl } : {}),
    ...(m.expires !== undefined ? { expires: m.expires } : {}),
    userMetadata: { ...(m.userMeta ?? {}) },
  };
}

function toObjectInfo(o: ObjectHeadInfo): ObjectInfo {
  const checksums = { ...(o.meta.checksums ?? {}) } as Checksums;
  return {
    key: o.key,
    sizeBytes: o.size,
    etag: o.etag,
    lastModifiedMs: o.lastModifiedMs,
    metadata: toMetadata(o.meta),
    checksums,
    ...(Object.keys(checksums).length ? { checksumType: o.meta.checksumType ?? "FULL_OBJECT" } : {}),
    ...(o.meta.partsCount !== undefined ? { partsCount: o.meta.partsCount } : {}),
  };
}

function toUploadInfo(u: {
  uploadId: string;
  key: string;
  meta: ObjectMeta;
  initiatedAtMs: number;
}): UploadInfo {
  return {
    key: u.key,
    uploadId: u.uploadId,
    initiatedMs: u.initiatedAtMs,
    metadata: toMetadata(u.meta),
    ...(u.meta.checksumAlgorithm ? { checksumAlgorithm: u.meta.checksumAlgorithm } : {}),
  };
}

function mapStorageError(err: unknown): unknown {
  if (err instanceof StorageError) {
    if (err.code === "NoSpace") return new ServiceError("InsufficientStorage", err.message, { cause: err });
    if (err.code === "Throttled") return new ServiceError("SlowDown", err.message, { cause: err });
    if (err.code === "Unavailable" || err.code === "Timeout") {
      return new ServiceError("Unavailable", err.message, { cause: err });
    }
  }
  return err;
}

async function* mapStorageErrors<T>(src: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* src;
  } catch (err) {
    throw mapStorageError(err);
  }
}
