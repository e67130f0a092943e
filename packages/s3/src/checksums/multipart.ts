import { createHash } from "node:crypto";
import type { ChecksumAlgorithm } from "../port.js";
import { createChecksumHasher } from "./hasher.js";

/**
 * The S3 multipart ETag: hex MD5 over the concatenated binary MD5s of the parts, then `-N`.
 * Clients (aws-cli, rclone) recompute it to verify uploads, so the formula must be exact.
 */
export function multipartEtag(partEtagsHex: readonly string[]): string {
  const md5 = createHash("md5");
  for (const etag of partEtagsHex) md5.update(Buffer.from(etag, "hex"));
  return `${md5.digest("hex")}-${partEtagsHex.length}`;
}

/** The COMPOSITE multipart checksum: the algorithm over the concatenated raw part checksums, then `-N`. */
export function compositeChecksum(
  algorithm: ChecksumAlgorithm,
  partChecksumsBase64: readonly string[],
): string {
  const hasher = createChecksumHasher(algorithm);
  for (const value of partChecksumsBase64) hasher.update(Buffer.from(value, "base64"));
  return `${hasher.digest().toString("base64")}-${partChecksumsBase64.length}`;
}
