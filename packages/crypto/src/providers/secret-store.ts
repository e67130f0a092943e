/**
 * The narrow seam each cloud adapter implements (aws-secrets-manager.ts, azure-key-vault.ts,
 * gcp-secret-manager.ts); vault-key-provider.ts holds all the key logic on top of it. Every method
 * fails with a KeyProviderError naming the provider and the secret; values never appear in errors.
 */
export interface StoredSecret {
  readonly value: string;
  /** The vault's own version id (AWS VersionId, Azure version, GCP version number). */
  readonly version: string;
}

export interface SecretStore {
  /** Where, for messages: "region eu-west-1", "https://x.vault.azure.net", "project p". */
  readonly where: string;
  /**
   * Creates a secret that must not exist yet and returns its first version. SecretExists if the
   * name is taken (also when it is deleted-but-recoverable). Azure has no create-only call: its
   * adapter checks first, which leaves a race window (DESIGN.md).
   */
  create(name: string, value: string): Promise<string>;
  /** Adds a version to an existing secret and returns it. SecretNotFound if there is none. */
  put(name: string, value: string): Promise<string>;
  /** The given version, or the current one. SecretNotFound if either is missing. */
  read(name: string, version?: string): Promise<StoredSecret>;
  /** Names that start with `prefix` (bounded: at most MAX_LISTED_SECRETS). */
  list(prefix: string): Promise<string[]>;
  /** Deletes a secret and all its versions, skipping recovery windows where the API allows. */
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}

/** A limit on listing: pages are read until this many matching names, then listing stops. */
export const MAX_LISTED_SECRETS = 1000;
/** Per-request limits every adapter applies unless told otherwise. */
export const DEFAULT_VAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_VAULT_MAX_RETRIES = 2;

export interface VaultClientLimits {
  /** Per-request timeout. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt, for the SDK's own retry policy. */
  readonly maxRetries?: number;
}
