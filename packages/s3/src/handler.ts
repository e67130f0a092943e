import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { bodyExpectations } from "./body-expectations.js";
import type { HandlerSettings, RequestContext } from "./context.js";
import { S3Error } from "./errors.js";
import * as bucket from "./handlers/bucket.js";
import * as copy from "./handlers/copy.js";
import * as del from "./handlers/delete.js";
import * as list from "./handlers/list.js";
import * as multipart from "./handlers/multipart.js";
import * as objectGet from "./handlers/object-get.js";
import * as objectPut from "./handlers/object-put.js";
import { toS3Error } from "./handlers/service-errors.js";
import { RequestBodyReader } from "./http/body-reader.js";
import { renderErrorXml } from "./http/error-body.js";
import { headerBytes, headerValues } from "./http/headers.js";
import { readSmallBody, VerifiedBody } from "./http/request-body.js";
import { parseRequestTarget, resolveBucketAndKey } from "./http/request-target.js";
import { MAX_REQUEST_HEADER_BYTES, MAX_XML_BODY_BYTES } from "./limits.js";
import { validateBucketName, validateObjectKey } from "./names.js";
import type { ObjectService, ReadConsistency } from "./port.js";
import { type Endpoint, route } from "./router.js";
import { authenticate } from "./sigv4/authenticate.js";
import { CredentialStore, type S3Credential } from "./sigv4/credentials.js";
import { SigningKeyCache } from "./sigv4/signing-key.js";

export interface S3RequestLog {
  requestId: string;
  /** Undefined when the request failed before routing (auth, malformed URL). */
  endpoint: Endpoint | undefined;
  method: string;
  status: number;
  /** S3 error code when the answer was an error. */
  errorCode: string | undefined;
  durationMs: number;
  accessKeyId: string | undefined;
  /** Request body bytes read from the client (as sent: aws-chunked framing included). */
  bytesIn: number;
  /** Bytes written to the client's connection for this request, response headers included. */
  bytesOut: number;
}

export interface S3HandlerOptions {
  service: ObjectService;
  /** Access keys accepted (several allowed); all act as the single owner. */
  credentials: readonly S3Credential[];
  /** Region in the SigV4 credential scope; default us-east-1. */
  region?: string;
  /** Root domains for virtual-host addressing (`bucket.<root>`); other hosts are path-style. */
  virtualHostRoots?: readonly string[];
  ownerId?: string;
  ownerDisplayName?: string;
  /** Default for reads without `x-enigma-consistency`; default linearizable. */
  defaultConsistency?: ReadConsistency;
  /** Wall clock in ms (injected for tests: presign expiry, skew). */
  clock?: () => number;
  /** Called for failures that became InternalError — the only place their cause is visible. */
  onInternalError?: (err: unknown, requestId: string) => void;
  /** Called once per request when the response finished or the connection closed. */
  onRequestDone?: (log: S3RequestLog) => void;
  /** Called when a request starts being handled (metrics: requests in flight). */
  onRequestStart?: () => void;
}

export type S3RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

function newRequestId(): string {
  return randomBytes(8).toString("hex").toUpperCase();
}

async function dispatch(ctx: RequestContext): Promise<void> {
  switch (ctx.endpoint) {
    case "ListBuckets":
      return bucket.listBuckets(ctx);
    case "CreateBucket":
      return bucket.createBucket(ctx);
    case "DeleteBucket":
      return bucket.deleteBucket(ctx);
    case "HeadBucket":
      return bucket.headBucket(ctx);
    case "GetBucketLocation":
      return bucket.getBucketLocation(ctx);
    case "GetBucketVersioning":
      return bucket.getBucketVersioning(ctx);
    case "ListObjects":
      return list.listObjectsV1(ctx);
    case "ListObjectsV2":
      return list.listObjectsV2(ctx);
    case "ListMultipartUploads":
      return multipart.listMultipartUploads(ctx);
    case "DeleteObjects":
      return del.deleteObjects(ctx);
    case "PutObject":
      return objectPut.putObject(ctx);
    case "CopyObject":
      return copy.copyObject(ctx);
    case "GetObject":
      return objectGet.getObject(ctx);
    case "HeadObject":
      return objectGet.headObject(ctx);
    case "DeleteObject":
      return del.deleteObject(ctx);
    case "CreateMultipartUpload":
      return multipart.createMultipartUpload(ctx);
    case "UploadPart":
      return multipart.uploadPart(ctx);
    case "UploadPartCopy":
      return copy.uploadPartCopy(ctx);
    case "ListParts":
      return multipart.listParts(ctx);
    case "CompleteMultipartUpload":
      return multipart.completeMultipartUpload(ctx);
    case "AbortMultipartUpload":
      return multipart.abortMultipartUpload(ctx);
  }
}

