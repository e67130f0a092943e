import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import type { VerifiedBody } from "./http/request-body.js";
import type { QueryParams } from "./http/request-target.js";
import type { LeasedBuffer, ObjectService, ReadConsistency } from "./port.js";
import type { Endpoint } from "./router.js";
import type { HeaderValues } from "./sigv4/canonical.js";
import { renderXmlDocument, type XmlElement } from "./xml/writer.js";

/** Settings the handlers read (resolved from S3HandlerOptions). */
export interface HandlerSettings {
  region: string;
  ownerId: string;
  ownerDisplayName: string;
  defaultConsistency: ReadConsistency;
}

/** Everything a handler gets: the parsed request, who sent it, and ways to answer. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly endpoint: Endpoint;
  readonly bucket: string;
  readonly key: string;
  readonly query: QueryParams;
  readonly headers: HeaderValues;
  readonly service: ObjectService;
  readonly settings: HandlerSettings;
  readonly consistency: ReadConsistency;
  readonly nowMs: number;
  /** First value of a header (values of repeated headers joined by ','). */
  header(name: string): string | undefined;
  /** The verified object body (PutObject, UploadPart). Sends `100 Continue` if the client waits for it. */
  objectBody(maxBytes: number): VerifiedBody;
  /** A small XML body, read whole within MAX_XML_BODY_BYTES and verified. */
  xmlBody(): Promise<Buffer>;
}

export function sendXml(
  ctx: RequestContext,
  root: XmlElement,
  headers: Record<string, string> = {},
  status = 200,
): void {
  const body = Buffer.from(renderXmlDocument(root), "utf8");
  ctx.res.writeHead(status, {
    ...headers,
    "Content-Type": "application/xml",
    "Content-Length": String(body.length),
  });
  ctx.res.end(body);
}

export function sendEmpty(ctx: RequestContext, status: number, headers: Record<string, string> = {}): void {
  ctx.res.writeHead(status, { ...headers, "Content-Length": "0" });
  ctx.res.end();
}

/**
 * Like `sendStream` for lent buffers: each is released in its write's callback (once the socket
 * no longer holds it), never earlier; one whose write never completes is not released. Waits
 * for 'drain' when the response is full, and stops (destroying the response) on an error or
 * when the client goes away.
 */
export async function sendLeased(
  ctx: RequestContext,
  status: number,
  headers: Record<string, string>,
  body: AsyncIterable<LeasedBuffer>,
): Promise<void> {
  const res = ctx.res;
  res.writeHead(status, headers);
  try {
    for await (const lease of body) {
      if (res.destroyed) throw new Error("response closed");
      if (!res.write(lease.data, () => lease.release())) await drained(res);
    }
    res.end();
    await finished(res);
  } catch (err) {
    res.destroy(err instanceof Error ? err : undefined);
  }
}

function drained(res: ServerResponse): Promise<void> {
  // A write to a destroyed socket returns false and never drains; its 'close' may be past.
  if (res.destroyed || !res.socket || res.socket.destroyed) {
    return Promise.reject(new Error("response closed"));
  }
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error("response closed"));
    res.on("drain", onDrain);
    res.on("close", onClose);
  });
}

/**
 * Streams a body with backpressure. Headers are already committed when the source fails halfway,
 * so the only honest signal left is to cut the connection (the client sees a short body).
 */
export async function sendStream(
  ctx: RequestContext,
  status: number,
  headers: Record<string, string>,
  body: AsyncIterable<Buffer>,
): Promise<void> {
  ctx.res.writeHead(status, headers);
  try {
    await pipeline(Readable.from(body, { objectMode: false }), ctx.res);
  } catch (err) {
    ctx.res.destroy(err instanceof Error ? err : undefined);
  }
}
