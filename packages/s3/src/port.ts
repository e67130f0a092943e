/**
 * The port the S3 front end needs: everything it asks of the rest of the gateway. The s3 package
 * depends on nothing of ours; `packages/server` implements this interface over the manifest (through
 * Raft `apply`), the chunk pipeline and the storage backends. `testing/memory-service.ts` is the
 * in-memory test double and follows the same contract.
 *
 * Conventions:
 * - Keys and prefixes are JS strings; ordering everywhere is by their UTF-8 bytes (memcmp), which is
 *   also SQLite's BINARY collation. Not JS `<` (UTF-16 code units), which differs above U+FFFF.
 * - ETags are unquoted (`d41d8cd98f00b204e9800998ecf8427e`, `…-3` for multipart); quoting is HTTP's job.
 * - Times are epoch milliseconds chosen by the service (the Raft proposer), never by apply.
 * - Expected failures are `ServiceError` with a code from the closed union below. Anything else
 *   thrown is reported to the client as a bare `InternalError` (the cause is logged, never sent).
 * - Names and keys arrive validated (bucket naming rules, key ≤ 1024 bytes, no NUL, no `.`/`..`
 *   segments), part numbers are within 1..10000, list limits within 0..1000.
 */

export type ChecksumAlgorithm = "CRC32" | "CRC32C" | "CRC64NVME" | "SHA1" | "SHA256";

/** Base64 checksum values by algorithm. A composite multipart value ends with `-N` (N parts). */
export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;

export type ChecksumType = "FULL_OBJECT" | "COMPOSITE";

/** The standard headers and user metadata stored with an object and returned on GET/HEAD. */
export interface ObjectMetadata {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  /** Stored verbatim (S3 returns what the client sent). */
  expires?: string;
  /** `x-amz-meta-*` headers: names lowercased, prefix removed; values as sent. */
  userMetadata: Record<string, string>;
}

export interface ObjectInfo {
  key: string;
  sizeBytes: number;
  etag: string;
  lastModifiedMs: number;
  metadata: ObjectMetadata;
  checksums: Checksums;
  /** Present when `checksums` is non-empty. */
  checksumType?: ChecksumType;
  /** Number of parts for objects made by CompleteMultipartUpload. */
  partsCount?: number;
  /**
   * Filled when the read asked for `partNumber` of a multipart object whose part boundaries are
   * known (completed at feature level 1 or later) and the part exists: that part's bytes.
   */
  partRange?: ByteRange;
}

export interface ObjectSummary {
  key: string;
  sizeBytes: number;
  etag: string;
  lastModifiedMs: number;
}

export interface BucketInfo {
  name: string;
  createdMs: number;
}

/** What a write returns: the committed object's identity. */
export interface WriteResult {
  etag: string;
  sizeBytes: number;
  lastModifiedMs: number;
  checksums: Checksums;
  checksumType?: ChecksumType;
}

/**
 * A request body, already de-framed (aws-chunked), authenticated and being verified as it streams.
 *
 * CONTRACT for every method that takes one: iterate it to the end, then call `digests()`, then commit.
 * The iterator throws (an S3Error: BadDigest, XAmzContentSHA256Mismatch, SignatureDoesNotMatch,
 * IncompleteBody, EntityTooLarge, …) when the data turns out to be bad — possibly only after the
 * last byte, because a payload hash or trailing checksum can only be checked at the end. When it
 * throws, the service MUST NOT commit anything; it may rethrow any error (the front end reports the
 * body's own failure regardless). Chunks already sent to storage by then are garbage for GC.
 */
export interface RequestBody extends AsyncIterable<Buffer> {
  /** Plaintext length the client declared (Content-Length or x-amz-decoded-content-length). */
  readonly declaredLengthBytes: number | undefined;
  /** Valid only after iteration completed without throwing (and a delegated MD5 was completed); throws otherwise. */
  digests(): BodyDigests;
  /**
   * Optional: the consumer computes the body's MD5 itself (e.g. on a worker thread that sees every
   * byte anyway) instead of the body hashing it on the thread reading the socket. Call before
   * iterating. After iterating to the end, call the returned function with the MD5: it checks
   * Content-MD5 (throwing BadDigest, which also becomes the body's failure) and completes
   * `digests()`.
   */
  delegateMd5?(): (md5: Uint8Array) => void;
}

export interface BodyDigests {
  sizeBytes: number;
  /** MD5 of the plaintext, hex: the object's ETag for a single PUT, the part's ETag for UploadPart. */
  md5Hex: string;
  /** Verified (or computed on request) checksums to store and return with `x-amz-checksum-mode`. */
  checksums: Checksums;
}

/** Conditional write, enforced atomically at commit (against the object current at commit time). */
export interface WritePrecondition {
  /** `If-None-Match: *`: fail with PreconditionFailed if the key exists (Terraform/OpenTofu locks). */
  ifNoneMatch?: "*";
  /** `If-Match: <etag>` (unquoted): fail with PreconditionFailed if the current ETag differs, NoSuchKey if absent. */
  ifMatch?: string;
}