/** Whether the request still has body bytes on the wire that nobody read. */
function bodyUnread(req: IncomingMessage): boolean {
  if (req.readableEnded) return false;
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * The S3 request handler for node:http / node:https. Register it for `request`, and also for
 * `checkContinue` and `checkExpectation` (startS3Server does): then `100 Continue` is sent only after
 * the headers authenticated, and unusual Expect values are not answered 417 by Node.
 */
export function createS3Handler(options: S3HandlerOptions): S3RequestHandler {
  const credentials = new CredentialStore(options.credentials);
  const signingKeys = new SigningKeyCache();
  const settings: HandlerSettings = {
    region: options.region ?? "us-east-1",
    ownerId: options.ownerId ?? "enigma",
    ownerDisplayName: options.ownerDisplayName ?? "enigma",
    defaultConsistency: options.defaultConsistency ?? "linearizable",
  };
  const clock = options.clock ?? Date.now;
  const virtualHostRoots = options.virtualHostRoots ?? [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedMs = Date.now();
    const requestId = newRequestId();
    const method = req.method ?? "GET";
    let endpoint: Endpoint | undefined;
    let accessKeyId: string | undefined;
    let errorCode: string | undefined;
    let resource = "/";
    let names = { bucket: "", key: "" };
    res.setHeader("x-amz-request-id", requestId);
    res.setHeader("x-amz-id-2", requestId);
    res.setHeader("Server", "Enigma");
    const socket = req.socket;
    const written0 = socket.bytesWritten;
    // Whether the client sends its body: not yet when it waits for 100 Continue (sendContinue).
    let bodyComing = !/100-continue/i.test(req.headers.expect ?? "");
    let bytesIn = 0;
    const counted = () =>
      new RequestBodyReader(req, (n) => {
        bytesIn += n;
      });
    options.onRequestStart?.();
    let logged = false;
    const logDone = () => {
      if (logged) return;
      logged = true;
      options.onRequestDone?.({
        bytesIn,
        bytesOut: Math.max(0, socket.bytesWritten - written0),
        requestId,
        endpoint,
        method,
        status: res.statusCode,
        errorCode,
        durationMs: Date.now() - startedMs,
        accessKeyId,
      });
    };
    res.once("finish", logDone);
    res.once("close", logDone);
    // A request answered with part of its body unread and no `Connection: close` (its reader left
    // early and paused it): drop the rest, bounded, so the connection can serve its next request.
    res.once("finish", () => {
      if (bodyComing && bodyUnread(req) && !req.destroyed && !res.hasHeader("connection")) {
        void drainBody(req, ERROR_DRAIN_MAX_BYTES, ERROR_DRAIN_MAX_MS).then((complete) => {
          if (!complete && !req.destroyed) req.destroy();
        });
      }
    });
    try {
      if (headerBytes(req.rawHeaders) > MAX_REQUEST_HEADER_BYTES)
        throw new S3Error("RequestHeaderSectionTooLarge");
      const target = parseRequestTarget(req.url ?? "/");
      resource = target.decodedPath;
      const headers = headerValues(req.rawHeaders);
      names = resolveBucketAndKey(target.decodedPath, req.headers.host, virtualHostRoots);
      const nowMs = clock();
      const auth = authenticate(
        { method, decodedPath: target.decodedPath, query: target.query.pairs, headers },
        { credentials, signingKeys, region: settings.region, nowMs },
      );
      accessKeyId = auth.accessKeyId;
      endpoint = route({
        method,
        bucket: names.bucket,
        key: names.key,
        has: (n) => target.query.has(n),
        get: (n) => target.query.get(n),
        hasCopySource: headers.has("x-amz-copy-source"),
      });
      if (
        headers.has("x-amz-server-side-encryption-customer-algorithm") ||
        headers.has("x-amz-copy-source-server-side-encryption-customer-algorithm")
      ) {
        // Silently ignoring a customer key would let a client believe its key protects the data.
        throw new S3Error(
          "NotImplemented",
          "SSE-C is not supported; data is always encrypted by the gateway.",
        );
      }
      if (names.bucket !== "") validateBucketName(names.bucket);
      if (names.key !== "") validateObjectKey(names.key);
      const header = (name: string) => headers.get(name)?.join(",");
      let continueSent = false;
      const sendContinue = () => {
        if (continueSent) return;
        continueSent = true;
        bodyComing = true;
        if (/100-continue/i.test(req.headers.expect ?? "")) res.writeContinue();
      };
      const consistencyHeader = header("x-enigma-consistency");
      const ctx: RequestContext = {
        req,
        res,
        requestId,
        endpoint,
        bucket: names.bucket,
        key: names.key,
        query: target.query,
        headers,
        service: options.service,
        settings,
        consistency: consistencyHeader === "local" ? "local" : settings.defaultConsistency,
        nowMs,
        header,
        objectBody(maxBytes) {
          const expect = bodyExpectations(
            headers,
            req.headers,
            auth.payload,
            maxBytes,
            "EntityTooLarge",
            true,
          );
          sendContinue();
          return new VerifiedBody(counted(), expect);
        },
        async xmlBody() {
          const expect = bodyExpectations(
            headers,
            req.headers,
            auth.payload,
            MAX_XML_BODY_BYTES,
            "MaxMessageLengthExceeded",
            false,
          );
          sendContinue();
          return readSmallBody(new VerifiedBody(counted(), expect));
        },
      };
      await dispatch(ctx);
    } catch (err) {
      const error = toS3Error(err, names);
      errorCode = error.code;
      if (error.code === "InternalError") options.onInternalError?.(err, requestId);
      sendError(req, res, error, resource, requestId, bodyComing);
    }
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // handle() catches everything it can answer; reaching here means writing the answer failed.
      options.onInternalError?.(err, "");
      res.destroy();
    });
  };
}

