import { S3Error } from "../errors.js";
import { MAX_CLOCK_SKEW_MS, MAX_PRESIGN_EXPIRES_SECONDS } from "../limits.js";
import {
  type AuthContext,
  type AuthRequest,
  type AuthResult,
  checkScope,
  computeSignature,
  parseAmzDate,
  parseCredential,
  parseSignedHeaders,
  payloadModeFromHash,
  queryValue,
} from "./auth-common.js";
import { SIGV4_ALGORITHM } from "./canonical.js";
import { signaturesEqual } from "./crypto-utils.js";
import { UNSIGNED_PAYLOAD } from "./payload-mode.js";

/** Presigned URLs: X-Amz-* query parameters, expiry enforced, payload UNSIGNED unless signed in the query. */
export function authenticatePresigned(req: AuthRequest, ctx: AuthContext): AuthResult {
  const q = (name: string) => queryValue(req.query, name);
  const algorithm = q("X-Amz-Algorithm");
  const credentialText = q("X-Amz-Credential");
  const amzDate = q("X-Amz-Date");
  const expiresText = q("X-Amz-Expires");
  const signedHeadersText = q("X-Amz-SignedHeaders");
  const givenSignature = q("X-Amz-Signature");
  if (algorithm !== SIGV4_ALGORITHM) {
    throw new S3Error(
      "AuthorizationQueryParametersError",
      'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
    );
  }
  if (
    credentialText === undefined ||
    amzDate === undefined ||
    expiresText === undefined ||
    signedHeadersText === undefined ||
    givenSignature === undefined
  ) {
    throw new S3Error(
      "AuthorizationQueryParametersError",
      "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.",
    );
  }
  const credential = parseCredential(credentialText, "AuthorizationQueryParametersError");
  const requestMs = parseAmzDate(amzDate);
  if (requestMs === undefined) {
    throw new S3Error("AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format.");
  }
  if (!/^\d{1,7}$/.test(expiresText)) {
    throw new S3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number");
  }
  const expiresSeconds = Number(expiresText);
  if (expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_EXPIRES_SECONDS) {
    throw new S3Error(
      "AuthorizationQueryParametersError",
      "X-Amz-Expires must be between 1 and 604800 seconds (7 days).",
    );
  }
  const secret = ctx.credentials.secretFor(credential.accessKeyId);
  if (secret === undefined) throw new S3Error("InvalidAccessKeyId");
  checkScope(credential, amzDate, ctx, "AuthorizationQueryParametersError");
  if (requestMs - ctx.nowMs > MAX_CLOCK_SKEW_MS)
    throw new S3Error("AccessDenied", "Request is not valid yet");
  if (ctx.nowMs > requestMs + expiresSeconds * 1000) throw new S3Error("AccessDenied", "Request has expired");
  const signedHeaders = parseSignedHeaders(signedHeadersText, "AuthorizationQueryParametersError");
  const payloadHash = q("X-Amz-Content-Sha256") ?? UNSIGNED_PAYLOAD;
  const { signature, signingKey, scope } = computeSignature(
    req,
    ctx,
    secret,
    credential,
    amzDate,
    signedHeaders,
    payloadHash,
    true,
  );
  if (!signaturesEqual(signature, givenSignature)) throw new S3Error("SignatureDoesNotMatch");
  const payload = payloadModeFromHash(payloadHash, { signingKey, amzDate, scope, seedSignature: signature });
  if (payload.kind !== "unsigned" && payload.kind !== "sha256") {
    throw new S3Error("InvalidRequest", "Streaming payloads are not supported with presigned URLs.");
  }
  return { accessKeyId: credential.accessKeyId, payload, presigned: true };
}
