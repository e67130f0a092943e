export {
  ClusterClient,
  type ClusterClientOptions,
  ClusterNode,
  type ClusterNodeStatus,
  failureToError,
  RaftNodeError,
  type RaftNodeErrorCode,
  readTls,
  type StatusResponse as ClusterStatusResponse,
} from "@enigma/raft-node";
export { ManifestStateMachine, type ManifestStateMachineOptions } from "./cluster/manifest-state-machine.js";
export { RaftCommitter } from "./cluster/raft-committer.js";
export { RemoteCommitter, type RemoteCommitterOptions } from "./cluster/remote-committer.js";
export {
  type ClusterStatusDoc,
  type RunningCluster,
  raftDir,
  type StartClusterOptions,
  startCluster,
} from "./cluster/start-cluster.js";
export {
  CONFIG_FILE_NAME,
  ConfigError,
  type ConfigErrorCode,
  defaultConfigDir,
  describeConfig,
  type EnigmaSettings,
  envName,
  formatBytes,
  getOption,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  OPTIONS,
  type OptionSpec,
  type PeerSpec,
  PROVIDER_TYPES,
  type ProviderEntry,
  parseDurationMs,
  parseSizeBytes,
  renderDefaultConfig,
  resolvePath,
  toSettings,
} from "./config/index.js";
export { ChunkReader, type ReadableChunk } from "./engine/chunk-reader.js";
export {
  ChunkWriter,
  type WriteOptions,
  type WriteResult,
  WriteSession,
  type WrittenChunk,
} from "./engine/chunk-writer.js";
export {
  CommandRefused,
  type Committer,
  LocalCommitter,
  type ProposeOptions,
  proposeOrThrow,
} from "./engine/committer.js";
export { type Engine, type OpenEngineOptions, openEngine } from "./engine/engine.js";
export { type DataKey, ensureDataKey, type Keyring, ManifestKeyring, rotateDataKey } from "./engine/keys.js";
export { type NodeOptions, type RunningNode, startNode } from "./node.js";
export { type OpsHandlers, type RunningOps, splitHostPort, startOpsServer } from "./ops-http.js";
export { EngineObjectService, type ObjectServiceOptions } from "./s3/object-service.js";
export {
  ARTIFACT_NAMES,
  assertGcNotPaused,
  type CreatedSnapshot,
  type CreateSnapshotOptions,
  confirmGcAfterRestore,
  createNodeSnapshot,
  createSnapshot,
  describeDbFile,
  ensureNodeSigningKey,
  GC_PAUSED_FILE,
  isSnapshotError,
  loadAgeIdentities,
  loadNodePublicKey,
  loadTrustedKeys,
  type RestoreMode,
  type RestoreOptions as SnapshotRestoreOptions,
  type RestoreReport as SnapshotRestoreReport,
  readGcPause,
  restoreSnapshot,
  SnapshotError,
  type SnapshotErrorCode,
  type SnapshotManifest,
  snapshotManifestDb,
  type VerifyOptions,
  type VerifyReport,
  verifySnapshot,
} from "./snapshot/index.js";
