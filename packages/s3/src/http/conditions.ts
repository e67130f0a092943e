import { S3Error } from "../errors.js";
import { parseHttpDate, unquoteEtag } from "./headers.js";

export interface ReadConditions {
  ifMatch: string | undefined;
  ifNoneMatch: string | undefined;
  ifModifiedSince: string | undefined;
  ifUnmodifiedSince: string | undefined;
}

function etagListMatches(header: string, etag: string): boolean {
  return header.split(",").some((candidate) => {
    const c = candidate.trim();
    return c === "*" || unquoteEtag(c) === etag;
  });
}

/**
 * RFC 7232 §6 evaluation order, which is also S3's: If-Match, else If-Unmodified-Since → 412;
 * If-None-Match, else If-Modified-Since → 304 (for GET/HEAD; `failWith` makes it 412 for copy sources).
 * Dates compare at one-second resolution, as HTTP dates carry no milliseconds.
 */
export function evaluateReadConditions(
  conditions: ReadConditions,
  object: { etag: string; lastModifiedMs: number },
  notModified: "NotModified" | "PreconditionFailed",
): void {
  const lastModifiedSeconds = Math.floor(object.lastModifiedMs / 1000);
  if (conditions.ifMatch !== undefined) {
    if (!etagListMatches(conditions.ifMatch, object.etag)) throw new S3Error("PreconditionFailed");
  } else {
    const since = parseHttpDate(conditions.ifUnmodifiedSince);
    if (since !== undefined && lastModifiedSeconds > Math.floor(since / 1000))
      throw new S3Error("PreconditionFailed");
  }
  if (conditions.ifNoneMatch !== undefined) {
    if (etagListMatches(conditions.ifNoneMatch, object.etag)) throw new S3Error(notModified);
  } else {
    const since = parseHttpDate(conditions.ifModifiedSince);
    if (since !== undefined && lastModifiedSeconds <= Math.floor(since / 1000))
      throw new S3Error(notModified);
  }
}
