import { type RequestContext, sendEmpty } from "../context.js";
import { metadataFromHeaders, quoteEtag } from "../http/headers.js";
import { MAX_PUT_OBJECT_BYTES } from "../limits.js";
import { withBody } from "./service-errors.js";
import { writePrecondition, writeResultHeaders } from "./write-common.js";

export async function putObject(ctx: RequestContext): Promise<void> {
  const metadata = metadataFromHeaders(ctx.req.headers, ctx.req.rawHeaders);
  const precondition = writePrecondition(ctx);
  const body = ctx.objectBody(MAX_PUT_OBJECT_BYTES);
  const result = await withBody(body, () =>
    ctx.service.putObject({ bucket: ctx.bucket, key: ctx.key, body, metadata, precondition }),
  );
  sendEmpty(ctx, 200, { ETag: quoteEtag(result.etag), ...writeResultHeaders(result) });
}
