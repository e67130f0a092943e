import { hkdfSync } from "node:crypto";

/** Every HKDF info string and AAD label of the scheme, in one place so none is reused by accident. */
export const SCHEME = {
  root: "enigma-ha/v1/root",
  seedWrap: "enigma-ha/v1/keystore-seed-wrap",
  kek: "enigma-ha/v1/kek",
  nameKey: "enigma-ha/v1/name-key",
  chainKey: "enigma-ha/v1/chain-key",
  credKey: "enigma-ha/v1/cred-key",
  clusterSecretSeed: "enigma-ha/v1/cluster-secret-seed",
  dataKeyAad: "enigma-ha/v1/data-key",
  credentialAad: "enigma-ha/v1/credential",
  chainInit: "enigma-ha/v1/chain-init",
  /** Root of a vault-held provider key: HKDF(rootInput ‖ ML-KEM ss) (providers/key-record.ts). */
  providerKeyRoot: "enigma-ha/v1/provider-key-root",
  /** 16-byte check value stored next to a provider key, to detect a damaged or foreign record. */
  providerKeyCheck: "enigma-ha/v1/provider-key-check",
  /** MAC key (from the identity root) authenticating provider keys after the first. */
  providerKeyAuth: "enigma-ha/v1/provider-key-auth",
  /** Wraps the key set in a passphrase-protected key-set file (format v2, providers/keyset-file.ts). */
  keySetFileWrap: "enigma-ha/v2/keyset-file-wrap",
} as const;

export const DERIVED_KEY_BYTES = 32;

/** HKDF-SHA256 → 32 bytes as a Buffer. */
export function hkdf32(ikm: Uint8Array, salt: Uint8Array, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", ikm, salt, info, DERIVED_KEY_BYTES));
}
