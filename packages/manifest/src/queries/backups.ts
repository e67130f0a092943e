import type Database from "better-sqlite3";
import type { BackupFileEntry } from "../commands.js";
import { ManifestError } from "../errors.js";
import { fromKeyBytes, immediateSuccessor, prefixEnd, toKeyBytes } from "../key-bytes.js";
import { CHUNK_REF_COLUMNS, type ChunkRefRow, toChunkRef } from "./chunk-rows.js";
import type { BackupInfo, BackupLogLine, BackupState, StreamChunk } from "./types.js";

/** Backup listings return everything unless a page limit is given: a silently short file list
 * would make a restore or verify incomplete. Page (startAfter/fromSeq + limit) for huge backups. */
export const MAX_BACKUP_PAGE = Number.MAX_SAFE_INTEGER;

interface BackupRow {
  readonly backup_id: string;
  readonly name: string;
  readonly kind: "dir" | "stream";
  readonly source: string;
  readonly host: string | null;
  readonly state: BackupState;
  readonly started_ms: number;
  readonly completed_ms: number | null;
  readonly aborted_ms: number | null;
  readonly abort_reason: string | null;
  readonly chain_hex: string | null;
  readonly file_count: number;
  readonly chunk_count: number;
  readonly logical_bytes: number;
  readonly log_count: number;
}

interface FileRow {
  readonly path: Buffer;
  readonly kind: "file" | "dir" | "symlink";
  readonly mode: number;
  readonly size: number;
  readonly mtime_ms: number;
  readonly link_target: string | null;
  readonly chunk_count: number;
}

function toBackup(r: BackupRow): BackupInfo {
  return {
    id: r.backup_id,
    name: r.name,
    kind: r.kind,
    source: r.source,
    ...(r.host === null ? {} : { host: r.host }),
    state: r.state,
    startedAtMs: r.started_ms,
    ...(r.completed_ms === null ? {} : { completedAtMs: r.completed_ms }),
    ...(r.aborted_ms === null ? {} : { abortedAtMs: r.aborted_ms }),
    ...(r.abort_reason === null ? {} : { abortReason: r.abort_reason }),
    ...(r.chain_hex === null ? {} : { chainHex: r.chain_hex }),
    fileCount: r.file_count,
    chunkCount: r.chunk_count,
    logicalBytes: r.logical_bytes,
    logCount: r.log_count,
  };
}

function pageSize(limit: number | undefined): number {
  const n = limit ?? MAX_BACKUP_PAGE;
  if (!Number.isInteger(n) || n < 0 || n > MAX_BACKUP_PAGE) {
    throw new ManifestError("InvalidArgument", "page limit must be a non-negative integer");
  }
  return n;
}

export interface ListBackupFilesOptions {
  readonly prefix?: string;
  /** Exclusive: the last path of the previous page. */
  readonly startAfter?: string;
  readonly limit?: number;
  /** Default true; false skips the chunk lists (for `restore --list`). */
  readonly withChunks?: boolean;
}

export class BackupQueries {
  readonly #all: Database.Statement<[], BackupRow>;
  readonly #byName: Database.Statement<[string], BackupRow>;
  readonly #byId: Database.Statement<[string], BackupRow>;
  readonly #latestComplete: Database.Statement<[string], BackupRow>;
  readonly #files: Database.Statement<[string, Buffer, Buffer, number], FileRow>;
  readonly #filesUnbounded: Database.Statement<[string, Buffer, number], FileRow>;
  readonly #fileChunks: Database.Statement<[string, Buffer], ChunkRefRow>;
  readonly #stream: Database.Statement<[string, number, number], ChunkRefRow & { seq: number }>;
  readonly #logs: Database.Statement<
    [string],
    { seq: number; at_ms: number; level: "info" | "warn" | "error"; message: string }
  >;

