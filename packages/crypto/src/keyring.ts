import { timingSafeEqual } from "node:crypto";
import { assertKeyId, DATA_KEY_BYTES } from "./data-keys.js";
import { CryptoError } from "./errors.js";
import type { KeyMaterial } from "./keystore.js";

export interface CurrentDataKey {
  readonly keyId: number;
  readonly key: Buffer;
}

/**
 * Unwrapped data keys by id. New chunks are sealed with `current` (the highest id unless one was
 * set explicitly); reads use the id each sealed chunk records, via `keyFor`, so after a rotation
 * old chunks still open (ARCHITECTURE §6).
 */
export class Keyring {
  readonly #keys = new Map<number, Buffer>();
  #explicitCurrent: number | undefined;

  /** Adds a key. Re-adding the same key is a no-op; a different key under a known id is refused. */
  add(keyId: number, key: Uint8Array): void {
    assertKeyId(keyId);
    if (key.length !== DATA_KEY_BYTES) throw new Error(`data key must be ${DATA_KEY_BYTES} bytes`);
    const known = this.#keys.get(keyId);
    if (known) {
      if (timingSafeEqual(known, key)) return;
      throw new CryptoError("KeyConflict", `data key id ${keyId} is already bound to a different key`);
    }
    this.#keys.set(keyId, Buffer.from(key));
  }

  /** Unwraps with `keys` (any KeyMaterial, e.g. an opened Keystore) and adds. */
  addWrapped(keys: Pick<KeyMaterial, "unwrapDataKey">, keyId: number, wrapped: Uint8Array | string): void {
    this.add(keyId, keys.unwrapDataKey(keyId, wrapped));
  }

  /** Builds a keyring from the manifest's wrapped keys (`AddDataKey` rows). */
  static fromWrapped(
    keys: Pick<KeyMaterial, "unwrapDataKey">,
    entries: Iterable<{ readonly keyId: number; readonly wrapped: Uint8Array | string }>,
  ): Keyring {
    const ring = new Keyring();
    for (const e of entries) ring.addWrapped(keys, e.keyId, e.wrapped);
    return ring;
  }

  has(keyId: number): boolean {
    return this.#keys.has(keyId);
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Known ids, ascending. */
  ids(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b);
  }

  /** The id a rotation should use next: one past the highest known, or 1 for an empty ring. */
  nextKeyId(): number {
    const ids = this.ids();
    const next = (ids[ids.length - 1] ?? 0) + 1;
    assertKeyId(next);
    return next;
  }

  /** Pins `current` to a known id (e.g. the manifest's current key id); otherwise the highest id. */
  setCurrent(keyId: number): void {
    if (!this.#keys.has(keyId)) throw new CryptoError("UnknownKey", `unknown data key id ${keyId}`);
    this.#explicitCurrent = keyId;
  }

  get current(): CurrentDataKey {
    const keyId = this.#explicitCurrent ?? this.ids().at(-1);
    const key = keyId === undefined ? undefined : this.#keys.get(keyId);
    if (keyId === undefined || !key) throw new CryptoError("UnknownKey", "keyring holds no data keys");
    return { keyId, key };
  }

  /** Shaped for seal.ts `openChunk(blob, keyring.keyFor)`; bound, so it can be passed directly. */
  readonly keyFor = (keyId: number): Buffer | undefined => this.#keys.get(keyId);

  /** Logging a keyring shows ids only. */
  toJSON(): { ids: number[]; currentKeyId: number | undefined } {
    return { ids: this.ids(), currentKeyId: this.#keys.size ? this.current.keyId : undefined };
  }
}
