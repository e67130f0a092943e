/**
 * Versioned schema. The version lives in SQLite's `PRAGMA user_version` (in the file header, so it
 * changes atomically with the migration transaction). Migrations are append-only: never edit a
 * released step, add a new one.
 *
 * Conventions: STRICT tables; WITHOUT ROWID wherever a natural key exists, so rows are stored in key
 * order and nothing depends on rowid allocation (determinism across nodes). Object keys and backup
 * paths are BLOBs of UTF-8 bytes (memcmp order == S3 order). Child rows cascade from their parent;
 * chunk references carry a foreign key to `chunks`, so forgetting a still-referenced chunk fails
 * loudly instead of leaving a dangling reference.
 */

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

const V1_INITIAL: readonly string[] = [
  `CREATE TABLE buckets (
    name TEXT NOT NULL PRIMARY KEY,
    created_ms INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID`,

  // One row per distinct plaintext chunk. refcount counts references from object_chunks,
  // part_chunks, backup_file_chunks and backup_stream_chunks (a chunk used twice counts twice).
  // zero_since_* record when (command timestamp, log index) refcount last dropped to 0.
  `CREATE TABLE chunks (
    hash TEXT NOT NULL PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    sealed_size INTEGER NOT NULL CHECK (sealed_size >= 0),
    key_id INTEGER NOT NULL,
    compressed INTEGER NOT NULL CHECK (compressed IN (0, 1)),
    name_tag TEXT NOT NULL,
    locations TEXT NOT NULL,
    refcount INTEGER NOT NULL CHECK (refcount >= 0),
    state TEXT NOT NULL CHECK (state IN ('live', 'deleting')),
    zero_since_ms INTEGER,
    zero_since_index INTEGER,
    CHECK ((refcount = 0) = (zero_since_ms IS NOT NULL)),
    CHECK ((zero_since_ms IS NULL) = (zero_since_index IS NULL)),
    CHECK (state = 'live' OR refcount = 0)
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX chunks_garbage ON chunks (zero_since_ms, hash) WHERE refcount = 0 AND state = 'live'`,
  `CREATE INDEX chunks_deleting ON chunks (hash) WHERE state = 'deleting'`,
  `CREATE INDEX chunks_name_tag ON chunks (name_tag)`,

  `CREATE TABLE objects (
    bucket TEXT NOT NULL REFERENCES buckets (name),
    key BLOB NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    etag TEXT NOT NULL,
    meta TEXT NOT NULL,
    last_modified_ms INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    PRIMARY KEY (bucket, key)
  ) STRICT, WITHOUT ROWID`,
  `CREATE TABLE object_chunks (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL REFERENCES chunks (hash),
    PRIMARY KEY (bucket, key, seq),
    FOREIGN KEY (bucket, key) REFERENCES objects (bucket, key) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX object_chunks_hash ON object_chunks (hash)`,

  `CREATE TABLE uploads (
    upload_id TEXT NOT NULL PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES buckets (name),
    key BLOB NOT NULL,
    meta TEXT NOT NULL,
    initiated_ms INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX uploads_by_key ON uploads (bucket, key, initiated_ms, upload_id)`,
  `CREATE TABLE parts (
    upload_id TEXT NOT NULL REFERENCES uploads (upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    etag TEXT NOT NULL,
    checksums TEXT,
    last_modified_ms INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number)
  ) STRICT, WITHOUT ROWID`,
  `CREATE TABLE part_chunks (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL REFERENCES chunks (hash),
    PRIMARY KEY (upload_id, part_number, seq),
    FOREIGN KEY (upload_id, part_number) REFERENCES parts (upload_id, part_number) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX part_chunks_hash ON part_chunks (hash)`,

  `CREATE TABLE backups (
    backup_id TEXT NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('dir', 'stream')),
    source TEXT NOT NULL,
    host TEXT,
    state TEXT NOT NULL CHECK (state IN ('open', 'complete', 'aborted')),
    started_ms INTEGER NOT NULL,
    completed_ms INTEGER,
    aborted_ms INTEGER,
    abort_reason TEXT,
    chain_hex TEXT,
    file_count INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    logical_bytes INTEGER NOT NULL,
    log_count INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX backups_by_name ON backups (name, state, completed_ms, backup_id)`,
  `CREATE TABLE backup_files (
    backup_id TEXT NOT NULL REFERENCES backups (backup_id) ON DELETE CASCADE,
    path BLOB NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('file', 'dir', 'symlink')),
    mode INTEGER NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    mtime_ms INTEGER NOT NULL,
    link_target TEXT,
    chunk_count INTEGER NOT NULL,
    PRIMARY KEY (backup_id, path)
  ) STRICT, WITHOUT ROWID`,
  `CREATE TABLE backup_file_chunks (
    backup_id TEXT NOT NULL,
    path BLOB NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL REFERENCES chunks (hash),
    PRIMARY KEY (backup_id, path, seq),
    FOREIGN KEY (backup_id, path) REFERENCES backup_files (backup_id, path) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX backup_file_chunks_hash ON backup_file_chunks (hash)`,
  `CREATE TABLE backup_stream_chunks (
    backup_id TEXT NOT NULL REFERENCES backups (backup_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL REFERENCES chunks (hash),
    PRIMARY KEY (backup_id, seq)
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX backup_stream_chunks_hash ON backup_stream_chunks (hash)`,
  `CREATE TABLE backup_logs (
    backup_id TEXT NOT NULL REFERENCES backups (backup_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    at_ms INTEGER NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('info', 'warn', 'error')),
    message TEXT NOT NULL,
    PRIMARY KEY (backup_id, seq)
  ) STRICT, WITHOUT ROWID`,

  // added_index orders keys by when they were applied: the last one added is current.
  `CREATE TABLE data_keys (
    key_id INTEGER NOT NULL PRIMARY KEY,
    wrapped_hex TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    added_index INTEGER NOT NULL UNIQUE
  ) STRICT`,

  // Exactly one row. Updated in the same transaction as every applied entry (ARCHITECTURE §5).
  `CREATE TABLE raft_meta (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    applied_index INTEGER NOT NULL,
    applied_term INTEGER NOT NULL,
    membership TEXT,
    membership_index INTEGER NOT NULL,
    cluster_id TEXT
  ) STRICT`,
  `INSERT INTO raft_meta (id, applied_index, applied_term, membership, membership_index, cluster_id)
    VALUES (1, 0, 0, NULL, 0, NULL)`,

  // requestId de-duplication window, pruned by log index (never by time).
  `CREATE TABLE applied_requests (
    request_id TEXT NOT NULL PRIMARY KEY,
    applied_index INTEGER NOT NULL,
    result TEXT NOT NULL
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX applied_requests_by_index ON applied_requests (applied_index)`,
];

