/**
 * Sealed chunk format (v1). A sealed chunk is self-describing: everything needed to open it, given
 * the keystore, is in its header, so `verify` can check a blob without the manifest.
 *
 *   offset size field
 *   0      4    magic "ENGC"
 *   4      1    format version (1)
 *   5      1    flags (bit 0: payload is zstd-compressed)
 *   6      2    reserved, zero
 *   8      4    key id (uint32, big-endian)
 *   12     12   AES-GCM nonce (fresh random 96 bits per seal)
 *   24     32   name tag = HMAC-SHA256(nameKey, sha256(plaintext))
 *   56     n    ciphertext
 *   56+n   16   GCM tag
 *
 * The whole header is the AAD, so key id, flags and the name tag are authenticated. The name tag
 * binds the chunk's plaintext hash without revealing it (a backend only ever sees keyed names), and
 * is the same value the backend object key is derived from. A blob swapped for another chunk's
 * fails the name-tag comparison before decryption; a forged name tag fails authentication.
 */
import { createCipheriv, createDecipheriv, createHmac, randomFillSync } from "node:crypto";

export const SEALED_MAGIC = 0x454e4743; // "ENGC"
export const SEALED_VERSION = 1;
export const SEALED_HEADER_BYTES = 56;
export const GCM_TAG_BYTES = 16;
export const SEAL_OVERHEAD_BYTES = SEALED_HEADER_BYTES + GCM_TAG_BYTES;
export const FLAG_COMPRESSED = 0x01;
const KNOWN_FLAGS = FLAG_COMPRESSED;
const NAME_TAG_BYTES = 32;
const NONCE_BYTES = 12;
const DATA_KEY_BYTES = 32;

export type SealErrorCode = "BadFormat" | "UnknownKey" | "NameMismatch" | "AuthFailed";

export class SealError extends Error {
  readonly code: SealErrorCode;
  constructor(code: SealErrorCode, message: string) {
    super(message);
    this.name = "SealError";
    this.code = code;
  }
}

export interface SealedHeader {
  readonly version: number;
  readonly flags: number;
  readonly keyId: number;
  readonly nonce: Buffer;
  readonly nameTag: Buffer;
}

/** HMAC-SHA256(nameKey, plaintextHash): the keyed name a chunk carries and is stored under. */
export function chunkNameTag(nameKey: Uint8Array, plaintextHash: Uint8Array): Buffer {
  return createHmac("sha256", nameKey).update(plaintextHash).digest();
}

export interface SealInput {
  readonly keyId: number;
  readonly key: Uint8Array;
  readonly nameTag: Uint8Array;
  readonly payload: Uint8Array;
  readonly flags: number;
}

/**
 * Seals `payload` into `out` (reused when large enough; fresh buffers page-fault and halve GCM
 * throughput) and returns the view holding the sealed blob.
 */
export function sealChunk(input: SealInput, out?: Buffer): Buffer {
  if (input.key.length !== DATA_KEY_BYTES) throw new Error("data key must be 32 bytes");
  if (input.nameTag.length !== NAME_TAG_BYTES) throw new Error("name tag must be 32 bytes");
  if ((input.flags & ~KNOWN_FLAGS) !== 0) throw new Error(`unknown seal flags ${input.flags}`);
  const total = SEAL_OVERHEAD_BYTES + input.payload.length;
  const buf = out && out.length >= total ? out.subarray(0, total) : Buffer.allocUnsafe(total);
  buf.writeUInt32BE(SEALED_MAGIC, 0);
  buf.writeUInt8(SEALED_VERSION, 4);
  buf.writeUInt8(input.flags, 5);
  buf.writeUInt16BE(0, 6);
  buf.writeUInt32BE(input.keyId >>> 0, 8);
  randomFillSync(buf, 12, NONCE_BYTES);
  buf.set(input.nameTag, 24);
  const header = buf.subarray(0, SEALED_HEADER_BYTES);
  const cipher = createCipheriv("aes-256-gcm", input.key, buf.subarray(12, 24));
  cipher.setAAD(header);
  let off = SEALED_HEADER_BYTES;
  const body = cipher.update(input.payload);
  buf.set(body, off);
  off += body.length;
  const fin = cipher.final();
  buf.set(fin, off);
  off += fin.length;
  cipher.getAuthTag().copy(buf, off);
  return buf;
}

export function parseSealedHeader(blob: Uint8Array): SealedHeader {
  if (blob.length < SEAL_OVERHEAD_BYTES)
    throw new SealError("BadFormat", `sealed chunk too short (${blob.length} bytes)`);
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (b.readUInt32BE(0) !== SEALED_MAGIC) throw new SealError("BadFormat", "not a sealed chunk (bad magic)");
  const version = b.readUInt8(4);
  if (version !== SEALED_VERSION)
    throw new SealError("BadFormat", `unsupported sealed chunk version ${version}`);
  const flags = b.readUInt8(5);
  if ((flags & ~KNOWN_FLAGS) !== 0) throw new SealError("BadFormat", `unknown sealed chunk flags ${flags}`);
  return {
    version,
    flags,
    keyId: b.readUInt32BE(8),
    nonce: b.subarray(12, 24),
    nameTag: b.subarray(24, 56),
  };
}

export interface OpenedChunk {
  readonly header: SealedHeader;
  /** The payload as sealed (still compressed when header.flags has FLAG_COMPRESSED). */
  readonly payload: Buffer;
}

/**
 * Authenticates and decrypts a sealed blob. `keyFor` maps a key id to its 32-byte data key (throws
 * or returns undefined when unknown). When `expectedNameTag` is given, a blob carrying another
 * chunk's name is refused before any decryption.
 */
export function openChunk(
  blob: Uint8Array,
  keyFor: (keyId: number) => Uint8Array | undefined,
  expectedNameTag?: Uint8Array,
): OpenedChunk {
  const header = parseSealedHeader(blob);
  if (expectedNameTag && !header.nameTag.equals(expectedNameTag)) {
    throw new SealError("NameMismatch", "sealed chunk belongs to a different chunk (name tag mismatch)");
  }
  const key = keyFor(header.keyId);
  if (!key) throw new SealError("UnknownKey", `sealed chunk uses unknown key id ${header.keyId}`);
  const b = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const tagAt = b.length - GCM_TAG_BYTES;
  const decipher = createDecipheriv("aes-256-gcm", key, header.nonce);
  decipher.setAAD(b.subarray(0, SEALED_HEADER_BYTES));
  decipher.setAuthTag(b.subarray(tagAt));
  try {
    const first = decipher.update(b.subarray(SEALED_HEADER_BYTES, tagAt));
    const last = decipher.final();
    return { header, payload: last.length ? Buffer.concat([first, last]) : first };
  } catch {
    throw new SealError("AuthFailed", "sealed chunk failed authentication (corrupt or tampered)");
  }
}
