import type { S3Error } from "../errors.js";
import { el, renderXmlDocument } from "../xml/writer.js";

/** The one rendering of an S3 error body: Code, Message, extra fields, Resource, RequestId. */
export function renderErrorXml(error: S3Error, resource: string, requestId: string): string {
  return renderXmlDocument(
    el(
      "Error",
      el("Code", error.code),
      el("Message", error.message),
      Object.entries(error.extra).map(([name, value]) => el(name, value)),
      el("Resource", resource),
      el("RequestId", requestId),
    ),
    { xmlns: false },
  );
}
