/**
 * The contract every KeyProvider meets, run against the local keystore and against each vault's
 * fake (and the real clouds when configured). What it pins down: nodes sharing a provider compute
 * the same identity keys and unwrap each other's data keys; create never replaces a key set;
 * rotation (where supported) keeps the identity keys and every old data key readable, and a node
 * that opened before a rotation catches up with refresh(); export + import moves a key set without
 * changing a single key; close() zeroes the keys; nothing secret shows in JSON or inspect output.
 */
import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CryptoError } from "../../errors.js";
import type { KeyProvider } from "../key-provider.js";
import { wipeKeySet } from "../key-record.js";

export interface ContractStorage {
  /** A provider instance on this storage; each call is another node. */
  node(): KeyProvider;
  /** Removes what the test created (temp dir, secrets). */
  cleanup(): Promise<void>;
}

/** `fresh()` returns a new, empty storage (a new prefix on a fake, a new temp path). */
export function describeKeyProviderContract(name: string, fresh: () => Promise<ContractStorage>): void {
  describe(`KeyProvider contract: ${name}`, () => {
    const storages: ContractStorage[] = [];
    const providers: KeyProvider[] = [];
    let storage: ContractStorage;
    const node = (s: ContractStorage = storage): KeyProvider => {
      const p = s.node();
      providers.push(p);
      return p;
    };
    const newStorage = async (): Promise<ContractStorage> => {
      const s = await fresh();
      storages.push(s);
      return s;
    };

    beforeEach(async () => {
      storage = await newStorage();
    });
    afterEach(async () => {
      for (const p of providers.splice(0)) await p.close();
      for (const s of storages.splice(0)) await s.cleanup();
    });

    it("fails to open before anything was created, with a not-found code", async () => {
      const err = await node()
        .open()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(CryptoError);
      expect(["SecretNotFound", "KeystoreMissing"]).toContain((err as CryptoError).code);
    });

    it("gives every node the same identity keys, and each node unwraps the others' data keys", async () => {
      const a = await node().create({ nowMs: 1_700_000_000_000 });
      const b = await node().open();
      expect(b.keystoreId).toBe(a.keystoreId);
      expect(b.nameKey.equals(a.nameKey)).toBe(true);
      expect(b.chainKey.equals(a.chainKey)).toBe(true);
      expect(b.credKey.equals(a.credKey)).toBe(true);
      expect(b.clusterSecretSeed.equals(a.clusterSecretSeed)).toBe(true);
      expect(
        new Set([a.nameKey, a.chainKey, a.credKey, a.clusterSecretSeed].map((k) => k.toString("hex"))).size,
      ).toBe(4);
      const { key, wrapped } = a.newDataKey(7);
      expect(b.unwrapDataKey(7, wrapped).equals(key)).toBe(true);
      expect(b.unwrapDataKey(7, wrapped.toString("hex")).equals(key)).toBe(true);
      expect(() => b.unwrapDataKey(8, wrapped)).toThrow(expect.objectContaining({ code: "UnwrapFailed" }));
    });

    it("refuses to create over an existing key set and leaves it intact", async () => {
      const a = await node().create();
      const err = await node()
        .create()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(["SecretExists", "FileExists"]).toContain((err as CryptoError).code);
      const again = await node().open();
      expect(again.nameKey.equals(a.nameKey)).toBe(true);
    });

    it("lists one current provider key after create", async () => {
      const p = node();
      await p.create({ nowMs: 1_700_000_000_000 });
      const list = await p.list();
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ keyId: 1, current: true, createdAtMs: 1_700_000_000_000 });
      expect(await node().showCurrent()).toMatchObject({
        keyId: 1,
        current: true,
        createdAtMs: 1_700_000_000_000,
      });
    });

    it("rotates where supported: identity keys unchanged, old data keys readable, stale nodes catch up", async () => {
      const a = node();
      const keysA = await a.create({ nowMs: 1_000 });
      const first = keysA.newDataKey(1);
      if (!a.canRotate) {
        await expect(a.rotate()).rejects.toMatchObject({ code: "Unsupported" });
        expect((await a.list()).map((k) => k.keyId)).toEqual([1]);
        return;
      }
      const stale = node();
      const keysStale = await stale.open();
      const rotated = await a.rotate({ nowMs: 2_000 });
      expect(rotated).toMatchObject({ keyId: 2, current: true, createdAtMs: 2_000 });
      expect(keysA.currentKeyId).toBe(2);
      const second = keysA.newDataKey(2);
      expect(keysA.providerKeyOf(1, first.wrapped)).toBe(1);
      expect(keysA.providerKeyOf(2, second.wrapped)).toBe(2);

      // A node that opened before the rotation cannot unwrap the new data key until it refreshes.
      expect(() => keysStale.unwrapDataKey(2, second.wrapped)).toThrow(
        expect.objectContaining({ code: "UnwrapFailed" }),
      );
      await stale.refresh();
      expect(keysStale.unwrapDataKey(2, second.wrapped).equals(second.key)).toBe(true);
      expect(keysStale.currentKeyId).toBe(2);

      const late = node();
      const keysLate = await late.open();
      expect(keysLate.nameKey.equals(keysA.nameKey)).toBe(true);
      expect(keysLate.credKey.equals(keysA.credKey)).toBe(true);
      expect(keysLate.unwrapDataKey(1, first.wrapped).equals(first.key)).toBe(true);
      expect(keysLate.unwrapDataKey(2, second.wrapped).equals(second.key)).toBe(true);
      const list = await late.list();
      expect(list.map((k) => [k.keyId, k.current])).toEqual([
        [1, false],
        [2, true],
      ]);
      expect(new Set(list.map((k) => k.secretName)).size).toBe(2);
      expect(await late.showCurrent()).toMatchObject({ keyId: 2 });
    });

    it("moves its key set to another storage with export + import, changing no key", async () => {
      const a = node();
      const keys = await a.create();
      const dk = keys.newDataKey(3);
      if (a.canRotate) await a.rotate();
      const dk2 = keys.newDataKey(4);
      const set = await a.exportKeySet();
      const target = await newStorage();
      try {
        await node(target).importKeySet(set);
      } finally {
        wipeKeySet(set);
      }
      const copy = await node(target).open();
      expect(copy.keystoreId).toBe(keys.keystoreId);
      expect(copy.nameKey.equals(keys.nameKey)).toBe(true);
      expect(copy.chainKey.equals(keys.chainKey)).toBe(true);
      expect(copy.currentKeyId).toBe(keys.currentKeyId);
      expect(copy.unwrapDataKey(3, dk.wrapped).equals(dk.key)).toBe(true);
      expect(copy.unwrapDataKey(4, dk2.wrapped).equals(dk2.key)).toBe(true);
      // The target is now in use: importing again must not replace it.
      const again = await a.exportKeySet();
      try {
        await expect(node(target).importKeySet(again)).rejects.toMatchObject({
          code: expect.stringMatching(/^(SecretExists|FileExists)$/),
        });
      } finally {
        wipeKeySet(again);
      }
    });

    it("zeroes the key material on close and shows no secret in JSON or inspect", async () => {
      const p = node();
      const keys = await p.create();
      const secrets = [keys.nameKey, keys.chainKey, keys.credKey, keys.clusterSecretSeed].map((k) =>
        k.toString("hex"),
      );
      const shown = `${JSON.stringify(keys)} ${inspect(keys, { depth: 5 })} ${JSON.stringify(await p.list())}`;
      for (const s of secrets) expect(shown).not.toContain(s);
      expect(shown).toContain(keys.keystoreId);
      await p.close();
      expect(keys.nameKey.every((b) => b === 0)).toBe(true);
      expect(keys.credKey.every((b) => b === 0)).toBe(true);
      expect(() => keys.newDataKey(1)).toThrow(/closed/);
    });
  });
}
