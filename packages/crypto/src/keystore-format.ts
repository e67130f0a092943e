/**
 * Keystore file format (v1): fixed-size binary, big-endian integers.
 *
 *   offset size  field
 *   0      4     magic "ENGK"
 *   4      1     format version (1)
 *   5      1     KDF id (1 = Argon2id v1.3)
 *   6      1     KEM id (1 = ML-KEM-768, FIPS 203)
 *   7      1     reserved, zero
 *   8      4     Argon2id memory (KiB)
 *   12     4     Argon2id iterations
 *   16     4     Argon2id parallelism
 *   20     16    Argon2id salt
 *   36     16    keystore id (random; identifies the keystore across nodes)
 *   52     8     created at (unix ms)
 *   60     1184  ML-KEM-768 public (encapsulation) key
 *   1244   1088  ML-KEM-768 ciphertext, encapsulated to that key at creation
 *   2332   12    AES-GCM nonce for the sealed seed
 *   2344   64    sealed ML-KEM-768 seed (d ‖ z, FIPS 203 compact secret key), AES-256-GCM
 *   2408   16    GCM tag
 *   2424   32    SHA-256 of bytes [0, 2424)
 *   2456         end of file
 *
 * Bytes [0, 2344) are the GCM AAD, so every header field is authenticated by the passphrase-derived
 * key. The trailing SHA-256 is unkeyed: it only tells accidental corruption ("KeystoreCorrupt")
 * apart from a wrong passphrase. A deliberate edit that fixes the checksum still fails GCM.
 */
import { createHash } from "node:crypto";
import type { Argon2Params } from "./argon2-params.js";
import { ARGON2_SALT_BYTES } from "./argon2-params.js";
import { CryptoError } from "./errors.js";

export const KEYSTORE_MAGIC = 0x454e474b; // "ENGK"
export const KEYSTORE_VERSION = 1;
export const KDF_ARGON2ID = 1;
export const KEM_ML_KEM_768 = 1;

export const KEYSTORE_ID_BYTES = 16;
export const ML_KEM_PUBLIC_KEY_BYTES = 1184;
export const ML_KEM_CIPHERTEXT_BYTES = 1088;
export const ML_KEM_SEED_BYTES = 64;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const CHECKSUM_BYTES = 32;

const OFF = {
  magic: 0,
  version: 4,
  kdf: 5,
  kem: 6,
  reserved: 7,
  memoryKiB: 8,
  iterations: 12,
  parallelism: 16,
  salt: 20,
  keystoreId: 36,
  createdAtMs: 52,
  publicKey: 60,
  kemCiphertext: 60 + ML_KEM_PUBLIC_KEY_BYTES,
  nonce: 60 + ML_KEM_PUBLIC_KEY_BYTES + ML_KEM_CIPHERTEXT_BYTES,
} as const;

export const KEYSTORE_HEADER_BYTES = OFF.nonce + NONCE_BYTES;
const SEALED_SEED_OFF = KEYSTORE_HEADER_BYTES;
const TAG_OFF = SEALED_SEED_OFF + ML_KEM_SEED_BYTES;
const CHECKSUM_OFF = TAG_OFF + TAG_BYTES;
export const KEYSTORE_FILE_BYTES = CHECKSUM_OFF + CHECKSUM_BYTES;

/** The parts of a keystore file, as stored. Nothing here is secret without the passphrase. */
export interface KeystoreFile {
  readonly argon2: Argon2Params;
  readonly salt: Buffer;
  readonly keystoreId: Buffer;
  readonly createdAtMs: number;
  readonly publicKey: Buffer;
  readonly kemCiphertext: Buffer;
  readonly nonce: Buffer;
  /** Bytes [0, KEYSTORE_HEADER_BYTES): the AAD of the seed seal. */
  readonly header: Buffer;
  readonly sealedSeed: Buffer;
  readonly tag: Buffer;
}

export type KeystoreFileFields = Omit<KeystoreFile, "header" | "sealedSeed" | "tag">;

/** Lays out the header (the AAD) for `fields`; the caller seals the seed with it. */
export function encodeKeystoreHeader(f: KeystoreFileFields): Buffer {
  const b = Buffer.alloc(KEYSTORE_HEADER_BYTES);
  b.writeUInt32BE(KEYSTORE_MAGIC, OFF.magic);
  b.writeUInt8(KEYSTORE_VERSION, OFF.version);
  b.writeUInt8(KDF_ARGON2ID, OFF.kdf);
  b.writeUInt8(KEM_ML_KEM_768, OFF.kem);
  b.writeUInt32BE(f.argon2.memoryKiB, OFF.memoryKiB);
  b.writeUInt32BE(f.argon2.iterations, OFF.iterations);
  b.writeUInt32BE(f.argon2.parallelism, OFF.parallelism);
  copyExact(f.salt, b, OFF.salt, ARGON2_SALT_BYTES, "salt");
  copyExact(f.keystoreId, b, OFF.keystoreId, KEYSTORE_ID_BYTES, "keystore id");
  b.writeBigUInt64BE(BigInt(f.createdAtMs), OFF.createdAtMs);
  copyExact(f.publicKey, b, OFF.publicKey, ML_KEM_PUBLIC_KEY_BYTES, "ML-KEM public key");
  copyExact(f.kemCiphertext, b, OFF.kemCiphertext, ML_KEM_CIPHERTEXT_BYTES, "ML-KEM ciphertext");
  copyExact(f.nonce, b, OFF.nonce, NONCE_BYTES, "nonce");
  return b;
}

