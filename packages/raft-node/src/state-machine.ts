import type { Entry, SnapshotMetadata } from "@enigma/raft";

/**
 * The replicated application as the driver sees it. Synchronous where the ready loop needs it to
 * be (better-sqlite3 is), asynchronous only for taking a snapshot, which runs beside the loop.
 */
export interface StateMachine {
  /** The last index durably applied (0 when fresh). Read once at start and after a restore. */
  appliedIndex(): number;

  /**
   * Applies committed entries, in log order and without gaps: `normal` entries carry commands,
   * `confChange` entries the new configuration, `noop` entries nothing; every index advances the
   * durable applied index in the same transaction as its effect, so a restart never re-applies an
   * entry. Returns one result per entry (handed to the proposer). A throw is fatal: the node stops.
   */
  apply(entries: readonly Entry[]): readonly unknown[];

  /**
   * Writes a consistent, self-contained image of the current state to `path` (which must not
   * exist), taken while entries keep being applied. Resolves with the index and term of the last
   * entry the image contains.
   */
  snapshot(path: string): Promise<{ index: number; term: number }>;

  /** Replaces the whole state with the image at `path`, which covers the log up to `metadata.index`. */
  restore(path: string, metadata: SnapshotMetadata): void;
}
