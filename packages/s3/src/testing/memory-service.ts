/**
 * TEST DOUBLE. An in-memory ObjectService with the contract of the real one (packages/server):
 * objects are stored as chunk lists so range reads touch only overlapping chunks, copies share chunks
 * (dedup), listing seeks past common prefixes, and conditional writes are checked at commit. Counters
 * (`stats`) let tests assert the costs. Not for production: no durability, no limits on memory.
 */
import { createHash, randomBytes } from "node:crypto";
import { createChecksumHasher } from "../checksums/hasher.js";
import { compositeChecksum, multipartEtag } from "../checksums/multipart.js";
import { compareKeys } from "../key-order.js";
import { MAX_OBJECT_BYTES, MAX_PART_SIZE_BYTES, MIN_PART_SIZE_BYTES } from "../limits.js";
import {
  type BucketInfo,
  type ByteRange,
  type Checksums,
  type CompleteMultipartUploadInput,
  type CopyObjectInput,
  type CreateMultipartUploadInput,
  type DeleteOutcome,
  type ListEntry,
  type ListObjectsInput,
  type ListObjectsResult,
  type ListPartsInput,
  type ListPartsResult,
  type ListUploadsInput,
  type ListUploadsResult,
  type ObjectHandle,
  type ObjectInfo,
  type ObjectReadInput,
  type ObjectRef,
  type ObjectService,
  type PartInfo,
  type PutObjectInput,
  type ReadConsistency,
  type RequestBody,
  ServiceError,
  type UploadInfo,
  type UploadListEntry,
  type UploadPartCopyInput,
  type UploadPartInput,
  type UploadRef,
  type WritePrecondition,
  type WriteResult,
} from "../port.js";

interface StoredObject {
  info: ObjectInfo;
  chunks: Buffer[];
  /** Multipart objects: each part's size, in order. */
  partSizes?: number[];
}

function withPartRange(stored: StoredObject, partNumber: number | undefined): ObjectInfo {
  const sizes = stored.partSizes;
  if (partNumber === undefined || sizes === undefined || partNumber > sizes.length) return stored.info;
  const start = sizes.slice(0, partNumber - 1).reduce((a, b) => a + b, 0);
  const size = sizes[partNumber - 1] ?? 0;
  return size === 0 ? stored.info : { ...stored.info, partRange: { start, endInclusive: start + size - 1 } };
}

interface StoredPart {
  info: PartInfo;
  chunks: Buffer[];
}

interface StoredUpload {
  info: UploadInfo;
  parts: Map<number, StoredPart>;
}

interface StoredBucket {
  createdMs: number;
  objects: Map<string, StoredObject>;
  /** Keys in byte order, for seeking. */
  sortedKeys: string[];
  uploads: Map<string, StoredUpload>;
}

export interface MemoryServiceOptions {
  /** Chunk size for stored data (the real pipeline uses FastCDC; fixed here). Default 1 MiB. */
  chunkSizeBytes?: number;
  /** Minimum size of non-last parts. Default MIN_PART_SIZE_BYTES (5 MiB), as in S3. */
  minPartSizeBytes?: number;
  clock?: () => number;
}

