/**
 * Issue 11 through the real CLI processes, once per vault (each a fake of the service's HTTP API
 * started here, reached by the real SDK): `init --key-provider` bootstraps a vault-backed config
 * without any passphrase, backup → restore is byte-identical, `keys rotate` adds a provider key in
 * the vault and a data key wrapped under it, old and new backups both restore, `keys list` /
 * `show-current` answer in one shape on every provider, no secret value ever reaches the output,
 * and a vault that is down or refuses access is a clear, distinct error naming provider and secret.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunResult, runEnigma } from "../support/cli.js";
import { snapshotTree } from "../support/tree.js";
import { newPrefix, startVault, type VaultUnderTest } from "./vaults.js";

const work = mkdtempSync(join(tmpdir(), "enigma-keys-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const json = <T>(r: RunResult) => JSON.parse(r.stdout.toString()) as T;

interface ProviderKeyRow {
  keyId: number;
  current: boolean;
  secretName: string;
  version: string;
  derivation: string;
}
interface KeysListJson {
  provider: { kind: string; description: string; canRotate: boolean };
  currentProviderKeyId: number;
  providerKeys: ProviderKeyRow[];
  currentDataKeyId: number;
  dataKeys: { keyId: number; current: boolean; providerKeyId: number | null }[];
}

describe.each(["aws-secretsmanager", "azure-keyvault", "gcp-secretmanager"] as const)("%s (fake)", (kind) => {
  let vault: VaultUnderTest;
  const dir = join(work, kind);
  const configDir = join(dir, "cfg");
  const prefix = newPrefix();
  /** Everything the CLI printed in this suite, to check no secret value ever appears. */
  const printed: string[] = [];

  // ENIGMA_DEBUG: a failing command prints its stack, so a rare failure (an exit 4 after keys
  // rotate was seen once under load) names the error class and where it came from.
  const enigma = async (args: string[], env: Record<string, string | undefined> = {}) => {
    const r = await runEnigma(["--config-dir", configDir, ...args], {
      env: { ...vault.env(), ENIGMA_DEBUG: "1", ...env },
    });
    printed.push(r.stdout.toString(), r.stderr);
    return r;
  };
  const ok = async (args: string[]) => {
    const r = await enigma(args);
    if (r.code !== 0)
      throw new Error(
        `enigma ${args.join(" ")} exited ${r.code}${r.signal ? ` (${r.signal})` : ""}\n` +
          `--- stderr ---\n${r.stderr || "(empty)"}\n--- stdout ---\n${r.stdout.toString() || "(empty)"}`,
      );
    return r;
  };

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    vault = await startVault(kind, dir);
  });
  afterAll(async () => {
    await vault?.close();
  });

  it("init → backup → restore → keys rotate → backup → restore both, with no passphrase", async () => {
    // No ENIGMA_PASSPHRASE and no terminal (vaults.ts clears it): any passphrase prompt would fail.
    const init = json<{
      keyProvider: { kind: string; created: boolean };
      keystore: string | null;
      dataKeys: number[];
    }>(await ok(["init", ...vault.initFlags(prefix), "--json"]));
    expect(init.keyProvider).toMatchObject({ kind, created: true });
    expect(init.keystore).toBeNull();
    expect(init.dataKeys).toEqual([1]);
    // A second init (the next node of a cluster) uses the key set as it is.
    const again = json<{ keyProvider: { created: boolean }; created: string[] }>(
      await ok(["init", "--json"]),
    );
    expect(again.keyProvider.created).toBe(false);
    expect(again.created).toEqual([]);

    const src = join(dir, "src");
    mkdirSync(join(src, "sub"), { recursive: true });
    writeFileSync(join(src, "a.bin"), randomBytes(300_000));
    writeFileSync(join(src, "sub", "b.txt"), "hello from a vault-backed node\n");
    const b1 = json<{ backupId: string }>(await ok(["backup", src, "--name", "v1", "--json"]));
    await ok(["restore", b1.backupId, join(dir, "out1")]);
    expect(snapshotTree(join(dir, "out1"))).toEqual(snapshotTree(src));

    const before = json<KeysListJson>(await ok(["keys", "list", "--json"]));
    expect(before.provider).toMatchObject({ kind, canRotate: true });
    expect(before.providerKeys.map((k) => [k.keyId, k.current, k.secretName])).toEqual([
      [1, true, `${prefix}-1`],
    ]);
    expect(before.dataKeys).toEqual([
      { keyId: 1, current: true, providerKeyId: 1, createdAt: expect.any(String) },
    ]);

    const rot = json<{ currentKeyId: number; providerKeyRotated: boolean; currentProviderKeyId: number }>(
      await ok(["keys", "rotate", "--json"]),
    );
    expect(rot).toMatchObject({ currentKeyId: 2, providerKeyRotated: true, currentProviderKeyId: 2 });
    // The vault's pointer moved: a fresh process sees provider key 2 as current.
    const current = json<{ providerKey: ProviderKeyRow; dataKey: { keyId: number; providerKeyId: number } }>(
      await ok(["keys", "show-current", "--json"]),
    );
    expect(current.providerKey).toMatchObject({ keyId: 2, current: true, secretName: `${prefix}-2` });
    expect(current.dataKey).toMatchObject({ keyId: 2, providerKeyId: 2 });
    expect(vault.raw(`${prefix}-current`)).toContain('"current":2');

    writeFileSync(join(src, "after-rotate.bin"), randomBytes(200_000));
    const b2 = json<{ backupId: string }>(await ok(["backup", src, "--name", "v2", "--json"]));
    await ok(["restore", b1.backupId, join(dir, "out1b")]);
    await ok(["restore", b2.backupId, join(dir, "out2")]);
    const withoutNew = snapshotTree(src);
    withoutNew.delete("after-rotate.bin");
    expect(snapshotTree(join(dir, "out1b"))).toEqual(withoutNew);
    expect(snapshotTree(join(dir, "out2"))).toEqual(snapshotTree(src));

    const after = json<KeysListJson>(await ok(["keys", "list", "--json"]));
    expect(after.currentProviderKeyId).toBe(2);
    expect(after.providerKeys.map((k) => [k.keyId, k.current])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect(after.dataKeys.map((k) => [k.keyId, k.providerKeyId, k.current])).toEqual([
      [1, 1, false],
      [2, 2, true],
    ]);
    const human = (await ok(["keys", "list"])).stdout.toString();
    expect(human).toContain(`${prefix}-2`);
    expect(human).toMatch(/provider key 2/);

    // No secret value ever reached stdout or stderr: not the key records, not the pointer.
    const secrets = [`${prefix}-1`, `${prefix}-2`].map((n) => vault.raw(n)!);
    for (const s of secrets) {
      const record = JSON.parse(s) as Record<string, unknown>;
      // The secret fields of a key record (the public key and ciphertext may be shown).
      const values = ["mlKem768Seed", "rootInput", "root"]
        .map((f) => record[f])
        .filter((v): v is string => typeof v === "string");
      expect(values.length).toBe(2);
      for (const v of values) for (const out of printed) expect(out).not.toContain(v);
    }
  }, 180_000);

  it("a vault that is down at start-up: exit 3, naming the provider and the secret", async () => {
    const r = await enigma(["list"], await vault.downEnv());
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(kind);
    expect(r.stderr).toContain(`"${prefix}-current"`);
    expect(r.stderr).toMatch(/vault unreachable/);
    expect(r.stderr).toMatch(/does not start or serve writes/);
    expect(r.stderr).not.toMatch(/permission denied/);
  }, 60_000);

  it("a vault that refuses access: exit 3 with a distinct permission message", async () => {
    vault.denyAll();
    try {
      const r = await enigma(["keys", "show-current"]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(kind);
      expect(r.stderr).toContain(`"${prefix}-current"`);
      expect(r.stderr).toMatch(/permission denied/);
      expect(r.stderr).toMatch(/check this node's credentials/);
      expect(r.stderr).not.toMatch(/unreachable/);
    } finally {
      vault.allow();
    }
  }, 60_000);
});
