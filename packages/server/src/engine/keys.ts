/**
 * Data keys live wrapped in the replicated manifest (AddDataKey), so every node holding the keystore
 * and passphrase can unwrap them, and a rotation on any node is seen by all (ARCHITECTURE §6).
 */
import type { Keystore } from "@enigma/crypto";
import type { Manifest } from "@enigma/manifest";
import type { Committer } from "./committer.js";
import { proposeOrThrow } from "./committer.js";

export interface DataKey {
  readonly keyId: number;
  readonly key: Uint8Array;
}

export interface Keyring {
  /** The key new chunks are sealed with (highest key id). */
  current(): DataKey;
  /** Any key by id, for opening chunks sealed before a rotation. */
  keyFor(keyId: number): Uint8Array | undefined;
  readonly nameKey: Uint8Array;
  readonly chainKey: Uint8Array;
  /** Re-reads keys from the manifest (after a rotation elsewhere). */
  refresh(): void;
  ids(): number[];
}

export class ManifestKeyring implements Keyring {
  readonly #keystore: Keystore;
  readonly #manifest: Manifest;
  readonly #keys = new Map<number, Uint8Array>();

  constructor(keystore: Keystore, manifest: Manifest) {
    this.#keystore = keystore;
    this.#manifest = manifest;
    this.refresh();
  }

  get nameKey(): Uint8Array {
    return this.#keystore.nameKey;
  }

  get chainKey(): Uint8Array {
    return this.#keystore.chainKey;
  }

  refresh(): void {
    for (const row of this.#manifest.dataKeys()) {
      if (this.#keys.has(row.keyId)) continue;
      this.#keys.set(row.keyId, this.#keystore.unwrapDataKey(row.keyId, Buffer.from(row.wrappedHex, "hex")));
    }
  }

  current(): DataKey {
    let best = -1;
    for (const id of this.#keys.keys()) best = Math.max(best, id);
    const key = this.#keys.get(best);
    if (!key) throw new Error("no data key: the manifest holds none (run enigma init)");
    return { keyId: best, key };
  }

  keyFor(keyId: number): Uint8Array | undefined {
    if (!this.#keys.has(keyId)) this.refresh();
    return this.#keys.get(keyId);
  }

  ids(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }
}

/** Adds a new current data key cluster-wide; old chunks stay readable by their key id. */
export async function rotateDataKey(
  keystore: Keystore,
  manifest: Manifest,
  committer: Committer,
  nowMs: number,
): Promise<number> {
  const ids = manifest.dataKeys().map((k) => k.keyId);
  const keyId = (ids.length ? Math.max(...ids) : 0) + 1;
  const { wrapped } = keystore.newDataKey(keyId);
  await proposeOrThrow(committer, {
    type: "AddDataKey",
    keyId,
    wrappedHex: Buffer.from(wrapped).toString("hex"),
    createdAtMs: nowMs,
  });
  return keyId;
}

/** Ensures at least one data key exists (first start). */
export async function ensureDataKey(
  keystore: Keystore,
  manifest: Manifest,
  committer: Committer,
  nowMs: number,
): Promise<void> {
  if (manifest.dataKeys().length === 0) await rotateDataKey(keystore, manifest, committer, nowMs);
}
