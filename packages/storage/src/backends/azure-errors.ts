import { StorageError, type StorageErrorCode } from "../backend.js";
import { leanCause, mapCommonError } from "../errors.js";

/** Azure Storage error codes (x-ms-error-code) → our codes. */
const AZURE_CODES: Readonly<Record<string, StorageErrorCode>> = {
  BlobNotFound: "NotFound",
  ContainerNotFound: "NotFound",
  ResourceNotFound: "NotFound",
  AuthenticationFailed: "AuthFailed",
  AuthorizationFailure: "AuthFailed",
  AuthorizationPermissionMismatch: "AuthFailed",
  InsufficientAccountPermissions: "AuthFailed",
  InvalidAuthenticationInfo: "AuthFailed",
  AccountIsDisabled: "AuthFailed",
  ServerBusy: "Throttled",
  OperationTimedOut: "Timeout",
  InternalError: "Unavailable",
  ConditionNotMet: "PreconditionFailed",
  LeaseIdMissing: "PreconditionFailed",
  BlobAlreadyExists: "PreconditionFailed",
  AccountQuotaExceeded: "NoSpace",
  Md5Mismatch: "Unavailable",
};

interface RestErrorish {
  name?: string;
  code?: string;
  statusCode?: number;
  details?: { errorCode?: string };
}

export function mapAzureError(err: unknown, provider: string, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as RestErrorish;
  const azureCode = e.details?.errorCode ?? e.code;
  const mapped = azureCode === undefined ? undefined : AZURE_CODES[azureCode];
  // RestError messages can echo the request; keep only the code and first line.
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
  if (mapped !== undefined) {
    return new StorageError(mapped, provider, `${what}: ${azureCode}: ${message}`, { cause: leanCause(err) });
  }
  return (
    mapCommonError(err, provider, what, e.statusCode) ??
    new StorageError("Internal", provider, `${what}: ${message}`, { cause: leanCause(err) })
  );
}
