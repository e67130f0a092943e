/**
 * The manifest: one SQLite database holding the replicated metadata, the deterministic apply of
 * committed Raft entries, and the read queries every node serves locally.
 *
 * Single connection, synchronous: apply and reads never interleave inside one call, so every query
 * sees a state between two applied batches.
 */
import type Database from "better-sqlite3";
import { type ApplyEntry, EntryApplier } from "./apply/entries.js";
import { checksumDatabase, rowCountsOf } from "./checksum.js";
import type { ApplyResult } from "./commands.js";
import { ManifestError } from "./errors.js";
import { checkInvariants } from "./invariants.js";
import { BackupQueries, type ListBackupFilesOptions } from "./queries/backups.js";
import { ChunkQueries } from "./queries/chunks.js";
import { GcMetaQueries } from "./queries/gc-meta.js";
import { type ListCounters, ListObjectsQuery } from "./queries/list-objects.js";
import { MultipartQueries } from "./queries/multipart.js";
import { ObjectQueries } from "./queries/objects.js";
import { RaftMetaQueries } from "./queries/raft-meta.js";
import type {
  BackupFileInfo,
  BackupInfo,
  BackupLogLine,
  BucketInfo,
  ChunkInfo,
  ChunkStats,
  DataKeyInfo,
  GcPauseConfirmation,
  GcPauseRecord,
  ListObjectsPage,
  ListObjectsParams,
  ListPartsPage,
  ListUploadsPage,
  ListUploadsParams,
  ObjectHeadInfo,
  ObjectInfo,
  RaftMeta,
  StreamChunk,
  UploadInfo,
} from "./queries/types.js";
import { type OpenOptions, openDatabase, readSchemaVersion } from "./schema/open-database.js";
import { backupDatabase, type RestoreReport, restoreDatabase } from "./snapshot.js";

