import { S3Error } from "../errors.js";
import {
  canonicalQuery,
  canonicalRequest,
  canonicalUri,
  credentialScope,
  type HeaderValues,
  stringToSign,
} from "./canonical.js";
import type { CredentialStore } from "./credentials.js";
import { hmacSha256 } from "./crypto-utils.js";
import {
  type PayloadMode,
  STREAMING_ECDSA_PREFIX,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  UNSIGNED_PAYLOAD,
} from "./payload-mode.js";
import type { SigningKeyCache } from "./signing-key.js";

/** Parsing and signing steps shared by header and presigned SigV4 authentication. */

/** The parts of a request SigV4 looks at. */
export interface AuthRequest {
  method: string;
  /** The URL path, percent-decoded. */
  decodedPath: string;
  /** Query pairs, percent-decoded, in arrival order. */
  query: readonly (readonly [string, string])[];
  headers: HeaderValues;
}

export interface AuthContext {
  credentials: CredentialStore;
  signingKeys: SigningKeyCache;
  /** Region clients must sign for (credential scope). */
  region: string;
  nowMs: number;
}

export interface AuthResult {
  accessKeyId: string;
  payload: PayloadMode;
  presigned: boolean;
}

export const SERVICE = "s3";

export function header(headers: HeaderValues, name: string): string | undefined {
  const values = headers.get(name);
  return values === undefined ? undefined : values.join(",");
}

export function queryValue(query: AuthRequest["query"], name: string): string | undefined {
  return query.find(([n]) => n === name)?.[1];
}

/** `20130524T000000Z` → epoch ms; undefined if malformed. */
export function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(ms) ? undefined : ms;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}

export interface ParsedCredential {
  accessKeyId: string;
  day: string;
  region: string;
  service: string;
}

export function parseCredential(
  value: string,
  error: "AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError",
) {
  const parts = value.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request" || !/^\d{8}$/.test(parts[1]!)) {
    throw new S3Error(error, `Error parsing the Credential: "${value}".`);
  }
  const credential: ParsedCredential = {
    accessKeyId: parts[0]!,
    day: parts[1]!,
    region: parts[2]!,
    service: parts[3]!,
  };
  return credential;
}

export function checkScope(
  credential: ParsedCredential,
  amzDate: string,
  ctx: AuthContext,
  error: "AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError",
): void {
  if (credential.service !== SERVICE) {
    throw new S3Error(error, `The credential scope names service '${credential.service}'; expecting 's3'.`);
  }
  if (credential.region !== ctx.region) {
    throw new S3Error(error, `The region '${credential.region}' is wrong; expecting '${ctx.region}'.`, {
      extra: { Region: ctx.region },
    });
  }
  if (credential.day !== amzDate.slice(0, 8)) {
    throw new S3Error(error, `The credential date '${credential.day}' does not match the request date.`);
  }
}

export function parseSignedHeaders(
  value: string,
  error: "AuthorizationHeaderMalformed" | "AuthorizationQueryParametersError",
) {
  const names = value.split(";");
  if (names.some((n) => n === "" || n !== n.toLowerCase())) {
    throw new S3Error(error, "SignedHeaders must be a ;-separated list of lowercase header names.");
  }
  if (!names.includes("host")) throw new S3Error(error, "The host header must be signed.");
  return names;
}

export function payloadModeFromHash(
  value: string,
  chain: { signingKey: Buffer; amzDate: string; scope: string; seedSignature: string },
): PayloadMode {
  if (value === UNSIGNED_PAYLOAD) return { kind: "unsigned" };
  if (value === STREAMING_SIGNED) return { kind: "streaming-signed", trailer: false, chain };
  if (value === STREAMING_SIGNED_TRAILER) return { kind: "streaming-signed", trailer: true, chain };
  if (value === STREAMING_UNSIGNED_TRAILER) return { kind: "streaming-unsigned-trailer" };
  if (value.startsWith(STREAMING_ECDSA_PREFIX)) {
    throw new S3Error("NotImplemented", "SigV4a (ECDSA) streaming signatures are not supported.");
  }
  if (/^[0-9a-f]{64}$/.test(value)) return { kind: "sha256", hex: value };
  throw new S3Error(
    "InvalidArgument",
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* mode or a lowercase hex SHA-256.",
    { extra: { ArgumentName: "x-amz-content-sha256", ArgumentValue: value.slice(0, 100) } },
  );
}

export function computeSignature(
  req: AuthRequest,
  ctx: AuthContext,
  secret: string,
  credential: ParsedCredential,
  amzDate: string,
  signedHeaders: readonly string[],
  payloadHash: string,
  presigned: boolean,
) {
  const canonical = canonicalRequest({
    method: req.method,
    canonicalUri: canonicalUri(req.decodedPath),
    canonicalQuery: canonicalQuery(req.query, presigned ? "X-Amz-Signature" : undefined),
    headers: req.headers,
    signedHeaders,
    payloadHash,
  });
  if (canonical === undefined) {
    throw new S3Error(
      "SignatureDoesNotMatch",
      "A header named in SignedHeaders is missing from the request.",
    );
  }
  const scope = credentialScope(credential.day, credential.region, credential.service);
  const signingKey = ctx.signingKeys.get(
    credential.accessKeyId,
    secret,
    credential.day,
    credential.region,
    SERVICE,
  );
  const signature = hmacSha256(signingKey, stringToSign(amzDate, scope, canonical)).toString("hex");
  return { signature, signingKey, scope };
}
