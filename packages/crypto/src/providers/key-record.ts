/**
 * Provider keys: what a key provider stores, and how a root is computed from it.
 *
 *   hybrid (made by a vault provider):
 *     record = { ML-KEM-768 seed, public key, ciphertext encapsulated to it, rootInput (32 random) }
 *     root_N = HKDF(rootInput ‖ ML-KEM.Decaps(sk(seed), ciphertext), salt = keystoreId ‖ u32be(N),
 *                   "enigma-ha/v1/provider-key-root")
 *   keystore-v1 (a local v1 keystore file, or one migrated into a vault: chunk names stay the same):
 *     record = { root } — the keystore's root, HKDF(Argon2id ‖ ML-KEM ss); never the Argon2 output,
 *     the salt or the passphrase (DESIGN.md explains why this root is not a passphrase verifier)
 *
 * The identity keys (nameKey, chainKey, credKey, clusterSecretSeed) come from root_1 only, exactly
 * as Keystore derives them from its root; every provider key N has its own kek_N = HKDF(root_N,
 * "kek"). Keys after the first carry an HMAC under a key derived from root_1, so a principal that
 * can write the vault but not read it cannot slip in a key of its own choosing.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { hkdf32, SCHEME } from "../hkdf.js";
import {
  KEYSTORE_ID_BYTES,
  ML_KEM_CIPHERTEXT_BYTES,
  ML_KEM_PUBLIC_KEY_BYTES,
  ML_KEM_SEED_BYTES,
} from "../keystore-format.js";
import type { ProviderKeyDerivation } from "./key-provider.js";

export const ROOT_INPUT_BYTES = 32;
export const KEY_CHECK_BYTES = 16;
/** A limit on everything: more provider keys than this is a bug, not a rotation schedule. */
export const MAX_PROVIDER_KEYS = 256;
export const MAX_PROVIDER_KEY_ID = 0xffff_ffff;

interface RecordBase {
  /** 32 hex chars (16 bytes); the same in every record of a key set. */
  readonly keystoreId: string;
  readonly keyId: number;
  readonly createdAtMs: number;
  readonly derivation: ProviderKeyDerivation;
  /** Hex, KEY_CHECK_BYTES: HKDF(root_N, "provider-key-check"). */
  readonly keyCheck: string;
  /** Hex HMAC-SHA256 under the identity's auth key; present iff keyId > 1. */
  readonly auth?: string;
}

export interface HybridKeyRecord extends RecordBase {
  readonly derivation: "ml-kem-768-hybrid";
  readonly mlKemSeed: Buffer;
  readonly mlKemPublicKey: Buffer;
  readonly mlKemCiphertext: Buffer;
  readonly rootInput: Buffer;
}

export interface KeystoreV1KeyRecord extends RecordBase {
  readonly derivation: "keystore-v1";
  readonly root: Buffer;
}

export type KeyRecord = HybridKeyRecord | KeystoreV1KeyRecord;

/** A whole key set: what migration copies, and what a key-set file seals. Secret. */
export interface KeySet {
  readonly keystoreId: string;
  readonly currentKeyId: number;
  /** Ascending by keyId, starting at 1 (gaps are ids skipped past orphaned secrets). */
  readonly records: readonly KeyRecord[];
}

/** Thrown by the pure functions here; providers turn it into SecretCorrupt naming the secret. */
export class KeyRecordInvalid extends Error {
  override readonly name = "KeyRecordInvalid";
}

export function assertProviderKeyId(keyId: number): void {
  if (!Number.isInteger(keyId) || keyId < 1 || keyId > MAX_PROVIDER_KEY_ID)
    throw new KeyRecordInvalid(
      `provider key id must be an integer in [1, ${MAX_PROVIDER_KEY_ID}], got ${keyId}`,
    );
}

/** A fresh hybrid record (no auth yet: `authenticate` adds it once the identity root is known). */
export function generateHybridRecord(
  keystoreId: string,
  keyId: number,
  createdAtMs: number,
): HybridKeyRecord {
  assertProviderKeyId(keyId);
  const mlKemSeed = randomBytes(ML_KEM_SEED_BYTES);
  const { publicKey } = ml_kem768.keygen(mlKemSeed);
  const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey);
  const rootInput = randomBytes(ROOT_INPUT_BYTES);
  const root = hybridRoot(rootInput, sharedSecret, keystoreId, keyId);
  sharedSecret.fill(0);
  try {
    return {
      keystoreId,
      keyId,
      createdAtMs,
      derivation: "ml-kem-768-hybrid",
      mlKemSeed,
      mlKemPublicKey: Buffer.from(publicKey),
      mlKemCiphertext: Buffer.from(cipherText),
      rootInput,
      keyCheck: keyCheckOf(root),
    };
  } finally {
    root.fill(0);
  }
}

/** The record for a local v1 keystore's root (always provider key 1): how it moves into a vault. */
export function keystoreV1Record(
  keystoreId: string,
  root: Uint8Array,
  createdAtMs: number,
): KeystoreV1KeyRecord {
  if (root.length !== 32) throw new Error("keystore root must be 32 bytes");
  const copy = Buffer.from(root);
  return {
    keystoreId,
    keyId: 1,
    createdAtMs,
    derivation: "keystore-v1",
    root: copy,
    keyCheck: keyCheckOf(copy),
  };
}

/**
 * root_N of a record, after checking it: sizes, the ML-KEM key pair, and the key check value.
 * Throws KeyRecordInvalid. The caller wipes the result.
 */
