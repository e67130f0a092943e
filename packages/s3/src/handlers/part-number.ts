import type { RequestContext } from "../context.js";
import { S3Error } from "../errors.js";
import { MAX_PART_NUMBER, MIN_PART_NUMBER } from "../limits.js";

export function parsePartNumberText(text: string | undefined): number {
  if (
    text === undefined ||
    !/^\d{1,5}$/.test(text) ||
    Number(text) < MIN_PART_NUMBER ||
    Number(text) > MAX_PART_NUMBER
  ) {
    throw new S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive", {
      extra: { ArgumentName: "partNumber", ArgumentValue: text ?? "" },
    });
  }
  return Number(text);
}

export function partNumberParam(ctx: RequestContext): number {
  return parsePartNumberText(ctx.query.get("partNumber"));
}

export function uploadIdParam(ctx: RequestContext): string {
  const uploadId = ctx.query.get("uploadId");
  if (uploadId === undefined || uploadId === "") throw new S3Error("NoSuchUpload");
  return uploadId;
}
