/**
 * Each node's own Ed25519 snapshot-signing key: <data dir>/node-signing.key (PKCS#8 PEM, 0600) and
 * node-signing.key.pub (SPKI PEM). Created on first use (and by `enigma serve` on first start);
 * never overwritten. `--sign-with` uses a separate operator key instead.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  generateSigningKeyPair,
  isCryptoError,
  loadPrivateKey,
  loadPublicKey,
  saveSigningKeyPair,
} from "@enigma/crypto";

export const NODE_SIGNING_KEY_FILE = "node-signing.key";
export const NODE_SIGNING_PUBLIC_KEY_FILE = "node-signing.key.pub";

export interface NodeSigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly privateKeyPath: string;
  readonly publicKeyPath: string;
  readonly created: boolean;
}

export function nodeSigningKeyPaths(dataDir: string): { privateKeyPath: string; publicKeyPath: string } {
  return {
    privateKeyPath: join(dataDir, NODE_SIGNING_KEY_FILE),
    publicKeyPath: join(dataDir, NODE_SIGNING_PUBLIC_KEY_FILE),
  };
}

/** Loads the node's key pair, creating it when absent. Two racing creators: one wins, both load it. */
export async function ensureNodeSigningKey(dataDir: string): Promise<NodeSigningKey> {
  const { privateKeyPath, publicKeyPath } = nodeSigningKeyPaths(dataDir);
  let created = false;
  if (!existsSync(privateKeyPath)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      await saveSigningKeyPair(generateSigningKeyPair(), privateKeyPath, publicKeyPath);
      created = true;
    } catch (err) {
      if (!isCryptoError(err, "FileExists")) throw err;
    }
  }
  const privateKey = await loadPrivateKey(privateKeyPath);
  const publicKey = createPublicKey(privateKey);
  if (!existsSync(publicKeyPath)) {
    // A crash between the two writes of saveSigningKeyPair: derive the public half again.
    writeFileSync(publicKeyPath, publicKey.export({ format: "pem", type: "spki" }).toString(), {
      mode: 0o644,
      flag: "wx",
    });
  }
  return { privateKey, publicKey, privateKeyPath, publicKeyPath, created };
}

/** The node's public key if it has one (verification never creates a key). */
export async function loadNodePublicKey(dataDir: string): Promise<KeyObject | undefined> {
  const { privateKeyPath, publicKeyPath } = nodeSigningKeyPaths(dataDir);
  if (existsSync(publicKeyPath)) return loadPublicKey(publicKeyPath);
  if (existsSync(privateKeyPath)) return createPublicKey(await loadPrivateKey(privateKeyPath));
  return undefined;
}
