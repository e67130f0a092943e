/**
 * Every change to the manifest is one of these commands, applied by the deterministic `apply`.
 * Proposers choose every timestamp and id and carry them in the command: apply never reads the
 * clock, generates ids or relies on autoincrement, so the same commands in the same order give
 * byte-identical databases on every node (this is the Raft state machine).
 *
 * Encoding: JSON (see codec.ts), with `v` the codec version. Hashes are lowercase hex.
 */

/** One sealed chunk as the writer uploaded it. Identity is `hash` (SHA-256 of the plaintext). */
export interface ChunkRef {
  readonly hash: string;
  /** Plaintext length in bytes. */
  readonly size: number;
  /** Sealed blob length in bytes (what the backend stores). */
  readonly sealedSize: number;
  readonly keyId: number;
  readonly compressed: boolean;
  /** Hex name tag (HMAC of hash); the backend object key derives from it. */
  readonly nameTag: string;
  /** Provider names holding the sealed blob. */
  readonly locations: readonly string[];
  /**
   * Provenance, the dedup/GC fence (DESIGN.md "Dedup against GC"). `true`: the writer put the
   * sealed blob itself, after reading the manifest at `seenIndex` and finding the chunk absent or
   * live (never `deleting`). `false`: a dedup hit on a row that was live at `seenIndex`; nothing
   * was uploaded. Apply refuses (ChunkDeleting, retriable) a reference that GC may have undone
   * since: a `deleting` chunk, a dedup hit whose row is gone, or an upload whose chunk was
   * forgotten after `seenIndex` (its blob may be the one GC deleted). Refs without provenance
   * (tests, tools that build commands by hand) are taken as uploads by the caller, unfenced.
   */
  readonly uploaded?: boolean;
  /** The applied log index of the manifest the writer read before deciding (with `uploaded`). */
  readonly seenIndex?: number;
}

export type Checksums = Readonly<
  Partial<Record<"CRC32" | "CRC32C" | "CRC64NVME" | "SHA1" | "SHA256", string>>
>;

export interface ObjectMeta {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly contentDisposition?: string;
  readonly contentLanguage?: string;
  readonly cacheControl?: string;
  readonly expires?: string;
  /** x-amz-meta-* without the prefix, lowercase names. */
  readonly userMeta?: Readonly<Record<string, string>>;
  readonly checksums?: Checksums;
  /** FULL_OBJECT or COMPOSITE (multipart checksum of part checksums). */
  readonly checksumType?: "FULL_OBJECT" | "COMPOSITE";
  /** Multipart uploads: the algorithm named at creation (parts then carry it). */
  readonly checksumAlgorithm?: "CRC32" | "CRC32C" | "CRC64NVME" | "SHA1" | "SHA256";
  /** Objects made by CompleteMultipartUpload: the number of parts (set by apply). */
  readonly partsCount?: number;
}

/** One part of a multipart object as a command carries it (object_parts). */
export interface ObjectPartSpec {
  readonly partNumber: number;
  readonly size: number;
  /** MD5 hex of the part, without quotes. */
  readonly etag: string;
  readonly chunkCount: number;
}