/**
 * The dedup/GC fence (DESIGN.md "Dedup against GC"): which chunks GC forgot and at which log index,
 * so apply can tell whether a writer's upload may predate GC's delete of the same backend key.
 * Tombstones older than a window of log indexes are pruned; `tombstone_horizon_index` is the
 * highest pruned one, below which apply no longer knows and stays conservative.
 */
const V2_CHUNK_TOMBSTONES: readonly string[] = [
  `CREATE TABLE chunk_tombstones (
    hash TEXT NOT NULL PRIMARY KEY,
    forgotten_index INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX chunk_tombstones_by_index ON chunk_tombstones (forgotten_index)`,
  `CREATE TABLE gc_meta (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    tombstone_horizon_index INTEGER NOT NULL
  ) STRICT`,
  `INSERT INTO gc_meta (id, tombstone_horizon_index) VALUES (1, 0)`,
];

/**
 * The replicated GC pause and the sweep fence (DESIGN.md "GC pause" and "Sweep against writers").
 * `gc_meta.gc_pause`: canonical JSON of the pause a new-cluster restore wrote into the restored
 * database (NULL: not paused); `gc_pause_confirmed`: the last ResumeGc (who, when, which pause).
 * `swept_name_tags`: name tags the sweep fenced (`sweeping`, from `marked_index`) or cleared
 * (`swept`, tombstone at `cleared_index`, pruned after the tombstone window).
 */
