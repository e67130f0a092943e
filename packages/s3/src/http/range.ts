import { S3Error } from "../errors.js";
import type { ByteRange } from "../port.js";

function unsatisfiable(requested: string, sizeBytes: number): S3Error {
  return new S3Error("InvalidRange", undefined, {
    extra: { RangeRequested: requested, ActualObjectSize: String(sizeBytes) },
    headers: { "Content-Range": `bytes */${sizeBytes}` },
  });
}

/**
 * A `Range` header against an object of `sizeBytes`: undefined means "serve the whole object"
 * (no header, or one we must ignore per RFC 7233: syntactically invalid, or several ranges, which S3
 * does not support either). Unsatisfiable ranges throw InvalidRange (416).
 */
export function parseRangeHeader(header: string | undefined, sizeBytes: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (m === null) return undefined;
  const [, firstText = "", lastText = ""] = m;
  if (firstText === "" && lastText === "") return undefined;
  if (firstText === "") {
    const suffix = Number(lastText);
    if (suffix === 0 || sizeBytes === 0) throw unsatisfiable(header, sizeBytes);
    return { start: Math.max(0, sizeBytes - suffix), endInclusive: sizeBytes - 1 };
  }
  const first = Number(firstText);
  const last = lastText === "" ? Number.POSITIVE_INFINITY : Number(lastText);
  if (last < first) return undefined;
  if (first >= sizeBytes) throw unsatisfiable(header, sizeBytes);
  return { start: first, endInclusive: Math.min(last, sizeBytes - 1) };
}

/** x-amz-copy-source-range: `bytes=first-last`, both required and inside the source. */
export function parseCopySourceRange(header: string, sizeBytes: number): ByteRange {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  if (m === null || Number(m[1]) > Number(m[2])) {
    throw new S3Error(
      "InvalidArgument",
      "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
      { extra: { ArgumentName: "x-amz-copy-source-range", ArgumentValue: header } },
    );
  }
  const start = Number(m[1]);
  const endInclusive = Number(m[2]);
  if (endInclusive >= sizeBytes) {
    throw new S3Error(
      "InvalidRange",
      "The specified copy source range is not satisfiable for an object of this size.",
    );
  }
  return { start, endInclusive };
}