export class Manifest {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #applier: EntryApplier;
  readonly #objects: ObjectQueries;
  readonly #list: ListObjectsQuery;
  readonly #multipart: MultipartQueries;
  readonly #backups: BackupQueries;
  readonly #chunks: ChunkQueries;
  readonly #meta: RaftMetaQueries;
  readonly #gcMeta: GcMetaQueries;
  #closed = false;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
    try {
      this.#applier = new EntryApplier(db);
      this.#objects = new ObjectQueries(db);
      this.#list = new ListObjectsQuery(db);
      this.#multipart = new MultipartQueries(db);
      this.#backups = new BackupQueries(db);
      this.#chunks = new ChunkQueries(db);
      this.#meta = new RaftMetaQueries(db);
      this.#gcMeta = new GcMetaQueries(db);
    } catch (err) {
      db.close();
      throw ManifestError.from(err);
    }
  }

  /** Opens or creates the database file; throws ManifestError Corrupt / SchemaTooNew / Io. */
  static open(path: string, options: OpenOptions = {}): Manifest {
    return new Manifest(path, openDatabase(path, options));
  }

  static openInMemory(): Manifest {
    return new Manifest(":memory:", openDatabase(":memory:", { integrityCheck: "none" }));
  }

  /** Replaces the (closed) database at targetPath with a validated snapshot; see snapshot.ts. */
  static restoreFrom(snapshotPath: string, targetPath: string): RestoreReport {
    return restoreDatabase(snapshotPath, targetPath);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  // ---- apply (the Raft FSM) ----

  /** Applies one committed entry; see apply/entries.ts for the skip and de-dup rules. */
  applyEntry(entry: ApplyEntry): ApplyResult {
    return this.applyEntries([entry])[0] as ApplyResult;
  }

  /** Applies entries in order in one transaction (group commit); results in the same order. */
  applyEntries(entries: readonly ApplyEntry[]): ApplyResult[] {
    this.#open();
    try {
      return this.#applier.applyEntries(entries);
    } catch (err) {
      throw ManifestError.from(err);
    }
  }

  raftMeta(): RaftMeta {
    this.#open();
    return this.#meta.raftMeta();
  }

  /** Bootstrap only: records the cluster id; a different id later is refused. */
  setClusterId(clusterId: string): void {
    this.#open();
    this.#meta.setClusterId(clusterId);
  }

  /**
   * Disaster recovery only (snapshot restore as a new cluster, on a closed-off copy, never on a
   * live replica: this is not a replicated command). New cluster id, old membership forgotten.
   */
  resetClusterIdentity(clusterId: string): void {
    this.#open();
    this.#meta.resetClusterIdentity(clusterId);
  }

  // ---- buckets and objects ----

  listBuckets(): BucketInfo[] {
    this.#open();
    return this.#objects.listBuckets();
  }

  getBucket(name: string): BucketInfo | undefined {
    this.#open();
    return this.#objects.getBucket(name);
  }

  headObject(bucket: string, key: string): ObjectHeadInfo | undefined {
    this.#open();
    return this.#objects.headObject(bucket, key);
  }

  getObject(bucket: string, key: string): ObjectInfo | undefined {
    this.#open();
    return this.#objects.getObject(bucket, key);
  }

  listObjects(params: ListObjectsParams): ListObjectsPage {
    this.#open();
    return this.#list.list(params);
  }

  /** Work done by listObjects since open (statement executions, rows visited). */
  listCounters(): ListCounters {
    return { ...this.#list.counters };
  }

  // ---- multipart ----

  getUpload(uploadId: string): UploadInfo | undefined {
    this.#open();
    return this.#multipart.getUpload(uploadId);
  }

  listMultipartUploads(params: ListUploadsParams): ListUploadsPage {
    this.#open();
    return this.#multipart.listMultipartUploads(params);
  }

  listParts(uploadId: string, opts: { partNumberMarker?: number; maxParts?: number } = {}): ListPartsPage {
    this.#open();
    return this.#multipart.listParts(uploadId, opts);
  }

  // ---- backups ----

  listBackups(opts: { name?: string } = {}): BackupInfo[] {
    this.#open();
    return this.#backups.listBackups(opts);
  }

  getBackup(idOrName: string): BackupInfo | undefined {
    this.#open();
    return this.#backups.getBackup(idOrName);
  }

  listBackupFiles(backupId: string, opts: ListBackupFilesOptions = {}): BackupFileInfo[] {
    this.#open();
    return this.#backups.listBackupFiles(backupId, opts);
  }

  getBackupStreamChunks(backupId: string, opts: { fromSeq?: number; limit?: number } = {}): StreamChunk[] {
    this.#open();
    return this.#backups.getBackupStreamChunks(backupId, opts);
  }

  backupLogs(backupId: string): BackupLogLine[] {
    this.#open();
    return this.#backups.backupLogs(backupId);
  }

  // ---- chunks, GC, keys ----

  getChunk(hash: string): ChunkInfo | undefined {
    this.#open();
    return this.#chunks.getChunk(hash);
  }

  hasLiveChunk(hash: string): boolean {
    this.#open();
    return this.#chunks.hasLiveChunk(hash);
  }

  hasNameTag(nameTag: string): boolean {
    this.#open();
    return this.#chunks.hasNameTag(nameTag);
  }

  listGarbageChunks(opts: { olderThanMs: number; limit?: number }): ChunkInfo[] {
    this.#open();
    return this.#chunks.listGarbageChunks(opts);
  }

  listDeletingChunks(opts: { afterHash?: string; limit?: number } = {}): ChunkInfo[] {
    this.#open();
    return this.#chunks.listDeletingChunks(opts);
  }

  allNameTags(pageRows?: number): Generator<string, void, undefined> {
    this.#open();
    return this.#chunks.allNameTags(pageRows);
  }

  chunkStats(): ChunkStats {
    this.#open();
    return this.#chunks.chunkStats();
  }

  /** The replicated GC pause (a new-cluster restore's), undefined when GC may run. */
  gcPause(): GcPauseRecord | undefined {
    this.#open();
    return this.#gcMeta.gcPause();
  }

  /** The last ResumeGc that lifted a pause. */
  gcPauseConfirmation(): GcPauseConfirmation | undefined {
    this.#open();
    return this.#gcMeta.gcPauseConfirmation();
  }

  /**
   * Restore only (outside apply, like resetClusterIdentity): pauses GC in this database, which is
   * about to become a new cluster's state. Lifted by the ResumeGc command.
   */
  setGcPause(pause: GcPauseRecord): void {
    this.#open();
    this.#gcMeta.setGcPause(pause);
  }

  /** Is a sweep deleting the backend objects of this name tag now (MarkSweeping, not cleared)? */
  isNameTagSweeping(nameTag: string): boolean {
    this.#open();
    return this.#gcMeta.isNameTagSweeping(nameTag);
  }

  /** Name tags a sweep fenced and did not clear (a crashed run's work), by tag. */
  listSweepingNameTags(opts: { afterNameTag?: string; limit?: number } = {}): string[] {
    this.#open();
    return this.#gcMeta.listSweepingNameTags(opts);
  }

  sweepingCount(): number {
    this.#open();
    return this.#gcMeta.sweepingCount();
  }

  dataKeys(): DataKeyInfo[] {
    this.#open();
    return this.#chunks.dataKeys();
  }

  // ---- whole-database ----

  /** SHA-256 (hex) of a canonical dump of every table; equal on nodes that applied the same log. */
  checksum(): string {
    this.#open();
    return checksumDatabase(this.#db);
  }

  rowCounts(): Record<string, number> {
    this.#open();
    return rowCountsOf(this.#db);
  }

  schemaVersion(): number {
    this.#open();
    return readSchemaVersion(this.#db);
  }

  /** Cross-table invariant violations (empty when healthy). */
  checkInvariants(): string[] {
    this.#open();
    return checkInvariants(this.#db);
  }

  /** A consistent, self-contained copy of the database at `path`, taken while in use. */
  async backupTo(path: string): Promise<void> {
    this.#open();
    await backupDatabase(this.#db, path);
  }

  #open(): void {
    if (this.#closed) throw new ManifestError("Closed", `manifest ${this.path} is closed`);
  }
}
