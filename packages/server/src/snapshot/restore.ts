/**
 * `restoreSnapshot`: verify everything (scan 1, no writes) → guards (shrink, cluster) → extract the
 * database to a temp file next to the target while re-verifying (scan 2) → check the extracted file
 * reproduces the signed row counts, raft meta and checksum (an older schema read as it is) → migrate
 * an older schema to this build's (a newer one was refused by the scan) → GC pause (new-cluster mode: new
 * cluster id and the pause written into the extracted database itself, so it is the new cluster's
 * replicated state; reseed: a marker file in the data dir) → Manifest.restoreFrom (integrity
 * check, atomic rename). Any failure before the rename leaves the target exactly as it was and
 * removes the temp files.
 *
 * The node must be stopped (its manifest closed) while this runs.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { canonicalJson } from "@enigma/crypto";
import { Manifest, SCHEMA_VERSION } from "@enigma/manifest";
import type { ConfState } from "@enigma/raft";
import { SnapshotError } from "./errors.js";
import type { SnapshotManifest } from "./format.js";
import { gcPausePath, readGcPause, writeGcPause } from "./gc-pause.js";
import { type DbState, describeDbFile } from "./online-backup.js";
import { confFromMembership, RAFT_LOG_FILE, type SeededRaft, seedRaftLog } from "./raft-seed.js";
import { scanSnapshot, type VerifyOptions, type VerifyReport } from "./verify.js";

export type RestoreMode = "reseed" | "new-cluster";

/** A table "shrank far" when it holds at least this many rows now … */
export const SHRINK_MIN_CURRENT_ROWS = 16;
/** … and the snapshot has fewer than this fraction of them. */
export const SHRINK_MAX_FRACTION = 0.5;

export interface RestoreOptions extends VerifyOptions {
  /** The manifest database to replace (the node's [enigma] db_path). */
  readonly targetDbPath: string;
  /**
   * "reseed": this node gets the snapshot's state and catches up from the leader (same cluster id).
   * "new-cluster": disaster recovery, the seed of a fresh cluster (new cluster id, membership reset).
   */
  readonly mode: RestoreMode;
  /** Restore even when the snapshot holds far fewer rows than the current state. */
  readonly allowShrink?: boolean;
  /** The node's current row counts; read from the target file when omitted. */
  readonly currentRowCounts?: Readonly<Record<string, number>>;
  /** Where the GC pause marker goes (reseed mode); default: the target's directory. */
  readonly dataDir?: string;
  /** new-cluster mode: the new cluster id (default: a random UUID). */
  readonly newClusterId?: string;
  /**
   * Cluster mode (`[raft] peers` set): the node's Raft log is re-seeded to start at the restored
   * state (raft-seed.ts). Omit for a single node without Raft.
   */
  readonly raft?: RestoreRaftOptions;
  readonly nowMs?: number;
}

export interface RestoreRaftOptions {
  /** `<[raft] data_dir>/raft`. */
  readonly dir: string;
  readonly nodeId: number;
  /** Member addresses by node id (`[raft] peers`). */
  readonly addrs: Readonly<Record<string, string>>;
}

export interface ShrunkTable {
  readonly table: string;
  readonly current: number;
  readonly snapshot: number;
}

export interface RestoreReport {
  readonly mode: RestoreMode;
  readonly file: string;
  readonly targetDbPath: string;
  readonly snapshot: VerifyReport;
  /** The cluster id the restored manifest carries (new in new-cluster mode). */
  readonly clusterId: string | null;
  readonly snapshotClusterId: string | null;
  /** The restored state: the Raft driver starts its log after this index and term. */
  readonly appliedIndex: number;
  readonly appliedTerm: number;
  /** The snapshot's membership (reseed); null after new-cluster (the bootstrap writes one). */
  readonly membership: Readonly<Record<string, unknown>> | null;
  /** The restored database's schema version: always this build's (an older snapshot is migrated). */
  readonly schemaVersion: number;
  /** The snapshot's schema version when it was older and the restored copy was migrated, else null. */
  readonly migratedFrom: number | null;
  /** Manifest.checksum() of the restored data (after the cluster id change and pause in new-cluster mode). */
  readonly checksum: string;
  readonly shrunk: readonly ShrunkTable[];
  /**
   * Where GC's pause lives: "manifest" (new-cluster: replicated, every member of the new cluster
   * has it) or "marker" (reseed: this node's `gcPauseFile`).
   */
  readonly gcPause: "manifest" | "marker";
  /** The marker file (reseed), or null (new-cluster: the pause is in the manifest). */
  readonly gcPauseFile: string | null;
  /** Cluster mode: the Raft log now starts at the restored state. */
  readonly raft: SeededRaft | undefined;
  readonly warnings: readonly string[];
}

