import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { unwrapDataKey, WRAPPED_DATA_KEY_BYTES, wrapDataKey, wrappedBytes } from "./data-keys.js";

const kek = randomBytes(32);

describe("wrapped data keys", () => {
  it("round-trip with a fresh nonce; the key id is authenticated", () => {
    const key = randomBytes(32);
    const a = wrapDataKey(kek, 7, key);
    const b = wrapDataKey(kek, 7, key);
    expect(a).toHaveLength(WRAPPED_DATA_KEY_BYTES);
    expect(a.equals(b)).toBe(false);
    expect(unwrapDataKey(kek, 7, a).equals(key)).toBe(true);
    expect(() => unwrapDataKey(kek, 8, a)).toThrow(/does not unwrap/);
  });

  it("refuses malformed, tampered and foreign-version blobs", () => {
    const w = wrapDataKey(kek, 1, randomBytes(32));
    expect(() => unwrapDataKey(kek, 1, w.subarray(1))).toThrow(/malformed/);
    const v2 = Buffer.from(w);
    v2[0] = 2;
    expect(() => unwrapDataKey(kek, 1, v2)).toThrow(/malformed/);
    const flipped = Buffer.from(w);
    flipped[20] = (flipped[20] ?? 0) ^ 1;
    expect(() => unwrapDataKey(kek, 1, flipped)).toThrow(/does not unwrap/);
    expect(() => wrappedBytes("zz")).toThrow(/hex/);
    expect(() => wrapDataKey(kek, 2 ** 32, randomBytes(32))).toThrow(/key id/);
    expect(() => wrapDataKey(kek, 1, randomBytes(31))).toThrow(/32 bytes/);
  });
});
