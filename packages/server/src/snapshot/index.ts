export {
  describeCreated,
  registerSnapshotActions,
  SNAPSHOT_CREATE_ACTION,
  SNAPSHOT_GC_PAUSE_ACTION,
  SnapshotCreateArgs,
  type SnapshotCreateResult,
} from "./admin.js";
export {
  type CreatedSnapshot,
  type CreateSnapshotOptions,
  createNodeSnapshot,
  createSnapshot,
  type NodeSnapshotOptions,
  type SigningKeyInput,
} from "./create.js";
export { isSnapshotError, SnapshotError, type SnapshotErrorCode } from "./errors.js";
export {
  ARTIFACT_NAMES,
  DB_ARTIFACT,
  MANIFEST_MEMBER,
  SIGNATURE_MEMBER,
  SNAPSHOT_FORMAT,
  SNAPSHOT_FORMAT_VERSION,
  type SnapshotArtifact,
  type SnapshotDbStats,
  type SnapshotManifest,
  type SnapshotRaftMeta,
  type SnapshotSigner,
} from "./format.js";
export {
  assertGcNotPaused,
  confirmGcAfterRestore,
  GC_PAUSED_FILE,
  type GcPauseInfo,
  readGcPause,
} from "./gc-pause.js";
export {
  ensureNodeSigningKey,
  loadNodePublicKey,
  NODE_SIGNING_KEY_FILE,
  NODE_SIGNING_PUBLIC_KEY_FILE,
  type NodeSigningKey,
  nodeSigningKeyPaths,
} from "./node-key.js";
export { type DbSnapshotInfo, type DbState, describeDbFile, snapshotManifestDb } from "./online-backup.js";
export {
  confFromMembership,
  RAFT_LOG_FILE,
  RAFT_SNAPSHOTS_DIR,
  type SeededRaft,
  type SeedRaftOptions,
  seedRaftLog,
} from "./raft-seed.js";
export {
  findShrink,
  type RestoreMode,
  type RestoreOptions,
  type RestoreRaftOptions,
  type RestoreReport,
  restoreSnapshot,
  SHRINK_MAX_FRACTION,
  SHRINK_MIN_CURRENT_ROWS,
  type ShrunkTable,
} from "./restore.js";
export { loadAgeIdentities } from "./source.js";
export { DEFAULT_TAR_LIMITS, readTar, type TarEntry, type TarReadLimits } from "./tar-reader.js";
export { type TarMemberSource, tarStream } from "./tar-writer.js";
export {
  loadTrustedKeys,
  parseTrustedKeys,
  type TrustDecision,
  type TrustedKey,
  type TrustSource,
} from "./trust.js";
export { type TrustReport, type VerifyOptions, type VerifyReport, verifySnapshot } from "./verify.js";
