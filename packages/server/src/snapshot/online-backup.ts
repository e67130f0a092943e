/**
 * The one consistent online-backup path for the manifest database, shared by operator snapshots
 * (create.ts) and Raft log compaction's state-machine snapshots (cluster/manifest-state-machine.ts)
 * (ARCHITECTURE §5, §7).
 *
 * `Manifest.backupTo` copies with SQLite's online backup API on the manifest's own connection, so
 * entries applied while it runs are carried into the copy: the copy is the state between two
 * applied batches at the moment the backup finished. Everything describing that state (applied
 * index and term, membership, row counts, checksum) is therefore read *from the copy*, never from
 * the live manifest, which has moved on by then.
 */
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { Manifest, type RaftMeta } from "@enigma/manifest";

export interface DbSnapshotInfo extends DbState {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface SnapshotDbOptions {
  /**
   * Compute `Manifest.checksum()` of the copy (reads every row) and its file SHA-256. Default true
   * (operator snapshots sign both); Raft compaction only needs the applied index and term, and the
   * driver hashes the file itself, so it passes false (`checksum` and `sha256` are then "",
   * `rowCounts` empty: each of those reads whole tables).
   */
  readonly describe?: boolean;
}

/** Writes a consistent, self-contained copy of the live manifest to `path` and describes it. */
export async function snapshotManifestDb(
  manifest: Manifest,
  path: string,
  opts: SnapshotDbOptions = {},
): Promise<DbSnapshotInfo> {
  const full = opts.describe ?? true;
  await manifest.backupTo(path);
  const described = describeDbFile(path, { withChecksum: full, withCounts: full });
  const { sha256, bytes } = full ? await hashFile(path) : { sha256: "", bytes: statSync(path).size };
  return { path, sha256, bytes, ...described };
}

export interface DbState {
  readonly schemaVersion: number;
  readonly raftMeta: RaftMeta;
  readonly rowCounts: Readonly<Record<string, number>>;
  readonly checksum: string;
}

/**
 * Reads state from a closed database file without modifying it (read-only, no journal change).
 * The checksum reads every row: skip it (empty string) when only counts are needed.
 */
export function describeDbFile(path: string, opts: { withChecksum: boolean; withCounts?: boolean }): DbState {
  const copy = Manifest.open(path, { readonly: true, integrityCheck: "none" });
  try {
    return {
      schemaVersion: copy.schemaVersion(),
      raftMeta: copy.raftMeta(),
      rowCounts: (opts.withCounts ?? true) ? copy.rowCounts() : {},
      checksum: opts.withChecksum ? copy.checksum() : "",
    };
  } finally {
    copy.close();
  }
}

export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const sha = createHash("sha256");
  let bytes = 0;
  for await (const piece of createReadStream(path) as AsyncIterable<Buffer>) {
    sha.update(piece);
    bytes += piece.length;
  }
  return { sha256: sha.digest("hex"), bytes };
}
