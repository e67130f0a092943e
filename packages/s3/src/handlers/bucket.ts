import { type RequestContext, sendEmpty, sendXml } from "../context.js";
import { S3Error } from "../errors.js";
import { xmlDate } from "../http/headers.js";
import { expectRoot, optionalChildText, parseXml } from "../xml/reader.js";
import { el } from "../xml/writer.js";

export function ownerElement(ctx: RequestContext) {
  return el("Owner", el("ID", ctx.settings.ownerId), el("DisplayName", ctx.settings.ownerDisplayName));
}

export async function listBuckets(ctx: RequestContext): Promise<void> {
  const buckets = await ctx.service.listBuckets();
  sendXml(
    ctx,
    el(
      "ListAllMyBucketsResult",
      ownerElement(ctx),
      el(
        "Buckets",
        buckets.map((b) => el("Bucket", el("Name", b.name), el("CreationDate", xmlDate(b.createdMs)))),
      ),
    ),
  );
}

export async function createBucket(ctx: RequestContext): Promise<void> {
  const body = await ctx.xmlBody();
  if (body.length > 0) {
    const config = expectRoot(parseXml(body), "CreateBucketConfiguration");
    const constraint = optionalChildText(config, "LocationConstraint");
    if (constraint !== undefined && constraint !== "" && constraint !== ctx.settings.region) {
      throw new S3Error("IllegalLocationConstraintException", undefined, {
        extra: { LocationConstraint: constraint },
      });
    }
  }
  await ctx.service.createBucket({ bucket: ctx.bucket });
  sendEmpty(ctx, 200, { Location: `/${ctx.bucket}` });
}

export async function deleteBucket(ctx: RequestContext): Promise<void> {
  await ctx.service.deleteBucket({ bucket: ctx.bucket });
  sendEmpty(ctx, 204);
}

export async function headBucket(ctx: RequestContext): Promise<void> {
  await ctx.service.headBucket({ bucket: ctx.bucket, consistency: ctx.consistency });
  sendEmpty(ctx, 200, { "x-amz-bucket-region": ctx.settings.region });
}

export async function getBucketLocation(ctx: RequestContext): Promise<void> {
  await ctx.service.headBucket({ bucket: ctx.bucket, consistency: ctx.consistency });
  // us-east-1 is historically reported as an empty constraint; clients map empty → us-east-1.
  const region = ctx.settings.region === "us-east-1" ? undefined : ctx.settings.region;
  sendXml(ctx, el("LocationConstraint", region));
}

/** Versioning is never enabled; answering the probe (rather than 501) keeps sync tools happy. */
export async function getBucketVersioning(ctx: RequestContext): Promise<void> {
  await ctx.service.headBucket({ bucket: ctx.bucket, consistency: ctx.consistency });
  sendXml(ctx, el("VersioningConfiguration"));
}
