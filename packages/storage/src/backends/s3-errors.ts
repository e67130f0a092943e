import { StorageError, type StorageErrorCode } from "../backend.js";
import { codeFromHttpStatus, leanCause, mapCommonError } from "../errors.js";

/** S3 error codes (the XML <Code>, surfaced by the SDK as `name`) → our codes. */
const S3_CODES: Readonly<Record<string, StorageErrorCode>> = {
  NoSuchKey: "NotFound",
  NotFound: "NotFound",
  NoSuchBucket: "NotFound",
  AccessDenied: "AuthFailed",
  InvalidAccessKeyId: "AuthFailed",
  SignatureDoesNotMatch: "AuthFailed",
  ExpiredToken: "AuthFailed",
  InvalidToken: "AuthFailed",
  AllAccessDisabled: "AuthFailed",
  CredentialsProviderError: "AuthFailed",
  SlowDown: "Throttled",
  Throttling: "Throttled",
  ThrottlingException: "Throttled",
  RequestLimitExceeded: "Throttled",
  TooManyRequests: "Throttled",
  RequestThrottled: "Throttled",
  PreconditionFailed: "PreconditionFailed",
  ConditionalRequestConflict: "PreconditionFailed",
  RequestTimeout: "Timeout",
  RequestTimeTooSkewed: "AuthFailed",
  InternalError: "Unavailable",
  ServiceUnavailable: "Unavailable",
  QuotaExceeded: "NoSpace",
  XAmzContentSHA256Mismatch: "Unavailable",
  BadDigest: "Unavailable",
  IncompleteBody: "Unavailable",
  TimeoutError: "Timeout",
};

interface S3ishError {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

/**
 * Maps an @aws-sdk/client-s3 error. Only codes, statuses and the SDK's message are kept: the
 * request (with its signature) is never copied into the message.
 */
export function mapS3Error(err: unknown, provider: string, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as S3ishError;
  const status = e.$metadata?.httpStatusCode;
  const s3Code = e.Code ?? e.name;
  const mapped = s3Code === undefined ? undefined : S3_CODES[s3Code];
  const message = err instanceof Error ? err.message : String(err);
  if (mapped !== undefined) {
    const suffix = s3Code === "NoSuchBucket" ? " (the bucket does not exist)" : "";
    return new StorageError(mapped, provider, `${what}: ${s3Code}${suffix}: ${message}`, {
      cause: leanCause(err),
    });
  }
  const common = mapCommonError(err, provider, what, status);
  if (common) return common;
  if (status !== undefined) {
    return new StorageError(codeFromHttpStatus(status), provider, `${what}: HTTP ${status}: ${message}`, {
      cause: leanCause(err),
    });
  }
  return new StorageError("Internal", provider, `${what}: ${message}`, { cause: leanCause(err) });
}
