/**
 * Wrapped data keys (v1): what the manifest replicates (`AddDataKey {keyId, wrappedHex}`).
 *
 *   0   1   version (1)
 *   1   12  AES-GCM nonce
 *   13  32  encrypted data key
 *   45  16  GCM tag
 *
 * AES-256-GCM under the keystore's kek; the AAD is the scheme label ‖ 0x00 ‖ version ‖ key id, so a
 * wrapped key moved to another id (or another scheme) fails to unwrap.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { CryptoError } from "./errors.js";
import { SCHEME } from "./hkdf.js";

export const DATA_KEY_BYTES = 32;
export const WRAPPED_DATA_KEY_VERSION = 1;
export const WRAPPED_DATA_KEY_BYTES = 1 + 12 + DATA_KEY_BYTES + 16;
export const MAX_KEY_ID = 0xffff_ffff;

export function assertKeyId(keyId: number): void {
  if (!Number.isInteger(keyId) || keyId < 0 || keyId > MAX_KEY_ID)
    throw new CryptoError("BadParams", `key id must be an integer in [0, ${MAX_KEY_ID}], got ${keyId}`);
}

function aad(keyId: number): Buffer {
  const label = Buffer.from(SCHEME.dataKeyAad, "utf8");
  const b = Buffer.alloc(label.length + 1 + 1 + 4);
  label.copy(b, 0);
  b.writeUInt8(0, label.length);
  b.writeUInt8(WRAPPED_DATA_KEY_VERSION, label.length + 1);
  b.writeUInt32BE(keyId, label.length + 2);
  return b;
}

export function wrapDataKey(kek: Uint8Array, keyId: number, key: Uint8Array): Buffer {
  assertKeyId(keyId);
  if (key.length !== DATA_KEY_BYTES) throw new Error(`data key must be ${DATA_KEY_BYTES} bytes`);
  const out = Buffer.alloc(WRAPPED_DATA_KEY_BYTES);
  out.writeUInt8(WRAPPED_DATA_KEY_VERSION, 0);
  const nonce = randomBytes(12);
  nonce.copy(out, 1);
  const c = createCipheriv("aes-256-gcm", kek, nonce);
  c.setAAD(aad(keyId));
  const body = Buffer.concat([c.update(key), c.final()]);
  body.copy(out, 13);
  c.getAuthTag().copy(out, 13 + DATA_KEY_BYTES);
  return out;
}

export function unwrapDataKey(kek: Uint8Array, keyId: number, wrapped: Uint8Array): Buffer {
  assertKeyId(keyId);
  const w = Buffer.from(wrapped.buffer, wrapped.byteOffset, wrapped.byteLength);
  if (w.length !== WRAPPED_DATA_KEY_BYTES || w.readUInt8(0) !== WRAPPED_DATA_KEY_VERSION)
    throw new CryptoError("UnwrapFailed", `wrapped data key ${keyId} is malformed`);
  const d = createDecipheriv("aes-256-gcm", kek, w.subarray(1, 13));
  d.setAAD(aad(keyId));
  d.setAuthTag(w.subarray(13 + DATA_KEY_BYTES));
  try {
    return Buffer.concat([d.update(w.subarray(13, 13 + DATA_KEY_BYTES)), d.final()]);
  } catch {
    throw new CryptoError(
      "UnwrapFailed",
      `data key ${keyId} does not unwrap under this keystore (different keystore, or tampered)`,
    );
  }
}

/** Accepts wrapped bytes or their hex form (as replicated in the manifest). */
export function wrappedBytes(wrapped: Uint8Array | string): Uint8Array {
  if (typeof wrapped !== "string") return wrapped;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(wrapped))
    throw new CryptoError("UnwrapFailed", "wrapped data key hex is malformed");
  return Buffer.from(wrapped, "hex");
}
