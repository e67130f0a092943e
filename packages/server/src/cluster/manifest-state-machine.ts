/**
 * The manifest as the Raft state machine (rqlite's thin FSM adapter): committed entries become
 * `manifest.applyEntries` calls — every index in order, commands decoded from their envelope,
 * configuration entries as membership, no-ops as empty entries — so the applied index, term and
 * membership land in the same SQLite transaction as the commands. An entry that does not decode
 * throws, and the driver stops the node: a committed entry is never skipped.
 *
 * Snapshots are SQLite online backups of the manifest, taken by the same `snapshotManifestDb` as
 * operator snapshots (snapshot/online-backup.ts): index and term are read from the copy; restoring validates and migrates the image
 * in a temp file (`Manifest.restoreFrom`) and then replaces the live database's rows in one
 * transaction, so the open `Manifest` (and everything holding it) stays valid.
 */
import { rmSync } from "node:fs";
import { type ApplyEntry, type Command, decodeEnvelope, Manifest } from "@enigma/manifest";
import type { Entry, SnapshotMetadata } from "@enigma/raft";
import { decodeConfChangeEntry } from "@enigma/raft";
import { replaceSqliteContents, type StateMachine } from "@enigma/raft-node";
import { snapshotManifestDb } from "../snapshot/online-backup.js";

export interface ManifestStateMachineOptions {
  /** Called after each applied batch with the commands it applied (e.g. to refresh the keyring). */
  readonly onApplied?: (commands: readonly Command[]) => void;
  /** Called after the state was replaced by a snapshot. */
  readonly onRestored?: () => void;
}

export class ManifestStateMachine implements StateMachine {
  readonly #manifest: Manifest;
  readonly #opts: ManifestStateMachineOptions;

  constructor(manifest: Manifest, opts: ManifestStateMachineOptions = {}) {
    this.#manifest = manifest;
    this.#opts = opts;
  }

  appliedIndex(): number {
    return this.#manifest.raftMeta().appliedIndex;
  }

  apply(entries: readonly Entry[]): readonly unknown[] {
    const commands: Command[] = [];
    const batch: ApplyEntry[] = entries.map((e): ApplyEntry => {
      switch (e.type) {
        case "normal": {
          const env = decodeEnvelope(e.data);
          commands.push(env.command);
          return env.requestId === undefined
            ? { index: e.index, term: e.term, command: env.command }
            : { index: e.index, term: e.term, requestId: env.requestId, command: env.command };
        }
        case "confChange": {
          const { change, conf } = decodeConfChangeEntry(e.data);
          const membership: Record<string, unknown> = {
            voters: [...conf.voters],
            learners: [...conf.learners],
          };
          if (change !== undefined) {
            membership.change = {
              type: change.type,
              nodeId: change.nodeId,
              ...(change.context === undefined ? {} : { addr: Buffer.from(change.context).toString("utf8") }),
            };
          }
          return { index: e.index, term: e.term, membership };
        }
        default:
          return { index: e.index, term: e.term };
      }
    });
    const results = this.#manifest.applyEntries(batch);
    if (commands.length > 0) this.#opts.onApplied?.(commands);
    return results;
  }

  async snapshot(path: string): Promise<{ index: number; term: number }> {
    // Index and term only: no checksum, counts or hash (the driver hashes the file itself).
    const copy = await snapshotManifestDb(this.#manifest, path, { describe: false });
    return { index: copy.raftMeta.appliedIndex, term: copy.raftMeta.appliedTerm };
  }

  restore(path: string, metadata: SnapshotMetadata): void {
    const staged = `${this.#manifest.path}.raft-restore`;
    try {
      // Validates (full integrity check) and migrates the image into a file of its own first.
      // (restoreFrom replaces a *closed* database; ours stays open, so its rows are swapped below.)
      Manifest.restoreFrom(path, staged);
      replaceSqliteContents(this.#manifest.path, staged);
    } finally {
      for (const s of ["", "-wal", "-shm", "-journal"]) rmSync(`${staged}${s}`, { force: true });
    }
    const applied = this.appliedIndex();
    if (applied !== metadata.index) {
      throw new Error(`restored manifest is at index ${applied}, the snapshot says ${metadata.index}`);
    }
    this.#opts.onRestored?.();
  }
}
