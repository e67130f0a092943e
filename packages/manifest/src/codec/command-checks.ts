/** The structural schema of every command: `satisfies Record<CommandType, …>` makes a new command
 * without a schema a compile error. */
import type { CommandType } from "../commands.js";
import {
  arrayOf,
  bool,
  type Check,
  fields,
  hex,
  literal,
  nonEmptyStr,
  recordOf,
  str,
  uint,
} from "./checks.js";

const HASH = hex(64, 64);
const TAG = hex(2, 128);
/** Name tags per MarkSweeping / ClearSweeping command (the sweep batches by this). */
export const MAX_SWEEP_NAME_TAGS = 1000;
const CHAIN = hex(0, 128);
const NAME = nonEmptyStr(1024);
const KEY = nonEmptyStr(4096);
const ID = nonEmptyStr(256);

const chunkRef = fields(
  {
    hash: HASH,
    size: uint,
    sealedSize: uint,
    keyId: uint,
    compressed: bool,
    nameTag: TAG,
    locations: arrayOf(nonEmptyStr(256), 64),
  },
  { uploaded: bool, seenIndex: uint },
);
const chunkList = arrayOf(chunkRef);

const checksums = fields(
  {},
  {
    CRC32: str(256),
    CRC32C: str(256),
    CRC64NVME: str(256),
    SHA1: str(256),
    SHA256: str(256),
  },
);

const objectMeta = fields(
  {},
  {
    contentType: str(1024),
    contentEncoding: str(1024),
    contentDisposition: str(2048),
    contentLanguage: str(256),
    cacheControl: str(1024),
    expires: str(256),
    userMeta: recordOf(str(8192)),
    checksums,
    checksumType: literal("FULL_OBJECT", "COMPOSITE"),
    checksumAlgorithm: literal("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"),
    partsCount: uint,
  },
);

const backupFile = fields(
  {
    path: nonEmptyStr(4096),
    kind: literal("file", "dir", "symlink"),
    mode: uint,
    size: uint,
    mtimeMs: uint,
    chunks: chunkList,
  },
  { linkTarget: str(4096) },
);

const TYPE = { type: str(64) };

export const COMMAND_CHECKS = {
  CreateBucket: fields({ ...TYPE, bucket: NAME, createdAtMs: uint }),
  DeleteBucket: fields({ ...TYPE, bucket: NAME }),
  PutObject: fields(
    {
      ...TYPE,
      bucket: NAME,
      key: KEY,
      size: uint,
      etag: nonEmptyStr(256),
      meta: objectMeta,
      lastModifiedMs: uint,
      chunks: chunkList,
    },
    {
      ifNoneMatch: bool,
      ifMatch: str(256),
      parts: arrayOf(fields({ partNumber: uint, size: uint, etag: hex(32, 32), chunkCount: uint }), 10_000),
    },
  ),
  CopyObject: fields(
    { ...TYPE, srcBucket: NAME, srcKey: KEY, dstBucket: NAME, dstKey: KEY, lastModifiedMs: uint },
    { replaceMeta: objectMeta, srcIfMatch: str(256) },
  ),
  DeleteObject: fields({ ...TYPE, bucket: NAME, key: KEY, atMs: uint }),
  DeleteObjects: fields({ ...TYPE, bucket: NAME, keys: arrayOf(KEY, 100_000), atMs: uint }),
  CreateMultipartUpload: fields({
    ...TYPE,
    uploadId: ID,
    bucket: NAME,
    key: KEY,
    meta: objectMeta,
    initiatedAtMs: uint,
  }),
  PutPart: fields(
    {
      ...TYPE,
      uploadId: ID,
      partNumber: uint,
      size: uint,
      etag: nonEmptyStr(256),
      lastModifiedMs: uint,
      chunks: chunkList,
    },
    { checksums },
  ),
  CompleteMultipartUpload: fields(
    {
      ...TYPE,
      uploadId: ID,
      parts: arrayOf(fields({ partNumber: uint, etag: str(256) }), 100_000),
      lastModifiedMs: uint,
    },
    { checksums, checksumType: literal("FULL_OBJECT", "COMPOSITE"), ifNoneMatch: bool, ifMatch: str(256) },
  ),
  AbortMultipartUpload: fields({ ...TYPE, uploadId: ID, atMs: uint }),
  BeginBackup: fields(
    {
      ...TYPE,
      backupId: ID,
      name: NAME,
      kind: literal("dir", "stream"),
      source: str(4096),
      startedAtMs: uint,
    },
    { host: str(1024) },
  ),
  AddBackupFiles: fields({ ...TYPE, backupId: ID, files: arrayOf(backupFile, 100_000), atMs: uint }),
  AppendBackupChunks: fields({ ...TYPE, backupId: ID, firstSeq: uint, chunks: chunkList, chainHex: CHAIN }),
  CompleteBackup: fields({ ...TYPE, backupId: ID, completedAtMs: uint, chainHex: CHAIN }),
  AbortBackup: fields({ ...TYPE, backupId: ID, reason: str(4096), atMs: uint }),
  DeleteBackup: fields({ ...TYPE, backupId: ID, atMs: uint }),
  AddBackupLog: fields({
    ...TYPE,
    backupId: ID,
    atMs: uint,
    level: literal("info", "warn", "error"),
    message: str(16 * 1024),
  }),
  AddDataKey: fields({ ...TYPE, keyId: uint, wrappedHex: hex(2, 64 * 1024), createdAtMs: uint }),
  MarkChunksDeleting: fields({ ...TYPE, hashes: arrayOf(HASH, 100_000), nowMs: uint, graceMs: uint }),
  ForgetChunks: fields({ ...TYPE, hashes: arrayOf(HASH, 100_000) }),
  MarkSweeping: fields({ ...TYPE, nameTags: arrayOf(TAG, MAX_SWEEP_NAME_TAGS) }),
  ClearSweeping: fields({ ...TYPE, nameTags: arrayOf(TAG, MAX_SWEEP_NAME_TAGS) }),
  ResumeGc: fields({ ...TYPE, atMs: uint, by: nonEmptyStr(1024) }),
  SetFeatureLevel: fields({ ...TYPE, level: uint }),
  Noop: fields({ ...TYPE }),
} satisfies Record<CommandType, Check>;
