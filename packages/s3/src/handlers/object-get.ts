import { checksumHeaderName } from "../checksums/hasher.js";
import { type RequestContext, sendLeased, sendStream } from "../context.js";
import { S3Error } from "../errors.js";
import { evaluateReadConditions } from "../http/conditions.js";
import { httpDate, metadataHeaders, quoteEtag } from "../http/headers.js";
import { parseRangeHeader } from "../http/range.js";
import type { ByteRange, ChecksumAlgorithm, ObjectInfo } from "../port.js";

/** `response-*` query overrides → the header they replace (S3 allows exactly these six). */
const RESPONSE_OVERRIDES: readonly (readonly [string, string])[] = [
  ["response-content-type", "Content-Type"],
  ["response-content-language", "Content-Language"],
  ["response-expires", "Expires"],
  ["response-cache-control", "Cache-Control"],
  ["response-content-disposition", "Content-Disposition"],
  ["response-content-encoding", "Content-Encoding"],
];

function objectHeaders(
  ctx: RequestContext,
  info: ObjectInfo,
  range: ByteRange | undefined,
): Record<string, string> {
  const headers: Record<string, string> = {
    ...metadataHeaders(info.metadata),
    ETag: quoteEtag(info.etag),
    "Last-Modified": httpDate(info.lastModifiedMs),
    "Accept-Ranges": "bytes",
  };
  for (const [param, header] of RESPONSE_OVERRIDES) {
    const value = ctx.query.get(param);
    if (value !== undefined) headers[header] = value;
  }
  if (range === undefined) {
    headers["Content-Length"] = String(info.sizeBytes);
    // Checksums describe the whole object, so (as in S3) they are sent only for whole-object reads.
    if (ctx.header("x-amz-checksum-mode")?.toUpperCase() === "ENABLED") {
      for (const [algorithm, value] of Object.entries(info.checksums)) {
        headers[checksumHeaderName(algorithm as ChecksumAlgorithm)] = value;
      }
      if (info.checksumType !== undefined && Object.keys(info.checksums).length > 0) {
        headers["x-amz-checksum-type"] = info.checksumType;
      }
    }
  } else {
    headers["Content-Length"] = String(range.endInclusive - range.start + 1);
    headers["Content-Range"] = `bytes ${range.start}-${range.endInclusive}/${info.sizeBytes}`;
  }
  if (info.partsCount !== undefined && ctx.query.has("partNumber")) {
    headers["x-amz-mp-parts-count"] = String(info.partsCount);
  }
  return headers;
}

function checkConditions(ctx: RequestContext, info: ObjectInfo): void {
  try {
    evaluateReadConditions(
      {
        ifMatch: ctx.header("if-match"),
        ifNoneMatch: ctx.header("if-none-match"),
        ifModifiedSince: ctx.header("if-modified-since"),
        ifUnmodifiedSince: ctx.header("if-unmodified-since"),
      },
      info,
      "NotModified",
    );
  } catch (err) {
    if (err instanceof S3Error && err.code === "NotModified") {
      // 304 carries the validators but no body and no error document.
      throw new S3Error("NotModified", undefined, {
        headers: { ETag: quoteEtag(info.etag), "Last-Modified": httpDate(info.lastModifiedMs) },
      });
    }
    throw err;
  }
}

/**
 * `partNumber` on GET/HEAD: part 1 of a simple object is the whole object. Reading one part of a
 * multipart object needs part boundaries the port does not expose (yet) → NotImplemented.
 */
function checkPartNumber(ctx: RequestContext, info: ObjectInfo): void {
  const partNumber = ctx.query.get("partNumber");
  if (partNumber === undefined) return;
  if (!/^\d+$/.test(partNumber) || Number(partNumber) < 1) {
    throw new S3Error("InvalidArgument", "Part number must be a positive integer.", {
      extra: { ArgumentName: "partNumber" },
    });
  }
  if (info.partsCount !== undefined && info.partsCount > 1) {
    throw new S3Error("NotImplemented", "GetObject by part number of a multipart object is not implemented.");
  }
  if (Number(partNumber) !== 1) throw new S3Error("InvalidPartNumber");
}

export async function getObject(ctx: RequestContext): Promise<void> {
  const handle = await ctx.service.getObject({
    bucket: ctx.bucket,
    key: ctx.key,
    consistency: ctx.consistency,
  });
  checkConditions(ctx, handle.info);
  checkPartNumber(ctx, handle.info);
  const range = parseRangeHeader(ctx.header("range"), handle.info.sizeBytes);
  const headers = objectHeaders(ctx, handle.info, range);
  const status = range === undefined ? 200 : 206;
  if (handle.readLeased) await sendLeased(ctx, status, headers, handle.readLeased(range));
  else await sendStream(ctx, status, headers, handle.read(range));
}

export async function headObject(ctx: RequestContext): Promise<void> {
  const info = await ctx.service.headObject({
    bucket: ctx.bucket,
    key: ctx.key,
    consistency: ctx.consistency,
  });
  checkConditions(ctx, info);
  checkPartNumber(ctx, info);
  const range = parseRangeHeader(ctx.header("range"), info.sizeBytes);
  const headers = objectHeaders(ctx, info, range);
  // HEAD: the same headers as GET, including Content-Length, but no body.
  ctx.res.writeHead(range === undefined ? 200 : 206, headers);
  ctx.res.end();
}
