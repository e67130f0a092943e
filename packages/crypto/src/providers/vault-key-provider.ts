/**
 * Everything a vault-backed key provider does, over any SecretStore. Layout in the vault:
 *
 *   {prefix}-1, {prefix}-2, …   one provider key record each, written once (create-only)
 *   {prefix}-current            the pointer: current key id + the vault version pinned for each key
 *
 * Nodes read the pointer, then every listed key at its pinned version, so a later write to a key
 * secret (an operator mistake, or Azure's racy create) never changes the keys a node computes.
 * Rotation creates the next key secret, then re-reads the pointer and writes it back with the new
 * key added and current, then reads it once more to confirm (DESIGN.md "Rotation").
 */

import type {
  KeyProvider,
  KeyProviderCreateOptions,
  KeyProviderKind,
  ProviderKeyDerivation,
  ProviderKeyInfo,
  ProviderKeys,
} from "./key-provider.js";
import {
  generateHybridRecord,
  type KeyRecord,
  KeyRecordInvalid,
  type KeySet,
  keySetProblem,
  MAX_PROVIDER_KEYS,
  newKeystoreId,
  wipeRecord,
} from "./key-record.js";
import {
  decodePointer,
  decodeRecord,
  encodePointer,
  encodeRecord,
  type KeyPointer,
} from "./key-record-codec.js";
import { KeySetMaterial } from "./key-set-material.js";
import { isKeyProviderError, KeyProviderError, vaultError } from "./provider-error.js";
import type { SecretStore } from "./secret-store.js";

export const DEFAULT_SECRET_PREFIX = "enigma";
export const POINTER_SUFFIX = "current";
/** Key ids tried past orphans (key secrets left by a failed or concurrent rotation). */
const MAX_ROTATE_ID_ATTEMPTS = 8;
/** The common subset of AWS, Azure and GCP secret-name rules, leaving room for "-current". */
const SECRET_PREFIX_RE = /^[A-Za-z](?:[A-Za-z0-9-]{0,98}[A-Za-z0-9])?$/;

export function secretPrefixProblem(prefix: string): string | undefined {
  return SECRET_PREFIX_RE.test(prefix)
    ? undefined
    : `secret_prefix must be 1-100 letters, digits and dashes, start with a letter and not end with a dash, got ${JSON.stringify(prefix)}`;
}

interface KeyMeta {
  readonly createdAtMs: number;
  readonly derivation: ProviderKeyDerivation;
}

