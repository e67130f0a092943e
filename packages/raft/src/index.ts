// The public API of @enigma/raft: a pure Raft core (RawNode + Ready), its storage contract and an
// in-memory storage. Curated by hand; nothing internal is re-exported.

export { bootstrapState } from "./bootstrap.js";
export type { ConfChange, ConfChangeEntry, ConfChangeType } from "./conf-change.js";
export { applyConfChange } from "./conf-change.js";
export { decodeConfChangeEntry, encodeConfChangeEntry } from "./conf-change-codec.js";
export type { Config, TestMutation } from "./config.js";
export {
  DEFAULT_ELECTION_TICKS,
  DEFAULT_HEARTBEAT_TICKS,
  DEFAULT_MAX_COMMITTED_SIZE_PER_READY_BYTES,
  DEFAULT_MAX_INFLIGHT_BYTES,
  DEFAULT_MAX_INFLIGHT_MSGS,
  DEFAULT_MAX_PENDING_READ_INDEX,
  DEFAULT_MAX_SIZE_PER_MSG_BYTES,
  DEFAULT_MAX_UNCOMMITTED_ENTRIES_BYTES,
} from "./config.js";
export {
  describeEntry,
  describeMessage,
  describeReady,
  describeSnapshot,
  describeStatus,
} from "./describe.js";
export type { RaftErrorCode } from "./errors.js";
export { RaftError } from "./errors.js";
export type { Logger } from "./logger.js";
export { MemoryStorage } from "./memory-storage.js";
export type { ProgressState } from "./progress.js";
export { RawNode } from "./raw-node.js";
export type { Ready } from "./ready.js";
export type { ProgressStatus, Status } from "./status.js";
export type { Storage } from "./storage.js";
export type {
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SnapshotMetadata,
  SoftState,
} from "./types.js";
export { entrySizeBytes, MESSAGE_TYPES, NONE } from "./types.js";
