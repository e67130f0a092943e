// The S3 front end: handler + server, the port it needs, and helpers the port's implementer reuses.

export { type ChecksumHasher, checksumBase64, createChecksumHasher } from "./checksums/hasher.js";
export { compositeChecksum, multipartEtag } from "./checksums/multipart.js";
export { isS3Error, S3_ERRORS, S3Error, type S3ErrorCode } from "./errors.js";
export {
  createS3Handler,
  type S3HandlerOptions,
  type S3RequestHandler,
  type S3RequestLog,
} from "./handler.js";
export { compareKeys } from "./key-order.js";
export {
  MAX_DELETE_OBJECTS_KEYS,
  MAX_KEY_BYTES,
  MAX_OBJECT_BYTES,
  MAX_PART_NUMBER,
  MAX_PART_SIZE_BYTES,
  MAX_PUT_OBJECT_BYTES,
  MIN_PART_SIZE_BYTES,
} from "./limits.js";
export {
  type BodyDigests,
  type BucketInfo,
  type ByteRange,
  type ChecksumAlgorithm,
  type Checksums,
  type ChecksumType,
  type CompletedPartRef,
  type CompleteMultipartUploadInput,
  type CopyObjectInput,
  type CreateMultipartUploadInput,
  type DeleteOutcome,
  isServiceError,
  type ListEntry,
  type ListObjectsInput,
  type ListObjectsResult,
  type ListPartsInput,
  type ListPartsResult,
  type ListUploadsInput,
  type ListUploadsResult,
  type ObjectHandle,
  type ObjectInfo,
  type ObjectMetadata,
  type ObjectReadInput,
  type ObjectRef,
  type ObjectService,
  type ObjectSummary,
  type PartInfo,
  type PutObjectInput,
  type ReadConsistency,
  type RequestBody,
  ServiceError,
  type ServiceErrorCode,
  type UploadInfo,
  type UploadListEntry,
  type UploadPartCopyInput,
  type UploadPartInput,
  type UploadRef,
  type WritePrecondition,
  type WriteResult,
} from "./port.js";
export { type RunningS3Server, type S3ServerOptions, startS3Server } from "./server.js";
export type { S3Credential } from "./sigv4/credentials.js";
export { MemoryObjectService, type MemoryServiceOptions } from "./testing/memory-service.js";
