import { checksumHeaderName } from "../checksums/hasher.js";
import type { RequestContext } from "../context.js";
import { S3Error } from "../errors.js";
import { unquoteEtag } from "../http/headers.js";
import type { ChecksumAlgorithm, Checksums, WritePrecondition, WriteResult } from "../port.js";

/**
 * `If-None-Match: *` and `If-Match: <etag>` on writes. S3 supports only `*` for If-None-Match on
 * writes; anything else would silently be ignored by a naive server, so it is refused.
 */
export function writePrecondition(ctx: RequestContext): WritePrecondition {
  const precondition: WritePrecondition = {};
  const ifNoneMatch = ctx.header("if-none-match");
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== "*") {
      throw new S3Error("NotImplemented", "If-None-Match on writes supports only '*'.", {
        extra: { Header: "If-None-Match" },
      });
    }
    precondition.ifNoneMatch = "*";
  }
  const ifMatch = ctx.header("if-match");
  if (ifMatch !== undefined) precondition.ifMatch = unquoteEtag(ifMatch);
  return precondition;
}

export function checksumResponseHeaders(result: { checksums: Checksums }): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [algorithm, value] of Object.entries(result.checksums)) {
    headers[checksumHeaderName(algorithm as ChecksumAlgorithm)] = value;
  }
  return headers;
}

/** `ChecksumCRC32` etc. elements for XML results. */
export function checksumElements(checksums: Checksums): [string, string][] {
  return Object.entries(checksums).map(([algorithm, value]) => [`Checksum${algorithm}`, value]);
}

export function writeResultHeaders(result: WriteResult): Record<string, string> {
  const headers = checksumResponseHeaders(result);
  if (result.checksumType !== undefined && Object.keys(result.checksums).length > 0) {
    headers["x-amz-checksum-type"] = result.checksumType;
  }
  return headers;
}
