/** How the request body is authenticated, from `x-amz-content-sha256` (or the presigned default). */
export type PayloadMode =
  | { kind: "unsigned" }
  | { kind: "sha256"; hex: string }
  | { kind: "streaming-signed"; trailer: boolean; chain: ChunkSigningChain }
  | { kind: "streaming-unsigned-trailer" };

/** What the aws-chunked decoder needs to verify each chunk signature, seeded by the request's. */
export interface ChunkSigningChain {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
export const STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
export const STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
export const STREAMING_ECDSA_PREFIX = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD";

export function isStreamingMode(mode: PayloadMode): boolean {
  return mode.kind === "streaming-signed" || mode.kind === "streaming-unsigned-trailer";
}
