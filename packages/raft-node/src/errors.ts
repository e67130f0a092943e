import type { NodeId } from "@enigma/raft";
import { RaftError } from "@enigma/raft";

/**
 * Expected outcomes of the driver, the transport and the cluster service. Invariant violations
 * (a corrupt log, an undecodable committed entry) are not `RaftNodeError`s: they crash the node.
 *
 * - `NotLeader`: this node cannot serve the request; `leaderHint` names the leader when known.
 * - `NoLeader`: no leader is known right now (an election is running, or this node is cut off).
 * - `Superseded`: the proposal's log index was taken by another leader's entry; it was not applied.
 * - `LeaderChanged`: leadership moved while a request waited; retrying is safe.
 * - `Busy`: the leader refused the request (too many uncommitted bytes or pending reads, a
 *   transfer or configuration change in progress); retry later.
 * - `Timeout`: the deadline passed; the request may or may not have taken effect.
 * - `Stopped`: the node is shutting down.
 * - `Unreachable`: a peer could not be reached.
 * - `Unauthenticated`: a request lacked a valid cluster signature.
 * - `InvalidArgument`: a malformed request or option.
 * - `InvalidConfChange`: the membership change makes no sense for the current configuration.
 * - `SnapshotCorrupt`: a received snapshot failed its size or hash check.
 * - `Storage`: the Raft log database could not be read or written.
 * - `Rejected`: an admin action's handler refused the request (the message says why).
 * - `Internal`: anything else, normalized by `RaftNodeError.from`.
 */
export type RaftNodeErrorCode =
  | "NotLeader"
  | "NoLeader"
  | "Superseded"
  | "LeaderChanged"
  | "Busy"
  | "Timeout"
  | "Stopped"
  | "Unreachable"
  | "Unauthenticated"
  | "InvalidArgument"
  | "InvalidConfChange"
  | "SnapshotCorrupt"
  | "Storage"
  | "Rejected"
  | "Internal";

export const RAFT_NODE_ERROR_CODES: readonly RaftNodeErrorCode[] = [
  "NotLeader",
  "NoLeader",
  "Superseded",
  "LeaderChanged",
  "Busy",
  "Timeout",
  "Stopped",
  "Unreachable",
  "Unauthenticated",
  "InvalidArgument",
  "InvalidConfChange",
  "SnapshotCorrupt",
  "Storage",
  "Rejected",
  "Internal",
];

/** Codes after which the same request may be retried (on this or another node) without harm. */
const RETRIABLE: ReadonlySet<RaftNodeErrorCode> = new Set([
  "NotLeader",
  "NoLeader",
  "Superseded",
  "LeaderChanged",
  "Busy",
  "Timeout",
  "Unreachable",
]);

export class RaftNodeError extends Error {
  readonly code: RaftNodeErrorCode;
  /** For `NotLeader`: the leader this node knows of. */
  readonly leaderHint: NodeId | undefined;

  constructor(code: RaftNodeErrorCode, message: string, options?: { leaderHint?: NodeId; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RaftNodeError";
    this.code = code;
    this.leaderHint = options?.leaderHint;
  }

  get retriable(): boolean {
    return RETRIABLE.has(this.code);
  }

  static is(e: unknown, code?: RaftNodeErrorCode): e is RaftNodeError {
    return e instanceof RaftNodeError && (code === undefined || e.code === code);
  }

  static isCode(code: string): code is RaftNodeErrorCode {
    return (RAFT_NODE_ERROR_CODES as readonly string[]).includes(code);
  }

  /** Normalizes anything thrown; the core's expected outcomes map onto our codes. */
  static from(e: unknown): RaftNodeError {
    if (e instanceof RaftNodeError) return e;
    if (e instanceof RaftError) {
      switch (e.code) {
        case "NotLeader":
          return e.leaderHint === undefined
            ? new RaftNodeError("NoLeader", e.message, { cause: e })
            : new RaftNodeError("NotLeader", e.message, { leaderHint: e.leaderHint, cause: e });
        case "ProposalDropped":
        case "TransferInProgress":
        case "ConfChangePending":
          return new RaftNodeError("Busy", e.message, { cause: e });
        case "InvalidConfChange":
        case "InvalidTransferTarget":
          return new RaftNodeError("InvalidConfChange", e.message, { cause: e });
        default:
          return new RaftNodeError("Internal", e.message, { cause: e });
      }
    }
    return new RaftNodeError("Internal", e instanceof Error ? e.message : String(e), { cause: e });
  }
}