export async function restoreSnapshot(file: string, opts: RestoreOptions): Promise<RestoreReport> {
  if (opts.mode !== "reseed" && opts.mode !== "new-cluster")
    throw new SnapshotError(
      "BadArgument",
      `restore mode must be "reseed" or "new-cluster", not ${String(opts.mode)}`,
    );
  if (opts.newClusterId !== undefined && (opts.mode !== "new-cluster" || opts.newClusterId.trim() === ""))
    throw new SnapshotError(
      "BadArgument",
      "a new cluster id is given only (and non-empty) in new-cluster mode",
    );
  const target = resolve(opts.targetDbPath);
  const dataDir = resolve(opts.dataDir ?? dirname(target));
  const warnings: string[] = [];
  const warn =
    opts.onWarning ??
    ((m: string) => {
      process.stderr.write(`WARNING: ${m}\n`);
    });
  const note = (m: string) => {
    warnings.push(m);
    warn(m);
  };

  // 1. Verify everything before writing anything.
  const report = await scanSnapshot(file, { ...opts, onWarning: note });
  const m = report.manifest;

  // 2. Guards against the current state.
  const current = readCurrent(target, note);
  const currentCounts = opts.currentRowCounts ?? current?.rowCounts;
  const shrunk = currentCounts ? findShrink(m.rowCounts, currentCounts) : [];
  if (shrunk.length > 0) {
    const what = shrunk.map((s) => `${s.table} ${s.current}→${s.snapshot}`).join(", ");
    if (!opts.allowShrink)
      throw new SnapshotError(
        "Shrink",
        `the snapshot holds far fewer rows than the current state (${what}); pass --allow-shrink if that is intended`,
      );
    note(`restoring a much smaller state (--allow-shrink): ${what}`);
  }
  const currentCluster = current?.raftMeta.clusterId ?? null;
  if (
    opts.mode === "reseed" &&
    currentCluster !== null &&
    m.clusterId !== null &&
    currentCluster !== m.clusterId
  )
    throw new SnapshotError(
      "ClusterMismatch",
      `this node belongs to cluster ${currentCluster} but the snapshot to ${m.clusterId}: reseed only within a cluster (disaster recovery: --mode new-cluster)`,
    );

  const conf = opts.raft === undefined ? undefined : raftConf(opts.mode, m, opts.raft.nodeId);

  // 3. Extract (re-verifying) next to the target, check, adjust, pause GC, seed Raft, swap.
  mkdirSync(dirname(target), { recursive: true });
  const temp = join(dirname(target), `.${basename(target)}.restore-${randomBytes(6).toString("hex")}`);
  try {
    const again = await extractDb(file, opts, temp);
    if (again.fileSha256 !== report.fileSha256)
      throw new SnapshotError("ArtifactMismatch", `${file} changed while it was being restored`);
    // The signed checksum is checked against the database as the snapshot holds it (an older
    // schema is read without migrating: see Manifest), before anything changes it.
    checkExtracted(describeDbFile(temp, { withChecksum: true }), m);
    let clusterId = m.clusterId;
    let membership = m.raft.membership;
    let checksum = m.dbChecksum;
    const migratedFrom = m.schemaVersion < SCHEMA_VERSION ? m.schemaVersion : null;
    const pausedAtMs = opts.nowMs ?? Date.now();
    if (opts.mode === "new-cluster" || migratedFrom !== null) {
      // A read-write open migrates an older schema (one transaction), before the new-cluster
      // adjustments, the Raft seed (its image is this file) and the swap.
      const db = Manifest.open(temp, { integrityCheck: "none" });
      try {
        if (db.schemaVersion() !== SCHEMA_VERSION)
          throw new SnapshotError(
            "Internal",
            `${temp} is at schema version ${db.schemaVersion()} after migration, not ${SCHEMA_VERSION}`,
          );
        if (opts.mode === "new-cluster") {
          clusterId = opts.newClusterId?.trim() ?? randomUUID();
          membership = null;
          db.resetClusterIdentity(clusterId);
          // The pause is part of the new cluster's state: whichever member leads sees it, joiners
          // receive it with the state (InstallSnapshot), and it changes with the swap, atomically.
          db.setGcPause({
            reason: "snapshot-restore",
            mode: "new-cluster",
            pausedAtMs,
            snapshotFile: resolve(file),
            snapshotSha256: report.fileSha256,
            appliedIndex: m.raft.appliedIndex,
            clusterId,
          });
        }
        checksum = db.checksum();
      } finally {
        db.close();
      }
      if (existsSync(`${temp}-wal`) && statSync(`${temp}-wal`).size > 0)
        throw new SnapshotError("Internal", `${temp}-wal was not checkpointed on close`);
    }
    mkdirSync(dataDir, { recursive: true });
    const hadPause = readGcPause(dataDir) !== undefined;
    // Reseed: the node converges to the cluster's state (its checksum must equal the others'), so
    // the pause cannot go into the manifest; a local marker guards GC should this node lead.
    if (opts.mode === "reseed")
      writeGcPause(dataDir, {
        reason: "snapshot-restore",
        pausedAt: new Date(pausedAtMs).toISOString(),
        mode: opts.mode,
        snapshotFile: resolve(file),
        snapshotSha256: report.fileSha256,
        appliedIndex: m.raft.appliedIndex,
        clusterId,
      });
    let raft: SeededRaft | undefined;
    try {
      if (opts.raft !== undefined && conf !== undefined) {
        // Before the swap: a crash in between leaves a log whose snapshot is newer than the old
        // manifest (the driver restores it on start) or older (the driver refuses to start); either
        // way the restore can simply be run again.
        if (opts.mode === "new-cluster") removeRaftLog(opts.raft.dir);
        raft = await seedRaftLog({
          raftDir: opts.raft.dir,
          nodeId: opts.raft.nodeId,
          imagePath: temp,
          index: m.raft.appliedIndex,
          term: m.raft.appliedTerm,
          snapshotTerm: opts.mode === "reseed" ? m.raft.term : m.raft.appliedTerm,
          conf,
          addrs: opts.raft.addrs,
        });
      }
      Manifest.restoreFrom(temp, target);
    } catch (err) {
      if (!hadPause) rmSync(gcPausePath(dataDir), { force: true });
      throw err;
    }
    return {
      mode: opts.mode,
      file,
      targetDbPath: target,
      snapshot: { ...report, warnings: [...warnings] },
      clusterId,
      snapshotClusterId: m.clusterId,
      appliedIndex: m.raft.appliedIndex,
      appliedTerm: m.raft.appliedTerm,
      membership,
      schemaVersion: migratedFrom === null ? m.schemaVersion : SCHEMA_VERSION,
      migratedFrom,
      checksum,
      shrunk,
      gcPause: opts.mode === "new-cluster" ? "manifest" : "marker",
      gcPauseFile: opts.mode === "new-cluster" ? null : gcPausePath(dataDir),
      raft,
      warnings,
    };
  } catch (err) {
    throw SnapshotError.from(err);
  } finally {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${temp}${suffix}`, { force: true });
  }
}

/**
 * The Raft configuration the seeded log starts with: reseed = the cluster's configuration at the
 * snapshot's index; new cluster = this node alone (the others join with add-node).
 */
function raftConf(mode: RestoreMode, m: SnapshotManifest, nodeId: number): ConfState {
  if (mode === "new-cluster") return { voters: [nodeId], learners: [] };
  const conf = confFromMembership(m.raft.membership);
  if (conf === undefined)
    throw new SnapshotError(
      "BadArgument",
      "the snapshot carries no Raft membership (taken on a node without Raft?): it cannot reseed a cluster member; " +
        "use --mode new-cluster to start a new cluster from it",
    );
  if (!conf.voters.includes(nodeId) && !conf.learners.includes(nodeId))
    throw new SnapshotError(
      "BadArgument",
      `node ${nodeId} was not a member when the snapshot was taken (members ${[...conf.voters, ...conf.learners].join(",")}): ` +
        "reseed a node only with a snapshot of its own cluster from while it was a member",
    );
  return conf;
}

function removeRaftLog(dir: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dir, `${RAFT_LOG_FILE}${suffix}`), { force: true });
}

/** Tables whose row count the snapshot would cut to less than half (ignoring small tables). */
export function findShrink(
  snapshot: Readonly<Record<string, number>>,
  current: Readonly<Record<string, number>>,
): ShrunkTable[] {
  const out: ShrunkTable[] = [];
  for (const [table, now] of Object.entries(current)) {
    if (table === "raft_meta") continue;
    const then = snapshot[table] ?? 0;
    if (now >= SHRINK_MIN_CURRENT_ROWS && then < now * SHRINK_MAX_FRACTION)
      out.push({ table, current: now, snapshot: then });
  }
  return out;
}

function readCurrent(target: string, note: (m: string) => void): DbState | undefined {
  if (!existsSync(target)) return undefined;
  // A read-only connection to a WAL database creates -wal/-shm and leaves them behind; remove the
  // ones this read created (an empty WAL only), so a refused restore leaves the directory as it was.
  const created = ["-wal", "-shm"].filter((s) => !existsSync(`${target}${s}`));
  try {
    return describeDbFile(target, { withChecksum: false });
  } catch (err) {
    // A damaged manifest is a reason to restore, not a reason to refuse; say what was skipped.
    note(
      `cannot read the current manifest ${target} (${(err as Error).message}): shrink and cluster checks skipped`,
    );
    return undefined;
  } finally {
    const wal = `${target}-wal`;
    if (created.includes("-wal") && existsSync(wal) && statSync(wal).size === 0) {
      rmSync(wal, { force: true });
      if (created.includes("-shm")) rmSync(`${target}-shm`, { force: true });
    }
  }
}

async function extractDb(file: string, opts: RestoreOptions, temp: string): Promise<VerifyReport> {
  const fh = await open(temp, "wx", 0o600);
  try {
    // Warnings were reported by the first scan; the second one only re-checks.
    const report = await scanSnapshot(
      file,
      { ...opts, onWarning: () => {} },
      {
        write: async (piece) => {
          await fh.write(piece);
        },
      },
    );
    await fh.sync();
    return report;
  } finally {
    await fh.close();
  }
}

function checkExtracted(state: DbState, m: SnapshotManifest): void {
  const problems: string[] = [];
  if (state.schemaVersion !== m.schemaVersion)
    problems.push(`schema version ${state.schemaVersion}, signed ${m.schemaVersion}`);
  if (canonicalJson(state.rowCounts) !== canonicalJson(m.rowCounts)) problems.push("row counts differ");
  if (state.checksum !== m.dbChecksum) problems.push("checksum differs");
  const r = state.raftMeta;
  if (
    r.appliedIndex !== m.raft.appliedIndex ||
    r.appliedTerm !== m.raft.appliedTerm ||
    r.membershipIndex !== m.raft.membershipIndex ||
    r.clusterId !== m.raft.clusterId ||
    canonicalJson(r.membership) !== canonicalJson(m.raft.membership)
  )
    problems.push("raft metadata differs");
  if (problems.length > 0)
    throw new SnapshotError(
      "StateMismatch",
      `the database in the snapshot does not match its signed manifest (${problems.join("; ")})`,
    );
}