export function recordRoot(r: KeyRecord): Buffer {
  assertProviderKeyId(r.keyId);
  let root: Buffer;
  if (r.derivation === "keystore-v1") {
    if (r.keyId !== 1) throw new KeyRecordInvalid("a keystore-v1 root can only be provider key 1");
    if (r.root.length !== 32) throw new KeyRecordInvalid("keystore-v1 root must be 32 bytes");
    root = Buffer.from(r.root);
  } else {
    if (r.mlKemSeed.length !== ML_KEM_SEED_BYTES)
      throw new KeyRecordInvalid("ML-KEM seed has the wrong size");
    if (r.mlKemPublicKey.length !== ML_KEM_PUBLIC_KEY_BYTES)
      throw new KeyRecordInvalid("ML-KEM public key has the wrong size");
    if (r.mlKemCiphertext.length !== ML_KEM_CIPHERTEXT_BYTES)
      throw new KeyRecordInvalid("ML-KEM ciphertext has the wrong size");
    if (r.rootInput.length !== ROOT_INPUT_BYTES) throw new KeyRecordInvalid("root input has the wrong size");
    const { publicKey, secretKey } = ml_kem768.keygen(r.mlKemSeed);
    try {
      if (!Buffer.from(publicKey).equals(r.mlKemPublicKey))
        throw new KeyRecordInvalid("ML-KEM seed does not match the stored public key");
      const ss = ml_kem768.decapsulate(r.mlKemCiphertext, secretKey);
      root = hybridRoot(r.rootInput, ss, r.keystoreId, r.keyId);
      ss.fill(0);
    } finally {
      secretKey.fill(0);
    }
  }
  const expected = Buffer.from(r.keyCheck, "hex");
  const actual = Buffer.from(keyCheckOf(root), "hex");
  if (expected.length !== KEY_CHECK_BYTES || !timingSafeEqual(expected, actual)) {
    root.fill(0);
    throw new KeyRecordInvalid("key check value does not match (damaged record, or not this key's material)");
  }
  return root;
}

/** HMAC over the record's canonical body (codec), keyed from the identity root. */
export function recordAuth(authKey: Uint8Array, canonicalBody: string): string {
  return createHmac("sha256", authKey).update(canonicalBody, "utf8").digest("hex");
}

export function verifyRecordAuth(
  authKey: Uint8Array,
  canonicalBody: string,
  auth: string | undefined,
): boolean {
  if (auth === undefined || !/^[0-9a-f]{64}$/.test(auth)) return false;
  return timingSafeEqual(Buffer.from(recordAuth(authKey, canonicalBody), "hex"), Buffer.from(auth, "hex"));
}

/** The auth key, derived from root_1. */
export function authKeyOf(identityRoot: Uint8Array): Buffer {
  return hkdf32(identityRoot, Buffer.alloc(0), SCHEME.providerKeyAuth);
}

export function keystoreIdBytes(keystoreId: string): Buffer {
  if (!new RegExp(`^[0-9a-f]{${KEYSTORE_ID_BYTES * 2}}$`).test(keystoreId))
    throw new KeyRecordInvalid(`keystore id must be ${KEYSTORE_ID_BYTES * 2} lowercase hex chars`);
  return Buffer.from(keystoreId, "hex");
}

export function newKeystoreId(): string {
  return randomBytes(KEYSTORE_ID_BYTES).toString("hex");
}

/** Best-effort zeroing of every secret buffer in a key set (after migration). */
export function wipeKeySet(set: KeySet): void {
  for (const r of set.records) wipeRecord(r);
}

export function wipeRecord(r: KeyRecord): void {
  if (r.derivation === "keystore-v1") r.root.fill(0);
  else {
    r.mlKemSeed.fill(0);
    r.rootInput.fill(0);
  }
}

/** Checks the shape of a key set: one keystore id, ids ascending from 1, current among them. */
export function keySetProblem(set: KeySet): string | undefined {
  if (set.records.length === 0) return "key set is empty";
  if (set.records.length > MAX_PROVIDER_KEYS) return `key set has more than ${MAX_PROVIDER_KEYS} keys`;
  let previous = 0;
  for (const r of set.records) {
    if (r.keystoreId !== set.keystoreId) return `provider key ${r.keyId} belongs to keystore ${r.keystoreId}`;
    if (r.keyId <= previous || (previous === 0 && r.keyId !== 1))
      return `provider key ids must ascend from 1, found ${r.keyId} after ${previous}`;
    previous = r.keyId;
    if (r.derivation === "keystore-v1" && r.keyId !== 1)
      return "only provider key 1 may be a keystore-v1 root";
    if (r.keyId > 1 !== (r.auth !== undefined)) return `provider key ${r.keyId} auth is missing or misplaced`;
  }
  if (!set.records.some((r) => r.keyId === set.currentKeyId))
    return `current key ${set.currentKeyId} is not in the set`;
  return undefined;
}

function hybridRoot(rootInput: Uint8Array, ss: Uint8Array, keystoreId: string, keyId: number): Buffer {
  const salt = Buffer.alloc(KEYSTORE_ID_BYTES + 4);
  keystoreIdBytes(keystoreId).copy(salt, 0);
  salt.writeUInt32BE(keyId, KEYSTORE_ID_BYTES);
  const ikm = Buffer.concat([rootInput, ss]);
  try {
    return hkdf32(ikm, salt, SCHEME.providerKeyRoot);
  } finally {
    ikm.fill(0);
  }
}

function keyCheckOf(root: Uint8Array): string {
  const full = hkdf32(root, Buffer.alloc(0), SCHEME.providerKeyCheck);
  return full.subarray(0, KEY_CHECK_BYTES).toString("hex");
}
