/**
 * The manifest: one SQLite database holding the replicated metadata, the deterministic apply of
 * committed Raft entries, and the read queries every node serves locally.
 *
 * Single connection, synchronous: apply and reads never interleave inside one call, so every query
 * sees a state between two applied batches.
 */
import type Database from "better-sqlite3";
import { type ApplyEntry, EntryApplier } from "./apply/entries.js";
import { FEATURE_LEVEL } from "./apply/features.js";
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
  ObjectPart,
  RaftMeta,
  StreamChunk,
  UploadInfo,
} from "./queries/types.js";
import { SCHEMA_VERSION } from "./schema/migrations.js";
import { type OpenOptions, openDatabase, readSchemaVersion } from "./schema/open-database.js";
import { checksumAtVersion, rowCountsAtVersion } from "./schema/versioned-read.js";
import { backupDatabase, type RestoreReport, restoreDatabase } from "./snapshot.js";

/** The query sets that need the current schema (every table this build knows). */
interface CurrentSchemaQueries {
  readonly applier: EntryApplier;
  readonly objects: ObjectQueries;
  readonly list: ListObjectsQuery;
  readonly multipart: MultipartQueries;
  readonly backups: BackupQueries;
  readonly chunks: ChunkQueries;
  readonly gcMeta: GcMetaQueries;
}

/**
 * Opened read-write, a database is migrated to this build's schema. Opened read-only, a database at
 * an older schema (a snapshot made by an older build) serves only what every schema version has:
 * schemaVersion(), raftMeta(), rowCounts() and checksum() (both over the tables of *its* version,
 * equal to what its build computed); anything else is refused with a ManifestError
 * naming both versions. A database at a newer schema is refused at open (SchemaTooNew).
 */
export class Manifest {
  readonly path: string;
  readonly #db: Database.Database;
  /** undefined: read-only at an older schema (see above). */
  readonly #q: CurrentSchemaQueries | undefined;
  readonly #meta: RaftMetaQueries;
  readonly #olderVersion: number | undefined;
  #closed = false;

  private constructor(path: string, db: Database.Database) {
    this.path = path;
    this.#db = db;
    try {
      const version = readSchemaVersion(db);
      if (version < 1)
        throw new ManifestError("Corrupt", `manifest database ${path} has no schema (version ${version})`);
      this.#meta = new RaftMetaQueries(db);
      if (version < SCHEMA_VERSION) {
        // Only reachable read-only: a read-write open migrated the file already.
        this.#olderVersion = version;
        this.#q = undefined;
      } else {
        this.#olderVersion = undefined;
        this.#q = {
          applier: new EntryApplier(db),
          objects: new ObjectQueries(db),
          list: new ListObjectsQuery(db),
          multipart: new MultipartQueries(db),
          backups: new BackupQueries(db),
          chunks: new ChunkQueries(db),
          gcMeta: new GcMetaQueries(db),
        };
        const level = this.#q.objects.featureLevel();
        if (level > FEATURE_LEVEL)
          throw new ManifestError(
            "FeatureTooNew",
            `manifest database ${path} is at cluster feature level ${level}, above this build's ${FEATURE_LEVEL}; upgrade enigma`,
          );
      }
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
    const q = this.#current();
    try {
      return q.applier.applyEntries(entries);
    } catch (err) {
      throw ManifestError.from(err);
    }
  }

  raftMeta(): RaftMeta {
    this.#open();
    return this.#meta.raftMeta();
  }

  /**
   * True when a command proposed with this requestId was applied here and is still within the
   * de-duplication window (the last 10,000 entries): a retry of it would change nothing.
   */
  hasAppliedRequest(requestId: string): boolean {
    this.#open();
    return this.#meta.hasAppliedRequest(requestId);
  }

  /** Bootstrap only: records the cluster id; a different id later is refused. */
  setClusterId(clusterId: string): void {
    this.#current();
    this.#meta.setClusterId(clusterId);
  }

  /**
   * Disaster recovery only (snapshot restore as a new cluster, on a closed-off copy, never on a
   * live replica: this is not a replicated command). New cluster id, old membership forgotten.
   */
  resetClusterIdentity(clusterId: string): void {
    this.#current();
    this.#meta.resetClusterIdentity(clusterId);
  }

  // ---- buckets and objects ----

  listBuckets(): BucketInfo[] {
    const q = this.#current();
    return q.objects.listBuckets();
  }

  getBucket(name: string): BucketInfo | undefined {
    const q = this.#current();
    return q.objects.getBucket(name);
  }

  headObject(bucket: string, key: string): ObjectHeadInfo | undefined {
    const q = this.#current();
    return q.objects.headObject(bucket, key);
  }

  getObject(bucket: string, key: string): ObjectInfo | undefined {
    const q = this.#current();
    return q.objects.getObject(bucket, key);
  }

  /** See ObjectQueries.getObjectParts. */
  getObjectParts(bucket: string, key: string): ObjectPart[] | undefined {
    const q = this.#current();
    return q.objects.getObjectParts(bucket, key);
  }

  /** The cluster feature level in force (SetFeatureLevel); this build implements up to FEATURE_LEVEL. */
  featureLevel(): number {
    const q = this.#current();
    return q.objects.featureLevel();
  }

  listObjects(params: ListObjectsParams): ListObjectsPage {
    const q = this.#current();
    return q.list.list(params);
  }

