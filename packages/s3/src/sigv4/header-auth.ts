import { S3Error } from "../errors.js";
import { MAX_CLOCK_SKEW_MS } from "../limits.js";
import {
  type AuthContext,
  type AuthRequest,
  type AuthResult,
  checkScope,
  computeSignature,
  formatAmzDate,
  header,
  parseAmzDate,
  parseCredential,
  parseSignedHeaders,
  payloadModeFromHash,
} from "./auth-common.js";
import { SIGV4_ALGORITHM } from "./canonical.js";
import { signaturesEqual } from "./crypto-utils.js";

/** `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export function authenticateHeader(req: AuthRequest, ctx: AuthContext, authorization: string): AuthResult {
  if (!authorization.startsWith(`${SIGV4_ALGORITHM} `)) {
    if (authorization.startsWith("AWS ")) {
      throw new S3Error("InvalidRequest", "Signature Version 2 is not supported; use AWS4-HMAC-SHA256.");
    }
    throw new S3Error("AuthorizationHeaderMalformed", "Unsupported authorization algorithm.");
  }
  const fields = new Map<string, string>();
  for (const part of authorization.slice(SIGV4_ALGORITHM.length).split(",")) {
    const trimmed = part.trim();
    const eq = trimmed.indexOf("=");
    if (eq <= 0) throw new S3Error("AuthorizationHeaderMalformed");
    fields.set(trimmed.slice(0, eq), trimmed.slice(eq + 1));
  }
  const credentialText = fields.get("Credential");
  const signedHeadersText = fields.get("SignedHeaders");
  const givenSignature = fields.get("Signature");
  if (credentialText === undefined || signedHeadersText === undefined || givenSignature === undefined) {
    throw new S3Error(
      "AuthorizationHeaderMalformed",
      "Credential, SignedHeaders and Signature are required.",
    );
  }
  const credential = parseCredential(credentialText, "AuthorizationHeaderMalformed");
  const secret = ctx.credentials.secretFor(credential.accessKeyId);
  if (secret === undefined) throw new S3Error("InvalidAccessKeyId");

  const amzDateHeader = header(req.headers, "x-amz-date");
  const dateHeader = header(req.headers, "date");
  let requestMs: number | undefined;
  let amzDate: string;
  if (amzDateHeader !== undefined) {
    requestMs = parseAmzDate(amzDateHeader);
    amzDate = amzDateHeader;
  } else if (dateHeader !== undefined) {
    const parsed = Date.parse(dateHeader);
    requestMs = Number.isNaN(parsed) ? undefined : parsed;
    amzDate = requestMs === undefined ? "" : formatAmzDate(requestMs);
  } else {
    throw new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
  }
  if (requestMs === undefined) {
    throw new S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
  }
  if (Math.abs(ctx.nowMs - requestMs) > MAX_CLOCK_SKEW_MS) {
    throw new S3Error("RequestTimeTooSkewed", undefined, {
      extra: {
        RequestTime: amzDate,
        ServerTime: new Date(ctx.nowMs).toISOString(),
        MaxAllowedSkewMilliseconds: "900000",
      },
    });
  }
  checkScope(credential, amzDate, ctx, "AuthorizationHeaderMalformed");
  const signedHeaders = parseSignedHeaders(signedHeadersText, "AuthorizationHeaderMalformed");

  const payloadHash = header(req.headers, "x-amz-content-sha256");
  if (payloadHash === undefined) {
    throw new S3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
  }
  const { signature, signingKey, scope } = computeSignature(
    req,
    ctx,
    secret,
    credential,
    amzDate,
    signedHeaders,
    payloadHash,
    false,
  );
  if (!signaturesEqual(signature, givenSignature)) throw new S3Error("SignatureDoesNotMatch");
  return {
    accessKeyId: credential.accessKeyId,
    payload: payloadModeFromHash(payloadHash, { signingKey, amzDate, scope, seedSignature: signature }),
    presigned: false,
  };
}
