import type { IncomingHttpHeaders } from "node:http";
import { S3Error } from "../errors.js";
import { MAX_USER_METADATA_BYTES } from "../limits.js";
import type { ObjectMetadata } from "../port.js";
import type { HeaderValues } from "../sigv4/canonical.js";

/** Lowercase header name → values, from `rawHeaders` so repeated headers stay apart (SigV4 needs that). */
export function headerValues(rawHeaders: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const list = map.get(name);
    if (list === undefined) map.set(name, [rawHeaders[i + 1]!]);
    else list.push(rawHeaders[i + 1]!);
  }
  return map;
}

export function headerBytes(rawHeaders: readonly string[]): number {
  let total = 0;
  for (const part of rawHeaders) total += Buffer.byteLength(part, "latin1") + 2;
  return total;
}

export function singleHeader(headers: HeaderValues, name: string): string | undefined {
  const values = headers.get(name);
  return values === undefined ? undefined : values.join(",");
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

/** `"abc"`, `W/"abc"` or `abc` → `abc`. */
export function unquoteEtag(value: string): string {
  let v = value.trim();
  if (v.startsWith("W/")) v = v.slice(2);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  return v;
}

/** RFC 7231 IMF-fixdate, as S3 sends in Last-Modified. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** ISO-8601 with milliseconds, as S3 writes dates in XML. */
export function xmlDate(ms: number): string {
  return new Date(ms).toISOString();
}

/** Standard headers + x-amz-meta-* of a PUT/Copy(REPLACE)/CreateMultipartUpload. */
export function metadataFromHeaders(
  headers: IncomingHttpHeaders,
  rawHeaders: readonly string[],
): ObjectMetadata {
  const metadata: ObjectMetadata = { userMetadata: {} };
  const str = (name: string): string | undefined => {
    const v = headers[name];
    return typeof v === "string" ? v : undefined;
  };
  const contentType = str("content-type");
  if (contentType !== undefined) metadata.contentType = contentType;
  const encoding = str("content-encoding");
  if (encoding !== undefined) {
    // aws-chunked is transport framing, not a property of the object.
    const rest = encoding
      .split(",")
      .map((e) => e.trim())
      .filter((e) => e !== "" && e.toLowerCase() !== "aws-chunked");
    if (rest.length > 0) metadata.contentEncoding = rest.join(",");
  }
  const disposition = str("content-disposition");
  if (disposition !== undefined) metadata.contentDisposition = disposition;
  const language = str("content-language");
  if (language !== undefined) metadata.contentLanguage = language;
  const cacheControl = str("cache-control");
  if (cacheControl !== undefined) metadata.cacheControl = cacheControl;
  const expires = str("expires");
  if (expires !== undefined) metadata.expires = expires;
  let userBytes = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!name.startsWith("x-amz-meta-")) continue;
    const short = name.slice("x-amz-meta-".length);
    const value = rawHeaders[i + 1]!;
    userBytes += Buffer.byteLength(short) + Buffer.byteLength(value);
    const previous = metadata.userMetadata[short];
    metadata.userMetadata[short] = previous === undefined ? value : `${previous},${value}`;
  }
  if (userBytes > MAX_USER_METADATA_BYTES) throw new S3Error("MetadataTooLarge");
  return metadata;
}

/** Response headers for stored metadata. */
export function metadataHeaders(metadata: ObjectMetadata): Record<string, string> {
  const out: Record<string, string> = {
    "Content-Type": metadata.contentType ?? "binary/octet-stream",
  };
  if (metadata.contentEncoding !== undefined) out["Content-Encoding"] = metadata.contentEncoding;
  if (metadata.contentDisposition !== undefined) out["Content-Disposition"] = metadata.contentDisposition;
  if (metadata.contentLanguage !== undefined) out["Content-Language"] = metadata.contentLanguage;
  if (metadata.cacheControl !== undefined) out["Cache-Control"] = metadata.cacheControl;
  if (metadata.expires !== undefined) out.Expires = metadata.expires;
  for (const [name, value] of Object.entries(metadata.userMetadata)) out[`x-amz-meta-${name}`] = value;
  return out;
}

/** Parses an HTTP date header; undefined when absent or unparseable (then it is ignored, as S3 does). */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
