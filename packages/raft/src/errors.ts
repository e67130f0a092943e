import type { NodeId } from "./types.js";

/**
 * Expected outcomes a caller must handle. Invariant violations are not `RaftError`s: they throw a
 * plain `Error` from `assert` and must crash the process.
 *
 * - `NotLeader`: the request needs the leader; `leaderHint` names the leader if one is known.
 * - `ProposalDropped`: the leader refused the proposal (removed from the configuration, too many
 *   uncommitted bytes, too many pending reads).
 * - `TransferInProgress`: a leadership transfer is running; proposals wait until it ends.
 * - `ConfChangePending`: a configuration change is not yet committed, or the leader has not yet
 *   committed an entry of its own term (thesis §4.1, the single-server change fix).
 * - `InvalidConfChange`: the change makes no sense for the current configuration.
 * - `InvalidTransferTarget`: the transfer target is not a voter.
 * - `Compacted`: the requested index is at or below the snapshot (Storage).
 * - `Unavailable`: the requested index is beyond the last index (Storage).
 * - `SnapshotOutOfDate`: the snapshot is older than the one held (Storage).
 * - `SnapshotTemporarilyUnavailable`: the storage cannot produce a snapshot now; Raft retries later.
 * - `Internal`: an unknown error normalized by `RaftError.from`.
 */
export type RaftErrorCode =
  | "NotLeader"
  | "ProposalDropped"
  | "TransferInProgress"
  | "ConfChangePending"
  | "InvalidConfChange"
  | "InvalidTransferTarget"
  | "Compacted"
  | "Unavailable"
  | "SnapshotOutOfDate"
  | "SnapshotTemporarilyUnavailable"
  | "Internal";

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  /** For `NotLeader`: the leader this node knows of, or undefined when none is known. */
  readonly leaderHint: NodeId | undefined;

  constructor(code: RaftErrorCode, message: string, options?: { leaderHint?: NodeId; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RaftError";
    this.code = code;
    this.leaderHint = options?.leaderHint;
  }

  static notLeader(leader: NodeId): RaftError {
    return leader === 0
      ? new RaftError("NotLeader", "not the leader; no leader known")
      : new RaftError("NotLeader", `not the leader; leader is ${leader}`, { leaderHint: leader });
  }

  /** Normalizes anything thrown into a `RaftError` (unknown errors become `Internal`). */
  static from(e: unknown): RaftError {
    if (e instanceof RaftError) return e;
    return new RaftError("Internal", e instanceof Error ? e.message : String(e), { cause: e });
  }

  static is(e: unknown, code?: RaftErrorCode): e is RaftError {
    return e instanceof RaftError && (code === undefined || e.code === code);
  }
}

/** Invariant check: a violation is a bug, so it throws a plain Error that must crash the node. */
export function assert(cond: boolean, message: string): asserts cond {
  if (!cond) throw new Error(`raft invariant violated: ${message}`);
}