export type Command =
  | { readonly type: "CreateBucket"; readonly bucket: string; readonly createdAtMs: number }
  | { readonly type: "DeleteBucket"; readonly bucket: string }
  | {
      readonly type: "PutObject";
      readonly bucket: string;
      readonly key: string;
      readonly size: number;
      /** S3 ETag without quotes: MD5 hex of the plaintext, or md5-of-md5s "-N" for multipart. */
      readonly etag: string;
      readonly meta: ObjectMeta;
      readonly lastModifiedMs: number;
      readonly chunks: readonly ChunkRef[];
      /** Conditional create (If-None-Match: *): PreconditionFailed if the key exists. */
      readonly ifNoneMatch?: boolean;
      /** Conditional overwrite (If-Match): PreconditionFailed unless the current ETag equals it. */
      readonly ifMatch?: string;
      /**
       * A copy of a multipart object: its parts (sizes and chunk counts must add up to the
       * object's). Only proposed at feature level ≥ 1, which every member's build then knows.
       */
      readonly parts?: readonly ObjectPartSpec[];
    }
  | {
      readonly type: "CopyObject";
      readonly srcBucket: string;
      readonly srcKey: string;
      readonly dstBucket: string;
      readonly dstKey: string;
      /** Replaces the metadata when given (x-amz-metadata-directive: REPLACE); else copies it. */
      readonly replaceMeta?: ObjectMeta;
      /** Refuse unless the source ETag equals this (x-amz-copy-source-if-match). */
      readonly srcIfMatch?: string;
      readonly lastModifiedMs: number;
    }
  | {
      readonly type: "DeleteObject";
      readonly bucket: string;
      readonly key: string;
      /** When the delete happened: the zero time of chunks it releases (GC grace period). */
      readonly atMs: number;
    }
  | {
      readonly type: "DeleteObjects";
      readonly bucket: string;
      /** At most 1000 keys (S3's limit); more is refused with InvalidArgument. */
      readonly keys: readonly string[];
      readonly atMs: number;
    }
  | {
      readonly type: "CreateMultipartUpload";
      readonly uploadId: string;
      readonly bucket: string;
      readonly key: string;
      readonly meta: ObjectMeta;
      readonly initiatedAtMs: number;
    }
  | {
      readonly type: "PutPart";
      readonly uploadId: string;
      readonly partNumber: number;
      readonly size: number;
      readonly etag: string;
      readonly checksums?: Checksums;
      readonly lastModifiedMs: number;
      readonly chunks: readonly ChunkRef[];
    }
  | {
      readonly type: "CompleteMultipartUpload";
      readonly uploadId: string;
      /** The client's part list, in the client's order (must be ascending part numbers). */
      readonly parts: readonly { readonly partNumber: number; readonly etag: string }[];
      readonly lastModifiedMs: number;
      /** The object's checksums (composite of the parts'), computed by the proposer. */
      readonly checksums?: Checksums;
      readonly checksumType?: "FULL_OBJECT" | "COMPOSITE";
      /** Conditional completion, as for PutObject (checked atomically at apply). */
      readonly ifNoneMatch?: boolean;
      readonly ifMatch?: string;
    }
  | { readonly type: "AbortMultipartUpload"; readonly uploadId: string; readonly atMs: number }
  | {
      readonly type: "BeginBackup";
      readonly backupId: string;
      readonly name: string;
      readonly kind: "dir" | "stream";
      readonly source: string;
      readonly startedAtMs: number;
      readonly host?: string;
    }
  | {
      readonly type: "AddBackupFiles";
      readonly backupId: string;
      /** Re-adding a path replaces it; its old chunks are released with this zero time. */
      readonly files: readonly BackupFileEntry[];
      readonly atMs: number;
    }
  | {
      /** Stream backups: append the next chunks with the integrity chain value after the last one. */
      readonly type: "AppendBackupChunks";
      readonly backupId: string;
      /** Sequence number of the first chunk in this batch (must equal the stored count). */
      readonly firstSeq: number;
      readonly chunks: readonly ChunkRef[];
      readonly chainHex: string;
    }
  | {
      readonly type: "CompleteBackup";
      readonly backupId: string;
      readonly completedAtMs: number;
      readonly chainHex: string;
    }
  | {
      readonly type: "AbortBackup";
      readonly backupId: string;
      readonly reason: string;
      readonly atMs: number;
    }
  | { readonly type: "DeleteBackup"; readonly backupId: string; readonly atMs: number }
  | {
      readonly type: "AddBackupLog";
      readonly backupId: string;
      readonly atMs: number;
      readonly level: "info" | "warn" | "error";
      readonly message: string;
    }
  | {
      /** A new data key, wrapped under the keystore's key-encryption key; becomes current. */
      readonly type: "AddDataKey";
      readonly keyId: number;
      readonly wrappedHex: string;
      readonly createdAtMs: number;
    }
  | {
      /** GC phase 1: chunks with refcount 0 whose zero time is <= nowMs - graceMs become 'deleting'. */
      readonly type: "MarkChunksDeleting";
      readonly hashes: readonly string[];
      readonly nowMs: number;
      readonly graceMs: number;
    }
  | {
      /** GC phase 3: forget chunks in 'deleting' state after their blobs were deleted. */
      readonly type: "ForgetChunks";
      readonly hashes: readonly string[];
    }
  | {
      /**
       * Sweep fence, phase 1 (DESIGN.md "Sweep against writers"): the sweep is about to delete the
       * backend objects with these name tags. Apply fences the tags no chunk row owns (the result);
       * until ClearSweeping, any reference to a fenced tag is refused (ChunkDeleting, retriable).
       * At most MAX_SWEEP_NAME_TAGS per command.
       */
      readonly type: "MarkSweeping";
      readonly nameTags: readonly string[];
    }
  | {
      /**
       * Sweep fence, phase 3: the objects are deleted; the tags become tombstones at this index, so
       * an upload whose observation predates the clear is refused (its blob may be the one deleted).
       */
      readonly type: "ClearSweeping";
      readonly nameTags: readonly string[];
    }
  | {
      /**
       * Lifts the replicated GC pause a new-cluster restore put in the manifest (operator's
       * `enigma snapshot confirm-gc`). The proposer chooses the time and says who confirmed.
       */
      readonly type: "ResumeGc";
      readonly atMs: number;
      readonly by: string;
    }
  | {
      /**
       * Raises the cluster feature level (never lowers it): apply behaviour added by newer builds
       * takes effect from this entry on, on every replica alike. Proposed only once every member
       * reports it supports `level`; a build that does not stops rather than diverge.
       */
      readonly type: "SetFeatureLevel";
      readonly level: number;
    }
  | { readonly type: "Noop" };

