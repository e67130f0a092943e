import { StorageError, type StorageErrorCode } from "../backend.js";
import { errnoCode, isAbortError } from "../errors.js";

const FS_CODES: Readonly<Record<string, StorageErrorCode>> = {
  ENOENT: "NotFound",
  ENOTDIR: "NotFound",
  ENOSPC: "NoSpace",
  EDQUOT: "NoSpace",
  EFBIG: "NoSpace",
  EACCES: "AuthFailed",
  EPERM: "AuthFailed",
  EROFS: "Unavailable",
  EIO: "Unavailable",
  EMFILE: "Unavailable",
  ENFILE: "Unavailable",
  EBUSY: "Unavailable",
  EAGAIN: "Unavailable",
  ESTALE: "Unavailable",
  ENAMETOOLONG: "InvalidKey",
};

/** Maps a node:fs error to a StorageError naming the provider; paths stay out of the code. */
export function mapFsError(err: unknown, provider: string, what: string): StorageError {
  if (err instanceof StorageError) return err;
  if (isAbortError(err)) return new StorageError("Timeout", provider, `${what}: aborted`, { cause: err });
  const code = errnoCode(err);
  const mapped = code === undefined ? undefined : FS_CODES[code];
  const message = err instanceof Error ? err.message : String(err);
  return new StorageError(mapped ?? "Internal", provider, `${what}: ${message}`, { cause: err });
}