/** `"local"` (header `x-enigma-consistency: local`) allows a possibly stale local read without ReadIndex. */
export type ReadConsistency = "linearizable" | "local";

/** GetObject / HeadObject. */
export interface ObjectReadInput extends ObjectRef {
  consistency: ReadConsistency;
  /** `?partNumber=N`: the service fills `ObjectInfo.partRange` when it knows the part. */
  partNumber?: number;
}

/** Inclusive byte range, already validated against the object size: 0 ≤ start ≤ endInclusive < size. */
export interface ByteRange {
  start: number;
  endInclusive: number;
}

/**
 * An object found by getObject. `read` is lazy: nothing is fetched until it is iterated, and it may
 * not be called at all (304/412/416 answers). It reads the chunk list captured by getObject, so the
 * service must keep those chunks readable for a while (GC grace period). Stopping the iteration early
 * (client gone) calls the iterator's `return()`: release resources there.
 */
export interface ObjectHandle {
  info: ObjectInfo;
  /** The whole object, or only the chunks overlapping `range`, trimmed to it. */
  read(range?: ByteRange): AsyncIterable<Buffer>;
  /**
   * Optional; GET bodies use it when present. Like `read`, but each buffer is lent: the consumer
   * calls `release()` once nothing reads `data` any more (for a socket, in the write's callback),
   * and the service may then reuse that memory for a later chunk. A lease never released is simply
   * not reused.
   */
  readLeased?(range?: ByteRange): AsyncIterable<LeasedBuffer>;
}

export interface LeasedBuffer {
  readonly data: Buffer;
  release(): void;
}

export interface ObjectRef {
  bucket: string;
  key: string;
}

export interface PutObjectInput extends ObjectRef {
  body: RequestBody;
  metadata: ObjectMetadata;
  precondition: WritePrecondition;
}

export interface CopyObjectInput extends ObjectRef {
  /** Source object; `ifMatch` pins the version the front end evaluated copy-source conditions on. */
  source: ObjectRef & { ifMatch?: string };
  /** New metadata (MetadataDirective REPLACE), or undefined to keep the source's (COPY). */
  metadata: ObjectMetadata | undefined;
  precondition: WritePrecondition;
}

export interface ListObjectsInput {
  bucket: string;
  prefix: string;
  /** Empty/undefined: no grouping. */
  delimiter: string | undefined;
  /**
   * Exclusive resume position: only entries (keys or common prefixes) ordered strictly after it are
   * returned. A common prefix ≤ startAfter is not returned again, so when startAfter is itself a
   * common prefix (`photos/`) the service seeks past every key under it (no scan).
   */
  startAfter: string | undefined;
  /** 1..1000 (the front end answers max-keys=0 itself). */
  maxKeys: number;
  consistency: ReadConsistency;
}

export type ListEntry = { type: "object"; object: ObjectSummary } | { type: "prefix"; prefix: string };

export interface ListObjectsResult {
  /** Objects and common prefixes merged in byte order, at most maxKeys in total. */
  entries: ListEntry[];
  /** True when at least one more entry exists after the last one returned. */
  isTruncated: boolean;
}

export interface UploadInfo {
  key: string;
  uploadId: string;
  initiatedMs: number;
  metadata: ObjectMetadata;
  /** Algorithm named at CreateMultipartUpload; parts then carry it and completion yields a COMPOSITE checksum. */
  checksumAlgorithm?: ChecksumAlgorithm;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  sizeBytes: number;
  lastModifiedMs: number;
  checksums: Checksums;
}

export interface CreateMultipartUploadInput extends ObjectRef {
  metadata: ObjectMetadata;
  checksumAlgorithm: ChecksumAlgorithm | undefined;
}

export interface UploadRef extends ObjectRef {
  uploadId: string;
}

export interface UploadPartInput extends UploadRef {
  partNumber: number;
  body: RequestBody;
}

export interface UploadPartCopyInput extends UploadRef {
  partNumber: number;
  source: ObjectRef & { ifMatch?: string };
  /** Undefined: the whole source object. */
  range: ByteRange | undefined;
}

export interface ListPartsInput extends UploadRef {
  /** Only parts with a number strictly greater are returned. */
  partNumberMarker: number;
  maxParts: number;
}

export interface ListPartsResult {
  upload: UploadInfo;
  parts: PartInfo[];
  isTruncated: boolean;
}

export interface ListUploadsInput {
  bucket: string;
  prefix: string;
  delimiter: string | undefined;
  /** Resume after (keyMarker, uploadIdMarker); without uploadIdMarker, after every upload of keyMarker. */
  keyMarker: string | undefined;
  uploadIdMarker: string | undefined;
  maxUploads: number;
}

export type UploadListEntry = { type: "upload"; upload: UploadInfo } | { type: "prefix"; prefix: string };

export interface ListUploadsResult {
  /** Ordered by key (bytes), then by initiation; common prefixes merged in as for objects. */
  entries: UploadListEntry[];
  isTruncated: boolean;
}

