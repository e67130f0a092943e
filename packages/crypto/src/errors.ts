import { SealError, type SealErrorCode } from "./seal.js";

/**
 * Every expected failure of this package, as a closed union. Invariant violations (a caller passing
 * a 31-byte data key) are plain `Error`s; these codes are outcomes an operator or a caller handles.
 */
export type CryptoErrorCode =
  | "KeystoreMissing"
  | "FileExists"
  | "KeystoreCorrupt"
  | "WrongPassphrase"
  | "BadParams"
  | "Io"
  | "UnwrapFailed"
  | "UnknownKey"
  | "KeyConflict"
  | "CredentialInvalid"
  | "CredentialAuthFailed"
  | "BadKey"
  | "NotCanonical"
  | "AgeFailed"
  | "AgeDecryptFailed"
  // Key providers (providers/): a vault that cannot be reached, refuses us, lacks a secret, already
  // has one, holds one we cannot parse or verify, answers unexpectedly, or cannot do what was asked.
  | "VaultUnreachable"
  | "PermissionDenied"
  | "SecretNotFound"
  | "SecretExists"
  | "SecretCorrupt"
  | "VaultError"
  | "Unsupported"
  | SealErrorCode
  | "Internal";

/**
 * The package's one error class. Messages are one line and never contain key material,
 * passphrases or plaintext credentials.
 */
export class CryptoError extends Error {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CryptoError";
    this.code = code;
  }

  /** Normalizes anything thrown into a CryptoError (SealError codes are kept as they are). */
  static from(err: unknown): CryptoError {
    if (err instanceof CryptoError) return err;
    if (err instanceof SealError) return new CryptoError(err.code, err.message, { cause: err });
    if (err instanceof Error) return new CryptoError("Internal", err.message, { cause: err });
    return new CryptoError("Internal", `non-error thrown: ${typeof err}`, { cause: err });
  }
}

export function isCryptoError(err: unknown, code?: CryptoErrorCode): err is CryptoError {
  return err instanceof CryptoError && (code === undefined || err.code === code);
}