  /** Work done by listObjects since open (statement executions, rows visited). */
  listCounters(): ListCounters {
    return { ...this.#current(false).list.counters };
  }

  // ---- multipart ----

  getUpload(uploadId: string): UploadInfo | undefined {
    const q = this.#current();
    return q.multipart.getUpload(uploadId);
  }

  listMultipartUploads(params: ListUploadsParams): ListUploadsPage {
    const q = this.#current();
    return q.multipart.listMultipartUploads(params);
  }

  listParts(uploadId: string, opts: { partNumberMarker?: number; maxParts?: number } = {}): ListPartsPage {
    const q = this.#current();
    return q.multipart.listParts(uploadId, opts);
  }

  // ---- backups ----

  listBackups(opts: { name?: string } = {}): BackupInfo[] {
    const q = this.#current();
    return q.backups.listBackups(opts);
  }

  getBackup(idOrName: string): BackupInfo | undefined {
    const q = this.#current();
    return q.backups.getBackup(idOrName);
  }

  listBackupFiles(backupId: string, opts: ListBackupFilesOptions = {}): BackupFileInfo[] {
    const q = this.#current();
    return q.backups.listBackupFiles(backupId, opts);
  }

  getBackupStreamChunks(backupId: string, opts: { fromSeq?: number; limit?: number } = {}): StreamChunk[] {
    const q = this.#current();
    return q.backups.getBackupStreamChunks(backupId, opts);
  }

  backupLogs(backupId: string): BackupLogLine[] {
    const q = this.#current();
    return q.backups.backupLogs(backupId);
  }

  // ---- chunks, GC, keys ----

  getChunk(hash: string): ChunkInfo | undefined {
    const q = this.#current();
    return q.chunks.getChunk(hash);
  }

  hasLiveChunk(hash: string): boolean {
    const q = this.#current();
    return q.chunks.hasLiveChunk(hash);
  }

  hasNameTag(nameTag: string): boolean {
    const q = this.#current();
    return q.chunks.hasNameTag(nameTag);
  }

  listGarbageChunks(opts: { olderThanMs: number; limit?: number }): ChunkInfo[] {
    const q = this.#current();
    return q.chunks.listGarbageChunks(opts);
  }

  listDeletingChunks(opts: { afterHash?: string; limit?: number } = {}): ChunkInfo[] {
    const q = this.#current();
    return q.chunks.listDeletingChunks(opts);
  }

  allNameTags(pageRows?: number): Generator<string, void, undefined> {
    const q = this.#current();
    return q.chunks.allNameTags(pageRows);
  }

  chunkStats(): ChunkStats {
    const q = this.#current();
    return q.chunks.chunkStats();
  }

  /** The replicated GC pause (a new-cluster restore's), undefined when GC may run. */
  gcPause(): GcPauseRecord | undefined {
    const q = this.#current();
    return q.gcMeta.gcPause();
  }

  /** The last ResumeGc that lifted a pause. */
  gcPauseConfirmation(): GcPauseConfirmation | undefined {
    const q = this.#current();
    return q.gcMeta.gcPauseConfirmation();
  }

  /**
   * Restore only (outside apply, like resetClusterIdentity): pauses GC in this database, which is
   * about to become a new cluster's state. Lifted by the ResumeGc command.
   */
  setGcPause(pause: GcPauseRecord): void {
    const q = this.#current();
    q.gcMeta.setGcPause(pause);
  }

  /** Is a sweep deleting the backend objects of this name tag now (MarkSweeping, not cleared)? */
  isNameTagSweeping(nameTag: string): boolean {
    const q = this.#current();
    return q.gcMeta.isNameTagSweeping(nameTag);
  }

  /** Name tags a sweep fenced and did not clear (a crashed run's work), by tag. */
  listSweepingNameTags(opts: { afterNameTag?: string; limit?: number } = {}): string[] {
    const q = this.#current();
    return q.gcMeta.listSweepingNameTags(opts);
  }

  sweepingCount(): number {
    const q = this.#current();
    return q.gcMeta.sweepingCount();
  }

  dataKeys(): DataKeyInfo[] {
    const q = this.#current();
    return q.chunks.dataKeys();
  }

  // ---- whole-database ----

  /** SHA-256 (hex) of a canonical dump of every table; equal on nodes that applied the same log. */
  checksum(): string {
    this.#open();
    return this.#olderVersion === undefined ? checksumDatabase(this.#db) : checksumAtVersion(this.#db);
  }

  rowCounts(): Record<string, number> {
    this.#open();
    return this.#olderVersion === undefined ? rowCountsOf(this.#db) : rowCountsAtVersion(this.#db);
  }

  schemaVersion(): number {
    this.#open();
    return readSchemaVersion(this.#db);
  }

  /** Cross-table invariant violations (empty when healthy). */
  checkInvariants(): string[] {
    this.#current();
    return checkInvariants(this.#db);
  }

  /** A consistent, self-contained copy of the database at `path`, taken while in use. */
  async backupTo(path: string): Promise<void> {
    // The copy is opened read-write (journal mode), which would migrate it: current schema only.
    this.#current();
    await backupDatabase(this.#db, path);
  }

  #open(): void {
    if (this.#closed) throw new ManifestError("Closed", `manifest ${this.path} is closed`);
  }

  /** The current-schema queries; refused (naming both versions) for an older database opened read-only. */
  #current(checkOpen = true): CurrentSchemaQueries {
    if (checkOpen) this.#open();
    if (this.#q !== undefined) return this.#q;
    throw new ManifestError(
      "InvalidArgument",
      `manifest database ${this.path} has schema version ${this.#olderVersion}, older than this build's ` +
        `${SCHEMA_VERSION}: opened read-only it serves only schemaVersion, raftMeta, rowCounts and checksum; ` +
        "open it read-write to migrate it",
    );
  }
}
