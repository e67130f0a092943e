export type { AgeKeyPair } from "./age.js";
export { ageDecrypt, ageDecryptStream, ageEncrypt, ageEncryptStream, generateAgeKeyPair } from "./age.js";
export type { Argon2Params } from "./argon2-params.js";
export { ARGON2_LIMITS, DEFAULT_ARGON2_PARAMS } from "./argon2-params.js";
export { canonicalJson } from "./canonical-json.js";
export type { ChainLink } from "./chain.js";
export {
  CHAIN_VALUE_BYTES,
  chainEquals,
  chainFold,
  chainInit,
  chainStep,
  createSha3_256,
  sha3_256,
} from "./chain.js";
export type { CredentialKey } from "./credentials.js";
export {
  CREDENTIAL_PREFIX,
  decryptCredential,
  encryptCredential,
  isEncryptedCredential,
  MAX_CREDENTIAL_BYTES,
} from "./credentials.js";
export { DATA_KEY_BYTES, MAX_KEY_ID, WRAPPED_DATA_KEY_BYTES } from "./data-keys.js";
export type { CryptoErrorCode } from "./errors.js";
export { CryptoError, isCryptoError } from "./errors.js";
export type { CurrentDataKey } from "./keyring.js";
export { Keyring } from "./keyring.js";
export type { CreateKeystoreOptions, KeyMaterial, KeystoreInfo } from "./keystore.js";
export { createKeystore, inspectKeystore, KEYSTORE_FILE_MODE, Keystore, openKeystore } from "./keystore.js";
export { KEYSTORE_FILE_BYTES } from "./keystore-format.js";
export type { AwsSecretsManagerProviderOptions } from "./providers/aws-secrets-manager.js";
export { AwsSecretsManagerProvider } from "./providers/aws-secrets-manager.js";
export type { AzureKeyVaultProviderOptions } from "./providers/azure-key-vault.js";
export { AzureKeyVaultProvider } from "./providers/azure-key-vault.js";
export type { GcpSecretManagerProviderOptions } from "./providers/gcp-secret-manager.js";
export { GcpSecretManagerProvider } from "./providers/gcp-secret-manager.js";
export type {
  KeyProvider,
  KeyProviderCreateOptions,
  KeyProviderKind,
  ProviderKeyDerivation,
  ProviderKeyInfo,
  ProviderKeys,
} from "./providers/key-provider.js";
export { KEY_PROVIDER_KINDS } from "./providers/key-provider.js";
export type { KeySet } from "./providers/key-record.js";
export { wipeKeySet } from "./providers/key-record.js";
export type { LocalKeystoreProviderOptions } from "./providers/local-keystore-provider.js";
export { LocalKeystoreProvider } from "./providers/local-keystore-provider.js";
export type { MigrationResult } from "./providers/migrate.js";
export { migrateKeySet } from "./providers/migrate.js";
export type { KeyProviderSettings, OpenKeyProviderOptions } from "./providers/open-key-provider.js";
export { KEY_PROVIDER_ENV, openKeyProvider } from "./providers/open-key-provider.js";
export type { KeyProviderErrorCode } from "./providers/provider-error.js";
export { isKeyProviderError, KeyProviderError } from "./providers/provider-error.js";
export type { VaultClientLimits } from "./providers/secret-store.js";
export {
  DEFAULT_SECRET_PREFIX,
  secretPrefixProblem,
  VaultKeyProvider,
} from "./providers/vault-key-provider.js";
export type { OpenedChunk, SealErrorCode, SealedHeader, SealInput } from "./seal.js";
export {
  chunkNameTag,
  FLAG_COMPRESSED,
  GCM_TAG_BYTES,
  openChunk,
  parseSealedHeader,
  SEAL_OVERHEAD_BYTES,
  SEALED_HEADER_BYTES,
  SEALED_MAGIC,
  SEALED_VERSION,
  SealError,
  sealChunk,
} from "./seal.js";
export type { PrivateKeyInput, PublicKeyInput, SigningKeyPair } from "./signing.js";
export {
  generateSigningKeyPair,
  loadPrivateKey,
  loadPublicKey,
  publicKeyFingerprint,
  rawPublicKey,
  saveSigningKeyPair,
  signCanonical,
  verifyCanonical,
} from "./signing.js";
