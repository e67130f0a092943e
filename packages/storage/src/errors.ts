import { StorageError, type StorageErrorCode } from "./backend.js";

/** Node/undici socket errors that mean "could not talk to the provider": retryable. */
const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "ERR_STREAM_PREMATURE_CLOSE",
  "REQUEST_SEND_ERROR",
]);

/** The error's `code` (string) if it has one, looking through one level of `cause`. */
export function errnoCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === "object" && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isNetworkError(err: unknown): boolean {
  const code = errnoCode(err);
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) return true;
  const msg = err instanceof Error ? err.message : "";
  return /socket hang up|ECONNREFUSED|ECONNRESET|other side closed/i.test(msg);
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || errnoCode(err) === "ABORT_ERR");
}

/** HTTP status → our code; the per-SDK mappers refine it with the provider's error codes. */
export function codeFromHttpStatus(status: number): StorageErrorCode {
  if (status === 401 || status === 403) return "AuthFailed";
  if (status === 404) return "NotFound";
  if (status === 408) return "Timeout";
  if (status === 409 || status === 412) return "PreconditionFailed";
  if (status === 429) return "Throttled";
  if (status === 507) return "NoSpace";
  if (status >= 500) return "Unavailable";
  return "Internal";
}

/**
 * The part of the mapping every SDK shares: aborts, socket errors and a bare HTTP status.
 * Returns null when nothing matched so the caller can fall back to its own rules.
 */
export function mapCommonError(
  err: unknown,
  provider: string,
  what: string,
  status?: number,
): StorageError | null {
  if (err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const cause = leanCause(err);
  if (isAbortError(err)) return new StorageError("Timeout", provider, `${what}: aborted`, { cause });
  if (isNetworkError(err)) {
    return new StorageError("Unavailable", provider, `${what}: provider unreachable (${message})`, { cause });
  }
  if (status !== undefined && status > 0) {
    return new StorageError(codeFromHttpStatus(status), provider, `${what}: HTTP ${status} ${message}`, {
      cause,
    });
  }
  return null;
}

/**
 * A small stand-in for an SDK error, kept as a StorageError's `cause`. SDK errors carry the
 * request and response (headers with Authorization, bearer tokens, sockets); logging them could
 * leak credentials and floods logs, so only name, message, code and HTTP status survive.
 */
export function leanCause(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(String(err));
  const lean = new Error(err.message.split("\n")[0] ?? "");
  lean.name = err.name;
  const e = err as {
    code?: unknown;
    Code?: unknown;
    statusCode?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const code = e.Code ?? e.code;
  const status =
    e.$metadata?.httpStatusCode ?? e.statusCode ?? (typeof e.code === "number" ? e.code : undefined);
  if (typeof code === "string" || typeof code === "number") Object.assign(lean, { code });
  if (typeof status === "number") Object.assign(lean, { status });
  lean.stack = `${lean.name}: ${lean.message}`;
  return lean;
}