/** header ‖ sealed seed ‖ tag ‖ SHA-256 of all of it. */
export function encodeKeystoreFile(header: Buffer, sealedSeed: Buffer, tag: Buffer): Buffer {
  const b = Buffer.alloc(KEYSTORE_FILE_BYTES);
  copyExact(header, b, 0, KEYSTORE_HEADER_BYTES, "header");
  copyExact(sealedSeed, b, SEALED_SEED_OFF, ML_KEM_SEED_BYTES, "sealed seed");
  copyExact(tag, b, TAG_OFF, TAG_BYTES, "tag");
  createHash("sha256").update(b.subarray(0, CHECKSUM_OFF)).digest().copy(b, CHECKSUM_OFF);
  return b;
}

/**
 * Parses and structurally checks a keystore file. Throws KeystoreCorrupt on a wrong size, magic,
 * version, algorithm id or checksum. Argon2 bounds are checked by the caller.
 */
export function decodeKeystoreFile(bytes: Buffer): KeystoreFile {
  const corrupt = (why: string) => new CryptoError("KeystoreCorrupt", `keystore file is corrupt: ${why}`);
  if (bytes.length < 8 || bytes.readUInt32BE(OFF.magic) !== KEYSTORE_MAGIC)
    throw corrupt("not an Enigma keystore (bad magic)");
  const version = bytes.readUInt8(OFF.version);
  if (version !== KEYSTORE_VERSION)
    throw new CryptoError("KeystoreCorrupt", `unsupported keystore format version ${version}`);
  if (bytes.length !== KEYSTORE_FILE_BYTES)
    throw corrupt(`size ${bytes.length} bytes, expected ${KEYSTORE_FILE_BYTES} (truncated?)`);
  const sum = createHash("sha256").update(bytes.subarray(0, CHECKSUM_OFF)).digest();
  if (!sum.equals(bytes.subarray(CHECKSUM_OFF))) throw corrupt("checksum mismatch");
  if (bytes.readUInt8(OFF.kdf) !== KDF_ARGON2ID) throw corrupt(`unknown KDF id ${bytes.readUInt8(OFF.kdf)}`);
  if (bytes.readUInt8(OFF.kem) !== KEM_ML_KEM_768)
    throw corrupt(`unknown KEM id ${bytes.readUInt8(OFF.kem)}`);
  if (bytes.readUInt8(OFF.reserved) !== 0) throw corrupt("reserved byte is not zero");
  const createdAt = bytes.readBigUInt64BE(OFF.createdAtMs);
  if (createdAt > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt("creation time out of range");
  const slice = (off: number, len: number) => Buffer.from(bytes.subarray(off, off + len));
  return {
    argon2: {
      memoryKiB: bytes.readUInt32BE(OFF.memoryKiB),
      iterations: bytes.readUInt32BE(OFF.iterations),
      parallelism: bytes.readUInt32BE(OFF.parallelism),
    },
    salt: slice(OFF.salt, ARGON2_SALT_BYTES),
    keystoreId: slice(OFF.keystoreId, KEYSTORE_ID_BYTES),
    createdAtMs: Number(createdAt),
    publicKey: slice(OFF.publicKey, ML_KEM_PUBLIC_KEY_BYTES),
    kemCiphertext: slice(OFF.kemCiphertext, ML_KEM_CIPHERTEXT_BYTES),
    nonce: slice(OFF.nonce, NONCE_BYTES),
    header: slice(0, KEYSTORE_HEADER_BYTES),
    sealedSeed: slice(SEALED_SEED_OFF, ML_KEM_SEED_BYTES),
    tag: slice(TAG_OFF, TAG_BYTES),
  };
}

/** Byte offsets of header fields, for tests that tamper with them. */
export const KEYSTORE_OFFSETS = { ...OFF, checksum: CHECKSUM_OFF } as const;

function copyExact(src: Uint8Array, dst: Buffer, off: number, len: number, what: string): void {
  if (src.length !== len) throw new Error(`keystore ${what} must be ${len} bytes, got ${src.length}`);
  dst.set(src, off);
}
