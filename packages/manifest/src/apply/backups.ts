import type Database from "better-sqlite3";
import type { ApplyResult, ChunkRef, Command } from "../commands.js";
import { toKeyBytes } from "../key-bytes.js";
import type { ChunkRefs } from "./chunk-refs.js";
import { checkChunkSizes } from "./objects.js";
import { type ApplyContext, refuse } from "./refusal.js";

type Begin = Extract<Command, { type: "BeginBackup" }>;
type AddFiles = Extract<Command, { type: "AddBackupFiles" }>;
type Append = Extract<Command, { type: "AppendBackupChunks" }>;
type Complete = Extract<Command, { type: "CompleteBackup" }>;
type Abort = Extract<Command, { type: "AbortBackup" }>;
type Delete = Extract<Command, { type: "DeleteBackup" }>;
type AddLog = Extract<Command, { type: "AddBackupLog" }>;

/** A limit on everything: log lines beyond this per backup are refused (InvalidArgument). */
export const MAX_BACKUP_LOG_LINES = 10_000;

interface BackupRow {
  readonly kind: "dir" | "stream";
  readonly state: "open" | "complete" | "aborted";
  readonly chunk_count: number;
  readonly log_count: number;
}

interface FileHead {
  readonly size: number;
  readonly chunk_count: number;
}

type Counts = { hash: string; n: number };

export class BackupCommands {
  readonly #refs: ChunkRefs;
  readonly #get: Database.Statement<[string], BackupRow>;
  readonly #insert: Database.Statement<[string, string, string, string, string | null, number]>;
  readonly #setComplete: Database.Statement<[number, string, string]>;
  readonly #setAborted: Database.Statement<[number, string, string]>;
  readonly #addCounts: Database.Statement<[number, number, number, string]>;
  readonly #setChain: Database.Statement<[string, string]>;
  readonly #resetCounts: Database.Statement<[string]>;
  readonly #delete: Database.Statement<[string]>;
  readonly #fileHead: Database.Statement<[string, Buffer], FileHead>;
  readonly #fileCounts: Database.Statement<[string, Buffer], Counts>;
  readonly #deleteFile: Database.Statement<[string, Buffer]>;
  readonly #insertFile: Database.Statement<
    [string, Buffer, string, number, number, number, string | null, number]
  >;
  readonly #insertFileChunk: Database.Statement<[string, Buffer, number, string]>;
  readonly #insertStreamChunk: Database.Statement<[string, number, string]>;
  readonly #allFileCounts: Database.Statement<[string], Counts>;
  readonly #allStreamCounts: Database.Statement<[string], Counts>;
  readonly #deleteFiles: Database.Statement<[string]>;
  readonly #deleteStream: Database.Statement<[string]>;
  readonly #insertLog: Database.Statement<[string, number, number, string, string]>;
  readonly #bumpLogCount: Database.Statement<[string]>;

