import { S3Error } from "../errors.js";
import { MAX_KEY_BYTES } from "../limits.js";

/**
 * ListObjectsV2 continuation tokens: opaque to clients, simple for us — base64url of a version byte
 * followed by the UTF-8 resume position (the last key or common prefix returned). Bound to nothing
 * else on purpose: a token stays valid across nodes and restarts, and a forged one can only make a
 * client list from another position of a bucket it may list anyway.
 */
const TOKEN_VERSION = 1;
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeContinuationToken(resumeAfter: string): string {
  return Buffer.concat([Buffer.from([TOKEN_VERSION]), Buffer.from(resumeAfter, "utf8")]).toString(
    "base64url",
  );
}

export function decodeContinuationToken(token: string): string {
  const invalid = () =>
    new S3Error("InvalidArgument", "The continuation token provided is incorrect", {
      extra: { ArgumentName: "continuation-token" },
    });
  if (token === "" || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  const raw = Buffer.from(token, "base64url");
  if (raw.length < 2 || raw.length > MAX_KEY_BYTES + 1 || raw[0] !== TOKEN_VERSION) throw invalid();
  // Re-encoding must give the same text, so there is exactly one token per position.
  if (raw.toString("base64url") !== token) throw invalid();
  try {
    return decoder.decode(raw.subarray(1));
  } catch {
    throw invalid();
  }
}

/** `encoding-type=url`: keys as S3 encodes them (RFC 3986 unreserved and '/' kept, space as %20). */
export function urlEncodeKey(value: string): string {
  return encodeURIComponent(value)
    .replace(/%2F/g, "/")
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
