/**
 * The local keystore as a KeyProvider. It opens either format:
 *   v1 (keystore.ts, what `enigma init` writes): one provider key, its root from Argon2id ‖ ML-KEM;
 *   v2 (keyset-file.ts, what migration from a vault writes): a whole key set under the passphrase.
 * Either way the keys equal what Keystore derives (v1) or what the vault held (v2), so chunk names
 * and wrapped data keys carry over. A file copied to every node cannot rotate by itself: rotate()
 * fails Unsupported; data keys still rotate through the manifest.
 */
import type { Argon2Params } from "../argon2-params.js";
import { CryptoError } from "../errors.js";
import { createKeystoreRoot, type KeystoreRoot, openKeystoreRoot } from "../keystore.js";
import type { KeyProvider, KeyProviderCreateOptions, ProviderKeyInfo, ProviderKeys } from "./key-provider.js";
import { type KeyRecord, type KeySet, keystoreV1Record, wipeKeySet } from "./key-record.js";
import { KeySetMaterial } from "./key-set-material.js";
import { KEY_SET_FILE_VERSION, keystoreFileVersion, readKeySetFile, writeKeySetFile } from "./keyset-file.js";
import { KeyProviderError } from "./provider-error.js";
import { verifyKeySet } from "./vault-key-provider.js";

export interface LocalKeystoreProviderOptions {
  readonly path: string;
  /** The passphrase, or a function asked for it once when the file is first opened or written. */
  readonly passphrase: string | (() => Promise<string>);
  /** Argon2id costs for files this provider writes (create, import); tests pass small ones. */
  readonly argon2?: Partial<Argon2Params>;
}

export class LocalKeystoreProvider implements KeyProvider {
  readonly kind = "local" as const;
  readonly description: string;
  readonly canRotate = false;
  readonly #opts: LocalKeystoreProviderOptions;
  #passphrase: string | undefined;
  #material: KeySetMaterial | undefined;
  #infos: ProviderKeyInfo[] = [];

  constructor(opts: LocalKeystoreProviderOptions) {
    this.#opts = opts;
    this.description = `local keystore ${opts.path}`;
  }

  async create(opts: KeyProviderCreateOptions = {}): Promise<ProviderKeys> {
    const ks = await createKeystoreRoot(this.#opts.path, await this.#pass(), {
      ...(this.#opts.argon2 === undefined ? {} : { argon2: this.#opts.argon2 }),
      ...(opts.nowMs === undefined ? {} : { createdAtMs: opts.nowMs }),
    });
    this.#adopt(v1Set(ks), 1);
    return this.#material!;
  }

  async open(): Promise<ProviderKeys> {
    if (this.#material) return this.#material;
    const { set, version } = await this.#readSet();
    this.#adopt(set, version);
    return this.#material!;
  }

  /** The file does not change under a running node; nothing to re-read. */
  refresh(): Promise<ProviderKeys> {
    return this.open();
  }

  async list(): Promise<ProviderKeyInfo[]> {
    await this.open();
    return [...this.#infos];
  }

  async showCurrent(): Promise<ProviderKeyInfo> {
    await this.open();
    return this.#infos.find((i) => i.current)!;
  }

  async rotate(): Promise<ProviderKeyInfo> {
    throw new KeyProviderError(
      "local",
      "Unsupported",
      this.#opts.path,
      `local (${this.#opts.path}): a keystore file copied to every node cannot rotate its provider key; ` +
        "data keys still rotate (enigma keys rotate), and a vault key provider can rotate provider keys",
    );
  }

  async exportKeySet(): Promise<KeySet> {
    return (await this.#readSet()).set;
  }

  async importKeySet(set: KeySet): Promise<void> {
    verifyKeySet(set, (msg) => new CryptoError("BadParams", `cannot import key set: ${msg}`));
    await writeKeySetFile(this.#opts.path, await this.#pass(), set, {
      ...(this.#opts.argon2 === undefined ? {} : { argon2: this.#opts.argon2 }),
    });
  }

  async close(): Promise<void> {
    this.#material?.wipe();
    this.#material = undefined;
    this.#passphrase = undefined;
  }

  async #readSet(): Promise<{ set: KeySet; version: number }> {
    const version = await keystoreFileVersion(this.#opts.path);
    if (version === KEY_SET_FILE_VERSION) {
      const { set } = await readKeySetFile(this.#opts.path, await this.#pass());
      return { set, version };
    }
    // Anything else goes to the v1 reader, which reports an unknown version as KeystoreCorrupt.
    return { set: v1Set(await openKeystoreRoot(this.#opts.path, await this.#pass())), version: 1 };
  }

  #adopt(set: KeySet, version: number): void {
    try {
      let material: KeySetMaterial | undefined;
      for (const r of set.records) {
        if (!material) material = new KeySetMaterial(r);
        else material.addRecord(r);
      }
      material!.setCurrent(set.currentKeyId);
      this.#material = material;
      this.#infos = set.records.map((r: KeyRecord) => ({
        keyId: r.keyId,
        createdAtMs: r.createdAtMs,
        current: r.keyId === set.currentKeyId,
        derivation: r.derivation,
        secretName: this.#opts.path,
        version: `keystore-v${version}`,
      }));
    } catch (err) {
      throw new CryptoError(
        "KeystoreCorrupt",
        `keystore ${this.#opts.path} holds an invalid key: ${err instanceof Error ? err.message : "unknown"}`,
      );
    } finally {
      wipeKeySet(set);
    }
  }

  async #pass(): Promise<string> {
    if (this.#passphrase === undefined) {
      const p = this.#opts.passphrase;
      this.#passphrase = typeof p === "string" ? p : await p();
    }
    return this.#passphrase;
  }
}

/** A v1 keystore as a one-key set; wipes the root it was given. */
function v1Set(ks: KeystoreRoot): KeySet {
  try {
    const record = keystoreV1Record(ks.info.keystoreId, ks.root, ks.info.createdAtMs);
    return { keystoreId: ks.info.keystoreId, currentKeyId: 1, records: [record] };
  } finally {
    ks.root.fill(0);
  }
}
