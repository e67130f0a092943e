// The public API of @enigma/raft-node: the Raft driver (durable log, ready loop, snapshots), its
// transports (gRPC, in-memory) and the cluster service. Curated by hand.

export {
  type AdminHandler,
  AdminRejected,
  ClusterNode,
  type ClusterNodeOptions,
  type ClusterNodeStatus,
  DEFAULT_REQUEST_TIMEOUT_MS,
  toStatusResponse,
} from "./cluster-node.js";
export { RaftNodeError, type RaftNodeErrorCode } from "./errors.js";
export { readTls, type TlsFiles, type TlsMaterial } from "./grpc/channel.js";
export { ClusterClient, type ClusterClientOptions, failureToError } from "./grpc/cluster-client.js";
export type { AdminRequest, AdminResponse, MemberInfo, StatusResponse } from "./grpc/cluster-codec.js";
export { type LogWrite, SqliteLogStorage } from "./log-storage.js";
export { MemoryNetwork } from "./memory-transport.js";
export {
  DEFAULT_SNAPSHOT_THRESHOLD_ENTRIES,
  MAX_ENTRY_BYTES,
  type MemberStatus,
  type NodeLogger,
  type NodeStatus,
  type ProposeOutcome,
  RaftNode,
  type RaftNodeObserver,
  type RaftNodeOptions,
} from "./raft-node.js";
export {
  encodeDescriptor as encodeSnapshotDescriptor,
  type SnapshotDescriptor,
  snapshotFileName,
} from "./snapshot-files.js";
export { readSqliteRow, replaceSqliteContents } from "./sqlite-files.js";
export type { StateMachine } from "./state-machine.js";
export type { Transport, TransportHandler } from "./transport.js";