const V3_GC_PAUSE_AND_SWEEP_FENCE: readonly string[] = [
  "ALTER TABLE gc_meta ADD COLUMN gc_pause TEXT",
  "ALTER TABLE gc_meta ADD COLUMN gc_pause_confirmed TEXT",
  `CREATE TABLE swept_name_tags (
    name_tag TEXT NOT NULL PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('sweeping', 'swept')),
    marked_index INTEGER NOT NULL,
    cleared_index INTEGER,
    CHECK ((state = 'swept') = (cleared_index IS NOT NULL))
  ) STRICT, WITHOUT ROWID`,
  `CREATE INDEX swept_name_tags_cleared ON swept_name_tags (cleared_index) WHERE state = 'swept'`,
  `CREATE INDEX swept_name_tags_sweeping ON swept_name_tags (name_tag) WHERE state = 'sweeping'`,
];

/**
 * Cluster feature level and multipart part boundaries (DESIGN.md "Feature level").
 * `cluster_features.level`: apply behaviour a newer build adds is switched on only from the entry
 * that raised the level (SetFeatureLevel, proposed once every member supports it), so every
 * replica applies every entry the same way during a rolling upgrade. `object_parts`: from level 1,
 * CompleteMultipartUpload records each part's size, ETag and chunk count, for GetObject/HeadObject
 * by part number and for verifying multipart ETags; objects completed before have none.
 */
const V4_FEATURES_AND_OBJECT_PARTS: readonly string[] = [
  `CREATE TABLE cluster_features (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    level INTEGER NOT NULL CHECK (level >= 0)
  ) STRICT`,
  `INSERT INTO cluster_features (id, level) VALUES (1, 0)`,
  `CREATE TABLE object_parts (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    part_number INTEGER NOT NULL CHECK (part_number >= 1),
    size INTEGER NOT NULL CHECK (size >= 0),
    etag TEXT NOT NULL,
    chunk_count INTEGER NOT NULL CHECK (chunk_count >= 0),
    PRIMARY KEY (bucket, key, part_number),
    FOREIGN KEY (bucket, key) REFERENCES objects (bucket, key) ON DELETE CASCADE
  ) STRICT, WITHOUT ROWID`,
];

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "initial", statements: V1_INITIAL },
  { version: 2, name: "chunk tombstones", statements: V2_CHUNK_TOMBSTONES },
  { version: 3, name: "gc pause and sweep fence", statements: V3_GC_PAUSE_AND_SWEEP_FENCE },
  { version: 4, name: "feature level and object parts", statements: V4_FEATURES_AND_OBJECT_PARTS },
];

export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Every table, in the fixed order used by checksum() and rowCounts(), with its key columns and the
 * schema version that created it. Append-only like MIGRATIONS: a database at version v holds exactly
 * the tables with `since <= v`, in this order, which is what the build of version v checksummed.
 */
export const TABLES: readonly { readonly name: string; readonly orderBy: string; readonly since: number }[] =
  [
    { name: "buckets", orderBy: "name", since: 1 },
    { name: "chunks", orderBy: "hash", since: 1 },
    { name: "objects", orderBy: "bucket, key", since: 1 },
    { name: "object_chunks", orderBy: "bucket, key, seq", since: 1 },
    { name: "uploads", orderBy: "upload_id", since: 1 },
    { name: "parts", orderBy: "upload_id, part_number", since: 1 },
    { name: "part_chunks", orderBy: "upload_id, part_number, seq", since: 1 },
    { name: "backups", orderBy: "backup_id", since: 1 },
    { name: "backup_files", orderBy: "backup_id, path", since: 1 },
    { name: "backup_file_chunks", orderBy: "backup_id, path, seq", since: 1 },
    { name: "backup_stream_chunks", orderBy: "backup_id, seq", since: 1 },
    { name: "backup_logs", orderBy: "backup_id, seq", since: 1 },
    { name: "data_keys", orderBy: "key_id", since: 1 },
    { name: "raft_meta", orderBy: "id", since: 1 },
    { name: "applied_requests", orderBy: "request_id", since: 1 },
    { name: "chunk_tombstones", orderBy: "hash", since: 2 },
    { name: "gc_meta", orderBy: "id", since: 2 },
    { name: "swept_name_tags", orderBy: "name_tag", since: 3 },
    { name: "cluster_features", orderBy: "id", since: 4 },
    { name: "object_parts", orderBy: "bucket, key, part_number", since: 4 },
  ];

/** The tables a database at schema `version` holds, in checksum order. */
export function tablesAt(version: number): typeof TABLES {
  return TABLES.filter((t) => t.since <= version);
}