export interface BackupFileEntry {
  /** Path relative to the backup root, '/'-separated. */
  readonly path: string;
  readonly kind: "file" | "dir" | "symlink";
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly linkTarget?: string;
  /** File content, in order; empty for dirs, links and empty files. */
  readonly chunks: readonly ChunkRef[];
}

export type CommandType = Command["type"];

/** Expected, deterministic refusals of apply (the state is unchanged). */
export type ApplyErrorCode =
  | "NoSuchBucket"
  | "BucketAlreadyExists"
  | "BucketNotEmpty"
  | "NoSuchKey"
  | "NoSuchUpload"
  | "InvalidPart"
  | "InvalidPartOrder"
  /** CompleteMultipartUpload: a part other than the last is smaller than 5 MiB. */
  | "EntityTooSmall"
  | "PreconditionFailed"
  | "ChunkDeleting"
  /** MarkChunksDeleting / MarkSweeping while the manifest carries a GC pause (after a restore). */
  | "GcPaused"
  | "NoSuchBackup"
  | "BackupNotOpen"
  | "BadSequence"
  | "KeyExists"
  | "InvalidArgument";

export interface ApplyError {
  readonly ok: false;
  readonly code: ApplyErrorCode;
  readonly message: string;
  /** For ChunkDeleting (being or since garbage-collected; the writer re-uploads): the hashes. */
  readonly hashes?: readonly string[];
}

export type ApplyResult =
  | {
      readonly ok: true;
      /** PutObject/CopyObject/CompleteMultipartUpload: the stored ETag and LastModified. */
      readonly etag?: string;
      readonly lastModifiedMs?: number;
      /** DeleteObjects: the keys that existed and were deleted (absent keys are not errors). */
      readonly deleted?: readonly string[];
      /** MarkChunksDeleting: the hashes actually marked. ForgetChunks: those forgotten. */
      readonly hashes?: readonly string[];
      /** MarkSweeping: the name tags fenced (only these may be deleted). ClearSweeping: cleared. */
      readonly nameTags?: readonly string[];
      /** ResumeGc: whether the manifest was paused (false: nothing to do). */
      readonly resumed?: boolean;
      /** SetFeatureLevel: the level now in force. */
      readonly featureLevel?: number;
      /**
       * The entry's index was already applied (a replay after restart) and no stored result was
       * found for its requestId: nothing was done. The original result is not known.
       */
      readonly alreadyApplied?: true;
    }
  | ApplyError;
