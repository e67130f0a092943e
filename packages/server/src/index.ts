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
export {
  type DataKey,
  ensureDataKey,
  type Keyring,
  keyProviderFor,
  keyProviderSettings,
  ManifestKeyring,
  type ManifestKeyringOptions,
  needsPassphrase,
  PROVIDER_REFRESH_MIN_INTERVAL_MS,
  rotateDataKey,
} from "./engine/keys.js";
export {
  KEYS_ROTATE_ACTION,
  type KeysRotateResult,
  registerKeyActions,
  rotateKeys,
} from "./engine/keys-admin.js";
export { GC_CONFIRM_ACTION, type GcConfirmResult } from "./gc/admin.js";
export { registerGcMetrics } from "./gc/metrics.js";
export { type BackendFreed, type GcReport, renderGcReport } from "./gc/report.js";
export {
  GC_BATCH_CHUNKS,
  GcBusyError,
  type GcRunOptions,
  type GcState,
  gcState,
  runGc,
} from "./gc/run.js";
export { GcScheduler, type GcSchedulerOptions, type TickOutcome } from "./gc/scheduler.js";
export { SWEEP_BATCH_NAME_TAGS, SWEEP_MIN_GRACE_MS } from "./gc/sweep.js";
export { type NodeOptions, type RunningNode, startNode } from "./node.js";
export { type OpsHandlers, type RunningOps, splitHostPort, startOpsServer } from "./ops-http.js";
export { EngineObjectService, type ObjectServiceOptions } from "./s3/object-service.js";
export { describeGcPause, type GcPauseStatus, gcPauseStatus } from "./snapshot/gc-pause.js";
export {
  ARTIFACT_NAMES,
  assertGcNotPaused,
  type CreatedSnapshot,
  type CreateSnapshotOptions,
  confirmGcAfterRestore,
  createNodeSnapshot,
  createSnapshot,
  describeCreated,
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
  SNAPSHOT_CREATE_ACTION,
  SNAPSHOT_GC_PAUSE_ACTION,
  type SnapshotCreateResult,
  SnapshotError,
  type SnapshotErrorCode,
  type SnapshotManifest,
  snapshotManifestDb,
  type VerifyOptions,
  type VerifyReport,
  verifySnapshot,
} from "./snapshot/index.js";
