import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CryptoError } from "./errors.js";
import {
  generateSigningKeyPair,
  loadPrivateKey,
  loadPublicKey,
  publicKeyFingerprint,
  rawPublicKey,
  saveSigningKeyPair,
  signCanonical,
  verifyCanonical,
} from "./signing.js";

const manifest = {
  format: "enigma-node-snapshot/v1",
  nodeId: 2,
  artifacts: [{ path: "manifest.db", sha256: "ab".repeat(32), bytes: 4096 }],
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "enigma-signing-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Ed25519 over canonical JSON", () => {
  it("verifies regardless of key order, and in every key form", () => {
    const pair = generateSigningKeyPair();
    const sig = signCanonical(pair.privateKeyPem, manifest);
    expect(sig).toHaveLength(64);
    const reordered = { artifacts: manifest.artifacts, nodeId: 2, format: manifest.format };
    expect(verifyCanonical(pair.publicKeyPem, reordered, sig)).toBe(true);
    expect(verifyCanonical(rawPublicKey(pair.publicKeyPem), manifest, sig.toString("base64"))).toBe(true);
    expect(verifyCanonical(pair.publicKeyPem, manifest, sig.toString("base64url"))).toBe(true);
  });

  it("rejects a tampered value, a tampered signature and the wrong key", () => {
    const pair = generateSigningKeyPair();
    const sig = signCanonical(pair.privateKeyPem, manifest);
    expect(verifyCanonical(pair.publicKeyPem, { ...manifest, nodeId: 3 }, sig)).toBe(false);
    const bad = Buffer.from(sig);
    bad[10] = (bad[10] ?? 0) ^ 1;
    expect(verifyCanonical(pair.publicKeyPem, manifest, bad)).toBe(false);
    expect(verifyCanonical(pair.publicKeyPem, manifest, sig.subarray(0, 63))).toBe(false);
    expect(verifyCanonical(pair.publicKeyPem, manifest, "!!not base64!!")).toBe(false);
    expect(verifyCanonical(generateSigningKeyPair().publicKeyPem, manifest, sig)).toBe(false);
  });

  it("refuses non-Ed25519 and malformed keys with BadKey", () => {
    expect(() =>
      signCanonical("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----", {}),
    ).toThrowError(CryptoError);
    expect(() => verifyCanonical(new Uint8Array(31), {}, new Uint8Array(64))).toThrow(/not a valid Ed25519/);
    expect(() => signCanonical(generateSigningKeyPair().privateKeyPem, { n: Number.NaN })).toThrow(
      /non-finite/,
    );
  });

  it("fingerprints are stable per key and differ between keys", () => {
    const pair = generateSigningKeyPair();
    const fp = publicKeyFingerprint(pair.publicKeyPem);
    expect(fp).toMatch(/^ed25519:[0-9a-f]{64}$/);
    expect(publicKeyFingerprint(rawPublicKey(pair.publicKeyPem))).toBe(fp);
    expect(publicKeyFingerprint(generateSigningKeyPair().publicKeyPem)).not.toBe(fp);
  });

  it("saves keys (private 0600), loads them back, and never overwrites", async () => {
    const pair = generateSigningKeyPair();
    const priv = join(dir, "node.key");
    const pub = join(dir, "node.pub");
    await saveSigningKeyPair(pair, priv, pub);
    expect((await stat(priv)).mode & 0o777).toBe(0o600);
    const sig = signCanonical(await loadPrivateKey(priv), manifest);
    expect(verifyCanonical(await loadPublicKey(pub), manifest, sig)).toBe(true);
    await expect(
      saveSigningKeyPair(generateSigningKeyPair(), priv, join(dir, "x.pub")),
    ).rejects.toMatchObject({
      code: "FileExists",
    });
    expect((await readdir(dir)).sort()).toEqual(["node.key", "node.pub"]);
    await expect(loadPublicKey(join(dir, "missing.pub"))).rejects.toMatchObject({ code: "Io" });
  });
});
