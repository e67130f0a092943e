import { createCipheriv, randomFillSync } from "node:crypto";
import { copyInto } from "./copy.js";
import {
  FLAG_COMPRESSED,
  SEAL_OVERHEAD_BYTES,
  SEALED_HEADER_BYTES,
  SEALED_MAGIC,
  SEALED_VERSION,
  sealChunk,
} from "./seal-api.js";

/**
 * Encrypts in slices of this size: node:crypto's `cipher.update` returns a fresh buffer per call,
 * and a chunk-sized one (4–16 MiB) is a large allocation that page-faults and, once freed, leaves
 * a thread's malloc arena holding tens of MiB (measured: a ~62 MiB resident arena in the seal
 * worker of a gateway after a 1 GiB PUT). 256 KiB slices cost the same CPU as one update (64 KiB
 * slices were measured ~30 % slower) and are reused from the arena's free lists.
 */
export const SEAL_SLICE_BYTES = 256 * 1024;

export interface SealIntoInput {
  readonly keyId: number;
  readonly key: Uint8Array;
  readonly nameTag: Uint8Array;
  readonly payload: Uint8Array;
  readonly flags: number;
}

/**
 * Seals like @enigma/crypto's `sealChunk` (same sealed-chunk format v1, byte for byte apart from
 * the random nonce: header as AAD, ciphertext, GCM tag; crypto's `openChunk` opens it — tested),
 * but writes the ciphertext into `out` slice by slice instead of through one chunk-sized temporary.
 * Falls back to `sealChunk` when `out` is too small.
 *
 * `payload` may lie inside `out` itself, at or after offset SEALED_HEADER_BYTES (sealing in place):
 * the header goes before it, and each ciphertext slice is written at or before the plaintext slice
 * it came from, which `cipher.update` has already read.
 */
export function sealInto(input: SealIntoInput, out: Buffer): Buffer {
  const total = SEAL_OVERHEAD_BYTES + input.payload.length;
  if (out.length < total) return sealChunk(input, out);
  if (input.key.length !== 32) throw new Error("data key must be 32 bytes");
  if (input.nameTag.length !== 32) throw new Error("name tag must be 32 bytes");
  if ((input.flags & ~FLAG_COMPRESSED) !== 0) throw new Error(`unknown seal flags ${input.flags}`);
  const buf = out.subarray(0, total);
  buf.writeUInt32BE(SEALED_MAGIC, 0);
  buf.writeUInt8(SEALED_VERSION, 4);
  buf.writeUInt8(input.flags, 5);
  buf.writeUInt16BE(0, 6);
  buf.writeUInt32BE(input.keyId >>> 0, 8);
  randomFillSync(buf, 12, 12);
  buf.set(input.nameTag, 24);
  const cipher = createCipheriv("aes-256-gcm", input.key, buf.subarray(12, 24));
  cipher.setAAD(buf.subarray(0, SEALED_HEADER_BYTES));
  const payload = input.payload;
  let off = SEALED_HEADER_BYTES;
  for (let p = 0; p < payload.length; p += SEAL_SLICE_BYTES) {
    const part = cipher.update(payload.subarray(p, Math.min(payload.length, p + SEAL_SLICE_BYTES)));
    copyInto(buf, part, off);
    off += part.length;
  }
  const fin = cipher.final();
  buf.set(fin, off);
  off += fin.length;
  cipher.getAuthTag().copy(buf, off);
  return buf;
}
