import { StorageError, type StorageErrorCode } from "../backend.js";
import { leanCause, mapCommonError } from "../errors.js";

/** GCS JSON API error reasons (errors[].reason) → our codes; the HTTP status covers the rest. */
const GCS_REASONS: Readonly<Record<string, StorageErrorCode>> = {
  notFound: "NotFound",
  forbidden: "AuthFailed",
  authError: "AuthFailed",
  required: "AuthFailed",
  rateLimitExceeded: "Throttled",
  userRateLimitExceeded: "Throttled",
  backendError: "Unavailable",
  conditionNotMet: "PreconditionFailed",
  quotaExceeded: "NoSpace",
};

interface ApiErrorish {
  code?: number | string;
  errors?: { reason?: string }[];
  response?: { status?: number };
}

export function mapGcsError(err: unknown, provider: string, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as ApiErrorish;
  const reason = e.errors?.[0]?.reason;
  const message = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
  const mapped = reason === undefined ? undefined : GCS_REASONS[reason];
  if (mapped !== undefined)
    return new StorageError(mapped, provider, `${what}: ${reason}: ${message}`, { cause: leanCause(err) });
  // Checksum mismatches on download/upload: the bytes were damaged in flight; try again.
  if (
    e.code === "CONTENT_DOWNLOAD_MISMATCH" ||
    e.code === "FILE_NO_UPLOAD" ||
    /checksum|mismatch/i.test(message)
  ) {
    return new StorageError("Unavailable", provider, `${what}: ${message}`, { cause: leanCause(err) });
  }
  const status = typeof e.code === "number" ? e.code : e.response?.status;
  return (
    mapCommonError(err, provider, what, status) ??
    new StorageError("Internal", provider, `${what}: ${message}`, { cause: leanCause(err) })
  );
}
