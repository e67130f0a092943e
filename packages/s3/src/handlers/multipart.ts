import { CHECKSUM_ALGORITHMS, parseChecksumAlgorithm } from "../checksums/hasher.js";
import { type RequestContext, sendEmpty, sendXml } from "../context.js";
import { S3Error } from "../errors.js";
import { metadataFromHeaders, quoteEtag, unquoteEtag, xmlDate } from "../http/headers.js";
import { isValidChecksumValue } from "../http/request-body.js";
import { MAX_LIST_PARTS, MAX_LIST_UPLOADS, MAX_PART_NUMBER, MAX_PART_SIZE_BYTES } from "../limits.js";
import type { ChecksumAlgorithm, Checksums, CompletedPartRef, ListUploadsResult } from "../port.js";
import { childrenNamed, expectRoot, optionalChildText, parseXml, requiredChildText } from "../xml/reader.js";
import { el, optional } from "../xml/writer.js";
import { ownerElement } from "./bucket.js";
import { parseEncodingType, parseMaxParam } from "./list.js";
import { parsePartNumberText, partNumberParam, uploadIdParam } from "./part-number.js";
import { withBody } from "./service-errors.js";
import { checksumElements, writePrecondition, writeResultHeaders } from "./write-common.js";

function checksumAlgorithmHeader(ctx: RequestContext): ChecksumAlgorithm | undefined {
  const text = ctx.header("x-amz-checksum-algorithm");
  if (text === undefined) return undefined;
  const algorithm = parseChecksumAlgorithm(text);
  if (algorithm === undefined) {
    throw new S3Error("InvalidRequest", "Checksum algorithm provided is unsupported.", {
      extra: { ArgumentName: "x-amz-checksum-algorithm" },
    });
  }
  return algorithm;
}

export async function createMultipartUpload(ctx: RequestContext): Promise<void> {
  const metadata = metadataFromHeaders(ctx.req.headers, ctx.req.rawHeaders);
  const checksumAlgorithm = checksumAlgorithmHeader(ctx);
  const { uploadId } = await ctx.service.createMultipartUpload({
    bucket: ctx.bucket,
    key: ctx.key,
    metadata,
    checksumAlgorithm,
  });
  const headers: Record<string, string> = {};
  if (checksumAlgorithm !== undefined) headers["x-amz-checksum-algorithm"] = checksumAlgorithm;
  sendXml(
    ctx,
    el(
      "InitiateMultipartUploadResult",
      el("Bucket", ctx.bucket),
      el("Key", ctx.key),
      el("UploadId", uploadId),
    ),
    headers,
  );
}

export async function uploadPart(ctx: RequestContext): Promise<void> {
  const partNumber = partNumberParam(ctx);
  const uploadId = uploadIdParam(ctx);
  const body = ctx.objectBody(MAX_PART_SIZE_BYTES);
  const result = await withBody(body, () =>
    ctx.service.uploadPart({ bucket: ctx.bucket, key: ctx.key, uploadId, partNumber, body }),
  );
  sendEmpty(ctx, 200, { ETag: quoteEtag(result.etag), ...writeResultHeaders(result) });
}

function parseCompleteBody(xml: Buffer): CompletedPartRef[] {
  const root = expectRoot(parseXml(xml), "CompleteMultipartUpload");
  const parts = childrenNamed(root, "Part");
  if (parts.length === 0) throw new S3Error("MalformedXML", "You must specify at least one part.");
  if (parts.length > MAX_PART_NUMBER) throw new S3Error("MalformedXML", "Too many parts.");
  return parts.map((part) => {
    const partNumber = parsePartNumberText(requiredChildText(part, "PartNumber").trim());
    const etag = unquoteEtag(requiredChildText(part, "ETag"));
    const checksums: Checksums = {};
    for (const algorithm of CHECKSUM_ALGORITHMS) {
      const value = optionalChildText(part, `Checksum${algorithm}`);
      if (value === undefined) continue;
      if (!isValidChecksumValue(algorithm, value.trim())) {
        throw new S3Error(
          "InvalidRequest",
          `Value for Checksum${algorithm} of part ${partNumber} is invalid.`,
        );
      }
      checksums[algorithm] = value.trim();
    }
    return { partNumber, etag, checksums };
  });
}

export async function completeMultipartUpload(ctx: RequestContext): Promise<void> {
  const uploadId = uploadIdParam(ctx);
  const precondition = writePrecondition(ctx);
  const parts = parseCompleteBody(await ctx.xmlBody());
  for (let i = 1; i < parts.length; i++) {
    if (parts[i]!.partNumber <= parts[i - 1]!.partNumber) throw new S3Error("InvalidPartOrder");
  }
  const result = await ctx.service.completeMultipartUpload({
    bucket: ctx.bucket,
    key: ctx.key,
    uploadId,
    parts,
    precondition,
  });
  const host = ctx.header("host") ?? "localhost";
  sendXml(
    ctx,
    el(
      "CompleteMultipartUploadResult",
      el("Location", `http://${host}/${ctx.bucket}/${ctx.key.split("/").map(encodeURIComponent).join("/")}`),
      el("Bucket", ctx.bucket),
      el("Key", ctx.key),
      el("ETag", quoteEtag(result.etag)),
      checksumElements(result.checksums).map(([name, value]) => el(name, value)),
      optional("ChecksumType", Object.keys(result.checksums).length > 0 ? result.checksumType : undefined),
    ),
    writeResultHeaders(result),
  );
}

