/**
 * The passphrase-protected keystore: Argon2id + ML-KEM-768 hybrid root, and the keys derived from
 * it. Format in keystore-format.ts, key hierarchy in ../DESIGN.md.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import { inspect } from "node:util";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import {
  ARGON2_SALT_BYTES,
  type Argon2Params,
  argon2ParamsProblem,
  DEFAULT_ARGON2_PARAMS,
  deriveArgon2,
} from "./argon2-params.js";
import { errnoCode, writeFileExclusive } from "./atomic-file.js";
import { DATA_KEY_BYTES, unwrapDataKey, wrapDataKey, wrappedBytes } from "./data-keys.js";
import { CryptoError } from "./errors.js";
import { hkdf32, SCHEME } from "./hkdf.js";
import {
  decodeKeystoreFile,
  encodeKeystoreFile,
  encodeKeystoreHeader,
  KEYSTORE_FILE_BYTES,
  KEYSTORE_ID_BYTES,
  type KeystoreFile,
  ML_KEM_SEED_BYTES,
} from "./keystore-format.js";

export const KEYSTORE_FILE_MODE = 0o600;

/** Public facts about a keystore, readable without the passphrase. */
export interface KeystoreInfo {
  /** 32 hex chars; the same on every node that shares the keystore file. */
  readonly keystoreId: string;
  readonly createdAtMs: number;
  readonly argon2: Argon2Params;
}

/**
 * What the rest of the system needs from a key source. The local keystore implements it; a cloud
 * KeyProvider (ARCHITECTURE §6) would too.
 */
export interface KeyMaterial {
  readonly keystoreId: string;
  /** HMAC key for chunk name tags (seal.ts `chunkNameTag`); identical on every node. */
  readonly nameKey: Buffer;
  /** Initial-value key for backup integrity chains (chain.ts `chainInit`). */
  readonly chainKey: Buffer;
  /** AES-256-GCM key for `enc:` credentials. */
  readonly credKey: Buffer;
  /** Seed for cluster-internal secrets (e.g. peer authentication); derive further with HKDF. */
  readonly clusterSecretSeed: Buffer;
  wrapDataKey(keyId: number, key: Uint8Array): Buffer;
  unwrapDataKey(keyId: number, wrapped: Uint8Array | string): Buffer;
  newDataKey(keyId: number): { key: Buffer; wrapped: Buffer };
}

/** An opened keystore. The root secret is never kept; only the purpose keys derived from it. */
export class Keystore implements KeyMaterial {
  readonly keystoreId: string;
  readonly createdAtMs: number;
  readonly argon2: Argon2Params;
  readonly nameKey: Buffer;
  readonly chainKey: Buffer;
  readonly credKey: Buffer;
  readonly clusterSecretSeed: Buffer;
  readonly #kek: Buffer;

  /** Use `openKeystore` / `createKeystore`; `root` is wiped by the caller after this returns. */
  private constructor(info: KeystoreInfo, root: Buffer) {
    this.keystoreId = info.keystoreId;
    this.createdAtMs = info.createdAtMs;
    this.argon2 = info.argon2;
    const none = Buffer.alloc(0);
    this.#kek = hkdf32(root, none, SCHEME.kek);
    this.nameKey = hkdf32(root, none, SCHEME.nameKey);
    this.chainKey = hkdf32(root, none, SCHEME.chainKey);
    this.credKey = hkdf32(root, none, SCHEME.credKey);
    this.clusterSecretSeed = hkdf32(root, none, SCHEME.clusterSecretSeed);
  }

  /** @internal */
  static fromRoot(info: KeystoreInfo, root: Buffer): Keystore {
    return new Keystore(info, root);
  }

