import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decryptCredential, encryptCredential, isEncryptedCredential } from "./credentials.js";
import { CryptoError } from "./errors.js";

const keys = { credKey: randomBytes(32) };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CryptoError ? err.code : "not a CryptoError";
  }
  return undefined;
}

describe("enc: credentials", () => {
  it("round-trips, with a fresh nonce each time", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY ünïcødé";
    const a = encryptCredential(keys, secret);
    const b = encryptCredential(keys, secret);
    expect(a).toMatch(/^enc:v1:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("wJalr");
    expect(decryptCredential(keys, a)).toBe(secret);
    expect(decryptCredential(keys, b)).toBe(secret);
    expect(decryptCredential(keys, encryptCredential(keys, ""))).toBe("");
  });

  it("detects tampering and the wrong keystore, without echoing the token", () => {
    const token = encryptCredential(keys, "hunter2");
    const raw = Buffer.from(token.slice("enc:v1:".length), "base64url");
    for (const i of [0, 12, raw.length - 1]) {
      const t = Buffer.from(raw);
      t[i] = (t[i] ?? 0) ^ 1;
      expect(codeOf(() => decryptCredential(keys, `enc:v1:${t.toString("base64url")}`))).toBe(
        "CredentialAuthFailed",
      );
    }
    expect(codeOf(() => decryptCredential({ credKey: randomBytes(32) }, token))).toBe("CredentialAuthFailed");
    try {
      decryptCredential({ credKey: randomBytes(32) }, token);
    } catch (err) {
      expect((err as Error).message).not.toContain(token.slice(7));
    }
  });

  it("rejects malformed and unsupported tokens", () => {
    expect(codeOf(() => decryptCredential(keys, "plain"))).toBe("CredentialInvalid");
    expect(codeOf(() => decryptCredential(keys, "enc:v2:AAAA"))).toBe("CredentialInvalid");
    expect(codeOf(() => decryptCredential(keys, "enc:v1:"))).toBe("CredentialInvalid");
    expect(codeOf(() => decryptCredential(keys, "enc:v1:AAAA"))).toBe("CredentialInvalid");
    expect(codeOf(() => decryptCredential(keys, "enc:v1:not base64!"))).toBe("CredentialInvalid");
    expect(codeOf(() => encryptCredential(keys, "x".repeat(64 * 1024 + 1)))).toBe("BadParams");
  });

  it("isEncryptedCredential treats every enc: value as encrypted", () => {
    expect(isEncryptedCredential("enc:v1:abc")).toBe(true);
    expect(isEncryptedCredential("enc:v9:abc")).toBe(true);
    expect(isEncryptedCredential("secret")).toBe(false);
    expect(isEncryptedCredential(undefined)).toBe(false);
  });
});
