import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { DATA_KEY_BYTES, unwrapDataKey, wrapDataKey, wrappedBytes } from "../data-keys.js";
import { CryptoError, isCryptoError } from "../errors.js";
import { hkdf32, SCHEME } from "../hkdf.js";
import type { ProviderKeys } from "./key-provider.js";
import {
  authKeyOf,
  type KeyRecord,
  KeyRecordInvalid,
  MAX_PROVIDER_KEYS,
  recordAuth,
  recordRoot,
  verifyRecordAuth,
} from "./key-record.js";
import { recordBody } from "./key-record-codec.js";

/**
 * The opened form of a key set: identity keys from provider key 1, one kek per provider key. Only
 * derived keys are kept (roots are wiped as soon as the keks are derived). `wipe()` zeroes them.
 */
export class KeySetMaterial implements ProviderKeys {
  readonly keystoreId: string;
  readonly nameKey: Buffer;
  readonly chainKey: Buffer;
  readonly credKey: Buffer;
  readonly clusterSecretSeed: Buffer;
  readonly #authKey: Buffer;
  readonly #keks = new Map<number, Buffer>();
  #current = 1;
  #wiped = false;

  /** From provider key 1 (the identity). Throws KeyRecordInvalid. */
  constructor(identity: KeyRecord) {
    if (identity.keyId !== 1) throw new KeyRecordInvalid("the identity must be provider key 1");
    if (identity.auth !== undefined) throw new KeyRecordInvalid("provider key 1 must not carry auth");
    const root = recordRoot(identity);
    try {
      const none = Buffer.alloc(0);
      this.keystoreId = identity.keystoreId;
      this.nameKey = hkdf32(root, none, SCHEME.nameKey);
      this.chainKey = hkdf32(root, none, SCHEME.chainKey);
      this.credKey = hkdf32(root, none, SCHEME.credKey);
      this.clusterSecretSeed = hkdf32(root, none, SCHEME.clusterSecretSeed);
      this.#authKey = authKeyOf(root);
      this.#keks.set(1, hkdf32(root, none, SCHEME.kek));
    } finally {
      root.fill(0);
    }
  }

  /** Verifies and adds provider key N > 1 (its auth must check out). Re-adding a known id is a no-op. */
  addRecord(r: KeyRecord): void {
    this.#assertOpen();
    if (r.keystoreId !== this.keystoreId)
      throw new KeyRecordInvalid(`provider key ${r.keyId} belongs to another keystore (${r.keystoreId})`);
    if (r.keyId === 1 || this.#keks.has(r.keyId)) return;
    if (this.#keks.size >= MAX_PROVIDER_KEYS)
      throw new KeyRecordInvalid(`more than ${MAX_PROVIDER_KEYS} provider keys`);
    if (!verifyRecordAuth(this.#authKey, recordBody(r), r.auth))
      throw new KeyRecordInvalid(`provider key ${r.keyId} is not authenticated by this key set's identity`);
    const root = recordRoot(r);
    try {
      this.#keks.set(r.keyId, hkdf32(root, Buffer.alloc(0), SCHEME.kek));
    } finally {
      root.fill(0);
    }
  }

  /** `r` with its auth set, for a key this key set is about to store (rotation). */
  authenticate<R extends KeyRecord>(r: R): R {
    this.#assertOpen();
    const { auth: _, ...body } = r;
    return { ...body, auth: recordAuth(this.#authKey, recordBody(body as R)) } as R;
  }

  setCurrent(keyId: number): void {
    if (!this.#keks.has(keyId)) throw new KeyRecordInvalid(`current provider key ${keyId} is not loaded`);
    this.#current = keyId;
  }

  get currentKeyId(): number {
    return this.#current;
  }

  keyIds(): number[] {
    return [...this.#keks.keys()].sort((a, b) => a - b);
  }

  wrapDataKey(keyId: number, key: Uint8Array): Buffer {
    return wrapDataKey(this.#kek(this.#current), keyId, key);
  }

  /** Tries the current provider key first, then the others from newest to oldest. */
  unwrapDataKey(keyId: number, wrapped: Uint8Array | string): Buffer {
    const bytes = wrappedBytes(wrapped);
    const order = [
      this.#current,
      ...this.keyIds()
        .reverse()
        .filter((id) => id !== this.#current),
    ];
    for (const id of order) {
      try {
        return unwrapDataKey(this.#kek(id), keyId, bytes);
      } catch (err) {
        if (!isCryptoError(err, "UnwrapFailed")) throw err;
      }
    }
    throw new CryptoError(
      "UnwrapFailed",
      `data key ${keyId} does not unwrap under provider keys ${this.keyIds().join(", ")} of keystore ` +
        `${this.keystoreId} (another node may have rotated the provider key: refresh the key provider)`,
    );
  }

  providerKeyOf(dataKeyId: number, wrapped: Uint8Array | string): number | undefined {
    const bytes = wrappedBytes(wrapped);
    for (const id of this.keyIds()) {
      try {
        unwrapDataKey(this.#kek(id), dataKeyId, bytes).fill(0);
        return id;
      } catch (err) {
        if (!isCryptoError(err, "UnwrapFailed")) throw err;
      }
    }
    return undefined;
  }

  newDataKey(keyId: number): { key: Buffer; wrapped: Buffer } {
    const key = randomBytes(DATA_KEY_BYTES);
    return { key, wrapped: this.wrapDataKey(keyId, key) };
  }

  /** Zeroes every key this object holds; later use throws. Idempotent. */
  wipe(): void {
    if (this.#wiped) return;
    this.#wiped = true;
    for (const b of [this.nameKey, this.chainKey, this.credKey, this.clusterSecretSeed, this.#authKey])
      b.fill(0);
    for (const k of this.#keks.values()) k.fill(0);
    this.#keks.clear();
  }

  get wiped(): boolean {
    return this.#wiped;
  }

  /** Logging shows public facts only. */
  toJSON(): { keystoreId: string; currentKeyId: number; keyIds: number[] } {
    return { keystoreId: this.keystoreId, currentKeyId: this.#current, keyIds: this.keyIds() };
  }

  [inspect.custom](): string {
    return `ProviderKeys ${JSON.stringify(this.toJSON())}`;
  }

  #kek(id: number): Buffer {
    this.#assertOpen();
    const k = this.#keks.get(id);
    if (!k) throw new Error(`provider key ${id} is not loaded`);
    return k;
  }

  #assertOpen(): void {
    if (this.#wiped) throw new Error("key material was closed (KeyProvider.close) and wiped");
  }
}
