/**
 * TEST HELPER. A minimal SigV4 HTTP client for cases the SDK will not produce: signed streaming
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]), tampered signatures and checksums, presigned URLs
 * with chosen times, hand-written XML, oversized headers. Signing reuses the server's canonical-request
 * code, so it is validated separately against the AWS documentation examples (sigv4.test.ts) and by
 * the SDK tests (an independent signer).
 */
import { request as httpRequest } from "node:http";
import { createChecksumHasher } from "../checksums/hasher.js";
import type { ChecksumAlgorithm } from "../port.js";
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  stringToSign,
} from "../sigv4/canonical.js";
import { EMPTY_SHA256_HEX, hmacSha256, sha256Hex } from "../sigv4/crypto-utils.js";
import { deriveSigningKey } from "../sigv4/signing-key.js";
import { TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY } from "./harness.js";

export type StreamingMode = "signed" | "signed-trailer" | "unsigned-trailer";

export interface RawRequest {
  method: string;
  /** Decoded path, e.g. `/bucket/some key`; encoded here. Use `rawPath` to send bytes as-is. */
  path: string;
  rawPath?: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Payload hash mode for non-streaming bodies (default: the body's SHA-256). */
  payloadHash?: string;
  streaming?: {
    mode: StreamingMode;
    chunkBytes: number;
    trailerAlgorithm?: ChecksumAlgorithm;
    /** Replace the trailer checksum value (to send a wrong one). */
    trailerValue?: string;
    /** Corrupt the signature of this chunk index. */
    tamperChunk?: number;
    /** Omit `Content-Encoding: aws-chunked` (minio-go style). */
    omitContentEncoding?: boolean;
  };
  presign?: { expiresSeconds: number };
  accessKeyId?: string;
  secretAccessKey?: string;
  dateMs?: number;
  /** No Authorization at all. */
  anonymous?: boolean;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Whether the server sent `100 Continue`. */
  continued: boolean;
}

function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

function encodeQuery(pairs: readonly [string, string][]): string {
  const enc = (s: string) =>
    encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
}

function chunkSignature(key: Buffer, date: string, scope: string, previous: string, data: Buffer): string {
  return hmacSha256(
    key,
    ["AWS4-HMAC-SHA256-PAYLOAD", date, scope, previous, EMPTY_SHA256_HEX, sha256Hex(data)].join("\n"),
  ).toString("hex");
}

export async function rawRequest(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const host = url.host;
  const dateMs = r.dateMs ?? Date.now();
  const date = amzDate(dateMs);
  const day = date.slice(0, 8);
  const accessKeyId = r.accessKeyId ?? TEST_ACCESS_KEY;
  const secret = r.secretAccessKey ?? TEST_SECRET_KEY;
  const scope = credentialScope(day, TEST_REGION, "s3");
  const signingKey = deriveSigningKey(secret, day, TEST_REGION, "s3");
  const body = typeof r.body === "string" ? Buffer.from(r.body) : (r.body ?? Buffer.alloc(0));
  const headers: Record<string, string> = { host, ...(r.headers ?? {}) };
  const query: [string, string][] = [...(r.query ?? [])];
  const s = r.streaming;
  let payloadHash = r.payloadHash ?? sha256Hex(body);
  if (s !== undefined) {
    payloadHash =
      s.mode === "signed"
        ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
        : s.mode === "signed-trailer"
          ? "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
          : "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
    if (s.omitContentEncoding !== true) headers["content-encoding"] = "aws-chunked";
    headers["x-amz-decoded-content-length"] = String(body.length);
    if (s.trailerAlgorithm !== undefined)
      headers["x-amz-trailer"] = `x-amz-checksum-${s.trailerAlgorithm.toLowerCase()}`;
  }
  let wire: Buffer = body;
  let seedSignature = "";
  if (r.presign !== undefined) {
    query.push(
      ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
      ["X-Amz-Credential", `${accessKeyId}/${scope}`],
      ["X-Amz-Date", date],
      ["X-Amz-Expires", String(r.presign.expiresSeconds)],
      ["X-Amz-SignedHeaders", "host"],
    );
    const canonical = canonicalRequest({
      method: r.method,
      canonicalUri: canonicalUri(r.path),
      canonicalQuery: canonicalQuery(query),
      headers: new Map([["host", [host]]]),
      signedHeaders: ["host"],
      payloadHash: "UNSIGNED-PAYLOAD",
    })!;
    query.push([
      "X-Amz-Signature",
      hmacSha256(signingKey, stringToSign(date, scope, canonical)).toString("hex"),
    ]);
  } else if (r.anonymous !== true) {
    headers["x-amz-date"] = date;
    headers["x-amz-content-sha256"] = payloadHash;
    const signedHeaders = Object.keys(headers)
      .map((h) => h.toLowerCase())
      .filter(
        (h) => h === "host" || h.startsWith("x-amz-") || h === "content-md5" || h === "content-encoding",
      )
      .sort();
    const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]]));
    const canonical = canonicalRequest({
      method: r.method,
      canonicalUri: canonicalUri(r.path),
      canonicalQuery: canonicalQuery(query),
      headers: lower,
      signedHeaders,
      payloadHash,
    })!;
    seedSignature = hmacSha256(signingKey, stringToSign(date, scope, canonical)).toString("hex");
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders.join(";")}, Signature=${seedSignature}`;
  }
  if (s !== undefined) {
    const signed = s.mode !== "unsigned-trailer";
    const parts: Buffer[] = [];
    let previous = seedSignature;
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += s.chunkBytes) chunks.push(body.subarray(i, i + s.chunkBytes));
    chunks.push(Buffer.alloc(0));
    chunks.forEach((chunk, index) => {
      let ext = "";
      if (signed) {
        let sig = chunkSignature(signingKey, date, scope, previous, chunk);
        previous = sig;
        if (s.tamperChunk === index) sig = `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`;
        ext = `;chunk-signature=${sig}`;
      }
      parts.push(Buffer.from(`${chunk.length.toString(16)}${ext}\r\n`), chunk);
      if (chunk.length > 0) parts.push(Buffer.from("\r\n"));
    });
    if (s.trailerAlgorithm !== undefined) {
      const hasher = createChecksumHasher(s.trailerAlgorithm);
      hasher.update(body);
      const value = s.trailerValue ?? hasher.digest().toString("base64");
      const line = `x-amz-checksum-${s.trailerAlgorithm.toLowerCase()}:${value}`;
      parts.push(Buffer.from(`${line}\r\n`));
      if (signed) {
        const trailerSig = hmacSha256(
          signingKey,
          ["AWS4-HMAC-SHA256-TRAILER", date, scope, previous, sha256Hex(`${line}\n`)].join("\n"),
        ).toString("hex");
        parts.push(Buffer.from(`x-amz-trailer-signature:${trailerSig}\r\n`));
      }
    }
    parts.push(Buffer.from("\r\n"));
    wire = Buffer.concat(parts);
  }
  if (r.method !== "GET" && r.method !== "HEAD" && headers["content-length"] === undefined) {
    headers["content-length"] = String(wire.length);
  }
  const encodedPath = r.rawPath ?? canonicalUri(r.path);
  const path = query.length > 0 ? `${encodedPath}?${encodeQuery(query)}` : encodedPath;
  return new Promise<RawResponse>((resolve, reject) => {
    let continued = false;
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: r.method, path, headers },
      (res) => {
        const pieces: Buffer[] = [];
        res.on("data", (d: Buffer) => pieces.push(d));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(pieces).toString("utf8"),
            continued,
          });
          if (!req.writableEnded) req.destroy();
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (/100-continue/i.test(headers.expect ?? headers.Expect ?? "")) {
      req.on("continue", () => {
        continued = true;
        req.end(wire);
      });
      // A server that answers without 100 Continue gets no body (the response handler resolves).
      req.flushHeaders();
    } else {
      req.end(wire);
    }
  });
}

/** `<Code>…</Code>` of an error body. */
export function errorCodeOf(response: RawResponse): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(response.body)?.[1];
}