/**
 * An error answered while the client is still sending its body (a PUT refused mid-upload: full
 * disk, bad checksum, too large) first reads and drops the rest of the body, up to these limits,
 * then answers. Answering at once and closing made the kernel reset the connection when more
 * body arrived, and a reset can discard the answer before the client reads it: clients saw
 * ECONNRESET instead of 507 InsufficientStorage. Within the limits the connection even stays
 * open; past them the answer goes out with `Connection: close` (a reset is then still possible,
 * for bodies too large to be worth reading).
 */
export const ERROR_DRAIN_MAX_BYTES = 8 * 1024 * 1024;
export const ERROR_DRAIN_MAX_MS = 2000;

/** Reads and drops what is left of `req`'s body; true when it ended within the limits. */
function drainBody(req: IncomingMessage, maxBytes: number, maxMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (req.readableEnded) {
      resolve(true);
      return;
    }
    let seen = 0;
    const done = (complete: boolean) => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      if (!complete) req.pause();
      resolve(complete);
    };
    const onData = (piece: Buffer) => {
      seen += piece.length;
      if (seen > maxBytes) done(false);
    };
    const onEnd = () => done(true);
    const onClose = () => done(req.readableEnded);
    const timer = setTimeout(() => done(false), maxMs);
    timer.unref();
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onClose);
    req.resume();
  });
}

function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  error: S3Error,
  resource: string,
  requestId: string,
  bodyComing: boolean,
) {
  if (res.headersSent) {
    // Too late for a status: cut the connection so the client cannot take a short body as complete.
    res.destroy();
    return;
  }
  if (bodyComing && bodyUnread(req) && !req.destroyed) {
    void drainBody(req, ERROR_DRAIN_MAX_BYTES, ERROR_DRAIN_MAX_MS).then((complete) => {
      // The client went away meanwhile. (Not req.destroyed: a request destroys itself once read.)
      if (res.destroyed || req.socket.destroyed) return;
      writeError(req, res, error, resource, requestId, !complete);
    });
    return;
  }
  // A client waiting for 100 Continue sends no body: answer now and close.
  writeError(req, res, error, resource, requestId, bodyUnread(req));
}

function writeError(
  req: IncomingMessage,
  res: ServerResponse,
  error: S3Error,
  resource: string,
  requestId: string,
  close: boolean,
) {
  const headers: Record<string, string> = { ...error.headers };
  // Unread upload bytes would otherwise be read at length before the next request.
  if (close) headers.Connection = "close";
  if (req.method === "HEAD" || error.status === 304) {
    res.writeHead(error.status, { ...headers, "Content-Length": "0" });
    res.end();
    return;
  }
  const body = Buffer.from(renderErrorXml(error, resource, requestId), "utf8");
  res.writeHead(error.status, {
    ...headers,
    "Content-Type": "application/xml",
    "Content-Length": String(body.length),
  });
  res.end(body);
}