/** First index i in sorted `keys` with pred(keys[i]) true; pred must be monotone (false… true…). */
function searchFirst(keys: readonly string[], pred: (key: string) => boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(keys[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function chunkRange(chunks: readonly Buffer[], range: ByteRange | undefined, onChunkRead: () => void) {
  return (async function* () {
    let offset = 0;
    for (const chunk of chunks) {
      const chunkStart = offset;
      offset += chunk.length;
      if (range === undefined) {
        onChunkRead();
        yield chunk;
        continue;
      }
      if (offset <= range.start) continue;
      if (chunkStart > range.endInclusive) return;
      onChunkRead();
      const from = Math.max(0, range.start - chunkStart);
      const to = Math.min(chunk.length, range.endInclusive + 1 - chunkStart);
      yield chunk.subarray(from, to);
    }
  })();
}

function sliceChunks(chunks: readonly Buffer[], range: ByteRange | undefined): Buffer[] {
  if (range === undefined) return [...chunks];
  const out: Buffer[] = [];
  let offset = 0;
  for (const chunk of chunks) {
    const chunkStart = offset;
    offset += chunk.length;
    if (offset <= range.start || chunkStart > range.endInclusive) continue;
    out.push(
      chunk.subarray(
        Math.max(0, range.start - chunkStart),
        Math.min(chunk.length, range.endInclusive + 1 - chunkStart),
      ),
    );
  }
  return out;
}

export class MemoryObjectService implements ObjectService {
  readonly stats = { chunkReads: 0, listKeysVisited: 0, putCommits: 0, aborted: 0 };
  private readonly buckets = new Map<string, StoredBucket>();
  private readonly chunkSizeBytes: number;
  private readonly minPartSizeBytes: number;
  private readonly clock: () => number;
  private readonly faults = new Map<string, Error>();
  private uploadCounter = 0;
  private lastMs = 0;

  constructor(options: MemoryServiceOptions = {}) {
    this.chunkSizeBytes = options.chunkSizeBytes ?? 1024 * 1024;
    this.minPartSizeBytes = options.minPartSizeBytes ?? MIN_PART_SIZE_BYTES;
    this.clock = options.clock ?? Date.now;
  }

  /** The next call of `operation` (a method name) throws `error` (tests: Unavailable, crashes). */
  injectFault(operation: keyof ObjectService, error: Error): void {
    this.faults.set(operation, error);
  }

  /** Test inspection: the stored object, or undefined. */
  peek(bucket: string, key: string): { info: ObjectInfo; data: Buffer; chunkSizes: number[] } | undefined {
    const stored = this.buckets.get(bucket)?.objects.get(key);
    return stored === undefined
      ? undefined
      : {
          info: stored.info,
          data: Buffer.concat(stored.chunks),
          chunkSizes: stored.chunks.map((c) => c.length),
        };
  }

  /** Test setup without HTTP: stores `data` under `key` (the bucket must exist). */
  seed(bucket: string, key: string, data: Buffer | string): void {
    const stored = this.bucket(bucket);
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    const info: ObjectInfo = {
      key,
      sizeBytes: bytes.length,
      etag: createHash("md5").update(bytes).digest("hex"),
      lastModifiedMs: this.now(),
      metadata: { userMetadata: {} },
      checksums: {},
    };
    this.commit(stored, { info, chunks: bytes.length === 0 ? [] : [bytes] });
  }

  objectCount(bucket: string): number {
    return this.buckets.get(bucket)?.objects.size ?? 0;
  }

  private fault(operation: keyof ObjectService): void {
    const error = this.faults.get(operation);
    if (error !== undefined) {
      this.faults.delete(operation);
      throw error;
    }
  }

  /** Strictly increasing timestamps, like a proposer would pick. */
  private now(): number {
    this.lastMs = Math.max(this.clock(), this.lastMs + 1);
    return this.lastMs;
  }

  private bucket(name: string): StoredBucket {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) throw new ServiceError("NoSuchBucket");
    return bucket;
  }

  private object(ref: ObjectRef): StoredObject {
    const stored = this.bucket(ref.bucket).objects.get(ref.key);
    if (stored === undefined) throw new ServiceError("NoSuchKey");
    return stored;
  }

  private upload(ref: UploadRef): StoredUpload {
    const upload = this.bucket(ref.bucket).uploads.get(ref.uploadId);
    if (upload === undefined || upload.info.key !== ref.key) throw new ServiceError("NoSuchUpload");
    return upload;
  }

  /** Consumes a body into fixed-size chunks; rethrows the body's failure (and then commits nothing). */
  private async ingest(body: RequestBody, maxBytes: number): Promise<Buffer[]> {
    const chunks: Buffer[] = [];
    let current: Buffer[] = [];
    let currentBytes = 0;
    let total = 0;
    try {
      for await (const piece of body) {
        total += piece.length;
        if (total > maxBytes) throw new ServiceError("EntityTooLarge");
        let rest = piece;
        while (rest.length > 0) {
          const take = Math.min(rest.length, this.chunkSizeBytes - currentBytes);
          current.push(Buffer.from(rest.subarray(0, take)));
          currentBytes += take;
          rest = rest.subarray(take);
          if (currentBytes === this.chunkSizeBytes) {
            chunks.push(Buffer.concat(current));
            current = [];
            currentBytes = 0;
          }
        }
      }
    } catch (err) {
      this.stats.aborted++;
      throw err;
    }
    if (currentBytes > 0) chunks.push(Buffer.concat(current));
    return chunks;
  }

  private checkPrecondition(bucket: StoredBucket, key: string, precondition: WritePrecondition): void {
    const current = bucket.objects.get(key);
    if (precondition.ifNoneMatch === "*" && current !== undefined)
      throw new ServiceError("PreconditionFailed");
    if (precondition.ifMatch !== undefined) {
      if (current === undefined) throw new ServiceError("NoSuchKey");
      if (precondition.ifMatch !== "*" && precondition.ifMatch !== current.info.etag) {
        throw new ServiceError("PreconditionFailed");
      }
    }
  }

  private commit(bucket: StoredBucket, stored: StoredObject): void {
    if (!bucket.objects.has(stored.info.key)) {
      const index = searchFirst(bucket.sortedKeys, (k) => compareKeys(k, stored.info.key) > 0);
      bucket.sortedKeys.splice(index, 0, stored.info.key);
    }
    bucket.objects.set(stored.info.key, stored);
    this.stats.putCommits++;
  }

  private remove(bucket: StoredBucket, key: string): void {
    if (!bucket.objects.delete(key)) return;
    const index = searchFirst(bucket.sortedKeys, (k) => compareKeys(k, key) >= 0);
    bucket.sortedKeys.splice(index, 1);
  }

  async listBuckets(): Promise<BucketInfo[]> {
    this.fault("listBuckets");
    return [...this.buckets]
      .map(([name, b]) => ({ name, createdMs: b.createdMs }))
      .sort((a, b) => compareKeys(a.name, b.name));
  }

  async createBucket(input: { bucket: string }): Promise<void> {
    this.fault("createBucket");
    if (this.buckets.has(input.bucket)) throw new ServiceError("BucketAlreadyOwnedByYou");
    this.buckets.set(input.bucket, {
      createdMs: this.now(),
      objects: new Map(),
      sortedKeys: [],
      uploads: new Map(),
    });
  }

  async deleteBucket(input: { bucket: string }): Promise<void> {
    this.fault("deleteBucket");
    const bucket = this.bucket(input.bucket);
    if (bucket.objects.size > 0 || bucket.uploads.size > 0) throw new ServiceError("BucketNotEmpty");
    this.buckets.delete(input.bucket);
  }

  async headBucket(input: { bucket: string; consistency: ReadConsistency }): Promise<BucketInfo> {
    this.fault("headBucket");
    return { name: input.bucket, createdMs: this.bucket(input.bucket).createdMs };
  }

  async putObject(input: PutObjectInput): Promise<WriteResult> {
    this.fault("putObject");
    this.bucket(input.bucket);
    const chunks = await this.ingest(input.body, Number.MAX_SAFE_INTEGER);
    const digests = input.body.digests();
    // Everything from here to commit is synchronous: the precondition check and the write are atomic.
    const bucket = this.bucket(input.bucket);
    this.checkPrecondition(bucket, input.key, input.precondition);
    const info: ObjectInfo = {
      key: input.key,
      sizeBytes: digests.sizeBytes,
      etag: digests.md5Hex,
      lastModifiedMs: this.now(),
      metadata: input.metadata,
      checksums: digests.checksums,
      ...(Object.keys(digests.checksums).length > 0 ? { checksumType: "FULL_OBJECT" as const } : {}),
    };
    this.commit(bucket, { info, chunks });
    return {
      etag: info.etag,
      sizeBytes: info.sizeBytes,
      lastModifiedMs: info.lastModifiedMs,
      checksums: info.checksums,
    };
  }

  async getObject(input: ObjectReadInput): Promise<ObjectHandle> {
    this.fault("getObject");
    const stored = this.object(input);
    return {
      info: withPartRange(stored, input.partNumber),
      read: (range) =>
        chunkRange(stored.chunks, range, () => {
          this.stats.chunkReads++;
        }),
    };
  }

  async headObject(input: ObjectReadInput): Promise<ObjectInfo> {
    this.fault("headObject");
    return withPartRange(this.object(input), input.partNumber);
  }

  async deleteObject(input: ObjectRef): Promise<void> {
    this.fault("deleteObject");
    this.remove(this.bucket(input.bucket), input.key);
  }

  async deleteObjects(input: { bucket: string; keys: string[] }): Promise<DeleteOutcome[]> {
    this.fault("deleteObjects");
    const bucket = this.bucket(input.bucket);
    return input.keys.map((key) => {
      this.remove(bucket, key);
      return { key };
    });
  }

  async copyObject(input: CopyObjectInput): Promise<WriteResult> {
    this.fault("copyObject");
    const source = this.object(input.source);
    if (input.source.ifMatch !== undefined && input.source.ifMatch !== source.info.etag) {
      throw new ServiceError("PreconditionFailed");
    }
    const bucket = this.bucket(input.bucket);
    this.checkPrecondition(bucket, input.key, input.precondition);
    const info: ObjectInfo = {
      ...source.info,
      key: input.key,
      lastModifiedMs: this.now(),
      metadata: input.metadata ?? source.info.metadata,
    };
    // Dedup: the copy references the same chunks; no data moves.
    this.commit(bucket, {
      info,
      chunks: source.chunks,
      ...(source.partSizes === undefined ? {} : { partSizes: source.partSizes }),
    });
    return {
      etag: info.etag,
      sizeBytes: info.sizeBytes,
      lastModifiedMs: info.lastModifiedMs,
      checksums: info.checksums,
      ...(info.checksumType === undefined ? {} : { checksumType: info.checksumType }),
    };
  }

  async listObjects(input: ListObjectsInput): Promise<ListObjectsResult> {
    this.fault("listObjects");
    const keys = this.bucket(input.bucket).sortedKeys;
    const { entries, isTruncated } = this.walk(
      keys,
      input.prefix,
      input.delimiter,
      input.startAfter,
      input.maxKeys,
    );
    const bucket = this.bucket(input.bucket);
    return {
      entries: entries.map((e): ListEntry => {
        if (e.type === "prefix") return e;
        const info = bucket.objects.get(e.key)!.info;
        return {
          type: "object",
          object: {
            key: info.key,
            sizeBytes: info.sizeBytes,
            etag: info.etag,
            lastModifiedMs: info.lastModifiedMs,
          },
        };
      }),
      isTruncated,
    };
  }

  /**
   * The listing walk shared by objects and uploads: start after `startAfter` (or at `prefix`), emit
   * keys and common prefixes, and jump over each common prefix with one binary search.
   */
  private walk(
    keys: readonly string[],
    prefix: string,
    delimiter: string | undefined,
    startAfter: string | undefined,
    maxEntries: number,
  ): {
    entries: ({ type: "object"; key: string } | { type: "prefix"; prefix: string })[];
    isTruncated: boolean;
  } {
    const entries: ({ type: "object"; key: string } | { type: "prefix"; prefix: string })[] = [];
    let i = searchFirst(keys, (k) => compareKeys(k, prefix) >= 0);
    if (startAfter !== undefined)
      i = Math.max(
        i,
        searchFirst(keys, (k) => compareKeys(k, startAfter) > 0),
      );
    while (i < keys.length) {
      const key = keys[i]!;
      this.stats.listKeysVisited++;
      if (!key.startsWith(prefix)) break;
      const cut = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const common = key.slice(0, cut + delimiter!.length);
        if (startAfter === undefined || compareKeys(common, startAfter) > 0) {
          if (entries.length === maxEntries) return { entries, isTruncated: true };
          entries.push({ type: "prefix", prefix: common });
        }
        // Seek: the first key that is past every key starting with `common`.
        i = searchFirst(keys, (k) => compareKeys(k, common) > 0 && !k.startsWith(common));
        continue;
      }
      if (entries.length === maxEntries) return { entries, isTruncated: true };
      entries.push({ type: "object", key });
      i++;
    }
    return { entries, isTruncated: false };
  }

  async createMultipartUpload(input: CreateMultipartUploadInput): Promise<{ uploadId: string }> {
    this.fault("createMultipartUpload");
    const bucket = this.bucket(input.bucket);
    this.uploadCounter++;
    const uploadId = `${String(this.uploadCounter).padStart(8, "0")}-${randomBytes(8).toString("hex")}`;
    const info: UploadInfo = {
      key: input.key,
      uploadId,
      initiatedMs: this.now(),
      metadata: input.metadata,
      ...(input.checksumAlgorithm === undefined ? {} : { checksumAlgorithm: input.checksumAlgorithm }),
    };
    bucket.uploads.set(uploadId, { info, parts: new Map() });
    return { uploadId };
  }

  async uploadPart(input: UploadPartInput): Promise<WriteResult> {
    this.fault("uploadPart");
    this.upload(input);
    const chunks = await this.ingest(input.body, MAX_PART_SIZE_BYTES);
    const digests = input.body.digests();
    const upload = this.upload(input);
    const info: PartInfo = {
      partNumber: input.partNumber,
      etag: digests.md5Hex,
      sizeBytes: digests.sizeBytes,
      lastModifiedMs: this.now(),
      checksums: digests.checksums,
    };
    upload.parts.set(input.partNumber, { info, chunks });
    return {
      etag: info.etag,
      sizeBytes: info.sizeBytes,
      lastModifiedMs: info.lastModifiedMs,
      checksums: info.checksums,
    };
  }

  async uploadPartCopy(input: UploadPartCopyInput): Promise<WriteResult> {
    this.fault("uploadPartCopy");
    const upload = this.upload(input);
    const source = this.object(input.source);
    if (input.source.ifMatch !== undefined && input.source.ifMatch !== source.info.etag) {
      throw new ServiceError("PreconditionFailed");
    }
    const chunks = sliceChunks(source.chunks, input.range);
    const md5 = createHash("md5");
    for (const c of chunks) md5.update(c);
    const checksums: Checksums = {};
    const algorithm = upload.info.checksumAlgorithm;
    if (algorithm !== undefined) {
      const hasher = createChecksumHasher(algorithm);
      for (const c of chunks) hasher.update(c);
      checksums[algorithm] = hasher.digest().toString("base64");
    }
    const info: PartInfo = {
      partNumber: input.partNumber,
      etag: md5.digest("hex"),
      sizeBytes: chunks.reduce((n, c) => n + c.length, 0),
      lastModifiedMs: this.now(),
      checksums,
    };
    upload.parts.set(input.partNumber, { info, chunks });
    return { etag: info.etag, sizeBytes: info.sizeBytes, lastModifiedMs: info.lastModifiedMs, checksums };
  }

  async listParts(input: ListPartsInput): Promise<ListPartsResult> {
    this.fault("listParts");
    const upload = this.upload(input);
    const all = [...upload.parts.values()]
      .map((p) => p.info)
      .filter((p) => p.partNumber > input.partNumberMarker)
      .sort((a, b) => a.partNumber - b.partNumber);
    return {
      upload: upload.info,
      parts: all.slice(0, input.maxParts),
      isTruncated: all.length > input.maxParts,
    };
  }

  async listMultipartUploads(input: ListUploadsInput): Promise<ListUploadsResult> {
    this.fault("listMultipartUploads");
    const bucket = this.bucket(input.bucket);
    const uploads = [...bucket.uploads.values()]
      .map((u) => u.info)
      .filter((u) => u.key.startsWith(input.prefix))
      .sort((a, b) => compareKeys(a.key, b.key) || compareKeys(a.uploadId, b.uploadId));
    const entries: UploadListEntry[] = [];
    let isTruncated = false;
    let lastPrefix: string | undefined;
    for (const upload of uploads) {
      if (input.keyMarker !== undefined) {
        const order = compareKeys(upload.key, input.keyMarker);
        if (order < 0) continue;
        if (
          order === 0 &&
          (input.uploadIdMarker === undefined || compareKeys(upload.uploadId, input.uploadIdMarker) <= 0)
        ) {
          continue;
        }
      }
      const cut =
        input.delimiter === undefined ? -1 : upload.key.indexOf(input.delimiter, input.prefix.length);
      const entry: UploadListEntry =
        cut >= 0
          ? { type: "prefix", prefix: upload.key.slice(0, cut + input.delimiter!.length) }
          : { type: "upload", upload };
      if (entry.type === "prefix") {
        if (entry.prefix === lastPrefix) continue;
        if (input.keyMarker !== undefined && compareKeys(entry.prefix, input.keyMarker) <= 0) continue;
        lastPrefix = entry.prefix;
      }
      if (entries.length === input.maxUploads) {
        isTruncated = true;
        break;
      }
      entries.push(entry);
    }
    return { entries, isTruncated };
  }

  async completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<WriteResult> {
    this.fault("completeMultipartUpload");
    const bucket = this.bucket(input.bucket);
    const upload = this.upload(input);
    const chosen: StoredPart[] = [];
    for (const [index, ref] of input.parts.entries()) {
      const part = upload.parts.get(ref.partNumber);
      if (part === undefined || part.info.etag !== ref.etag) throw new ServiceError("InvalidPart");
      for (const [algorithm, value] of Object.entries(ref.checksums)) {
        if (part.info.checksums[algorithm as keyof Checksums] !== value)
          throw new ServiceError("InvalidPart");
      }
      if (index < input.parts.length - 1 && part.info.sizeBytes < this.minPartSizeBytes) {
        throw new ServiceError("EntityTooSmall");
      }
      chosen.push(part);
    }
    const sizeBytes = chosen.reduce((n, p) => n + p.info.sizeBytes, 0);
    if (sizeBytes > MAX_OBJECT_BYTES) throw new ServiceError("EntityTooLarge");
    const checksums: Checksums = {};
    const algorithm = upload.info.checksumAlgorithm;
    if (algorithm !== undefined) {
      const values = chosen.map((p) => p.info.checksums[algorithm]);
      if (values.some((v) => v === undefined)) throw new ServiceError("InvalidPart");
      checksums[algorithm] = compositeChecksum(algorithm, values as string[]);
    }
    this.checkPrecondition(bucket, input.key, input.precondition);
    const info: ObjectInfo = {
      key: input.key,
      sizeBytes,
      etag: multipartEtag(chosen.map((p) => p.info.etag)),
      lastModifiedMs: this.now(),
      metadata: upload.info.metadata,
      checksums,
      ...(algorithm === undefined ? {} : { checksumType: "COMPOSITE" as const }),
      partsCount: chosen.length,
    };
    this.commit(bucket, {
      info,
      chunks: chosen.flatMap((p) => p.chunks),
      partSizes: chosen.map((p) => p.info.sizeBytes),
    });
    bucket.uploads.delete(input.uploadId);
    return {
      etag: info.etag,
      sizeBytes,
      lastModifiedMs: info.lastModifiedMs,
      checksums,
      ...(info.checksumType === undefined ? {} : { checksumType: info.checksumType }),
    };
  }

  async abortMultipartUpload(input: UploadRef): Promise<void> {
    this.fault("abortMultipartUpload");
    this.upload(input);
    this.bucket(input.bucket).uploads.delete(input.uploadId);
  }
}
