/** What the read queries return. Plain data; no SQLite types leak out. */
import type { BackupFileEntry, Checksums, ChunkRef, ObjectMeta, ObjectPartSpec } from "../commands.js";

export interface BucketInfo {
  readonly name: string;
  readonly createdAtMs: number;
}

export type ChunkState = "live" | "deleting";

/** A chunk row: the sealed blob's metadata plus its reference state. */
export interface ChunkInfo extends ChunkRef {
  readonly refcount: number;
  readonly state: ChunkState;
  /** When (command time) the refcount last reached 0; null while referenced. */
  readonly zeroSinceMs: number | null;
  /** The log index of the command that dropped the refcount to 0; null while referenced. */
  readonly zeroSinceIndex: number | null;
}

export interface ObjectHeadInfo {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly meta: ObjectMeta;
  readonly lastModifiedMs: number;
  readonly chunkCount: number;
}

export interface ObjectInfo extends ObjectHeadInfo {
  /** In order; offsets are the running sum of `size`. */
  readonly chunks: readonly ChunkRef[];
}

/** One part of a multipart object, as CompleteMultipartUpload chose it. */
export type ObjectPart = ObjectPartSpec;

export interface ObjectSummary {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModifiedMs: number;
}

export interface ListObjectsParams {
  readonly bucket: string;
  readonly prefix?: string;
  readonly delimiter?: string;
  /** Exclusive. A key or a common prefix returned by a previous page (`nextStartAfter`). */
  readonly startAfter?: string;
  /** Default 1000; 0 returns an empty, non-truncated page (S3 behaviour). */
  readonly maxKeys?: number;
}

export interface ListObjectsPage {
  readonly contents: readonly ObjectSummary[];
  readonly commonPrefixes: readonly string[];
  readonly isTruncated: boolean;
  /** Present when truncated: pass as `startAfter` to get the next page. */
  readonly nextStartAfter?: string;
}

export interface UploadInfo {
  readonly uploadId: string;
  readonly bucket: string;
  readonly key: string;
  readonly meta: ObjectMeta;
  readonly initiatedAtMs: number;
}

export interface ListUploadsParams {
  readonly bucket: string;
  readonly prefix?: string;
  readonly delimiter?: string;
  readonly keyMarker?: string;
  readonly uploadIdMarker?: string;
  readonly maxUploads?: number;
}

export interface ListUploadsPage {
  readonly uploads: readonly UploadInfo[];
  readonly commonPrefixes: readonly string[];
  readonly isTruncated: boolean;
  readonly nextKeyMarker?: string;
  readonly nextUploadIdMarker?: string;
}

export interface PartInfo {
  readonly partNumber: number;
  readonly size: number;
  readonly etag: string;
  readonly checksums?: Checksums;
  readonly lastModifiedMs: number;
  readonly chunkCount: number;
}

export interface ListPartsPage {
  readonly parts: readonly PartInfo[];
  readonly isTruncated: boolean;
  readonly nextPartNumberMarker?: number;
}

export type BackupState = "open" | "complete" | "aborted";

export interface BackupInfo {
  readonly id: string;
  readonly name: string;
  readonly kind: "dir" | "stream";
  readonly source: string;
  readonly host?: string;
  readonly state: BackupState;
  readonly startedAtMs: number;
  readonly completedAtMs?: number;
  readonly abortedAtMs?: number;
  readonly abortReason?: string;
  /** The integrity chain head (CompleteBackup) or the last appended value (stream, while open). */
  readonly chainHex?: string;
  readonly fileCount: number;
  /** Chunk references held (files) or stream chunks appended (= the next firstSeq). */
  readonly chunkCount: number;
  readonly logicalBytes: number;
  readonly logCount: number;
}

/** A stored backup file; `chunks` carry the chunk rows' current sealed metadata. */
export type BackupFileInfo = BackupFileEntry;

export interface BackupLogLine {
  readonly seq: number;
  readonly atMs: number;
  readonly level: "info" | "warn" | "error";
  readonly message: string;
}

export interface StreamChunk extends ChunkRef {
  readonly seq: number;
}

export interface LocationStats {
  /** Every chunk row placing a blob here (live, garbage and deleting). */
  readonly chunks: number;
  readonly sealedBytes: number;
  /** Referenced chunks here, and their sealed bytes. */
  readonly liveChunks: number;
  readonly liveSealedBytes: number;
  /** Unreferenced (garbage or deleting) chunks here, and their sealed bytes: what GC can free. */
  readonly garbageChunks: number;
  readonly garbageSealedBytes: number;
  /** Plaintext bytes as referenced by the chunks stored here (dedup not applied). */
  readonly logicalBytes: number;
}

export interface ChunkStats {
  /** Live chunks with at least one reference. */
  readonly live: number;
  /** Live chunks with no reference (GC candidates once past the grace period). */
  readonly garbage: number;
  readonly deleting: number;
  /** Sealed bytes of every chunk row (what the backends hold, per replica). */
  readonly storedBytes: number;
  /** Plaintext bytes of the referenced distinct chunks. */
  readonly uniqueBytes: number;
  /** Plaintext bytes as referenced (a chunk counts once per reference). */
  readonly logicalBytes: number;
  /** logicalBytes / uniqueBytes (1 when empty). */
  readonly dedupRatio: number;
  readonly perLocation: Readonly<Record<string, LocationStats>>;
}

export interface DataKeyInfo {
  readonly keyId: number;
  readonly wrappedHex: string;
  readonly createdAtMs: number;
  /** Log index at which the key was added; the highest is the current key. */
  readonly addedIndex: number;
}

export interface RaftMeta {
  readonly appliedIndex: number;
  readonly appliedTerm: number;
  readonly membership: Readonly<Record<string, unknown>> | null;
  readonly membershipIndex: number;
  readonly clusterId: string | null;
}

/**
 * The replicated GC pause (DESIGN.md "GC pause"): written into a restored database by a
 * new-cluster restore, lifted by the ResumeGc command. Extra fields are kept as written.
 */
export interface GcPauseRecord {
  readonly reason: string;
  /** When the restore paused GC (the restoring process's clock, written outside apply). */
  readonly pausedAtMs: number;
  readonly mode?: string;
  readonly snapshotSha256?: string;
  readonly snapshotFile?: string;
  /** The snapshot's applied index: the restored state. */
  readonly appliedIndex?: number;
  readonly clusterId?: string | null;
}

/** The last ResumeGc: who confirmed, when (the command's time), at which index, what was paused. */
export interface GcPauseConfirmation {
  readonly atMs: number;
  readonly by: string;
  readonly index: number;
  readonly pause: GcPauseRecord;
}
