import { sha256Hex } from "./crypto-utils.js";
import { uriEncode } from "./uri-encoding.js";

export const SIGV4_ALGORITHM = "AWS4-HMAC-SHA256";

/** Lowercase header name → raw values in arrival order (duplicates kept apart). */
export type HeaderValues = ReadonlyMap<string, readonly string[]>;

/** S3 canonical URI: the decoded path re-encoded once, segment by segment ('/' kept, no normalization). */
export function canonicalUri(decodedPath: string): string {
  return uriEncode(decodedPath, true);
}

/** Sorted `name=value` pairs, both encoded; `exclude` drops X-Amz-Signature for presigned URLs. */
export function canonicalQuery(pairs: readonly (readonly [string, string])[], exclude?: string): string {
  const encoded = pairs
    .filter(([name]) => name !== exclude)
    .map(([name, value]) => [uriEncode(name, false), uriEncode(value, false)] as const);
  encoded.sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return encoded.map(([n, v]) => `${n}=${v}`).join("&");
}

function canonicalHeaderValue(values: readonly string[]): string {
  return values.map((v) => v.trim().replace(/\s+/g, " ")).join(",");
}

/**
 * The canonical request. Returns undefined when a header named in SignedHeaders is absent (the
 * caller reports SignatureDoesNotMatch).
 */
export function canonicalRequest(input: {
  method: string;
  canonicalUri: string;
  canonicalQuery: string;
  headers: HeaderValues;
  signedHeaders: readonly string[];
  payloadHash: string;
}): string | undefined {
  const lines: string[] = [];
  for (const name of input.signedHeaders) {
    const values = input.headers.get(name);
    if (values === undefined) return undefined;
    lines.push(`${name}:${canonicalHeaderValue(values)}\n`);
  }
  return [
    input.method,
    input.canonicalUri,
    input.canonicalQuery,
    lines.join(""),
    input.signedHeaders.join(";"),
    input.payloadHash,
  ].join("\n");
}

export function credentialScope(day: string, region: string, service: string): string {
  return `${day}/${region}/${service}/aws4_request`;
}

export function stringToSign(amzDate: string, scope: string, canonicalRequestText: string): string {
  return [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(canonicalRequestText)].join("\n");
}
