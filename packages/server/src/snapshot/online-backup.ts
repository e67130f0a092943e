/**
 * The one consistent online-backup path for the manifest database, shared by operator snapshots
 * (this module) and, later, Raft log compaction's state-machine snapshots (ARCHITECTURE §5, §7).
 *
 * `Manifest.backupTo` copies with SQLite's online backup API on the manifest's own connection, so
 * entries applied while it runs are carried into the copy: the copy is the state between two
 * applied batches at the moment the backup finished. Everything describing that state (applied
 * index and term, membership, row counts, checksum) is therefore read *from the copy*, never from
 * the live manifest, which has moved on by then.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Manifest, type RaftMeta } from "@enigma/manifest";

export interface DbSnapshotInfo extends DbState {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Writes a consistent, self-contained copy of the live manifest to `path` and describes it. */
export async function snapshotManifestDb(manifest: Manifest, path: string): Promise<DbSnapshotInfo> {
  await manifest.backupTo(path);
  const described = describeDbFile(path, { withChecksum: true });
  const { sha256, bytes } = await hashFile(path);
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
export function describeDbFile(path: string, opts: { withChecksum: boolean }): DbState {
  const copy = Manifest.open(path, { readonly: true, integrityCheck: "none" });
  try {
    return {
      schemaVersion: copy.schemaVersion(),
      raftMeta: copy.raftMeta(),
      rowCounts: copy.rowCounts(),
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
