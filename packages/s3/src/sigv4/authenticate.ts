import { S3Error } from "../errors.js";
import { type AuthContext, type AuthRequest, type AuthResult, header, queryValue } from "./auth-common.js";
import { authenticateHeader } from "./header-auth.js";
import { authenticatePresigned } from "./presigned.js";

export type { AuthContext, AuthRequest, AuthResult } from "./auth-common.js";

/**
 * Authenticates a request with SigV4 (Authorization header or presigned query). Anonymous requests
 * are refused: this gateway has no public buckets.
 */
export function authenticate(req: AuthRequest, ctx: AuthContext): AuthResult {
  const authorization = header(req.headers, "authorization");
  const presigned = queryValue(req.query, "X-Amz-Algorithm") !== undefined;
  if (authorization !== undefined && presigned) {
    throw new S3Error(
      "InvalidArgument",
      "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified",
      {
        extra: { ArgumentName: "Authorization" },
      },
    );
  }
  if (authorization !== undefined) return authenticateHeader(req, ctx, authorization);
  if (presigned) return authenticatePresigned(req, ctx);
  throw new S3Error("AccessDenied", "Anonymous requests are not allowed.");
}
