import type { Logger } from "./logger.js";
import { SILENT_LOGGER } from "./logger.js";
import type { Storage } from "./storage.js";
import type { NodeId } from "./types.js";

export const DEFAULT_ELECTION_TICKS = 10;
export const DEFAULT_HEARTBEAT_TICKS = 1;
export const DEFAULT_MAX_SIZE_PER_MSG_BYTES = 1024 * 1024;
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
export const DEFAULT_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_COMMITTED_SIZE_PER_READY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_UNCOMMITTED_ENTRIES_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_PENDING_READ_INDEX = 4096;

/**
 * Test-only fault injection: each value breaks the core in one known way, so that the simulator
 * can prove it notices. Never set in production.
 * - `readIndexWithoutOwnTermCommit`: serve ReadIndex before the leader committed an entry of its
 *   own term (violates thesis §6.4 step 1).
 * - `commitByCountingOldTerm`: commit an entry of an earlier term by counting replicas (violates
 *   Raft §5.4.2, the figure-8 rule).
 * - `voteNotPersisted`: the vote is left out of the hard state the driver persists, so the reply
 *   granting it is sent without the vote being durable (violates Raft §5.1 / Figure 2).
 */
export type TestMutation = "readIndexWithoutOwnTermCommit" | "commitByCountingOldTerm" | "voteNotPersisted";

export const TEST_MUTATIONS: readonly TestMutation[] = [
  "readIndexWithoutOwnTermCommit",
  "commitByCountingOldTerm",
  "voteNotPersisted",
];

export interface Config {
  /** This node's id: a positive integer. */
  id: NodeId;
  storage: Storage;
  /**
   * Injected PRNG: returns an integer in [0, n). The core draws election jitter from it only, so
   * a seeded generator makes the core deterministic.
   */
  rand: (n: number) => number;
  /** Followers start an election after a random timeout in [electionTicks, 2·electionTicks). */
  electionTicks?: number;
  /** A leader sends heartbeats every heartbeatTicks ticks. Must be < electionTicks. */
  heartbeatTicks?: number;
  /**
   * The last index the application has applied (durably, with its state). On restart, committed
   * entries are handed out from applied+1. Defaults to the snapshot index.
   */
  applied?: number;
  /** Batching: an App carries entries up to this many bytes (always at least one entry). */
  maxSizePerMsgBytes?: number;
  /** Pipelining: at most this many App messages in flight to one follower in replicate state. */
  maxInflightMsgs?: number;
  /** Pipelining: at most this many entry bytes in flight to one follower. */
  maxInflightBytes?: number;
  /** Committed entries handed out in one Ready, in bytes (always at least one entry). */
  maxCommittedSizePerReadyBytes?: number;
  /** A leader drops proposals once this many bytes are uncommitted (`ProposalDropped`). */
  maxUncommittedEntriesBytes?: number;
  /** A leader drops ReadIndex requests past this many pending (`ProposalDropped`). */
  maxPendingReadIndex?: number;
  /** A leader steps down when it has not heard from a quorum within an election timeout (§6.2). */
  checkQuorum?: boolean;
  /** Campaign only after a pre-vote round succeeds (thesis §9.6). */
  preVote?: boolean;
  logger?: Logger;
  /** TEST ONLY: break the core in a known way (see `TestMutation`). */
  testMutation?: TestMutation;
}

export interface ResolvedConfig {
  readonly id: NodeId;
  readonly storage: Storage;
  readonly rand: (n: number) => number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly applied: number;
  readonly maxSizePerMsgBytes: number;
  readonly maxInflightMsgs: number;
  readonly maxInflightBytes: number;
  readonly maxCommittedSizePerReadyBytes: number;
  readonly maxUncommittedEntriesBytes: number;
  readonly maxPendingReadIndex: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly logger: Logger;
  readonly testMutation: TestMutation | undefined;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v <= 0)
    throw new RangeError(`raft config: ${name} must be a positive integer, got ${v}`);
  return v;
}

/** Fills defaults and validates; throws RangeError naming the offending field. */
export function resolveConfig(c: Config): ResolvedConfig {
  const electionTicks = positiveInt("electionTicks", c.electionTicks ?? DEFAULT_ELECTION_TICKS);
  const heartbeatTicks = positiveInt("heartbeatTicks", c.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS);
  if (electionTicks <= heartbeatTicks) {
    throw new RangeError(
      `raft config: electionTicks (${electionTicks}) must be greater than heartbeatTicks (${heartbeatTicks})`,
    );
  }
  const applied = c.applied ?? 0;
  if (!Number.isSafeInteger(applied) || applied < 0) {
    throw new RangeError(`raft config: applied must be a non-negative integer, got ${applied}`);
  }
  return {
    id: positiveInt("id", c.id),
    storage: c.storage,
    rand: c.rand,
    electionTicks,
    heartbeatTicks,
    applied,
    maxSizePerMsgBytes: positiveInt(
      "maxSizePerMsgBytes",
      c.maxSizePerMsgBytes ?? DEFAULT_MAX_SIZE_PER_MSG_BYTES,
    ),
    maxInflightMsgs: positiveInt("maxInflightMsgs", c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS),
    maxInflightBytes: positiveInt("maxInflightBytes", c.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES),
    maxCommittedSizePerReadyBytes: positiveInt(
      "maxCommittedSizePerReadyBytes",
      c.maxCommittedSizePerReadyBytes ?? DEFAULT_MAX_COMMITTED_SIZE_PER_READY_BYTES,
    ),
    maxUncommittedEntriesBytes: positiveInt(
      "maxUncommittedEntriesBytes",
      c.maxUncommittedEntriesBytes ?? DEFAULT_MAX_UNCOMMITTED_ENTRIES_BYTES,
    ),
    maxPendingReadIndex: positiveInt(
      "maxPendingReadIndex",
      c.maxPendingReadIndex ?? DEFAULT_MAX_PENDING_READ_INDEX,
    ),
    checkQuorum: c.checkQuorum ?? true,
    preVote: c.preVote ?? true,
    logger: c.logger ?? SILENT_LOGGER,
    testMutation: c.testMutation,
  };
}