  constructor(db: Database.Database) {
    this.#all = db.prepare("SELECT * FROM backups ORDER BY started_ms, backup_id");
    this.#byName = db.prepare("SELECT * FROM backups WHERE name = ? ORDER BY started_ms, backup_id");
    this.#byId = db.prepare("SELECT * FROM backups WHERE backup_id = ?");
    this.#latestComplete = db.prepare(
      `SELECT * FROM backups WHERE name = ? AND state = 'complete'
       ORDER BY completed_ms DESC, backup_id DESC LIMIT 1`,
    );
    const fileCols = "path, kind, mode, size, mtime_ms, link_target, chunk_count";
    this.#files = db.prepare(
      `SELECT ${fileCols} FROM backup_files WHERE backup_id = ? AND path >= ? AND path < ?
       ORDER BY path LIMIT ?`,
    );
    this.#filesUnbounded = db.prepare(
      `SELECT ${fileCols} FROM backup_files WHERE backup_id = ? AND path >= ? ORDER BY path LIMIT ?`,
    );
    this.#fileChunks = db.prepare(
      `SELECT ${CHUNK_REF_COLUMNS} FROM backup_file_chunks fc JOIN chunks ch ON ch.hash = fc.hash
       WHERE fc.backup_id = ? AND fc.path = ? ORDER BY fc.seq`,
    );
    this.#stream = db.prepare(
      `SELECT sc.seq, ${CHUNK_REF_COLUMNS} FROM backup_stream_chunks sc JOIN chunks ch ON ch.hash = sc.hash
       WHERE sc.backup_id = ? AND sc.seq >= ? ORDER BY sc.seq LIMIT ?`,
    );
    this.#logs = db.prepare(
      "SELECT seq, at_ms, level, message FROM backup_logs WHERE backup_id = ? ORDER BY seq",
    );
  }

  /** Oldest first. */
  listBackups(opts: { name?: string } = {}): BackupInfo[] {
    const rows = opts.name === undefined ? this.#all.all() : this.#byName.all(opts.name);
    return rows.map(toBackup);
  }

  /** By id; otherwise the latest complete backup with that name. */
  getBackup(idOrName: string): BackupInfo | undefined {
    const r = this.#byId.get(idOrName) ?? this.#latestComplete.get(idOrName);
    return r === undefined ? undefined : toBackup(r);
  }

  /** A page of files in path byte order. Pass the last path as `startAfter` for the next page. */
  listBackupFiles(backupId: string, opts: ListBackupFilesOptions = {}): BackupFileEntry[] {
    const limit = pageSize(opts.limit);
    const prefix = toKeyBytes(opts.prefix ?? "");
    let from = prefix;
    if (opts.startAfter !== undefined) {
      const after = immediateSuccessor(toKeyBytes(opts.startAfter));
      if (Buffer.compare(after, from) > 0) from = after;
    }
    const end = prefixEnd(prefix);
    const rows =
      end === null
        ? this.#filesUnbounded.all(backupId, from, limit)
        : this.#files.all(backupId, from, end, limit);
    return rows.map((r) => {
      const entry = {
        path: fromKeyBytes(r.path),
        kind: r.kind,
        mode: r.mode,
        size: r.size,
        mtimeMs: r.mtime_ms,
        chunks:
          opts.withChunks === false || r.chunk_count === 0
            ? []
            : this.#fileChunks.all(backupId, r.path).map(toChunkRef),
      };
      return r.link_target === null ? entry : { ...entry, linkTarget: r.link_target };
    });
  }

  /** Stream chunks in sequence order, a page at a time. */
  getBackupStreamChunks(backupId: string, opts: { fromSeq?: number; limit?: number } = {}): StreamChunk[] {
    const limit = pageSize(opts.limit);
    return this.#stream
      .all(backupId, opts.fromSeq ?? 0, limit)
      .map((r) => ({ ...toChunkRef(r), seq: r.seq }));
  }

  backupLogs(backupId: string): BackupLogLine[] {
    return this.#logs
      .all(backupId)
      .map((r) => ({ seq: r.seq, atMs: r.at_ms, level: r.level, message: r.message }));
  }
}
