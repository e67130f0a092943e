import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import type { ChecksumAlgorithm } from "../port.js";
import { crc32c } from "./crc32c.js";
import { Crc64Nvme } from "./crc64nvme.js";

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = [
  "CRC32",
  "CRC32C",
  "CRC64NVME",
  "SHA1",
  "SHA256",
];

/** Raw digest length per algorithm, used to validate client-supplied base64 values. */
export const CHECKSUM_DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

export interface ChecksumHasher {
  update(data: Uint8Array): void;
  /** Raw digest (big-endian for the CRCs). Call once. */
  digest(): Buffer;
}

class Crc32Hasher implements ChecksumHasher {
  private value = 0;
  constructor(private readonly castagnoli: boolean) {}
  update(data: Uint8Array): void {
    this.value = this.castagnoli ? crc32c(data, this.value) : crc32(data, this.value);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.value >>> 0, 0);
    return out;
  }
}

export function createChecksumHasher(algorithm: ChecksumAlgorithm): ChecksumHasher {
  switch (algorithm) {
    case "CRC32":
      return new Crc32Hasher(false);
    case "CRC32C":
      return new Crc32Hasher(true);
    case "CRC64NVME":
      return new Crc64Nvme();
    case "SHA1":
      return createHash("sha1");
    case "SHA256":
      return createHash("sha256");
  }
}

/** Base64 checksum of a whole buffer (tests, small bodies). */
export function checksumBase64(algorithm: ChecksumAlgorithm, data: Uint8Array): string {
  const hasher = createChecksumHasher(algorithm);
  hasher.update(data);
  return hasher.digest().toString("base64");
}

/** `x-amz-checksum-crc64nvme` → CRC64NVME; undefined for anything else. */
export function algorithmFromHeaderName(name: string): ChecksumAlgorithm | undefined {
  const prefix = "x-amz-checksum-";
  if (!name.startsWith(prefix)) return undefined;
  return parseChecksumAlgorithm(name.slice(prefix.length));
}

/** Case-insensitive algorithm name (`crc32c`, `CRC64NVME`) → algorithm; undefined if unknown. */
export function parseChecksumAlgorithm(value: string): ChecksumAlgorithm | undefined {
  const upper = value.trim().toUpperCase();
  return CHECKSUM_ALGORITHMS.find((a) => a === upper);
}

export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}
