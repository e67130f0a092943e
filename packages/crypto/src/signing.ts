/**
 * Ed25519 signatures over canonical JSON, for node-state snapshot manifests (ARCHITECTURE §7).
 * The signed bytes are exactly utf8(canonicalJson(value)); there is no extra framing, so any
 * Ed25519 implementation with the same canonicalization can verify.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { errnoCode, writeFileExclusive } from "./atomic-file.js";
import { canonicalJson } from "./canonical-json.js";
import { CryptoError } from "./errors.js";

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
/** PEM key files are a few hundred bytes; refuse to read anything much larger. */
const MAX_KEY_FILE_BYTES = 16 * 1024;

export interface SigningKeyPair {
  /** PKCS#8 PEM. Secret. */
  readonly privateKeyPem: string;
  /** SPKI PEM. */
  readonly publicKeyPem: string;
}

/** A public key as a KeyObject, SPKI PEM, or the raw 32 bytes (as kept in trusted-keys lists). */
export type PublicKeyInput = KeyObject | string | Uint8Array;
/** A private key as a KeyObject or PKCS#8 PEM. */
export type PrivateKeyInput = KeyObject | string;

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
  };
}

/** Signs utf8(canonicalJson(value)); returns the 64-byte signature. */
export function signCanonical(privateKey: PrivateKeyInput, value: unknown): Buffer {
  const data = Buffer.from(canonicalJson(value), "utf8");
  return sign(null, data, toPrivateKey(privateKey));
}

/**
 * True iff `signature` (bytes, or base64/base64url text) is a valid signature of `value` under
 * `publicKey`. A bad signature is `false`; a malformed key throws BadKey; an unencodable value
 * throws NotCanonical.
 */
export function verifyCanonical(
  publicKey: PublicKeyInput,
  value: unknown,
  signature: Uint8Array | string,
): boolean {
  const key = toPublicKey(publicKey);
  const sig = typeof signature === "string" ? decodeBase64(signature) : signature;
  if (!sig || sig.length !== ED25519_SIGNATURE_BYTES) return false;
  return verify(null, Buffer.from(canonicalJson(value), "utf8"), key, sig);
}

/** The raw 32-byte public key. */
export function rawPublicKey(publicKey: PublicKeyInput): Buffer {
  const jwk = toPublicKey(publicKey).export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new CryptoError("BadKey", "not an Ed25519 public key");
  return Buffer.from(jwk.x, "base64url");
}

/** "ed25519:" + hex SHA-256 of the raw public key: a stable id for trusted-keys lists and logs. */
export function publicKeyFingerprint(publicKey: PublicKeyInput): string {
  return `ed25519:${createHash("sha256").update(rawPublicKey(publicKey)).digest("hex")}`;
}

/** Writes the private key (0600) and public key (0644), each atomically and never over a file. */
export async function saveSigningKeyPair(
  pair: SigningKeyPair,
  privateKeyPath: string,
  publicKeyPath: string,
): Promise<void> {
  toPrivateKey(pair.privateKeyPem);
  toPublicKey(pair.publicKeyPem);
  await writeFileExclusive(privateKeyPath, Buffer.from(pair.privateKeyPem, "utf8"), 0o600);
  await writeFileExclusive(publicKeyPath, Buffer.from(pair.publicKeyPem, "utf8"), 0o644);
}

export async function loadPrivateKey(path: string): Promise<KeyObject> {
  return toPrivateKey(await readKeyFile(path));
}

export async function loadPublicKey(path: string): Promise<KeyObject> {
  return toPublicKey(await readKeyFile(path));
}

function toPrivateKey(k: PrivateKeyInput): KeyObject {
  let key: KeyObject;
  try {
    key = typeof k === "string" ? createPrivateKey(k) : k;
  } catch {
    // No cause attached on purpose: a parse error may quote the (secret) input.
    throw new CryptoError("BadKey", "private key is not a valid PEM key");
  }
  if (key.type !== "private" || key.asymmetricKeyType !== "ed25519")
    throw new CryptoError("BadKey", "private key is not an Ed25519 private key");
  return key;
}

function toPublicKey(k: PublicKeyInput): KeyObject {
  let key: KeyObject;
  try {
    if (typeof k === "string") key = createPublicKey(k);
    else if (k instanceof Uint8Array) {
      if (k.length !== ED25519_PUBLIC_KEY_BYTES) throw new Error("raw Ed25519 public key must be 32 bytes");
      key = createPublicKey({
        key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(k).toString("base64url") },
        format: "jwk",
      });
    } else key = k;
  } catch (err) {
    throw new CryptoError("BadKey", "public key is not a valid Ed25519 key", { cause: err });
  }
  // A private KeyObject would also verify; accept it only as what it contains.
  if (key.type === "private") key = createPublicKey(key);
  if (key.asymmetricKeyType !== "ed25519")
    throw new CryptoError("BadKey", "public key is not an Ed25519 key");
  return key;
}

async function readKeyFile(path: string): Promise<string> {
  try {
    if ((await stat(path)).size > MAX_KEY_FILE_BYTES)
      throw new CryptoError("BadKey", `key file ${path} is too large to be a key`);
    return await readFile(path, "utf8");
  } catch (err) {
    if (err instanceof CryptoError) throw err;
    throw new CryptoError("Io", `cannot read key file ${path}: ${errnoCode(err)}`, { cause: err });
  }
}

function decodeBase64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) return undefined;
  return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}
