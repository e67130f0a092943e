/**
 * BENCH HELPER: a minimal SigV4 signer for UNSIGNED-PAYLOAD requests over node:http, so the client
 * side costs the same against the gateway and against the reference server (the SDK would add
 * its own checksums and buffering).
 */
import { createHash, createHmac } from "node:crypto";

export interface SignInput {
  readonly method: string;
  readonly host: string;
  /** Already URI-encoded path. */
  readonly path: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly nowMs?: number;
}

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

export function signUnsignedPayload(input: SignInput): Record<string, string> {
  const date = new Date(input.nowMs ?? Date.now())
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = date.slice(0, 8);
  const scope = `${day}/${input.region}/s3/aws4_request`;
  const headers: Record<string, string> = {
    host: input.host,
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    "x-amz-date": date,
  };
  const names = Object.keys(headers).sort();
  const canonical = [
    input.method,
    input.path,
    "",
    ...names.map((n) => `${n}:${headers[n]}`),
    "",
    names.join(";"),
    "UNSIGNED-PAYLOAD",
  ].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", date, scope, createHash("sha256").update(canonical).digest("hex")].join(
    "\n",
  );
  let key = hmac(`AWS4${input.secretAccessKey}`, day);
  key = hmac(key, input.region);
  key = hmac(key, "s3");
  key = hmac(key, "aws4_request");
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${input.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}
