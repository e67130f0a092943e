import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Argon2Params } from "../argon2-params.js";
import { createKeystore, openKeystore } from "../keystore.js";
import { describeKeyProviderContract } from "./contract/key-provider-contract.js";
import { LocalKeystoreProvider } from "./local-keystore-provider.js";

const FAST: Partial<Argon2Params> = { memoryKiB: 8 * 1024, iterations: 1 };
const PASS = "correct horse battery staple";

describeKeyProviderContract("local keystore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "enigma-local-provider-"));
  const path = join(dir, "keystore.enigma");
  return {
    node: () => new LocalKeystoreProvider({ path, passphrase: PASS, argon2: FAST }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe("LocalKeystoreProvider", () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "enigma-local-provider-"));
    path = join(dir, "keystore.enigma");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("opens a v1 keystore with exactly the keys Keystore derives, so nothing changes for existing clusters", async () => {
    const ks = await createKeystore(path, PASS, { argon2: FAST });
    const p = new LocalKeystoreProvider({ path, passphrase: PASS });
    const keys = await p.open();
    expect(keys.keystoreId).toBe(ks.keystoreId);
    expect(keys.nameKey.equals(ks.nameKey)).toBe(true);
    expect(keys.chainKey.equals(ks.chainKey)).toBe(true);
    expect(keys.credKey.equals(ks.credKey)).toBe(true);
    expect(keys.clusterSecretSeed.equals(ks.clusterSecretSeed)).toBe(true);
    const fromKeystore = ks.newDataKey(5);
    expect(keys.unwrapDataKey(5, fromKeystore.wrapped).equals(fromKeystore.key)).toBe(true);
    const fromProvider = keys.newDataKey(6);
    expect(ks.unwrapDataKey(6, fromProvider.wrapped).equals(fromProvider.key)).toBe(true);
    expect(await p.showCurrent()).toMatchObject({
      keyId: 1,
      derivation: "keystore-v1",
      secretName: path,
      version: "keystore-v1",
    });
    await p.close();
  });

  it("creates a v1 keystore that the existing openKeystore reads", async () => {
    const p = new LocalKeystoreProvider({ path, passphrase: PASS, argon2: FAST });
    const keys = await p.create();
    const ks = await openKeystore(path, PASS);
    expect(ks.nameKey.equals(keys.nameKey)).toBe(true);
    await p.close();
  });

  it("asks for the passphrase once, only when the file is first read", async () => {
    await createKeystore(path, PASS, { argon2: FAST });
    let asked = 0;
    const p = new LocalKeystoreProvider({
      path,
      passphrase: async () => {
        asked++;
        return PASS;
      },
    });
    expect(asked).toBe(0);
    await p.open();
    await p.list();
    const set = await p.exportKeySet();
    expect(set.records).toHaveLength(1);
    expect(asked).toBe(1);
    await p.close();
  });

  it("reports a wrong passphrase and a missing file with the keystore codes", async () => {
    await createKeystore(path, PASS, { argon2: FAST });
    await expect(new LocalKeystoreProvider({ path, passphrase: "nope" }).open()).rejects.toMatchObject({
      code: "WrongPassphrase",
    });
    await expect(
      new LocalKeystoreProvider({ path: join(dir, "absent"), passphrase: PASS }).open(),
    ).rejects.toMatchObject({ code: "KeystoreMissing" });
  });
});
