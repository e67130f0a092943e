import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { openChunk, SEAL_OVERHEAD_BYTES, sealChunk } from "./seal-api.js";
import { SEAL_SLICE_BYTES, sealInto } from "./seal-into.js";
import { pseudoRandomBytes } from "./test-bytes.js";

const key = randomBytes(32);
const nameTag = randomBytes(32);
const S = SEAL_SLICE_BYTES;

describe("sealInto", () => {
  it.each([0, 1, S - 1, S, S + 1, 4 * S + 3])(
    "writes sealed-chunk format v1 that crypto's openChunk opens (%i bytes)",
    (n) => {
      const payload = pseudoRandomBytes(n, n + 1);
      const out = Buffer.alloc(n + SEAL_OVERHEAD_BYTES + 100, 0xee);
      const sealed = sealInto({ keyId: 9, key, nameTag, payload, flags: 1 }, out);
      expect(sealed.length).toBe(n + SEAL_OVERHEAD_BYTES);
      expect(sealed.buffer).toBe(out.buffer);
      const opened = openChunk(sealed, (id) => (id === 9 ? key : undefined), nameTag);
      expect(opened.payload.equals(payload)).toBe(true);
      expect(opened.header.flags).toBe(1);
      // Same header as sealChunk's apart from the random nonce (bytes 12..24).
      const ref = sealChunk({ keyId: 9, key, nameTag, payload, flags: 1 });
      expect(sealed.subarray(0, 12).equals(ref.subarray(0, 12))).toBe(true);
      expect(sealed.subarray(24, 56).equals(ref.subarray(24, 56))).toBe(true);
      expect(out[n + SEAL_OVERHEAD_BYTES]).toBe(0xee); // nothing written past the blob
    },
  );

  it("a flipped ciphertext byte fails authentication", () => {
    const payload = pseudoRandomBytes(S + 10, 2);
    const sealed = sealInto({ keyId: 1, key, nameTag, payload, flags: 0 }, Buffer.alloc(S + 200));
    sealed[56 + S]! ^= 1;
    expect(() => openChunk(sealed, () => key)).toThrow(/authentication/);
  });

  it("falls back to a fresh buffer when out is too small, and validates like sealChunk", () => {
    const payload = pseudoRandomBytes(1000, 3);
    const small = Buffer.alloc(10);
    const sealed = sealInto({ keyId: 1, key, nameTag, payload, flags: 0 }, small);
    expect(sealed.buffer).not.toBe(small.buffer);
    expect(openChunk(sealed, () => key).payload.equals(payload)).toBe(true);
    const out = Buffer.alloc(2000);
    expect(() => sealInto({ keyId: 1, key: key.subarray(0, 16), nameTag, payload, flags: 0 }, out)).toThrow(
      "data key must be 32 bytes",
    );
    expect(() => sealInto({ keyId: 1, key, nameTag, payload, flags: 4 }, out)).toThrow(
      "unknown seal flags 4",
    );
  });
});
