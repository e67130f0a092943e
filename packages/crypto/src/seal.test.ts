import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chunkNameTag, FLAG_COMPRESSED, openChunk, SealError, sealChunk } from "./seal.js";

describe("sealChunk/openChunk", () => {
  const key = randomBytes(32);
  const nameKey = randomBytes(32);
  const tag = chunkNameTag(nameKey, randomBytes(32));
  const keyFor = (id: number) => (id === 7 ? key : undefined);

  it("round-trips and authenticates the header", () => {
    const payload = randomBytes(1000);
    const blob = sealChunk({ keyId: 7, key, nameTag: tag, payload, flags: FLAG_COMPRESSED });
    const opened = openChunk(blob, keyFor, tag);
    expect(opened.payload.equals(payload)).toBe(true);
    expect(opened.header.flags).toBe(FLAG_COMPRESSED);
    const flipped = Buffer.from(blob);
    flipped[5] = 0; // clear the compressed flag: header is AAD, so this must fail
    expect(() => openChunk(flipped, keyFor, tag)).toThrowError(SealError);
  });

  it("refuses a blob carrying another chunk's name and a corrupted body", () => {
    const blob = sealChunk({ keyId: 7, key, nameTag: tag, payload: randomBytes(64), flags: 0 });
    const other = chunkNameTag(nameKey, randomBytes(32));
    expect(() => openChunk(blob, keyFor, other)).toThrow(/name tag mismatch/);
    const bad = Buffer.from(blob);
    bad[60] = (bad[60] ?? 0) ^ 1;
    expect(() => openChunk(bad, keyFor, tag)).toThrow(/authentication/);
    expect(() => openChunk(blob, () => undefined)).toThrow(/unknown key id 7/);
  });

  it("uses a fresh nonce per seal", () => {
    const payload = randomBytes(32);
    const a = sealChunk({ keyId: 7, key, nameTag: tag, payload, flags: 0 });
    const b = sealChunk({ keyId: 7, key, nameTag: tag, payload, flags: 0 });
    expect(a.subarray(12, 24).equals(b.subarray(12, 24))).toBe(false);
  });
});
