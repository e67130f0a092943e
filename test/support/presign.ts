/**
 * A presigned path (SigV4 query auth, UNSIGNED-PAYLOAD), so a test can stream a body it generates
 * while sending, or cut it off half way, with a plain node:http request. Signing reuses the s3
 * package's canonical-request code (validated there against the AWS documentation examples).
 */
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  stringToSign,
} from "../../packages/s3/src/sigv4/canonical.js";
import { hmacSha256 } from "../../packages/s3/src/sigv4/crypto-utils.js";
import { deriveSigningKey } from "../../packages/s3/src/sigv4/signing-key.js";

export interface PresignOptions {
  readonly baseUrl: string;
  readonly method: string;
  /** Decoded path, e.g. `/bucket/key`. */
  readonly path: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly expiresSeconds?: number;
}

/** The request target (`/bucket/key?X-Amz-…`) to send to `baseUrl`'s host. */
export function presignedPath(o: PresignOptions): string {
  const host = new URL(o.baseUrl).host;
  const date = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const scope = credentialScope(date.slice(0, 8), o.region, "s3");
  const query: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${o.accessKeyId}/${scope}`],
    ["X-Amz-Date", date],
    ["X-Amz-Expires", String(o.expiresSeconds ?? 600)],
    ["X-Amz-SignedHeaders", "host"],
  ];
  const canonical = canonicalRequest({
    method: o.method,
    canonicalUri: canonicalUri(o.path),
    canonicalQuery: canonicalQuery(query),
    headers: new Map([["host", [host]]]),
    signedHeaders: ["host"],
    payloadHash: "UNSIGNED-PAYLOAD",
  });
  if (canonical === undefined) throw new Error(`cannot presign ${o.path}`);
  const key = deriveSigningKey(o.secretAccessKey, date.slice(0, 8), o.region, "s3");
  query.push(["X-Amz-Signature", hmacSha256(key, stringToSign(date, scope, canonical)).toString("hex")]);
  return `${canonicalUri(o.path)}?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`;
}
