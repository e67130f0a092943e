/**
 * State-machine snapshots: a self-contained copy of the database file. Taken with SQLite's online
 * backup API (consistent even while entries are being applied on the same connection), restored by
 * validating a temporary copy and renaming it over the target (atomic on POSIX).
 */
import { closeSync, copyFileSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";
import { ManifestError } from "./errors.js";
import { openDatabase, readSchemaVersion } from "./schema/open-database.js";

/** Writes a consistent snapshot to `path` (replacing it atomically), in rollback-journal mode. */
export async function backupDatabase(db: Database.Database, path: string): Promise<void> {
  const tmp = `${path}.tmp-backup`;
  removeDbFiles(tmp);
  try {
    await db.backup(tmp);
    // One self-contained file (no -wal), fsynced, for tarballs and InstallSnapshot transfers.
    const copy = openDatabase(tmp, { integrityCheck: "none" });
    copy.pragma("journal_mode = DELETE");
    copy.close();
    fsyncFile(tmp);
    renameSync(tmp, path);
    fsyncDir(dirname(path));
  } catch (err) {
    removeDbFiles(tmp);
    throw ManifestError.from(err);
  }
}

export interface RestoreReport {
  readonly schemaVersion: number;
}

/**
 * Replaces the database at `targetPath` (which must be closed) with the snapshot. The snapshot is
 * copied to a temporary file, fully integrity-checked and migrated there; only then are the
 * target's stale -wal/-shm removed (a stale WAL would be replayed onto the new file) and the copy
 * renamed over the target. A failed check leaves the target untouched.
 */
export function restoreDatabase(snapshotPath: string, targetPath: string): RestoreReport {
  const tmp = `${targetPath}.tmp-restore`;
  removeDbFiles(tmp);
  let schemaVersion: number;
  try {
    copyFileSync(snapshotPath, tmp);
    const db = openDatabase(tmp, { integrityCheck: "full" });
    try {
      schemaVersion = readSchemaVersion(db);
      db.pragma("journal_mode = DELETE");
    } finally {
      db.close();
    }
    fsyncFile(tmp);
  } catch (err) {
    removeDbFiles(tmp);
    const e = ManifestError.from(err);
    throw new ManifestError(e.code, `cannot restore from ${snapshotPath}: ${e.message}`, { cause: err });
  }
  rmSync(`${targetPath}-wal`, { force: true });
  rmSync(`${targetPath}-shm`, { force: true });
  renameSync(tmp, targetPath);
  fsyncDir(dirname(targetPath));
  return { schemaVersion };
}

function removeDbFiles(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${path}${suffix}`, { force: true });
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
