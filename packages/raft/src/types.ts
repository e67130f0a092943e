/**
 * The data types of the Raft core. Everything here is plain data: the driver persists entries,
 * hard state and snapshots, and carries messages over the network, field by field.
 */

/** A node id: a positive integer. `NONE` (0) means "no node". */
export type NodeId = number;

/** No node: no vote cast, no leader known. */
export const NONE: NodeId = 0;

/**
 * - `normal`: an application command; `data` is opaque to Raft.
 * - `confChange`: a membership change; `data` is an encoded `ConfChangeEntry` (see conf-change-codec.ts).
 * - `noop`: the empty entry a new leader appends to commit an entry of its own term (Raft §8).
 */
export type EntryType = "normal" | "confChange" | "noop";

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/**
 * The state that must be on stable storage before the messages of the same `Ready` are sent
 * (Raft §5.1, Figure 2: currentTerm, votedFor; plus the commit index, which saves re-deriving it).
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/** A membership configuration: voters decide elections and commitment; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  /** The last log index the snapshot covers. */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  /** The configuration in effect at `index` (the latest configuration entry at or below it). */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The application's state-machine image; opaque to Raft. */
  readonly data: Uint8Array;
}

/**
 * Network message types. Local requests (propose, campaign, read, transfer) are methods of
 * `RawNode`, never messages, so every message here crosses the network.
 *
 * - `App` (AppendEntries): index/logTerm = the entry preceding `entries`; commit = leader's commit.
 * - `AppResp`: accepted: index = last index now known to match. Rejected: index = the rejected
 *   prev index, rejectHint/logTerm = the follower's conflict hint (index, term) for fast backtracking.
 * - `Vote`, `PreVote`: index/logTerm = the candidate's last entry; context = `CAMPAIGN_TRANSFER` when
 *   the campaign follows a leadership transfer (bypasses the leader lease).
 * - `VoteResp`, `PreVoteResp`: reject = vote refused.
 * - `Heartbeat`: commit = min(follower's match, leader's commit); context = ReadIndex round id (or empty).
 * - `HeartbeatResp`: context echoed.
 * - `Snap` (InstallSnapshot): snapshot. Chunking and streaming are the driver's job.
 * - `TimeoutNow`: the receiver starts an election at once (leadership transfer, thesis §3.10).
 * - `ReadIndex`: follower → leader, context = the follower's request id.
 * - `ReadIndexResp`: leader → follower, index = read index, context = the request id.
 */
export type MessageType =
  | "App"
  | "AppResp"
  | "Vote"
  | "VoteResp"
  | "PreVote"
  | "PreVoteResp"
  | "Heartbeat"
  | "HeartbeatResp"
  | "Snap"
  | "TimeoutNow"
  | "ReadIndex"
  | "ReadIndexResp";

export const MESSAGE_TYPES: readonly MessageType[] = [
  "App",
  "AppResp",
  "Vote",
  "VoteResp",
  "PreVote",
  "PreVoteResp",
  "Heartbeat",
  "HeartbeatResp",
  "Snap",
  "TimeoutNow",
  "ReadIndex",
  "ReadIndexResp",
];

export interface Message {
  readonly type: MessageType;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly snapshot?: Snapshot;
  readonly context: Uint8Array;
}

/** The result of a ReadIndex request: once the state machine has applied `index`, serve the read. */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

/** Volatile, informational state: no need to persist it. */
export interface SoftState {
  readonly leader: NodeId;
  readonly role: Role;
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
export const EMPTY_ENTRIES: readonly Entry[] = Object.freeze([]);
export const EMPTY_CONF_STATE: ConfState = Object.freeze({ voters: [], learners: [] });

/** Marks a Vote whose campaign follows a `TimeoutNow`: voters must not ignore it for a lease. */
export const CAMPAIGN_TRANSFER: Uint8Array = new Uint8Array([0x74, 0x72, 0x61, 0x6e, 0x73, 0x66, 0x65, 0x72]);

/** A message with every field not given set to its zero value. Builds one fixed shape (hot path). */
export function makeMessage(
  fields: Pick<Message, "type" | "from" | "to" | "term"> & Partial<Message>,
): Message {
  const m: { -readonly [K in keyof Message]: Message[K] } = {
    type: fields.type,
    from: fields.from,
    to: fields.to,
    term: fields.term,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? EMPTY_ENTRIES,
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    context: fields.context ?? EMPTY_BYTES,
  };
  if (fields.snapshot !== undefined) m.snapshot = fields.snapshot;
  return m;
}

/** The bytes an entry is charged for in size limits: its payload plus a fixed overhead. */
export const ENTRY_OVERHEAD_BYTES = 16;

export function entrySizeBytes(e: Entry): number {
  return e.data.length + ENTRY_OVERHEAD_BYTES;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
