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