export async function abortMultipartUpload(ctx: RequestContext): Promise<void> {
  await ctx.service.abortMultipartUpload({ bucket: ctx.bucket, key: ctx.key, uploadId: uploadIdParam(ctx) });
  sendEmpty(ctx, 204);
}

export async function listParts(ctx: RequestContext): Promise<void> {
  const uploadId = uploadIdParam(ctx);
  const markerText = ctx.query.get("part-number-marker");
  let partNumberMarker = 0;
  if (markerText !== undefined && markerText !== "") {
    if (!/^\d{1,5}$/.test(markerText)) {
      throw new S3Error("InvalidArgument", "Invalid part-number-marker.", {
        extra: { ArgumentName: "part-number-marker", ArgumentValue: markerText },
      });
    }
    partNumberMarker = Number(markerText);
  }
  const maxParts = parseMaxParam(ctx, "max-parts", MAX_LIST_PARTS);
  const result =
    maxParts === 0
      ? {
          ...(await ctx.service.listParts({
            bucket: ctx.bucket,
            key: ctx.key,
            uploadId,
            partNumberMarker,
            maxParts: 1,
          })),
          parts: [],
          isTruncated: false,
        }
      : await ctx.service.listParts({
          bucket: ctx.bucket,
          key: ctx.key,
          uploadId,
          partNumberMarker,
          maxParts,
        });
  const last = result.parts[result.parts.length - 1];
  sendXml(
    ctx,
    el(
      "ListPartsResult",
      el("Bucket", ctx.bucket),
      el("Key", ctx.key),
      el("UploadId", uploadId),
      el("Initiator", el("ID", ctx.settings.ownerId), el("DisplayName", ctx.settings.ownerDisplayName)),
      ownerElement(ctx),
      el("StorageClass", "STANDARD"),
      el("PartNumberMarker", partNumberMarker),
      optional(
        "NextPartNumberMarker",
        result.isTruncated && last !== undefined ? last.partNumber : undefined,
      ),
      el("MaxParts", maxParts),
      el("IsTruncated", result.isTruncated),
      optional("ChecksumAlgorithm", result.upload.checksumAlgorithm),
      result.parts.map((p) =>
        el(
          "Part",
          el("PartNumber", p.partNumber),
          el("LastModified", xmlDate(p.lastModifiedMs)),
          el("ETag", quoteEtag(p.etag)),
          el("Size", p.sizeBytes),
          checksumElements(p.checksums).map(([name, value]) => el(name, value)),
        ),
      ),
    ),
  );
}

export async function listMultipartUploads(ctx: RequestContext): Promise<void> {
  const prefix = ctx.query.get("prefix") ?? "";
  const delimiterParam = ctx.query.get("delimiter");
  const delimiter = delimiterParam === "" ? undefined : delimiterParam;
  const keyMarker = ctx.query.get("key-marker") ?? "";
  const uploadIdMarker = ctx.query.get("upload-id-marker") ?? "";
  const maxUploads = parseMaxParam(ctx, "max-uploads", MAX_LIST_UPLOADS);
  const encode = parseEncodingType(ctx);
  const text = (v: string) => (encode === undefined ? v : encode(v));
  const listUploads = async (): Promise<ListUploadsResult> => {
    if (maxUploads === 0) {
      await ctx.service.headBucket({ bucket: ctx.bucket, consistency: ctx.consistency });
      return { entries: [], isTruncated: false };
    }
    return ctx.service.listMultipartUploads({
      bucket: ctx.bucket,
      prefix,
      delimiter,
      keyMarker: keyMarker === "" ? undefined : keyMarker,
      uploadIdMarker: keyMarker === "" || uploadIdMarker === "" ? undefined : uploadIdMarker,
      maxUploads,
    });
  };
  const result = await listUploads();
  const last = result.entries[result.entries.length - 1];
  let nextKeyMarker: string | undefined;
  let nextUploadIdMarker: string | undefined;
  if (result.isTruncated && last !== undefined) {
    nextKeyMarker = last.type === "upload" ? last.upload.key : last.prefix;
    nextUploadIdMarker = last.type === "upload" ? last.upload.uploadId : "";
  }
  sendXml(
    ctx,
    el(
      "ListMultipartUploadsResult",
      el("Bucket", ctx.bucket),
      el("KeyMarker", text(keyMarker)),
      el("UploadIdMarker", uploadIdMarker),
      optional("NextKeyMarker", nextKeyMarker === undefined ? undefined : text(nextKeyMarker)),
      optional("NextUploadIdMarker", nextUploadIdMarker),
      optional("Delimiter", delimiter === undefined ? undefined : text(delimiter)),
      el("Prefix", text(prefix)),
      el("MaxUploads", maxUploads),
      optional("EncodingType", encode === undefined ? undefined : "url"),
      el("IsTruncated", result.isTruncated),
      result.entries.flatMap((e) =>
        e.type === "upload"
          ? [
              el(
                "Upload",
                el("Key", text(e.upload.key)),
                el("UploadId", e.upload.uploadId),
                el(
                  "Initiator",
                  el("ID", ctx.settings.ownerId),
                  el("DisplayName", ctx.settings.ownerDisplayName),
                ),
                ownerElement(ctx),
                el("StorageClass", "STANDARD"),
                el("Initiated", xmlDate(e.upload.initiatedMs)),
                optional("ChecksumAlgorithm", e.upload.checksumAlgorithm),
              ),
            ]
          : [],
      ),
      result.entries.flatMap((e) =>
        e.type === "prefix" ? [el("CommonPrefixes", el("Prefix", text(e.prefix)))] : [],
      ),
    ),
  );
}
