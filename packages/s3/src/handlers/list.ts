import { type RequestContext, sendXml } from "../context.js";
import { S3Error } from "../errors.js";
import { quoteEtag, xmlDate } from "../http/headers.js";
import { MAX_LIST_KEYS } from "../limits.js";
import type { ListEntry, ObjectSummary } from "../port.js";
import { el, optional } from "../xml/writer.js";
import { ownerElement } from "./bucket.js";
import { decodeContinuationToken, encodeContinuationToken, urlEncodeKey } from "./list-token.js";

/** max-keys / max-uploads / max-parts: a non-negative integer, capped at `cap` (S3 caps, it does not fail). */
export function parseMaxParam(ctx: RequestContext, name: string, cap: number): number {
  const text = ctx.query.get(name);
  if (text === undefined) return cap;
  if (!/^\d{1,10}$/.test(text)) {
    throw new S3Error("InvalidArgument", `Provided ${name} not an integer or within integer range`, {
      extra: { ArgumentName: name, ArgumentValue: text },
    });
  }
  return Math.min(Number(text), cap);
}

export function parseEncodingType(ctx: RequestContext): ((value: string) => string) | undefined {
  const encodingType = ctx.query.get("encoding-type");
  if (encodingType === undefined) return undefined;
  if (encodingType.toLowerCase() !== "url") {
    throw new S3Error("InvalidArgument", "Invalid Encoding Method specified in Request", {
      extra: { ArgumentName: "encoding-type", ArgumentValue: encodingType },
    });
  }
  return urlEncodeKey;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function lastPosition(entries: readonly ListEntry[]): string | undefined {
  const last = entries[entries.length - 1];
  if (last === undefined) return undefined;
  return last.type === "object" ? last.object.key : last.prefix;
}

interface ListQuery {
  prefix: string;
  delimiter: string | undefined;
  maxKeys: number;
  encode: ((value: string) => string) | undefined;
}

function readListQuery(ctx: RequestContext): ListQuery {
  return {
    prefix: ctx.query.get("prefix") ?? "",
    delimiter: nonEmpty(ctx.query.get("delimiter")),
    maxKeys: parseMaxParam(ctx, "max-keys", MAX_LIST_KEYS),
    encode: parseEncodingType(ctx),
  };
}

async function fetchPage(ctx: RequestContext, q: ListQuery, startAfter: string | undefined) {
  if (q.maxKeys === 0) {
    // Nothing to return, but a missing bucket must still be reported.
    await ctx.service.headBucket({ bucket: ctx.bucket, consistency: ctx.consistency });
    return { entries: [] as ListEntry[], isTruncated: false };
  }
  return ctx.service.listObjects({
    bucket: ctx.bucket,
    prefix: q.prefix,
    delimiter: q.delimiter,
    startAfter,
    maxKeys: q.maxKeys,
    consistency: ctx.consistency,
  });
}

function contents(
  ctx: RequestContext,
  entries: readonly ListEntry[],
  encode: ListQuery["encode"],
  withOwner: boolean,
) {
  const text = (v: string) => (encode === undefined ? v : encode(v));
  const objects: ObjectSummary[] = [];
  const prefixes: string[] = [];
  for (const entry of entries) {
    if (entry.type === "object") objects.push(entry.object);
    else prefixes.push(entry.prefix);
  }
  return [
    objects.map((o) =>
      el(
        "Contents",
        el("Key", text(o.key)),
        el("LastModified", xmlDate(o.lastModifiedMs)),
        el("ETag", quoteEtag(o.etag)),
        el("Size", o.sizeBytes),
        withOwner ? ownerElement(ctx) : undefined,
        el("StorageClass", "STANDARD"),
      ),
    ),
    prefixes.map((p) => el("CommonPrefixes", el("Prefix", text(p)))),
  ];
}

export async function listObjectsV2(ctx: RequestContext): Promise<void> {
  const q = readListQuery(ctx);
  const token = ctx.query.get("continuation-token");
  const startAfterParam = nonEmpty(ctx.query.get("start-after"));
  const resumeAfter = token !== undefined ? decodeContinuationToken(token) : startAfterParam;
  const page = await fetchPage(ctx, q, resumeAfter);
  const text = (v: string) => (q.encode === undefined ? v : q.encode(v));
  const next = page.isTruncated ? lastPosition(page.entries) : undefined;
  sendXml(
    ctx,
    el(
      "ListBucketResult",
      el("Name", ctx.bucket),
      el("Prefix", text(q.prefix)),
      optional("Delimiter", q.delimiter === undefined ? undefined : text(q.delimiter)),
      el("MaxKeys", q.maxKeys),
      optional("EncodingType", q.encode === undefined ? undefined : "url"),
      el("KeyCount", page.entries.length),
      el("IsTruncated", page.isTruncated),
      optional("ContinuationToken", token),
      optional("NextContinuationToken", next === undefined ? undefined : encodeContinuationToken(next)),
      optional("StartAfter", startAfterParam === undefined ? undefined : text(startAfterParam)),
      contents(ctx, page.entries, q.encode, ctx.query.get("fetch-owner") === "true"),
    ),
  );
}

export async function listObjectsV1(ctx: RequestContext): Promise<void> {
  const q = readListQuery(ctx);
  const marker = ctx.query.get("marker") ?? "";
  const page = await fetchPage(ctx, q, nonEmpty(marker));
  const text = (v: string) => (q.encode === undefined ? v : q.encode(v));
  // S3 sends NextMarker only with a delimiter; without one, clients continue from the last key.
  const nextMarker = page.isTruncated && q.delimiter !== undefined ? lastPosition(page.entries) : undefined;
  sendXml(
    ctx,
    el(
      "ListBucketResult",
      el("Name", ctx.bucket),
      el("Prefix", text(q.prefix)),
      el("Marker", text(marker)),
      optional("NextMarker", nextMarker === undefined ? undefined : text(nextMarker)),
      el("MaxKeys", q.maxKeys),
      optional("Delimiter", q.delimiter === undefined ? undefined : text(q.delimiter)),
      optional("EncodingType", q.encode === undefined ? undefined : "url"),
      el("IsTruncated", page.isTruncated),
      contents(ctx, page.entries, q.encode, true),
    ),
  );
}
