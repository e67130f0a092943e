export { allocAligned, DIRECT_IO_ALIGN, isAlignedView } from "./aligned.js";
export type { BackendSpace, ListedObject, OpOptions, StorageBackend, StorageErrorCode } from "./backend.js";
export {
  CHUNK_KEY_PREFIX,
  chunkObjectKey,
  chunkObjectName,
  isChunkObjectName,
  nameTagOf,
  parseChunkObjectKey,
  StorageError,
  UPLOAD_NONCE_HEX_CHARS,
} from "./backend.js";
export {
  DEFAULT_MIN_FREE_FRACTION,
  DEFAULT_MIN_FREE_MAX_BYTES,
  FreeSpaceGuard,
  type FsSpace,
  type StatFs,
  statFs,
} from "./backends/free-space.js";
export {
  DIRECT_IO_MIN_BYTES,
  type DirectIoMode,
  LocalBackend,
  type LocalBackendOptions,
} from "./backends/local.js";
export { MemoryBackend, type MemoryBackendOptions } from "./backends/memory.js";
export { type CreateBackendOptions, createBackend, retryPolicyFor } from "./create-backend.js";
export {
  type ChunkListing,
  Distributor,
  type DistributorEvent,
  type DistributorOptions,
  type DistributorProvider,
  type GetChunkOptions,
  type ProviderStatus,
  probeProvider,
  type VerifyBlob,
} from "./distributor.js";
export { MAX_OBJECT_KEY_BYTES, objectKeyProblem, validateObjectKey } from "./object-key.js";
export { type DistributionMode, distributionModes, rankProviders } from "./placement.js";
export {
  type ProviderConfig,
  type ProviderFieldDoc,
  type ProviderType,
  type ProviderTypeInfo,
  providerConfigProblems,
  providerFieldDocs,
  providerTypeInfo,
  providerTypes,
  redactProviderConfig,
} from "./provider-config.js";
export {
  type BackendOp,
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  type RetryDeps,
  type RetryEvent,
  type RetryPolicy,
  withRetry,
} from "./retry.js";
export {
  findOrphans,
  listOrphans,
  type SweepCounters,
  type SweepOptions,
  type SweepReport,
  type SweptObject,
} from "./sweep.js";
export { FaultBackend } from "./testing/fault-backend.js";
