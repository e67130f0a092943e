import { type RequestContext, sendXml } from "../context.js";
import { S3Error } from "../errors.js";
import { evaluateReadConditions } from "../http/conditions.js";
import { metadataFromHeaders, quoteEtag, xmlDate } from "../http/headers.js";
import { parseCopySourceRange } from "../http/range.js";
import { validateBucketName, validateObjectKey } from "../names.js";
import type { ObjectInfo, ObjectRef } from "../port.js";
import { percentDecode } from "../sigv4/uri-encoding.js";
import { el } from "../xml/writer.js";
import { partNumberParam, uploadIdParam } from "./part-number.js";
import { checksumElements, writePrecondition } from "./write-common.js";

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=null]`, percent-encoded. */
export function parseCopySource(header: string): ObjectRef {
  const invalid = () =>
    new S3Error(
      "InvalidArgument",
      "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
      {
        extra: { ArgumentName: "x-amz-copy-source", ArgumentValue: header },
      },
    );
  let raw = header.trim();
  const question = raw.indexOf("?");
  if (question >= 0) {
    const query = raw.slice(question + 1);
    raw = raw.slice(0, question);
    if (query !== "versionId=null" && query !== "") {
      throw new S3Error("NotImplemented", "Copying a specific object version is not implemented.");
    }
  }
  const decoded = percentDecode(raw);
  if (decoded === undefined) throw invalid();
  const path = decoded.startsWith("/") ? decoded.slice(1) : decoded;
  const slash = path.indexOf("/");
  if (slash <= 0 || slash === path.length - 1) throw invalid();
  const ref = { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
  validateBucketName(ref.bucket);
  validateObjectKey(ref.key);
  return ref;
}

/** Reads the source, applies the x-amz-copy-source-if-* conditions (412 on failure). */
async function resolveSource(ctx: RequestContext): Promise<{ ref: ObjectRef; info: ObjectInfo }> {
  const ref = parseCopySource(ctx.header("x-amz-copy-source") ?? "");
  const info = await ctx.service.headObject({ ...ref, consistency: ctx.consistency });
  evaluateReadConditions(
    {
      ifMatch: ctx.header("x-amz-copy-source-if-match"),
      ifNoneMatch: ctx.header("x-amz-copy-source-if-none-match"),
      ifModifiedSince: ctx.header("x-amz-copy-source-if-modified-since"),
      ifUnmodifiedSince: ctx.header("x-amz-copy-source-if-unmodified-since"),
    },
    info,
    "PreconditionFailed",
  );
  return { ref, info };
}

export async function copyObject(ctx: RequestContext): Promise<void> {
  const directive = (ctx.header("x-amz-metadata-directive") ?? "COPY").toUpperCase();
  if (directive !== "COPY" && directive !== "REPLACE") {
    throw new S3Error("InvalidArgument", "Unknown metadata directive.", {
      extra: { ArgumentName: "x-amz-metadata-directive", ArgumentValue: directive },
    });
  }
  const precondition = writePrecondition(ctx);
  const metadata =
    directive === "REPLACE" ? metadataFromHeaders(ctx.req.headers, ctx.req.rawHeaders) : undefined;
  const { ref, info } = await resolveSource(ctx);
  if (ref.bucket === ctx.bucket && ref.key === ctx.key && directive === "COPY") {
    throw new S3Error(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const result = await ctx.service.copyObject({
    bucket: ctx.bucket,
    key: ctx.key,
    source: { ...ref, ifMatch: info.etag },
    metadata,
    precondition,
  });
  sendXml(
    ctx,
    el(
      "CopyObjectResult",
      el("LastModified", xmlDate(result.lastModifiedMs)),
      el("ETag", quoteEtag(result.etag)),
      checksumElements(result.checksums).map(([name, value]) => el(name, value)),
    ),
    { "x-amz-copy-source-version-id": "null" },
  );
}

export async function uploadPartCopy(ctx: RequestContext): Promise<void> {
  const partNumber = partNumberParam(ctx);
  const uploadId = uploadIdParam(ctx);
  const { ref, info } = await resolveSource(ctx);
  const rangeHeader = ctx.header("x-amz-copy-source-range");
  const range = rangeHeader === undefined ? undefined : parseCopySourceRange(rangeHeader, info.sizeBytes);
  const result = await ctx.service.uploadPartCopy({
    bucket: ctx.bucket,
    key: ctx.key,
    uploadId,
    partNumber,
    source: { ...ref, ifMatch: info.etag },
    range,
  });
  sendXml(
    ctx,
    el(
      "CopyPartResult",
      el("LastModified", xmlDate(result.lastModifiedMs)),
      el("ETag", quoteEtag(result.etag)),
      checksumElements(result.checksums).map(([name, value]) => el(name, value)),
    ),
  );
}
