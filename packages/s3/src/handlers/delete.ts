import { type RequestContext, sendEmpty, sendXml } from "../context.js";
import { S3Error } from "../errors.js";
import { MAX_DELETE_OBJECTS_KEYS } from "../limits.js";
import { validateObjectKey } from "../names.js";
import type { DeleteOutcome } from "../port.js";
import { childrenNamed, expectRoot, optionalChildText, parseXml, requiredChildText } from "../xml/reader.js";
import { el } from "../xml/writer.js";
import { toS3Error } from "./service-errors.js";

export async function deleteObject(ctx: RequestContext): Promise<void> {
  await ctx.service.deleteObject({ bucket: ctx.bucket, key: ctx.key });
  sendEmpty(ctx, 204);
}

interface DeleteRequest {
  quiet: boolean;
  keys: string[];
}

function parseDeleteBody(xml: Buffer): DeleteRequest {
  const root = expectRoot(parseXml(xml), "Delete");
  const objects = childrenNamed(root, "Object");
  if (objects.length === 0 || objects.length > MAX_DELETE_OBJECTS_KEYS) throw new S3Error("MalformedXML");
  const quietText = optionalChildText(root, "Quiet")?.trim().toLowerCase();
  if (quietText !== undefined && quietText !== "true" && quietText !== "false")
    throw new S3Error("MalformedXML");
  const keys = objects.map((o) => {
    const versionId = optionalChildText(o, "VersionId");
    if (versionId !== undefined && versionId !== "null") {
      throw new S3Error("NotImplemented", "Deleting a specific object version is not implemented.");
    }
    return requiredChildText(o, "Key");
  });
  return { quiet: quietText === "true", keys };
}

/**
 * DeleteObjects. S3 requires an integrity header on this call: Content-MD5, or (newer SDKs) an
 * x-amz-checksum-* header or trailer; the body layer verifies whichever was sent.
 */
export async function deleteObjects(ctx: RequestContext): Promise<void> {
  const hasIntegrity =
    ctx.header("content-md5") !== undefined ||
    ctx.header("x-amz-trailer") !== undefined ||
    [...ctx.headers.keys()].some((h) => h.startsWith("x-amz-checksum-") && h !== "x-amz-checksum-algorithm");
  if (!hasIntegrity) {
    throw new S3Error("InvalidRequest", "Missing required header for this request: Content-MD5");
  }
  const request = parseDeleteBody(await ctx.xmlBody());
  const outcomes: DeleteOutcome[] = [];
  const valid: string[] = [];
  const invalid = new Map<string, S3Error>();
  for (const key of request.keys) {
    try {
      validateObjectKey(key);
      valid.push(key);
    } catch (err) {
      invalid.set(key, S3Error.from(err));
    }
  }
  const serviceOutcomes =
    valid.length > 0 ? await ctx.service.deleteObjects({ bucket: ctx.bucket, keys: valid }) : [];
  outcomes.push(...serviceOutcomes);
  const errors = [
    ...[...invalid].map(([key, error]) => ({ key, error })),
    ...outcomes
      .filter((o) => o.error !== undefined)
      .map((o) => ({ key: o.key, error: toS3Error(o.error, ctx) })),
  ];
  sendXml(
    ctx,
    el(
      "DeleteResult",
      request.quiet
        ? []
        : outcomes.filter((o) => o.error === undefined).map((o) => el("Deleted", el("Key", o.key))),
      errors.map((e) =>
        el("Error", el("Key", e.key), el("Code", e.error.code), el("Message", e.error.message)),
      ),
    ),
  );
}
