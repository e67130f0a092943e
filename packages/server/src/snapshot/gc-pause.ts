/**
 * After a snapshot restore, GC stays paused until an operator confirms (ARCHITECTURE §7). A
 * restored manifest is older than the storage it points at: blobs uploaded after the snapshot are
 * unknown to it, so a sweep (backend listing vs manifest) would delete them — including data the
 * operator may still want if the restore turns out to be the wrong one. The marker is a file in the
 * node's data dir, written *before* the manifest is swapped (a crash in between leaves GC paused,
 * never unpaused), and any marker at all — even an unreadable one — pauses GC (fail closed).
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { SnapshotError } from "./errors.js";

export const GC_PAUSED_FILE = "gc-paused.json";

export interface GcPauseInfo {
  readonly reason: "snapshot-restore";
  /** ISO 8601. */
  readonly pausedAt: string;
  readonly mode: "reseed" | "new-cluster";
  readonly snapshotFile: string;
  readonly snapshotSha256: string;
  readonly appliedIndex: number;
  readonly clusterId: string | null;
}

export function gcPausePath(dataDir: string): string {
  return join(dataDir, GC_PAUSED_FILE);
}

/** The pause marker, `{ unreadable: true }` for a marker that exists but cannot be parsed, or undefined. */
export function readGcPause(dataDir: string): GcPauseInfo | { readonly unreadable: true } | undefined {
  const path = gcPausePath(dataDir);
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as GcPauseInfo;
  } catch {
    return { unreadable: true };
  }
}

/** Throws GcPaused while a restore awaits confirmation. Call before any GC that deletes. */
export function assertGcNotPaused(dataDir: string): void {
  const info = readGcPause(dataDir);
  if (info === undefined) return;
  const what =
    "unreadable" in info
      ? `a restore marker ${gcPausePath(dataDir)} exists`
      : `a ${info.mode} restore from ${info.snapshotFile} (applied index ${info.appliedIndex}) at ${info.pausedAt}`;
  throw new SnapshotError(
    "GcPaused",
    `GC is paused after ${what}: check the restored state, then run "enigma snapshot confirm-gc" to resume GC`,
  );
}

/** Removes the marker; returns what it said (undefined when GC was not paused). */
export function confirmGcAfterRestore(
  dataDir: string,
): GcPauseInfo | { readonly unreadable: true } | undefined {
  const info = readGcPause(dataDir);
  if (info !== undefined) {
    rmSync(gcPausePath(dataDir), { force: true });
    fsyncDir(dataDir);
  }
  return info;
}

/** Writes the marker atomically and durably. */
export function writeGcPause(dataDir: string, info: GcPauseInfo): void {
  const path = gcPausePath(dataDir);
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o644, flag: "wx" });
    const fd = openSync(tmp, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    fsyncDir(dataDir);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw SnapshotError.from(err);
  }
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not supported everywhere (Windows); the files themselves are synced.
  }
}
