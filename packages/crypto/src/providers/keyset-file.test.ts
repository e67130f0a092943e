import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Argon2Params } from "../argon2-params.js";
import { openKeystore } from "../keystore.js";
import { generateHybridRecord, type KeySet, newKeystoreId } from "./key-record.js";
import { KeySetMaterial } from "./key-set-material.js";
import { readKeySetFile, writeKeySetFile } from "./keyset-file.js";

const FAST: Partial<Argon2Params> = { memoryKiB: 8 * 1024, iterations: 1 };
const PASS = "passphrase for the key-set file";

function twoKeySet(): KeySet {
  const keystoreId = newKeystoreId();
  const first = generateHybridRecord(keystoreId, 1, 1_000);
  const material = new KeySetMaterial(first);
  const second = material.authenticate(generateHybridRecord(keystoreId, 2, 2_000));
  material.wipe();
  return { keystoreId, currentKeyId: 2, records: [first, second] };
}

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "enigma-keyset-file-"));
  path = join(dir, "keystore.enigma");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Rewrites the file with `edit` applied and a valid checksum (a deliberate edit). */
async function tamper(edit: (b: Buffer) => void): Promise<void> {
  const b = await readFile(path);
  edit(b);
  createHash("sha256")
    .update(b.subarray(0, b.length - 32))
    .digest()
    .copy(b, b.length - 32);
  await writeFile(path, b);
}

describe("key-set file (keystore format v2)", () => {
  it("round-trips a key set under the passphrase, mode 0600, with no key material in clear", async () => {
    const set = twoKeySet();
    await writeKeySetFile(path, PASS, set, { argon2: FAST, createdAtMs: 42 });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const raw = await readFile(path);
    for (const r of set.records) {
      if (r.derivation !== "ml-kem-768-hybrid") throw new Error("unexpected");
      expect(raw.includes(r.rootInput)).toBe(false);
      expect(raw.toString("latin1")).not.toContain(r.rootInput.toString("base64"));
    }
    const { info, set: back } = await readKeySetFile(path, PASS);
    expect(info).toMatchObject({
      keystoreId: set.keystoreId,
      createdAtMs: 42,
      argon2: { memoryKiB: 8 * 1024 },
    });
    expect(back.currentKeyId).toBe(2);
    expect(back.records.map((r) => r.keyId)).toEqual([1, 2]);
    expect(back.records[1]).toEqual(set.records[1]);
  });

  it("refuses to overwrite, and tells a wrong passphrase from damage", async () => {
    await writeKeySetFile(path, PASS, twoKeySet(), { argon2: FAST });
    await expect(writeKeySetFile(path, PASS, twoKeySet(), { argon2: FAST })).rejects.toMatchObject({
      code: "FileExists",
    });
    await expect(readKeySetFile(path, "wrong")).rejects.toMatchObject({ code: "WrongPassphrase" });

    const good = await readFile(path);
    await writeFile(
      path,
      Buffer.concat([good.subarray(0, 100), Buffer.from([good[100]! ^ 1]), good.subarray(101)]),
    );
    await expect(readKeySetFile(path, PASS)).rejects.toMatchObject({
      code: "KeystoreCorrupt",
      message: /checksum/,
    });
    await writeFile(path, good.subarray(0, good.length - 5));
    await expect(readKeySetFile(path, PASS)).rejects.toMatchObject({ code: "KeystoreCorrupt" });

    // An edited (authenticated) header with a fixed checksum fails GCM, like keystore v1.
    await writeFile(path, good);
    await tamper((b) => b.writeBigUInt64BE(7n, 52));
    await expect(readKeySetFile(path, PASS)).rejects.toMatchObject({ code: "WrongPassphrase" });
  });

  it("checks Argon2 costs before running Argon2, so an edited header cannot make open hang", async () => {
    await writeKeySetFile(path, PASS, twoKeySet(), { argon2: FAST });
    await tamper((b) => b.writeUInt32BE(0xffff_ffff, 8));
    await expect(readKeySetFile(path, PASS)).rejects.toMatchObject({
      code: "KeystoreCorrupt",
      message: /memory/i,
    });
  });

  it("is not mistaken for a v1 keystore by the v1 reader", async () => {
    await writeKeySetFile(path, PASS, twoKeySet(), { argon2: FAST });
    await expect(openKeystore(path, PASS)).rejects.toMatchObject({
      code: "KeystoreCorrupt",
      message: /version 2/,
    });
  });
});
