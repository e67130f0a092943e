import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CryptoError } from "./errors.js";
import { Keyring } from "./keyring.js";
import { createKeystore, type Keystore, openKeystore } from "./keystore.js";
import { chunkNameTag, openChunk, sealChunk } from "./seal.js";

let dir: string;
let ks: Keystore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "enigma-keyring-"));
  ks = await createKeystore(join(dir, "ks.enk"), "pw", { argon2: { memoryKiB: 8192, iterations: 1 } });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Keyring", () => {
  it("rotation: new chunks use the new current key, old chunks still open by their recorded id", () => {
    const ring = new Keyring();
    expect(ring.nextKeyId()).toBe(1);
    const k1 = ks.newDataKey(ring.nextKeyId());
    ring.add(1, k1.key);
    const tag = chunkNameTag(ks.nameKey, randomBytes(32));
    const payload = randomBytes(100);
    const old = sealChunk({
      keyId: ring.current.keyId,
      key: ring.current.key,
      nameTag: tag,
      payload,
      flags: 0,
    });

    const k2 = ks.newDataKey(ring.nextKeyId());
    ring.add(2, k2.key);
    expect(ring.current.keyId).toBe(2);
    const fresh = sealChunk({
      keyId: ring.current.keyId,
      key: ring.current.key,
      nameTag: tag,
      payload,
      flags: 0,
    });
    expect(fresh.readUInt32BE(8)).toBe(2);
    expect(openChunk(old, ring.keyFor, tag).payload.equals(payload)).toBe(true);
    expect(openChunk(fresh, ring.keyFor, tag).payload.equals(payload)).toBe(true);
    expect(ring.ids()).toEqual([1, 2]);
  });

  it("another node rebuilds the same ring from the replicated wrapped keys", async () => {
    const rows = [1, 2, 3].map((keyId) => ({ keyId, ...ks.newDataKey(keyId) }));
    const other = await openKeystore(join(dir, "ks.enk"), "pw");
    const ring = Keyring.fromWrapped(
      other,
      rows.map((r) => ({ keyId: r.keyId, wrapped: r.wrapped.toString("hex") })),
    );
    for (const r of rows) expect(ring.keyFor(r.keyId)?.equals(r.key)).toBe(true);
    expect(ring.current.keyId).toBe(3);
    expect(ring.keyFor(4)).toBeUndefined();
  });

  it("setCurrent pins an explicit key; unknown ids and empty rings are typed errors", () => {
    const ring = new Keyring();
    expect(() => ring.current).toThrowError(CryptoError);
    ring.add(5, randomBytes(32));
    ring.add(9, randomBytes(32));
    ring.setCurrent(5);
    expect(ring.current.keyId).toBe(5);
    expect(() => ring.setCurrent(7)).toThrow(/unknown data key id 7/);
    expect(ring.nextKeyId()).toBe(10);
  });

  it("re-adding the same key is idempotent; a different key under a known id is a KeyConflict", () => {
    const ring = new Keyring();
    const key = randomBytes(32);
    ring.add(1, key);
    ring.add(1, Buffer.from(key));
    expect(ring.size).toBe(1);
    try {
      ring.add(1, randomBytes(32));
      expect.unreachable();
    } catch (err) {
      expect((err as CryptoError).code).toBe("KeyConflict");
    }
    expect(() => ring.add(-1, key)).toThrow(/key id/);
    expect(() => ring.add(2, randomBytes(16))).toThrow(/32 bytes/);
  });

  it("logs ids only", () => {
    const ring = new Keyring();
    const key = randomBytes(32);
    ring.add(3, key);
    const text = JSON.stringify(ring);
    expect(JSON.parse(text)).toEqual({ ids: [3], currentKeyId: 3 });
    expect(text).not.toContain(key.toString("hex"));
  });
});