  wrapDataKey(keyId: number, key: Uint8Array): Buffer {
    return wrapDataKey(this.#kek, keyId, key);
  }

  unwrapDataKey(keyId: number, wrapped: Uint8Array | string): Buffer {
    return unwrapDataKey(this.#kek, keyId, wrappedBytes(wrapped));
  }

  /** A fresh random data key and its wrapped form (for `AddDataKey`). */
  newDataKey(keyId: number): { key: Buffer; wrapped: Buffer } {
    const key = randomBytes(DATA_KEY_BYTES);
    return { key, wrapped: this.wrapDataKey(keyId, key) };
  }

  get info(): KeystoreInfo {
    return { keystoreId: this.keystoreId, createdAtMs: this.createdAtMs, argon2: this.argon2 };
  }

  /** Logging a keystore (pino, console, util.inspect) shows only public facts, never keys. */
  toJSON(): KeystoreInfo {
    return this.info;
  }

  [inspect.custom](): string {
    return `Keystore ${JSON.stringify(this.info)}`;
  }
}

export interface CreateKeystoreOptions {
  /** Argon2id costs; unspecified fields take DEFAULT_ARGON2_PARAMS. Tests pass small ones. */
  readonly argon2?: Partial<Argon2Params>;
  /** Recorded in the header; defaults to Date.now(). */
  readonly createdAtMs?: number;
}

/**
 * Creates a new keystore file at `path` (mode 0600, atomic, never over an existing file) and
 * returns it opened. Fails with FileExists, BadParams or Io; on failure nothing is left behind.
 */
export async function createKeystore(
  path: string,
  passphrase: string,
  opts: CreateKeystoreOptions = {},
): Promise<Keystore> {
  const { info, root } = await createKeystoreRoot(path, passphrase, opts);
  try {
    return Keystore.fromRoot(info, root);
  } finally {
    wipe(root);
  }
}

/** An opened keystore's public facts and root secret; the caller wipes `root` when done. */
export interface KeystoreRoot {
  readonly info: KeystoreInfo;
  readonly root: Buffer;
}

/**
 * `createKeystore`, returning the root instead of the derived keys. @internal — for the local key
 * provider (providers/local-keystore-provider.ts), which exports the root when migrating to a vault.
 */
export async function createKeystoreRoot(
  path: string,
  passphrase: string,
  opts: CreateKeystoreOptions = {},
): Promise<KeystoreRoot> {
  if (passphrase.length === 0) throw new CryptoError("BadParams", "keystore passphrase must not be empty");
  const argon2: Argon2Params = { ...DEFAULT_ARGON2_PARAMS, ...opts.argon2 };
  const problem = argon2ParamsProblem(argon2);
  if (problem) throw new CryptoError("BadParams", problem);
  const createdAtMs = opts.createdAtMs ?? Date.now();
  if (!Number.isSafeInteger(createdAtMs) || createdAtMs < 0)
    throw new CryptoError("BadParams", `createdAtMs must be a non-negative integer, got ${createdAtMs}`);

  const salt = randomBytes(ARGON2_SALT_BYTES);
  const keystoreId = randomBytes(KEYSTORE_ID_BYTES);
  const seed = randomBytes(ML_KEM_SEED_BYTES);
  const { publicKey } = ml_kem768.keygen(seed);
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey);
  const nonce = randomBytes(12);
  const header = encodeKeystoreHeader({
    argon2,
    salt,
    keystoreId,
    createdAtMs,
    publicKey: Buffer.from(publicKey),
    kemCiphertext: Buffer.from(cipherText),
    nonce,
  });

  const stretched = await deriveArgon2(passphrase, salt, argon2);
  const wrapKey = hkdf32(stretched, keystoreId, SCHEME.seedWrap);
  const c = createCipheriv("aes-256-gcm", wrapKey, nonce);
  c.setAAD(header);
  const sealedSeed = Buffer.concat([c.update(seed), c.final()]);
  const file = encodeKeystoreFile(header, sealedSeed, c.getAuthTag());
  const root = rootSecret(stretched, sharedSecret, keystoreId);
  wipe(seed, wrapKey, stretched, sharedSecret);
  try {
    await writeFileExclusive(path, file, KEYSTORE_FILE_MODE);
  } catch (err) {
    wipe(root);
    throw err;
  }
  return { info: { keystoreId: keystoreId.toString("hex"), createdAtMs, argon2 }, root };
}

/**
 * Opens the keystore at `path`. Fails with KeystoreMissing, KeystoreCorrupt (wrong size, bad
 * checksum, unknown version, out-of-range Argon2 parameters) or WrongPassphrase. Never writes.
 */
export async function openKeystore(path: string, passphrase: string): Promise<Keystore> {
  const { info, root } = await openKeystoreRoot(path, passphrase);
  try {
    return Keystore.fromRoot(info, root);
  } finally {
    wipe(root);
  }
}

/** `openKeystore`, returning the root; the caller wipes it. @internal — see `createKeystoreRoot`. */
export async function openKeystoreRoot(path: string, passphrase: string): Promise<KeystoreRoot> {
  const ks = await readKeystoreFile(path);
  const stretched = await deriveArgon2(passphrase, ks.salt, ks.argon2);
  const wrapKey = hkdf32(stretched, ks.keystoreId, SCHEME.seedWrap);
  const d = createDecipheriv("aes-256-gcm", wrapKey, ks.nonce);
  d.setAAD(ks.header);
  d.setAuthTag(ks.tag);
  let seed: Buffer;
  try {
    seed = Buffer.concat([d.update(ks.sealedSeed), d.final()]);
  } catch {
    wipe(stretched, wrapKey);
    throw new CryptoError(
      "WrongPassphrase",
      "wrong keystore passphrase (or the keystore header was altered)",
    );
  } finally {
    wipe(wrapKey);
  }
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  wipe(seed);
  if (!Buffer.from(publicKey).equals(ks.publicKey)) {
    wipe(stretched, secretKey);
    // Unreachable without breaking GCM: the public key is in the authenticated header.
    throw new CryptoError("KeystoreCorrupt", "keystore ML-KEM key pair is inconsistent");
  }
  const sharedSecret = ml_kem768.decapsulate(ks.kemCiphertext, secretKey);
  const root = rootSecret(stretched, sharedSecret, ks.keystoreId);
  wipe(secretKey, sharedSecret, stretched);
  return { info: infoOf(ks), root };
}

/** Reads the public header (id, creation time, Argon2 costs) without the passphrase. */
export async function inspectKeystore(path: string): Promise<KeystoreInfo> {
  return infoOf(await readKeystoreFile(path));
}

/** root = HKDF-SHA256(ikm = Argon2id output ‖ ML-KEM shared secret, salt = keystore id). */
function rootSecret(stretched: Uint8Array, sharedSecret: Uint8Array, keystoreId: Uint8Array): Buffer {
  const ikm = Buffer.concat([stretched, sharedSecret]);
  try {
    return hkdf32(ikm, keystoreId, SCHEME.root);
  } finally {
    wipe(ikm);
  }
}

async function readKeystoreFile(path: string): Promise<KeystoreFile> {
  let bytes: Buffer;
  try {
    const fh = await open(path, "r");
    try {
      // Never read more than a keystore can be: a huge file at this path is corrupt, not a reason
      // to allocate its size.
      const cap = KEYSTORE_FILE_BYTES + 1;
      const buf = Buffer.alloc(cap);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, cap - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
        if (n === cap) break;
      }
      bytes = buf.subarray(0, n);
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT") throw new CryptoError("KeystoreMissing", `no keystore at ${path}`, { cause: err });
    throw new CryptoError("Io", `cannot read keystore ${path}: ${code}`, { cause: err });
  }
  const ks = decodeKeystoreFile(bytes);
  const problem = argon2ParamsProblem(ks.argon2);
  if (problem) throw new CryptoError("KeystoreCorrupt", `keystore header is invalid: ${problem}`);
  return ks;
}

function infoOf(ks: KeystoreFile): KeystoreInfo {
  return { keystoreId: ks.keystoreId.toString("hex"), createdAtMs: ks.createdAtMs, argon2: ks.argon2 };
}

/** Best-effort zeroing; JS cannot guarantee no other copy exists, but we do not keep any. */
function wipe(...bufs: Uint8Array[]): void {
  for (const b of bufs) b.fill(0);
}
