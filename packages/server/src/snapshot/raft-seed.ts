/**
 * After a restore in cluster mode, the node's Raft log must start where the restored manifest
 * ends: the driver refuses a manifest with applied entries beside an empty log (a single-node
 * manifest must not silently join a cluster), and a log from before the restore no longer belongs
 * to the manifest. `seedRaftLog` records the restored database as the node's Raft snapshot at the
 * restored applied index and term, exactly as if the node had compacted its log there:
 *
 * - the image goes to `<raft dir>/snapshots/snap-<index>-<term>.db` (the driver sends it to
 *   followers that need it: that is how nodes added to a new cluster get the state);
 * - the log store gets the snapshot record (index, term, configuration, descriptor) with no
 *   entries, so the leader sends entries from `index + 1` or a newer snapshot;
 * - the hard state keeps the term and vote of an existing log of this node (a vote once cast is
 *   never cast again in that term, Raft §5.2); without one the term is the snapshot's term.
 *
 * Configuration: reseed = the snapshot's membership (this cluster's configuration at that index);
 * new cluster = this node as the only voter (the others join with `enigma cluster add-node`,
 * receiving this image by InstallSnapshot), so one seeded state is the only source of truth.
 */
import {
  closeSync,
  copyFileSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
} from "node:fs";
import { join } from "node:path";
import type { ConfState } from "@enigma/raft";
import { encodeSnapshotDescriptor, SqliteLogStorage, snapshotFileName } from "@enigma/raft-node";
import { SnapshotError } from "./errors.js";
import { fsyncDir } from "./gc-pause.js";
import { hashFile } from "./online-backup.js";

/** The driver's file names (packages/raft-node: raft-node.ts, snapshot-files.ts). */
export const RAFT_LOG_FILE = "raft-log.db";
export const RAFT_SNAPSHOTS_DIR = "snapshots";

export interface SeedRaftOptions {
  /** `<[raft] data_dir>/raft`. */
  readonly raftDir: string;
  readonly nodeId: number;
  /** The restored manifest image (closed, self-contained). Copied, not moved. */
  readonly imagePath: string;
  readonly index: number;
  readonly term: number;
  /** The Raft term recorded in the snapshot (the node's term when it was taken). */
  readonly snapshotTerm: number;
  readonly conf: ConfState;
  /** Member addresses by node id (the descriptor carries them to nodes receiving the image). */
  readonly addrs: Readonly<Record<string, string>>;
}

export interface SeededRaft {
  readonly snapshotFile: string;
  readonly index: number;
  readonly term: number;
  readonly hardTerm: number;
  readonly keptVote: boolean;
  readonly conf: ConfState;
}

export async function seedRaftLog(o: SeedRaftOptions): Promise<SeededRaft> {
  if (o.index < 1 || o.term < 1)
    throw new SnapshotError(
      "BadArgument",
      `the snapshot is at index ${o.index}, term ${o.term}: a Raft log cannot start there (a snapshot of an empty node?)`,
    );
  if (!o.conf.voters.includes(o.nodeId) && !o.conf.learners.includes(o.nodeId))
    throw new SnapshotError(
      "BadArgument",
      `node ${o.nodeId} is not a member of the snapshot's configuration (voters ${o.conf.voters.join(",") || "none"}): ` +
        "reseed a node with a snapshot of its own cluster membership, or add it with enigma cluster add-node",
    );
  const snapDir = join(o.raftDir, RAFT_SNAPSHOTS_DIR);
  mkdirSync(snapDir, { recursive: true });
  const file = snapshotFileName(o.index, o.term);
  const tmp = join(snapDir, `seed-${process.pid}.tmp`);
  let storage: SqliteLogStorage | undefined;
  try {
    copyFileSync(o.imagePath, tmp);
    fsyncFile(tmp);
    const { sha256, bytes: sizeBytes } = await hashFile(tmp);
    storage = openLog(o.raftDir, o.nodeId);
    const old = storage.initialState().hardState;
    // Snapshot files of the replaced log go; the seeded one takes their place.
    for (const f of readdirSync(snapDir))
      if (join(snapDir, f) !== tmp) rmSync(join(snapDir, f), { force: true });
    renameSync(tmp, join(snapDir, file));
    fsyncDir(snapDir);
    const hardTerm = Math.max(old.term, o.term, o.snapshotTerm);
    const keptVote = old.term === hardTerm && old.vote !== 0;
    const data = encodeSnapshotDescriptor({ file, sizeBytes, sha256, addrs: o.addrs });
    storage.save(
      {
        snapshot: { metadata: { index: o.index, term: o.term, confState: o.conf }, data },
        entries: [],
        hardState: { term: hardTerm, vote: keptVote ? old.vote : 0, commit: o.index },
      },
      true,
    );
    if (Object.keys(o.addrs).length > 0) storage.setMeta("addrs", JSON.stringify(o.addrs));
    return {
      snapshotFile: join(snapDir, file),
      index: o.index,
      term: o.term,
      hardTerm,
      keptVote,
      conf: o.conf,
    };
  } catch (err) {
    throw SnapshotError.from(err);
  } finally {
    storage?.close();
    rmSync(tmp, { force: true });
  }
}

/** The Raft configuration a manifest membership document describes (`{voters, learners}`). */
export function confFromMembership(
  membership: Readonly<Record<string, unknown>> | null,
): ConfState | undefined {
  if (membership === null) return undefined;
  const ids = (v: unknown): number[] | undefined =>
    Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && (x as number) > 0)
      ? (v as number[])
      : undefined;
  const voters = ids(membership.voters);
  const learners = ids(membership.learners ?? []);
  if (voters === undefined || learners === undefined || voters.length === 0) return undefined;
  return { voters: [...voters], learners: [...learners] };
}

function openLog(raftDir: string, nodeId: number): SqliteLogStorage {
  try {
    return SqliteLogStorage.open(join(raftDir, RAFT_LOG_FILE), nodeId);
  } catch (err) {
    throw new SnapshotError(
      "BadArgument",
      `cannot open the Raft log in ${raftDir}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

function fsyncFile(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
