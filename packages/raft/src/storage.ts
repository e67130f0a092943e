import type { ConfState, Entry, HardState, Snapshot } from "./types.js";

/**
 * The durable log as the core reads it. The core never writes through this interface: the driver
 * writes what each `Ready` hands it (entries, hard state, snapshot) and the core reads it back.
 * All methods are synchronous (better-sqlite3 is).
 *
 * Indexes: the storage holds a snapshot at index S (0 when none) and entries S+1..lastIndex().
 * `firstIndex()` is S+1; the term of S stays readable through `term(S)`.
 */
export interface Storage {
  /**
   * The persisted hard state, and the configuration at the snapshot (`firstIndex() - 1`); the core
   * derives the current configuration from it and the configuration entries after it.
   * A fresh storage returns term 0, vote 0, commit 0 and an empty configuration.
   */
  initialState(): { hardState: HardState; confState: ConfState };

  /**
   * Entries [lo, hi), at most `maxSizeBytes` in total (by `entrySizeBytes`) but at least one when
   * lo < hi. Throws `RaftError("Compacted")` if lo < firstIndex(), `RaftError("Unavailable")` if
   * hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxSizeBytes: number): Entry[];

  /**
   * The term of entry i, for firstIndex() - 1 <= i <= lastIndex(). Throws `RaftError("Compacted")`
   * below that range and `RaftError("Unavailable")` above it.
   */
  term(i: number): number;

  /** The index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): number;

  /** The index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): number;

  /**
   * The most recent snapshot. Throws `RaftError("SnapshotTemporarilyUnavailable")` if it cannot be
   * produced right now; the core then retries on a later heartbeat response.
   */
  snapshot(): Snapshot;
}
