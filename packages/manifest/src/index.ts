export { MAX_BACKUP_LOG_LINES } from "./apply/backups.js";
export type {
  ApplyEntry,
  CommandEntry,
  EmptyEntry,
  MembershipConfig,
  MembershipEntry,
} from "./apply/entries.js";
export { REQUEST_WINDOW_ENTRIES } from "./apply/entries.js";
export { FEATURE_LEVEL, FEATURES } from "./apply/features.js";
export { MAX_PART_NUMBER, MIN_PART_SIZE_BYTES } from "./apply/multipart.js";
export { MAX_DELETE_OBJECTS_KEYS, MAX_KEY_BYTES } from "./apply/objects.js";
export {
  CODEC_VERSION,
  type CommandEnvelope,
  decodeCommand,
  decodeEnvelope,
  encodeCommand,
  encodeEnvelope,
  validateCommand,
} from "./codec/codec.js";
export { MAX_SWEEP_NAME_TAGS } from "./codec/command-checks.js";
export type {
  ApplyError,
  ApplyErrorCode,
  ApplyResult,
  BackupFileEntry,
  Checksums,
  ChunkRef,
  Command,
  CommandType,
  ObjectMeta,
  ObjectPartSpec,
} from "./commands.js";
export { ManifestError, type ManifestErrorCode } from "./errors.js";
export { compareKeys } from "./key-bytes.js";
export { Manifest } from "./manifest.js";
export type { ListBackupFilesOptions } from "./queries/backups.js";
export type { ListCounters } from "./queries/list-objects.js";
export type {
  BackupFileInfo,
  BackupInfo,
  BackupLogLine,
  BackupState,
  BucketInfo,
  ChunkInfo,
  ChunkState,
  ChunkStats,
  DataKeyInfo,
  GcPauseConfirmation,
  GcPauseRecord,
  ListObjectsPage,
  ListObjectsParams,
  ListPartsPage,
  ListUploadsPage,
  ListUploadsParams,
  LocationStats,
  ObjectHeadInfo,
  ObjectInfo,
  ObjectPart,
  ObjectSummary,
  PartInfo,
  RaftMeta,
  StreamChunk,
  UploadInfo,
} from "./queries/types.js";
export { writeManifestAtSchema } from "./schema/at-version.js";
export { SCHEMA_VERSION } from "./schema/migrations.js";
export type { IntegrityCheck, OpenOptions } from "./schema/open-database.js";
export type { RestoreReport } from "./snapshot.js";
