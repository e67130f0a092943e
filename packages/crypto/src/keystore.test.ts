import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Argon2Params } from "./argon2-params.js";
import { CryptoError } from "./errors.js";
import { createKeystore, inspectKeystore, openKeystore } from "./keystore.js";
import { KEYSTORE_FILE_BYTES, KEYSTORE_OFFSETS } from "./keystore-format.js";

const FAST: Partial<Argon2Params> = { memoryKiB: 8 * 1024, iterations: 1 };
const PASS = "correct horse battery staple";

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "enigma-keystore-"));
  path = join(dir, "keystore.enk");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function expectCode(p: Promise<unknown>, code: string): Promise<CryptoError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CryptoError);
  expect((err as CryptoError).code).toBe(code);
  return err as CryptoError;
}

/** Rewrites the file with `edit` applied and, unless told otherwise, a valid checksum. */
async function tamper(edit: (b: Buffer) => void, fixChecksum = true): Promise<void> {
  const b = await readFile(path);
  edit(b);
  if (fixChecksum) {
    createHash("sha256")
      .update(b.subarray(0, KEYSTORE_OFFSETS.checksum))
      .digest()
      .copy(b, KEYSTORE_OFFSETS.checksum);
  }
  await writeFile(path, b);
}

describe("createKeystore / openKeystore", () => {
  it("round-trips: two opens derive the same keys, so every node computes the same names", async () => {
    const created = await createKeystore(path, PASS, { argon2: FAST, createdAtMs: 1_700_000_000_000 });
    const a = await openKeystore(path, PASS);
    const b = await openKeystore(path, PASS);
    expect(a.keystoreId).toMatch(/^[0-9a-f]{32}$/);
    expect(a.keystoreId).toBe(created.keystoreId);
    expect(a.nameKey.equals(b.nameKey)).toBe(true);
    expect(a.nameKey.equals(created.nameKey)).toBe(true);
    expect(a.chainKey.equals(b.chainKey)).toBe(true);
    expect(a.credKey.equals(b.credKey)).toBe(true);
    expect(a.createdAtMs).toBe(1_700_000_000_000);
    expect(a.argon2).toEqual({ memoryKiB: 8192, iterations: 1, parallelism: 1 });
    // Purpose keys are distinct from each other.
    const keys = [a.nameKey, a.chainKey, a.credKey, a.clusterSecretSeed].map((k) => k.toString("hex"));
    expect(new Set(keys).size).toBe(4);
  });

  it("writes a 0600 file of the fixed size and leaves no temp files", async () => {
    await createKeystore(path, PASS, { argon2: FAST });
    const st = await stat(path);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.size).toBe(KEYSTORE_FILE_BYTES);
    expect(await readdir(dir)).toEqual(["keystore.enk"]);
  });

  it("a data key wrapped by one open unwraps in another, and not under another id or keystore", async () => {
    const first = await createKeystore(path, PASS, { argon2: FAST });
    const { key, wrapped } = first.newDataKey(1);
    const second = await openKeystore(path, PASS);
    expect(second.unwrapDataKey(1, wrapped).equals(key)).toBe(true);
    expect(second.unwrapDataKey(1, wrapped.toString("hex")).equals(key)).toBe(true);
    await expectCode(
      Promise.resolve().then(() => second.unwrapDataKey(2, wrapped)),
      "UnwrapFailed",
    );

    const other = await createKeystore(join(dir, "other.enk"), PASS, { argon2: FAST });
    expect(other.nameKey.equals(first.nameKey)).toBe(false);
    const err = await expectCode(
      Promise.resolve().then(() => other.unwrapDataKey(1, wrapped)),
      "UnwrapFailed",
    );
    expect(err.message).not.toContain(key.toString("hex"));
  });

  it("refuses to overwrite an existing file and leaves it intact", async () => {
    await createKeystore(path, PASS, { argon2: FAST });
    const before = await readFile(path);
    await expectCode(createKeystore(path, "another", { argon2: FAST }), "FileExists");
    expect((await readFile(path)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(["keystore.enk"]);
  });

  it("rejects bad parameters at creation and writes nothing", async () => {
    await expectCode(createKeystore(path, PASS, { argon2: { memoryKiB: 1024 } }), "BadParams");
    await expectCode(createKeystore(path, PASS, { argon2: { ...FAST, iterations: 65 } }), "BadParams");
    await expectCode(createKeystore(path, "", { argon2: FAST }), "BadParams");
    await expectCode(createKeystore(join(dir, "no", "such", "dir.enk"), PASS, { argon2: FAST }), "Io");
    expect(await readdir(dir)).toEqual([]);
  });

  it("wrong passphrase: typed one-line error without the passphrase, and nothing written", async () => {
    await createKeystore(path, PASS, { argon2: FAST });
    const before = await readFile(path);
    const err = await expectCode(openKeystore(path, "correct horse battery stapler"), "WrongPassphrase");
    expect(err.message).not.toMatch(/\n/);
    expect(err.message).not.toContain("stapler");
    expect((await readFile(path)).equals(before)).toBe(true);
    expect(await readdir(dir)).toEqual(["keystore.enk"]);
  });

  it("normalizes the passphrase to NFC", async () => {
    await createKeystore(path, "caf\u00e9 au lait", { argon2: FAST });
    const ks = await openKeystore(path, "cafe\u0301 au lait");
    expect(ks.keystoreId).toHaveLength(32);
  });

  it("missing file → KeystoreMissing", async () => {
    await expectCode(openKeystore(join(dir, "nope.enk"), PASS), "KeystoreMissing");
    await expectCode(inspectKeystore(join(dir, "nope.enk")), "KeystoreMissing");
  });

  it("truncated, extended, empty, foreign or bit-flipped files → KeystoreCorrupt", async () => {
    await createKeystore(path, PASS, { argon2: FAST });
    const good = await readFile(path);
    const cases: Buffer[] = [
      good.subarray(0, good.length - 1),
      good.subarray(0, 100),
      Buffer.concat([good, Buffer.from([0])]),
      Buffer.alloc(0),
      Buffer.from("not a keystore at all"),
    ];
    const flipped = Buffer.from(good);
    const at = KEYSTORE_OFFSETS.publicKey + 10;
    flipped[at] = (flipped[at] ?? 0) ^ 0x40;
    cases.push(flipped);
    for (const bytes of cases) {
      await writeFile(path, bytes);
      await expectCode(openKeystore(path, PASS), "KeystoreCorrupt");
    }
    const v2 = Buffer.from(good);
    v2[KEYSTORE_OFFSETS.version] = 2;
    await writeFile(path, v2);
    const err = await expectCode(openKeystore(path, PASS), "KeystoreCorrupt");
    expect(err.message).toMatch(/version 2/);
  });

  it("a header edited with a recomputed checksum fails authentication", async () => {
    await createKeystore(path, PASS, { argon2: FAST });
    const good = await readFile(path);
    const edits: Array<(b: Buffer) => void> = [
      (b) => b.writeUInt32BE(16 * 1024, KEYSTORE_OFFSETS.memoryKiB), // valid but different params
      (b) => b.writeUInt32BE(2, KEYSTORE_OFFSETS.iterations),
      (b) => b.writeUInt8((b[KEYSTORE_OFFSETS.keystoreId] ?? 0) ^ 1, KEYSTORE_OFFSETS.keystoreId),
      (b) => b.writeUInt8((b[KEYSTORE_OFFSETS.publicKey] ?? 0) ^ 1, KEYSTORE_OFFSETS.publicKey),
      (b) => b.writeUInt8((b[KEYSTORE_OFFSETS.kemCiphertext] ?? 0) ^ 1, KEYSTORE_OFFSETS.kemCiphertext),
      (b) => b.writeBigUInt64BE(1n, KEYSTORE_OFFSETS.createdAtMs),
    ];
    for (const edit of edits) {
      await writeFile(path, good);
      await tamper(edit);
      await expectCode(openKeystore(path, PASS), "WrongPassphrase");
    }
  });

  it("absurd Argon2 parameters in the header are refused before any work (no hang, no OOM)", async () => {
    await createKeystore(path, PASS, { argon2: FAST });
    const good = await readFile(path);
    const edits: Array<(b: Buffer) => void> = [
      (b) => b.writeUInt32BE(0xffff_ffff, KEYSTORE_OFFSETS.memoryKiB),
      (b) => b.writeUInt32BE(0xffff_ffff, KEYSTORE_OFFSETS.iterations),
      (b) => b.writeUInt32BE(0, KEYSTORE_OFFSETS.iterations),
      (b) => b.writeUInt32BE(10_000, KEYSTORE_OFFSETS.parallelism),
      (b) => {
        b.writeUInt32BE(4 * 1024 * 1024, KEYSTORE_OFFSETS.memoryKiB);
        b.writeUInt32BE(64, KEYSTORE_OFFSETS.iterations);
      },
    ];
    for (const edit of edits) {
      await writeFile(path, good);
      await tamper(edit);
      const err = await expectCode(openKeystore(path, PASS), "KeystoreCorrupt");
      expect(err.message).toMatch(/Argon2id/);
    }
  });

  it("inspectKeystore reads the public header without the passphrase", async () => {
    const ks = await createKeystore(path, PASS, { argon2: { ...FAST, parallelism: 2 }, createdAtMs: 42 });
    expect(await inspectKeystore(path)).toEqual({
      keystoreId: ks.keystoreId,
      createdAtMs: 42,
      argon2: { memoryKiB: 8192, iterations: 1, parallelism: 2 },
    });
  });

  it("serializing or inspecting a keystore shows no key material", async () => {
    const ks = await createKeystore(path, PASS, { argon2: FAST });
    const { inspect } = await import("node:util");
    for (const text of [JSON.stringify(ks), inspect(ks, { depth: 5, showHidden: true })]) {
      expect(text).toContain(ks.keystoreId);
      for (const k of [ks.nameKey, ks.chainKey, ks.credKey, ks.clusterSecretSeed]) {
        expect(text).not.toContain(k.toString("hex"));
        expect(text).not.toMatch(new RegExp(k.subarray(0, 4).toString("hex").match(/../g)?.join(" ") ?? "x"));
      }
    }
  });
});
