import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  chunkObjectKey,
  chunkObjectName,
  isChunkObjectName,
  nameTagOf,
  parseChunkObjectKey,
  UPLOAD_NONCE_HEX_CHARS,
} from "./backend.js";

const tag = createHash("sha256").update("a chunk").digest("hex");
const nonce = "0123456789abcdef";

describe("chunk object names and keys", () => {
  it("an upload's name is its tag then its nonce; both forms map to keys and back", () => {
    const name = chunkObjectName(tag, nonce);
    expect(name).toBe(tag + nonce);
    expect(name).toHaveLength(64 + UPLOAD_NONCE_HEX_CHARS);
    expect(nameTagOf(name)).toBe(tag);
    expect(nameTagOf(tag)).toBe(tag);
    for (const n of [name, tag]) {
      expect(isChunkObjectName(n)).toBe(true);
      const key = chunkObjectKey(n);
      expect(key).toBe(`chunks/${tag.slice(0, 2)}/${n}`);
      expect(parseChunkObjectKey(key)).toBe(n);
    }
    // Two uploads of the same content never share a key.
    expect(chunkObjectKey(chunkObjectName(tag, "fedcba9876543210"))).not.toBe(chunkObjectKey(name));
  });

  it("refuses malformed tags, nonces and names, and keys that are not ours", () => {
    expect(() => chunkObjectName(tag.slice(1), nonce)).toThrow(/name tag/);
    expect(() => chunkObjectName(tag, "0123")).toThrow(/nonce/);
    expect(() => chunkObjectName(tag, "0123456789ABCDEF")).toThrow(/nonce/);
    for (const bad of ["", tag.slice(1), `${tag}0`, `${tag}${nonce}0`, tag.toUpperCase()]) {
      expect(isChunkObjectName(bad)).toBe(false);
      expect(() => chunkObjectKey(bad)).toThrow(/chunk object name/);
    }
    for (const key of [
      `chunks/${tag.slice(0, 2)}/${tag}0`,
      `chunks/ff/${tag}${nonce}`.replace("ff", tag.startsWith("ff") ? "00" : "ff"),
      `chunks/${tag.slice(0, 2)}/${tag}.tmp`,
      `other/${tag.slice(0, 2)}/${tag}`,
    ]) {
      expect(parseChunkObjectKey(key)).toBeNull();
    }
  });
});