  constructor(db: Database.Database, refs: ChunkRefs) {
    this.#refs = refs;
    this.#get = db.prepare("SELECT kind, state, chunk_count, log_count FROM backups WHERE backup_id = ?");
    this.#insert = db.prepare(
      `INSERT INTO backups (backup_id, name, kind, source, host, state, started_ms, completed_ms,
         aborted_ms, abort_reason, chain_hex, file_count, chunk_count, logical_bytes, log_count)
       VALUES (?, ?, ?, ?, ?, 'open', ?, NULL, NULL, NULL, NULL, 0, 0, 0, 0)`,
    );
    this.#setComplete = db.prepare(
      "UPDATE backups SET state = 'complete', completed_ms = ?, chain_hex = ? WHERE backup_id = ?",
    );
    this.#setAborted = db.prepare(
      "UPDATE backups SET state = 'aborted', aborted_ms = ?, abort_reason = ? WHERE backup_id = ?",
    );
    this.#addCounts = db.prepare(
      `UPDATE backups SET file_count = file_count + ?, chunk_count = chunk_count + ?,
         logical_bytes = logical_bytes + ? WHERE backup_id = ?`,
    );
    this.#setChain = db.prepare("UPDATE backups SET chain_hex = ? WHERE backup_id = ?");
    this.#resetCounts = db.prepare(
      "UPDATE backups SET file_count = 0, chunk_count = 0, logical_bytes = 0 WHERE backup_id = ?",
    );
    this.#delete = db.prepare("DELETE FROM backups WHERE backup_id = ?");
    this.#fileHead = db.prepare(
      "SELECT size, chunk_count FROM backup_files WHERE backup_id = ? AND path = ?",
    );
    this.#fileCounts = db.prepare(
      `SELECT hash, count(*) AS n FROM backup_file_chunks WHERE backup_id = ? AND path = ?
       GROUP BY hash`,
    );
    this.#deleteFile = db.prepare("DELETE FROM backup_files WHERE backup_id = ? AND path = ?");
    this.#insertFile = db.prepare(
      `INSERT INTO backup_files (backup_id, path, kind, mode, size, mtime_ms, link_target, chunk_count)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertFileChunk = db.prepare(
      "INSERT INTO backup_file_chunks (backup_id, path, seq, hash) VALUES (?, ?, ?, ?)",
    );
    this.#insertStreamChunk = db.prepare(
      "INSERT INTO backup_stream_chunks (backup_id, seq, hash) VALUES (?, ?, ?)",
    );
    this.#allFileCounts = db.prepare(
      "SELECT hash, count(*) AS n FROM backup_file_chunks WHERE backup_id = ? GROUP BY hash",
    );
    this.#allStreamCounts = db.prepare(
      "SELECT hash, count(*) AS n FROM backup_stream_chunks WHERE backup_id = ? GROUP BY hash",
    );
    this.#deleteFiles = db.prepare("DELETE FROM backup_files WHERE backup_id = ?");
    this.#deleteStream = db.prepare("DELETE FROM backup_stream_chunks WHERE backup_id = ?");
    this.#insertLog = db.prepare(
      "INSERT INTO backup_logs (backup_id, seq, at_ms, level, message) VALUES (?, ?, ?, ?, ?)",
    );
    this.#bumpLogCount = db.prepare("UPDATE backups SET log_count = log_count + 1 WHERE backup_id = ?");
  }

  begin(cmd: Begin): ApplyResult {
    if (this.#get.get(cmd.backupId) !== undefined) refuse("KeyExists", `backup ${cmd.backupId} exists`);
    this.#insert.run(cmd.backupId, cmd.name, cmd.kind, cmd.source, cmd.host ?? null, cmd.startedAtMs);
    return { ok: true };
  }

  #open(backupId: string, kind?: "dir" | "stream"): BackupRow {
    const row = this.#get.get(backupId);
    if (row === undefined) refuse("NoSuchBackup", `no backup ${backupId}`);
    if (row.state !== "open") refuse("BackupNotOpen", `backup ${backupId} is ${row.state}`);
    if (kind !== undefined && row.kind !== kind) {
      refuse("InvalidArgument", `backup ${backupId} is a ${row.kind} backup`);
    }
    return row;
  }

  /** Idempotent per path: re-adding a path replaces the entry, so a resumed backup is safe. */
  addFiles(cmd: AddFiles, ctx: ApplyContext): ApplyResult {
    this.#open(cmd.backupId, "dir");
    const all: ChunkRef[] = [];
    for (const f of cmd.files) {
      if (f.kind === "file") checkChunkSizes(f.chunks, f.size, `file ${f.path}`);
      else if (f.chunks.length > 0) refuse("InvalidArgument", `${f.kind} ${f.path} cannot have chunks`);
      for (const c of f.chunks) all.push(c);
    }
    this.#refs.acquire(all);
    let files = 0;
    let chunks = 0;
    let bytes = 0;
    for (const f of cmd.files) {
      const path = toKeyBytes(f.path);
      const old = this.#fileHead.get(cmd.backupId, path);
      if (old !== undefined) {
        this.#refs.release(this.#fileCounts.all(cmd.backupId, path), cmd.atMs, ctx);
        this.#deleteFile.run(cmd.backupId, path);
        files--;
        chunks -= old.chunk_count;
        bytes -= old.size;
      }
      this.#insertFile.run(
        cmd.backupId,
        path,
        f.kind,
        f.mode,
        f.size,
        f.mtimeMs,
        f.linkTarget ?? null,
        f.chunks.length,
      );
      for (let seq = 0; seq < f.chunks.length; seq++) {
        this.#insertFileChunk.run(cmd.backupId, path, seq, (f.chunks[seq] as ChunkRef).hash);
      }
      files++;
      chunks += f.chunks.length;
      bytes += f.size;
    }
    this.#addCounts.run(files, chunks, bytes, cmd.backupId);
    return { ok: true };
  }

  /** firstSeq must equal the stored count, so a retried batch can never append twice. */
  append(cmd: Append): ApplyResult {
    const row = this.#open(cmd.backupId, "stream");
    if (cmd.firstSeq !== row.chunk_count) {
      refuse("BadSequence", `backup ${cmd.backupId} holds ${row.chunk_count} chunks, not ${cmd.firstSeq}`);
    }
    this.#refs.acquire(cmd.chunks);
    let bytes = 0;
    for (let i = 0; i < cmd.chunks.length; i++) {
      const c = cmd.chunks[i] as ChunkRef;
      this.#insertStreamChunk.run(cmd.backupId, cmd.firstSeq + i, c.hash);
      bytes += c.size;
    }
    this.#addCounts.run(0, cmd.chunks.length, bytes, cmd.backupId);
    this.#setChain.run(cmd.chainHex, cmd.backupId);
    return { ok: true };
  }

  complete(cmd: Complete): ApplyResult {
    this.#open(cmd.backupId);
    this.#setComplete.run(cmd.completedAtMs, cmd.chainHex, cmd.backupId);
    return { ok: true };
  }

  /** An aborted backup keeps its row and logs (for `enigma backup list`) but drops its content. */
  abort(cmd: Abort, ctx: ApplyContext): ApplyResult {
    this.#open(cmd.backupId);
    this.#releaseContent(cmd.backupId, cmd.atMs, ctx);
    this.#setAborted.run(cmd.atMs, cmd.reason, cmd.backupId);
    return { ok: true };
  }

  delete(cmd: Delete, ctx: ApplyContext): ApplyResult {
    if (this.#get.get(cmd.backupId) === undefined) refuse("NoSuchBackup", `no backup ${cmd.backupId}`);
    this.#releaseContent(cmd.backupId, cmd.atMs, ctx);
    this.#delete.run(cmd.backupId);
    return { ok: true };
  }

  addLog(cmd: AddLog): ApplyResult {
    const row = this.#get.get(cmd.backupId);
    if (row === undefined) refuse("NoSuchBackup", `no backup ${cmd.backupId}`);
    if (row.log_count >= MAX_BACKUP_LOG_LINES) {
      refuse("InvalidArgument", `backup ${cmd.backupId} already has ${MAX_BACKUP_LOG_LINES} log lines`);
    }
    this.#insertLog.run(cmd.backupId, row.log_count, cmd.atMs, cmd.level, cmd.message);
    this.#bumpLogCount.run(cmd.backupId);
    return { ok: true };
  }

  #releaseContent(backupId: string, atMs: number, ctx: ApplyContext): void {
    this.#refs.release(this.#allFileCounts.all(backupId), atMs, ctx);
    this.#refs.release(this.#allStreamCounts.all(backupId), atMs, ctx);
    this.#deleteFiles.run(backupId);
    this.#deleteStream.run(backupId);
    this.#resetCounts.run(backupId);
  }
}
