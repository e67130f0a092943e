import { CryptoError, type CryptoErrorCode } from "../errors.js";
import type { KeyProviderKind } from "./key-provider.js";

export type KeyProviderErrorCode = Extract<
  CryptoErrorCode,
  | "VaultUnreachable"
  | "PermissionDenied"
  | "SecretNotFound"
  | "SecretExists"
  | "SecretCorrupt"
  | "VaultError"
  | "KeyConflict"
  | "Unsupported"
  | "BadParams"
>;

/**
 * A key provider's expected failure. It is a CryptoError (one error family per package) that also
 * names the provider and the secret. It never carries an SDK error as `cause`: some SDK errors hold
 * the request, and the request of a write holds the secret value.
 */
export class KeyProviderError extends CryptoError {
  declare readonly code: KeyProviderErrorCode;
  readonly provider: KeyProviderKind;
  readonly secretName: string | undefined;

  constructor(
    provider: KeyProviderKind,
    code: KeyProviderErrorCode,
    secretName: string | undefined,
    message: string,
  ) {
    super(code, message);
    this.name = "KeyProviderError";
    this.provider = provider;
    this.secretName = secretName;
  }
}

export function isKeyProviderError(err: unknown, code?: KeyProviderErrorCode): err is KeyProviderError {
  return err instanceof KeyProviderError && (code === undefined || err.code === code);
}

/** What a store was doing, for messages: "reading", "creating", … */
export type VaultAction = "reading" | "creating" | "writing" | "listing" | "deleting";

/**
 * Builds the one-line message every vault failure uses, e.g.
 * `aws-secretsmanager (region eu-west-1): permission denied reading secret "enigma-current" (AccessDeniedException)`.
 * `detail` must be an error name, status or errno code — never a message body from the service.
 */
export function vaultError(
  provider: KeyProviderKind,
  where: string,
  code: KeyProviderErrorCode,
  action: VaultAction,
  secretName: string | undefined,
  detail: string,
): KeyProviderError {
  const subject = secretName === undefined ? "secrets" : `secret "${secretName}"`;
  const what: Record<KeyProviderErrorCode, string> = {
    VaultUnreachable: `vault unreachable ${action} ${subject}`,
    PermissionDenied: `permission denied ${action} ${subject}`,
    SecretNotFound: `${subject} not found`,
    SecretExists: `${subject} already exists`,
    SecretCorrupt: `${subject} is corrupt`,
    VaultError: `unexpected vault response ${action} ${subject}`,
    KeyConflict: `conflict ${action} ${subject}`,
    Unsupported: `unsupported operation ${action} ${subject}`,
    BadParams: `invalid request ${action} ${subject}`,
  };
  return new KeyProviderError(
    provider,
    code,
    secretName,
    `${provider} (${where}): ${what[code]} (${detail})`,
  );
}

const NETWORK_ERRNO = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The errno-style code of a network failure anywhere in `err`'s cause chain, or undefined. */
export function networkErrno(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === "object" && e !== null; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_ERRNO.has(code)) return code;
    const errno = (e as { errno?: unknown }).errno;
    if (typeof errno === "string" && NETWORK_ERRNO.has(errno)) return errno;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** `err.name`, if it is a short identifier (never a message). */
export function errorName(err: unknown): string {
  const name = typeof err === "object" && err !== null ? (err as { name?: unknown }).name : undefined;
  return typeof name === "string" && /^[A-Za-z0-9_.:-]{1,80}$/.test(name) ? name : "Error";
}
