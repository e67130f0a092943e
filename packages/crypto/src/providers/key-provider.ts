/**
 * The seam between "where key material lives" and everything that uses it (ARCHITECTURE §6). The
 * local keystore file and the three cloud vaults implement the same interface; what they hold is a
 * key set (key-record.ts), and what they hand out is a `ProviderKeys` (a `KeyMaterial`).
 */
import type { KeyMaterial } from "../keystore.js";
import type { KeySet } from "./key-record.js";

export const KEY_PROVIDER_KINDS = [
  "local",
  "aws-secretsmanager",
  "azure-keyvault",
  "gcp-secretmanager",
] as const;
export type KeyProviderKind = (typeof KEY_PROVIDER_KINDS)[number];

/** How a provider key's root was made (DESIGN.md "Key providers"). */
export type ProviderKeyDerivation = "ml-kem-768-hybrid" | "keystore-v1";

/** Public facts about one provider key; nothing here is secret. */
export interface ProviderKeyInfo {
  /** Provider key id: 1, 2, … in rotation order. Not a data-key id (DESIGN.md). */
  readonly keyId: number;
  readonly createdAtMs: number;
  readonly current: boolean;
  readonly derivation: ProviderKeyDerivation;
  /** Where it lives: the vault secret name (`{prefix}-{keyId}`) or the keystore file path. */
  readonly secretName: string;
  /** The vault's version id of that secret, pinned by the pointer; "file" for the local keystore. */
  readonly version: string;
}

/**
 * Key material as handed to the engine: the identity keys (nameKey, chainKey, credKey,
 * clusterSecretSeed — the same on every node and for the life of the cluster) and a data-key
 * wrapper that wraps under the current provider key and unwraps under any loaded one. The buffers
 * are zeroed by `KeyProvider.close()`: close the provider after everything that uses them.
 */
export interface ProviderKeys extends KeyMaterial {
  readonly currentKeyId: number;
  /** Loaded provider key ids, ascending. */
  keyIds(): number[];
  /** The provider key a wrapped data key unwraps under, or undefined (tries each; for `keys list`). */
  providerKeyOf(dataKeyId: number, wrapped: Uint8Array | string): number | undefined;
}

export interface KeyProviderCreateOptions {
  /** Recorded in the first key; defaults to Date.now(). */
  readonly nowMs?: number;
}

/**
 * A source of key material. Every method fails with a `KeyProviderError` (a `CryptoError`) whose
 * code is one of VaultUnreachable, PermissionDenied, SecretNotFound, SecretExists, SecretCorrupt,
 * VaultError, KeyConflict, Unsupported or BadParams, and whose message names the provider and the
 * secret (never a secret value); the local provider also raises the keystore codes
 * (KeystoreMissing, WrongPassphrase, KeystoreCorrupt, FileExists, Io).
 */
export interface KeyProvider {
  readonly kind: KeyProviderKind;
  /** Where keys live, for messages and `keys show-current`: no secrets. */
  readonly description: string;
  /** Whether `rotate` can add a provider key (vaults: yes; a local keystore file: no). */
  readonly canRotate: boolean;
  /**
   * Bootstraps a new key set (`enigma init`): fails SecretExists / FileExists if one exists, so an
   * existing cluster's keys are never replaced.
   */
  create(opts?: KeyProviderCreateOptions): Promise<ProviderKeys>;
  /** Loads every provider key (cached: later calls return the same object). */
  open(): Promise<ProviderKeys>;
  /** Re-reads the provider for keys another node added by rotation; updates the opened keys in place. */
  refresh(): Promise<ProviderKeys>;
  /** Every provider key, ascending by id. */
  list(): Promise<ProviderKeyInfo[]>;
  showCurrent(): Promise<ProviderKeyInfo>;
  /**
   * Adds a provider key and makes it current (new data keys are wrapped under it; old ones stay
   * readable). Run it on one node at a time (DESIGN.md: the lead serializes it on the Raft leader).
   */
  rotate(opts?: KeyProviderCreateOptions): Promise<ProviderKeyInfo>;
  /** The whole key set, secret: for migration only; wipe it with `wipeKeySet` afterwards. */
  exportKeySet(): Promise<KeySet>;
  /** Stores a key set exported elsewhere into an empty provider (migration target). */
  importKeySet(set: KeySet): Promise<void>;
  /** Zeroes the cached key material and releases the SDK client. Idempotent. */
  close(): Promise<void>;
}
