/**
 * Which key a snapshot's signature is checked against, and why (ARCHITECTURE §7):
 *   1. a trusted-keys list was given → the signer must be on it ("trusted-keys");
 *   2. else the signer is this node's own key → "local-node-key";
 *   3. else the key manifest.json declares → "declared-key": proves the snapshot is intact and was
 *      signed by whoever holds that key, NOT who that is. Reported as such, never silently.
 *
 * The trusted-keys file is a JSON array; each entry is a public key as SPKI PEM, base64 or hex of
 * the raw 32 bytes, an "ed25519:<hex>" fingerprint, or {"publicKey": <one of those>, "name": "…"}.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { type PublicKeyInput, publicKeyFingerprint } from "@enigma/crypto";
import { SnapshotError } from "./errors.js";
import type { SnapshotSigner } from "./format.js";

export const MAX_TRUSTED_KEYS_FILE_BYTES = 1024 * 1024;
export const MAX_TRUSTED_KEYS = 1000;

export interface TrustedKey {
  readonly fingerprint: string;
  readonly name?: string;
}

export type TrustSource = "trusted-keys" | "local-node-key" | "declared-key";

export interface TrustDecision {
  readonly source: TrustSource;
  /** Fingerprint of the key the signature is checked against (always the declared signer). */
  readonly fingerprint: string;
  readonly publicKey: KeyObject;
  /** False only when a trusted-keys list was given and the signer is not on it. */
  readonly trusted: boolean;
  /** One sentence for the operator: which key, and why it was chosen. */
  readonly explanation: string;
}

/** Parses a trusted-keys list (the JSON text of the file). */
export function parseTrustedKeys(text: string, source = "trusted-keys list"): TrustedKey[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad(`${source} is not valid JSON (expected an array of public keys)`);
  }
  if (!Array.isArray(value)) throw bad(`${source} must be a JSON array of public keys`);
  if (value.length > MAX_TRUSTED_KEYS) throw bad(`${source} has more than ${MAX_TRUSTED_KEYS} keys`);
  return value.map((entry: unknown, i) => {
    const where = `${source} entry #${i + 1}`;
    if (typeof entry === "string") return { fingerprint: fingerprintOf(entry, where) };
    if (
      typeof entry === "object" &&
      entry !== null &&
      typeof (entry as { publicKey?: unknown }).publicKey === "string"
    ) {
      const e = entry as { publicKey: string; name?: unknown };
      const fp = fingerprintOf(e.publicKey, where);
      return typeof e.name === "string" ? { fingerprint: fp, name: e.name } : { fingerprint: fp };
    }
    throw bad(`${where}: expected a public key string or {"publicKey": …}`);
  });
}

export function loadTrustedKeys(path: string): TrustedKey[] {
  let text: string;
  try {
    if (statSync(path).size > MAX_TRUSTED_KEYS_FILE_BYTES)
      throw bad(`trusted-keys file ${path} is larger than ${MAX_TRUSTED_KEYS_FILE_BYTES} bytes`);
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof SnapshotError) throw err;
    throw new SnapshotError(
      "BadArgument",
      `cannot read trusted-keys file ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return parseTrustedKeys(text, `trusted-keys file ${path}`);
}

/** Decides which key to verify with; see the module comment for the order. */
export function decideTrust(
  signer: SnapshotSigner,
  opts: { readonly trustedKeys?: readonly TrustedKey[]; readonly localKey?: PublicKeyInput },
): TrustDecision {
  const publicKey = declaredKey(signer);
  const fingerprint = publicKeyFingerprint(publicKey);
  if (fingerprint !== signer.fingerprint)
    throw new SnapshotError(
      "FormatInvalid",
      "manifest.json: the signer fingerprint does not match its public key",
    );
  if (opts.trustedKeys !== undefined) {
    const match = opts.trustedKeys.find((k) => k.fingerprint === fingerprint);
    return {
      source: "trusted-keys",
      fingerprint,
      publicKey,
      trusted: match !== undefined,
      explanation: match
        ? `signer ${fingerprint}${match.name ? ` (${match.name})` : ""} is in the trusted-keys list`
        : `signer ${fingerprint} is NOT in the trusted-keys list (${opts.trustedKeys.length} keys)`,
    };
  }
  if (opts.localKey !== undefined && publicKeyFingerprint(opts.localKey) === fingerprint) {
    return {
      source: "local-node-key",
      fingerprint,
      publicKey,
      trusted: true,
      explanation: `signer ${fingerprint} is this node's own signing key (no trusted-keys list given)`,
    };
  }
  return {
    source: "declared-key",
    fingerprint,
    publicKey,
    trusted: true,
    explanation:
      `no trusted-keys list given and the signer is not this node's key: verified against the key ` +
      `the snapshot declares (${fingerprint}), which proves it is intact, NOT who made it; ` +
      `pass a trusted-keys list to check its origin`,
  };
}

function declaredKey(signer: SnapshotSigner): KeyObject {
  try {
    return createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(signer.publicKey, "base64").toString("base64url") },
      format: "jwk",
    });
  } catch (err) {
    throw new SnapshotError("FormatInvalid", "manifest.json: the signer public key is not an Ed25519 key", {
      cause: err,
    });
  }
}

function fingerprintOf(text: string, where: string): string {
  const s = text.trim();
  if (/^ed25519:[0-9a-f]{64}$/.test(s)) return s;
  try {
    if (s.startsWith("-----BEGIN")) return publicKeyFingerprint(s);
    if (/^[0-9a-fA-F]{64}$/.test(s)) return publicKeyFingerprint(Buffer.from(s, "hex"));
    if (/^[A-Za-z0-9+/_-]{43}=?$/.test(s))
      return publicKeyFingerprint(Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
  } catch {
    // fall through to the message below
  }
  throw bad(`${where}: not an Ed25519 public key (PEM, base64 or hex of 32 bytes, or ed25519:<sha256 hex>)`);
}

function bad(message: string): SnapshotError {
  return new SnapshotError("BadArgument", message);
}
