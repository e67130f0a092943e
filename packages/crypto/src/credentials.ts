/**
 * `enc:` credentials: config values (S3 secret keys, connection strings) encrypted under the
 * keystore so config files and env vars never hold them in clear (ARCHITECTURE §6).
 *
 *   enc:v1:<base64url( nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16) )>
 *
 * Key: the keystore's credKey. AAD: the scheme label and the version, so a token cannot be
 * replayed as any other kind of ciphertext of ours.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { CryptoError } from "./errors.js";
import { SCHEME } from "./hkdf.js";

export const CREDENTIAL_PREFIX = "enc:";
const V1_PREFIX = "enc:v1:";
/** Credentials are short; this bounds allocation for a hostile token too. */
export const MAX_CREDENTIAL_BYTES = 64 * 1024;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const MAX_TOKEN_CHARS = V1_PREFIX.length + Math.ceil(((MAX_CREDENTIAL_BYTES + 28) * 4) / 3);
const AAD = Buffer.from(`${SCHEME.credentialAad}\0v1`, "utf8");

export interface CredentialKey {
  readonly credKey: Uint8Array;
}

/** True for any `enc:` value, including unsupported versions, so they fail loudly instead of being used as literal secrets. */
export function isEncryptedCredential(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(CREDENTIAL_PREFIX);
}

export function encryptCredential(keys: CredentialKey, plaintext: string): string {
  const pt = Buffer.from(plaintext, "utf8");
  if (pt.length > MAX_CREDENTIAL_BYTES)
    throw new CryptoError("BadParams", `credential longer than ${MAX_CREDENTIAL_BYTES} bytes`);
  const nonce = randomBytes(NONCE_BYTES);
  const c = createCipheriv("aes-256-gcm", keys.credKey, nonce);
  c.setAAD(AAD);
  const body = Buffer.concat([nonce, c.update(pt), c.final(), c.getAuthTag()]);
  pt.fill(0);
  return V1_PREFIX + body.toString("base64url");
}

export function decryptCredential(keys: CredentialKey, token: string): string {
  if (!isEncryptedCredential(token)) throw new CryptoError("CredentialInvalid", "value is not an enc: token");
  if (!token.startsWith(V1_PREFIX))
    throw new CryptoError("CredentialInvalid", "unsupported enc: token version (expected enc:v1:)");
  const b64 = token.slice(V1_PREFIX.length);
  if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(b64))
    throw new CryptoError("CredentialInvalid", "enc: token is malformed");
  const raw = Buffer.from(b64, "base64url");
  if (raw.length < NONCE_BYTES + TAG_BYTES || raw.toString("base64url") !== b64)
    throw new CryptoError("CredentialInvalid", "enc: token is malformed");
  const d = createDecipheriv("aes-256-gcm", keys.credKey, raw.subarray(0, NONCE_BYTES));
  d.setAAD(AAD);
  d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  try {
    return Buffer.concat([d.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), d.final()]).toString(
      "utf8",
    );
  } catch {
    throw new CryptoError(
      "CredentialAuthFailed",
      "enc: token failed authentication (tampered, or encrypted under another keystore)",
    );
  }
}