export abstract class VaultKeyProvider implements KeyProvider {
  readonly kind: KeyProviderKind;
  readonly description: string;
  readonly canRotate = true;
  readonly #where: string;
  readonly #prefix: string;
  readonly #connect: () => Promise<SecretStore>;
  #store: Promise<SecretStore> | undefined;
  #material: KeySetMaterial | undefined;
  #pointer: KeyPointer | undefined;
  readonly #meta = new Map<number, KeyMeta>();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  protected constructor(
    kind: KeyProviderKind,
    where: string,
    prefix: string,
    connect: () => Promise<SecretStore>,
  ) {
    const problem = secretPrefixProblem(prefix);
    if (problem) throw new KeyProviderError(kind, "BadParams", undefined, `${kind}: ${problem}`);
    this.kind = kind;
    this.#where = where;
    this.#prefix = prefix;
    this.#connect = connect;
    this.description = `${kind} (${where}, secrets "${prefix}-*")`;
  }

  /** `{prefix}-current`. */
  get pointerName(): string {
    return `${this.#prefix}-${POINTER_SUFFIX}`;
  }

  /** `{prefix}-{keyId}`. */
  keySecretName(keyId: number): string {
    return `${this.#prefix}-${keyId}`;
  }

  create(opts: KeyProviderCreateOptions = {}): Promise<ProviderKeys> {
    return this.#serial(async () => {
      const store = await this.#connectOnce();
      if (await this.#exists(store, this.pointerName))
        throw this.#err("SecretExists", "creating", this.pointerName);
      const keystoreId = newKeystoreId();
      const record = generateHybridRecord(keystoreId, 1, opts.nowMs ?? Date.now());
      try {
        const material = new KeySetMaterial(record);
        let version: string;
        try {
          version = await store.create(this.keySecretName(1), encodeRecord(record));
          const pointer: KeyPointer = { keystoreId, current: 1, keys: [{ keyId: 1, version }] };
          await store.create(this.pointerName, encodePointer(pointer));
          this.#pointer = pointer;
        } catch (err) {
          material.wipe();
          throw err;
        }
        this.#meta.set(1, { createdAtMs: record.createdAtMs, derivation: record.derivation });
        this.#material = material;
        return material;
      } finally {
        wipeRecord(record);
      }
    });
  }

  open(): Promise<ProviderKeys> {
    if (this.#material) return Promise.resolve(this.#material);
    return this.#serial(async () => this.#material ?? this.#load(await this.#readPointer()));
  }

  refresh(): Promise<ProviderKeys> {
    return this.#serial(async () => this.#load(await this.#readPointer()));
  }

  async list(): Promise<ProviderKeyInfo[]> {
    await this.open();
    const pointer = this.#pointer!;
    return pointer.keys.map((k) => this.#info(k.keyId, k.version, pointer.current));
  }

  async showCurrent(): Promise<ProviderKeyInfo> {
    await this.open();
    const pointer = this.#pointer!;
    const entry = pointer.keys.find((k) => k.keyId === pointer.current)!;
    return this.#info(entry.keyId, entry.version, pointer.current);
  }

  rotate(opts: KeyProviderCreateOptions = {}): Promise<ProviderKeyInfo> {
    return this.#serial(async () => {
      const store = await this.#connectOnce();
      const material = await this.#load(await this.#readPointer());
      if (this.#pointer!.keys.length >= MAX_PROVIDER_KEYS)
        throw this.#err(
          "Unsupported",
          "creating",
          this.pointerName,
          `more than ${MAX_PROVIDER_KEYS} provider keys`,
        );
      const highest = Math.max(...material.keyIds());
      let created: { record: KeyRecord; version: string } | undefined;
      for (let id = highest + 1; id <= highest + MAX_ROTATE_ID_ATTEMPTS && !created; id++) {
        const record = material.authenticate(
          generateHybridRecord(material.keystoreId, id, opts.nowMs ?? Date.now()),
        );
        try {
          created = { record, version: await store.create(this.keySecretName(id), encodeRecord(record)) };
        } catch (err) {
          wipeRecord(record);
          if (!isKeyProviderError(err, "SecretExists")) throw err;
          // An orphan: a key secret that a failed (or concurrent) rotation created but never made
          // current. It is never read; skip its id.
        }
      }
      if (!created)
        throw this.#err(
          "KeyConflict",
          "creating",
          this.keySecretName(highest + 1),
          `${MAX_ROTATE_ID_ATTEMPTS} key ids after ${highest} are taken by unreferenced secrets`,
        );
      const { record, version } = created;
      try {
        // Re-read just before writing, so a rotation that landed meanwhile is kept, not overwritten.
        const fresh = await this.#readPointer();
        this.#sameKeystore(fresh, material);
        if (fresh.keys.some((k) => k.keyId >= record.keyId))
          throw this.#err(
            "KeyConflict",
            "writing",
            this.pointerName,
            "another node rotated concurrently; retry",
          );
        const next: KeyPointer = {
          keystoreId: fresh.keystoreId,
          current: record.keyId,
          keys: [...fresh.keys, { keyId: record.keyId, version }],
        };
        await store.put(this.pointerName, encodePointer(next));
        material.addRecord(record);
        this.#meta.set(record.keyId, { createdAtMs: record.createdAtMs, derivation: record.derivation });
      } finally {
        wipeRecord(record);
      }
      // Confirm: a concurrent writer that read the pointer before our write would drop our key.
      const confirmed = await this.#readPointer();
      const ours = confirmed.keys.find((k) => k.keyId === record.keyId);
      if (ours?.version !== version)
        throw this.#err(
          "KeyConflict",
          "writing",
          this.pointerName,
          `another node moved the pointer concurrently and provider key ${record.keyId} was lost; retry`,
        );
      await this.#load(confirmed);
      return this.#info(record.keyId, version, confirmed.current);
    });
  }

  exportKeySet(): Promise<KeySet> {
    return this.#serial(async () => {
      const pointer = await this.#readPointer();
      const material = await this.#load(pointer);
      const records: KeyRecord[] = [];
      for (const k of pointer.keys)
        records.push(await this.#readRecord(k.keyId, k.version, material.keystoreId));
      return { keystoreId: pointer.keystoreId, currentKeyId: pointer.current, records };
    });
  }

  importKeySet(set: KeySet): Promise<void> {
    return this.#serial(async () => {
      const problem = keySetProblem(set);
      if (problem) throw this.#err("BadParams", "creating", undefined, problem);
      verifyKeySet(set, (msg) => this.#err("BadParams", "creating", undefined, msg));
      const store = await this.#connectOnce();
      if (await this.#exists(store, this.pointerName))
        throw this.#err("SecretExists", "creating", this.pointerName);
      const keys: { keyId: number; version: string }[] = [];
      for (const r of set.records) {
        keys.push({
          keyId: r.keyId,
          version: await store.create(this.keySecretName(r.keyId), encodeRecord(r)),
        });
      }
      await store.create(
        this.pointerName,
        encodePointer({ keystoreId: set.keystoreId, current: set.currentKeyId, keys }),
      );
    });
  }

  /**
   * Deletes every `{prefix}-*` secret, without recovery where the vault allows: irreversible, and
   * every chunk sealed under these keys becomes unreadable. For tests against real clouds and for
   * decommissioning; not reachable from any CLI command.
   */
  destroyAllSecrets(): Promise<string[]> {
    return this.#serial(async () => {
      const store = await this.#connectOnce();
      const names = (await store.list(`${this.#prefix}-`)).filter((n) =>
        new RegExp(`^${this.#prefix}-(?:[0-9]+|${POINTER_SUFFIX})$`).test(n),
      );
      for (const n of names) await store.remove(n);
      this.#material?.wipe();
      this.#material = undefined;
      this.#pointer = undefined;
      return names;
    });
  }

  close(): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#material?.wipe();
      this.#material = undefined;
      const store = this.#store;
      this.#store = undefined;
      if (store) await (await store.catch(() => undefined))?.close();
    });
  }

  async #load(pointer: KeyPointer): Promise<KeySetMaterial> {
    let material = this.#material;
    if (material) {
      this.#sameKeystore(pointer, material);
      for (const k of this.#pointer?.keys ?? []) {
        const now = pointer.keys.find((p) => p.keyId === k.keyId);
        if (now && now.version !== k.version)
          throw this.#err(
            "SecretCorrupt",
            "reading",
            this.pointerName,
            `it re-pins provider key ${k.keyId} to another version; a key's material must never change`,
          );
      }
    }
    for (const k of pointer.keys) {
      if (material?.keyIds().includes(k.keyId)) continue;
      const record = await this.#readRecord(k.keyId, k.version, pointer.keystoreId);
      try {
        if (!material) {
          if (k.keyId !== 1)
            throw this.#err(
              "SecretCorrupt",
              "reading",
              this.pointerName,
              "the pointer does not list provider key 1",
            );
          material = new KeySetMaterial(record);
        } else material.addRecord(record);
      } catch (err) {
        if (err instanceof KeyRecordInvalid)
          throw this.#err("SecretCorrupt", "reading", this.keySecretName(k.keyId), err.message);
        throw err;
      } finally {
        wipeRecord(record);
      }
      this.#meta.set(k.keyId, { createdAtMs: record.createdAtMs, derivation: record.derivation });
    }
    if (!material) throw this.#err("SecretCorrupt", "reading", this.pointerName, "no provider keys listed");
    material.setCurrent(pointer.current);
    this.#material = material;
    this.#pointer = pointer;
    return material;
  }

  async #readPointer(): Promise<KeyPointer> {
    const store = await this.#connectOnce();
    const { value } = await store.read(this.pointerName);
    try {
      return decodePointer(value);
    } catch (err) {
      if (err instanceof KeyRecordInvalid)
        throw this.#err("SecretCorrupt", "reading", this.pointerName, err.message);
      throw err;
    }
  }

  async #readRecord(keyId: number, version: string, keystoreId: string): Promise<KeyRecord> {
    const store = await this.#connectOnce();
    const name = this.keySecretName(keyId);
    const { value } = await store.read(name, version);
    let record: KeyRecord;
    try {
      record = decodeRecord(value);
    } catch (err) {
      if (err instanceof KeyRecordInvalid) throw this.#err("SecretCorrupt", "reading", name, err.message);
      throw err;
    }
    if (record.keyId !== keyId || record.keystoreId !== keystoreId) {
      wipeRecord(record);
      throw this.#err("SecretCorrupt", "reading", name, "it holds another key id or keystore");
    }
    return record;
  }

  #sameKeystore(pointer: KeyPointer, material: KeySetMaterial): void {
    if (pointer.keystoreId !== material.keystoreId)
      throw this.#err(
        "SecretCorrupt",
        "reading",
        this.pointerName,
        `it now names keystore ${pointer.keystoreId}, this node opened ${material.keystoreId}`,
      );
  }

  async #exists(store: SecretStore, name: string): Promise<boolean> {
    try {
      await store.read(name);
      return true;
    } catch (err) {
      if (isKeyProviderError(err, "SecretNotFound")) return false;
      throw err;
    }
  }

  #info(keyId: number, version: string, current: number): ProviderKeyInfo {
    const meta = this.#meta.get(keyId);
    return {
      keyId,
      createdAtMs: meta?.createdAtMs ?? 0,
      current: keyId === current,
      derivation: meta?.derivation ?? "ml-kem-768-hybrid",
      secretName: this.keySecretName(keyId),
      version,
    };
  }

  #connectOnce(): Promise<SecretStore> {
    if (this.#closed) return Promise.reject(new Error(`${this.kind} key provider is closed`));
    this.#store ??= this.#connect();
    return this.#store;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #err(
    code: KeyProviderError["code"],
    action: "reading" | "creating" | "writing",
    secret: string | undefined,
    detail = "",
  ): KeyProviderError {
    return vaultError(this.kind, this.#where, code, action, secret, detail || code);
  }
}

/** Opens a key set in memory to check every record (key checks, ML-KEM pairs, auth), then wipes it. */
export function verifyKeySet(set: KeySet, fail: (message: string) => Error): void {
  let material: KeySetMaterial | undefined;
  try {
    for (const r of set.records) {
      if (!material) material = new KeySetMaterial(r);
      else material.addRecord(r);
    }
  } catch (err) {
    if (err instanceof KeyRecordInvalid) throw fail(err.message);
    throw err;
  } finally {
    material?.wipe();
  }
}
