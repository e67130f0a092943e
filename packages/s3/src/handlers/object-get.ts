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
 * `partNumber` on GET/HEAD, validated; undefined without one. Part 1 of a single-part object is
 * the whole object. A multipart object's part is served as a range (206) when the service knows
 * its boundaries (objects completed at cluster feature level 1 or later); for older objects it
 * cannot be located → NotImplemented. S3 refuses a Range header together with partNumber.
 */
function partNumberParam(ctx: RequestContext): number | undefined {
  const partNumber = ctx.query.get("partNumber");
  if (partNumber === undefined) return undefined;
  if (!/^\d+$/.test(partNumber) || Number(partNumber) < 1 || Number(partNumber) > 10_000) {
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", {
      extra: { ArgumentName: "partNumber", ArgumentValue: partNumber },
    });
  }
  if (ctx.header("range") !== undefined) {
    throw new S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter");
  }
  return Number(partNumber);
}

/** The range to serve: a part's (partNumber), the Range header's, or undefined (whole object). */
function rangeToServe(
  ctx: RequestContext,
  info: ObjectInfo,
  partNumber: number | undefined,
): ByteRange | undefined {
  if (partNumber === undefined) return parseRangeHeader(ctx.header("range"), info.sizeBytes);
  const parts = info.partsCount ?? 1;
  if (partNumber > parts) throw new S3Error("InvalidPartNumber");
  if (info.partRange !== undefined) return info.partRange;
  if (parts === 1) return undefined;
  throw new S3Error(
    "NotImplemented",
    "This multipart object was completed before part boundaries were recorded; read it by Range instead.",
  );
}

export async function getObject(ctx: RequestContext): Promise<void> {
  const partNumber = partNumberParam(ctx);
  const handle = await ctx.service.getObject({
    bucket: ctx.bucket,
    key: ctx.key,
    consistency: ctx.consistency,
    ...(partNumber === undefined ? {} : { partNumber }),
  });
  checkConditions(ctx, handle.info);
  const range = rangeToServe(ctx, handle.info, partNumber);
  const headers = objectHeaders(ctx, handle.info, range);
  const status = range === undefined ? 200 : 206;
  if (handle.readLeased) await sendLeased(ctx, status, headers, handle.readLeased(range));
  else await sendStream(ctx, status, headers, handle.read(range));
}

export async function headObject(ctx: RequestContext): Promise<void> {
  const partNumber = partNumberParam(ctx);
  const info = await ctx.service.headObject({
    bucket: ctx.bucket,
    key: ctx.key,
    consistency: ctx.consistency,
    ...(partNumber === undefined ? {} : { partNumber }),
  });
  checkConditions(ctx, info);
  const range = rangeToServe(ctx, info, partNumber);
  const headers = objectHeaders(ctx, info, range);
  // HEAD: the same headers as GET, including Content-Length, but no body.
  ctx.res.writeHead(range === undefined ? 200 : 206, headers);
  ctx.res.end();
}
