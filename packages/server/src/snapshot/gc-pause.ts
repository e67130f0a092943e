/**
 * After a snapshot restore, GC stays paused until an operator confirms (ARCHITECTURE §7). A
 * restored manifest is older than the storage it points at: blobs uploaded after the snapshot are
 * unknown to it, so a sweep (backend listing vs manifest) would delete them — including data the
 * operator may still want if the restore turns out to be the wrong one.
 *
 * Two places hold a pause (snapshot DESIGN.md "GC pause"):
 * - **the manifest** (replicated): a new-cluster restore writes it into the restored database
 *   before the swap, so it is part of the state every member of the new cluster has (joiners get
 *   it by InstallSnapshot) and whichever node leads sees it; apply refuses GC's marks while it is
 *   set; `ResumeGc` (through Raft) lifts it;
 * - **a marker file** in the node's data dir (local): a reseed restore writes it *before* the
 *   manifest swap (a crash in between leaves GC paused, never unpaused). It cannot live in the
 *   manifest: the reseeded node converges to the cluster's state, whose checksum must stay equal
 *   on every member. Any marker at all — even an unreadable one — pauses GC here (fail closed).
 * GC refuses while either says paused.
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
import type { GcPauseConfirmation, GcPauseRecord, Manifest } from "@enigma/manifest";
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

/** Both pauses, as `gc.status`, `enigma status` and GC itself see them. */
export interface GcPauseStatus {
  readonly paused: boolean;
  /** The replicated pause in the manifest (new-cluster restore), null when none. */
  readonly replicated: GcPauseRecord | null;
  /** This node's marker file (reseed restore), null when none. */
  readonly localMarker: GcPauseInfo | { readonly unreadable: true } | null;
  /** The last confirmation that lifted a replicated pause. */
  readonly lastConfirmed: GcPauseConfirmation | null;
}

export function gcPauseStatus(dataDir: string, manifest: Manifest | undefined): GcPauseStatus {
  const replicated = manifest?.gcPause() ?? null;
  const localMarker = readGcPause(dataDir) ?? null;
  return {
    paused: replicated !== null || localMarker !== null,
    replicated,
    localMarker,
    lastConfirmed: manifest?.gcPauseConfirmation() ?? null,
  };
}

/** One line saying why GC is paused (undefined when it is not). */
export function describeGcPause(dataDir: string, st: GcPauseStatus): string | undefined {
  const why: string[] = [];
  const r = st.replicated;
  if (r !== null)
    why.push(
      `a ${r.mode ?? r.reason} restore (replicated in the manifest${r.appliedIndex === undefined ? "" : `, snapshot applied index ${r.appliedIndex}`}, at ${new Date(r.pausedAtMs).toISOString()})`,
    );
  const m = st.localMarker;
  if (m !== null)
    why.push(
      "unreadable" in m
        ? `a restore marker ${gcPausePath(dataDir)} exists`
        : `a ${m.mode} restore from ${m.snapshotFile} (applied index ${m.appliedIndex}) at ${m.pausedAt} (marker ${gcPausePath(dataDir)})`,
    );
  return why.length === 0 ? undefined : why.join(" and ");
}

/**
 * Throws GcPaused while a restore awaits confirmation: this node's marker, or (given the manifest)
 * the replicated pause. Call before any GC that deletes.
 */
export function assertGcNotPaused(dataDir: string, manifest?: Manifest): void {
  const what = describeGcPause(dataDir, gcPauseStatus(dataDir, manifest));
  if (what === undefined) return;
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
