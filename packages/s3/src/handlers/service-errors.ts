import { S3Error, type S3ErrorCode } from "../errors.js";
import type { VerifiedBody } from "../http/request-body.js";
import { isServiceError, type ServiceErrorCode } from "../port.js";

/** Service outcome → S3 error code. Exhaustive: a new service code fails to compile until mapped. */
const SERVICE_TO_S3 = {
  NoSuchBucket: "NoSuchBucket",
  NoSuchKey: "NoSuchKey",
  NoSuchUpload: "NoSuchUpload",
  BucketAlreadyExists: "BucketAlreadyExists",
  BucketAlreadyOwnedByYou: "BucketAlreadyOwnedByYou",
  BucketNotEmpty: "BucketNotEmpty",
  InvalidPart: "InvalidPart",
  InvalidPartOrder: "InvalidPartOrder",
  EntityTooSmall: "EntityTooSmall",
  EntityTooLarge: "EntityTooLarge",
  PreconditionFailed: "PreconditionFailed",
  ConditionalRequestConflict: "ConditionalRequestConflict",
  Unavailable: "ServiceUnavailable",
  SlowDown: "SlowDown",
  InsufficientStorage: "InsufficientStorage",
} as const satisfies Record<ServiceErrorCode, S3ErrorCode>;

/**
 * Anything thrown by a handler or the service → S3Error. ServiceError codes map through the table
 * with the table's message (the service's message may name internals); everything else is a bare
 * InternalError whose cause stays server-side.
 */
export function toS3Error(err: unknown, context: { bucket: string; key: string }): S3Error {
  if (err instanceof S3Error) return err;
  if (isServiceError(err)) {
    const code = SERVICE_TO_S3[err.code];
    const extra: Record<string, string> = {};
    if (code === "NoSuchBucket" || code === "BucketNotEmpty" || code === "BucketAlreadyOwnedByYou") {
      extra.BucketName = context.bucket;
    }
    if (code === "NoSuchKey" && context.key !== "") extra.Key = context.key;
    return new S3Error(code, undefined, { extra, cause: err });
  }
  return S3Error.from(err);
}

/**
 * Runs a service call that consumes `body`. If the body failed verification, that failure is the
 * answer, whatever the service made of it (it may have wrapped or replaced the error).
 */
export async function withBody<T>(body: VerifiedBody, call: () => Promise<T>): Promise<T> {
  try {
    const result = await call();
    if (body.failure !== undefined) throw body.failure;
    return result;
  } catch (err) {
    throw body.failure ?? err;
  }
}