export interface CompletedPartRef {
  partNumber: number;
  /** Unquoted. */
  etag: string;
  checksums: Checksums;
}

export interface CompleteMultipartUploadInput extends UploadRef {
  /**
   * The client's part list, already checked to be strictly ascending (InvalidPartOrder is the front
   * end's). The service uses exactly these parts in this order and fails with InvalidPart when one is
   * missing or its ETag/checksum differs, EntityTooSmall when a non-last part < MIN_PART_SIZE_BYTES,
   * EntityTooLarge above MAX_OBJECT_BYTES. ETag: `multipartEtag()`; checksum: `compositeChecksum()`.
   */
  parts: CompletedPartRef[];
  precondition: WritePrecondition;
}

export interface DeleteOutcome {
  key: string;
  /** Absent on success (deleting a missing key is a success, as in S3). */
  error?: ServiceError;
}

/**
 * Everything the S3 front end needs. Each method says which ServiceError codes it may throw; every
 * method may also throw Unavailable / SlowDown (no leader, overloaded) — those become 503s.
 */
export interface ObjectService {
  /** Ordered by name. */
  listBuckets(): Promise<BucketInfo[]>;
  /** BucketAlreadyOwnedByYou (single tenant: every configured access key is the same owner). */
  createBucket(input: { bucket: string }): Promise<void>;
  /** NoSuchBucket, BucketNotEmpty (objects or multipart uploads in progress). */
  deleteBucket(input: { bucket: string }): Promise<void>;
  /** NoSuchBucket. */
  headBucket(input: { bucket: string; consistency: ReadConsistency }): Promise<BucketInfo>;

  /** NoSuchBucket, PreconditionFailed, NoSuchKey (If-Match on a missing key), EntityTooLarge. */
  putObject(input: PutObjectInput): Promise<WriteResult>;
  /** NoSuchBucket, NoSuchKey. */
  getObject(input: ObjectReadInput): Promise<ObjectHandle>;
  /** NoSuchBucket, NoSuchKey. */
  headObject(input: ObjectReadInput): Promise<ObjectInfo>;
  /** NoSuchBucket. A missing key is not an error. */
  deleteObject(input: ObjectRef): Promise<void>;
  /** NoSuchBucket for the whole call; per-key failures in the outcomes, one per key, in order. */
  deleteObjects(input: { bucket: string; keys: string[] }): Promise<DeleteOutcome[]>;
  /**
   * Server-side copy: the new object references the source's chunks (dedup: no data re-uploaded).
   * NoSuchBucket, NoSuchKey (source), PreconditionFailed (source.ifMatch or precondition).
   */
  copyObject(input: CopyObjectInput): Promise<WriteResult>;
  /** NoSuchBucket. */
  listObjects(input: ListObjectsInput): Promise<ListObjectsResult>;

  /** NoSuchBucket. Upload ids must be URL-safe ([A-Za-z0-9._-]). */
  createMultipartUpload(input: CreateMultipartUploadInput): Promise<{ uploadId: string }>;
  /** NoSuchBucket, NoSuchUpload, EntityTooLarge. Re-uploading a part number replaces it. */
  uploadPart(input: UploadPartInput): Promise<WriteResult>;
  /** NoSuchBucket, NoSuchUpload, NoSuchKey (source), PreconditionFailed (source.ifMatch). */
  uploadPartCopy(input: UploadPartCopyInput): Promise<WriteResult>;
  /** NoSuchBucket, NoSuchUpload. */
  listParts(input: ListPartsInput): Promise<ListPartsResult>;
  /** NoSuchBucket. */
  listMultipartUploads(input: ListUploadsInput): Promise<ListUploadsResult>;
  /** NoSuchBucket, NoSuchUpload, InvalidPart, EntityTooSmall, EntityTooLarge, PreconditionFailed. */
  completeMultipartUpload(input: CompleteMultipartUploadInput): Promise<WriteResult>;
  /** NoSuchBucket, NoSuchUpload. */
  abortMultipartUpload(input: UploadRef): Promise<void>;
}

export type ServiceErrorCode =
  | "NoSuchBucket"
  | "NoSuchKey"
  | "NoSuchUpload"
  | "BucketAlreadyExists"
  | "BucketAlreadyOwnedByYou"
  | "BucketNotEmpty"
  | "InvalidPart"
  | "InvalidPartOrder"
  | "EntityTooSmall"
  | "EntityTooLarge"
  | "PreconditionFailed"
  | "ConditionalRequestConflict"
  | "Unavailable"
  | "SlowDown"
  /** The node's storage (a local provider, or its log and manifest) is full. */
  | "InsufficientStorage";

/** The one error type an ObjectService throws for expected outcomes. */
export class ServiceError extends Error {
  readonly code: ServiceErrorCode;

  constructor(code: ServiceErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options);
    this.name = "ServiceError";
    this.code = code;
  }
}

export function isServiceError(err: unknown, code?: ServiceErrorCode): err is ServiceError {
  return err instanceof ServiceError && (code === undefined || err.code === code);
}
