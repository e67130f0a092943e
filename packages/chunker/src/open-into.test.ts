import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ChunkerError } from "./errors.js";
import { OPEN_SLICE_BYTES, openSealedInto, sealedBlobBound } from "./open-into.js";
import { openSealed } from "./open-sealed.js";
import {
  chunkNameTag,
  FLAG_COMPRESSED,
  SEAL_OVERHEAD_BYTES,
  SEALED_HEADER_BYTES,
  sealChunk,
} from "./seal-api.js";
import { pseudoRandomBytes } from "./test-bytes.js";
import { zstd } from "./zstd.js";

const KEY_ID = 3;
const key = randomBytes(32);
const nameKey = randomBytes(32);
const keyFor = (id: number) => (id === KEY_ID ? key : undefined);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();

function seal(plain: Buffer, opts: { compressed?: Uint8Array; nameOf?: Buffer } = {}) {
  const hash = sha(plain);
  const blob = sealChunk({
    keyId: KEY_ID,
    key,
    nameTag: chunkNameTag(nameKey, opts.nameOf ? sha(opts.nameOf) : hash),
    payload: opts.compressed ?? plain,
    flags: opts.compressed ? FLAG_COMPRESSED : 0,
  });
  return { hash, blob, prefix: hash.toString("hex", 0, 8) };
}

function zstdFrame(plain: Uint8Array, declareSize = true): Buffer {
  const cctx = new zstd.CCtx();
  if (!declareSize) cctx.setParameter(zstd.CParameter.contentSizeFlag, 0);
  const out = Buffer.alloc(zstd.compressBound(plain.length));
  return out.subarray(0, cctx.compress2(out, plain));
}

function expectChunkError(fn: () => unknown, code: string, prefix: string) {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ChunkerError);
  expect((thrown as ChunkerError).code).toBe(code);
  expect((thrown as Error).message).toContain(prefix);
}

/** Every way of opening, each on its own copy of the blob (in place consumes it). */
const modes = {
  fresh: (blob: Buffer, hash: Buffer, maxBytes?: number) =>
    openSealedInto(Buffer.from(blob), keyFor, hash, nameKey, maxBytes ? { maxBytes } : {}),
  alloc: (blob: Buffer, hash: Buffer, maxBytes?: number) =>
    openSealedInto(Buffer.from(blob), keyFor, hash, nameKey, {
      ...(maxBytes ? { maxBytes } : {}),
      alloc: (n) => Buffer.alloc(n + 1000, 0xee), // longer than asked, with junk after
    }),
  inPlace: (blob: Buffer, hash: Buffer, maxBytes?: number) =>
    openSealedInto(Buffer.from(blob), keyFor, hash, nameKey, {
      ...(maxBytes ? { maxBytes } : {}),
      inPlace: true,
    }),
};

describe("openSealedInto", () => {
  // Sizes around the slice size: empty, tiny, one slice exactly, one byte over, several slices.
  const sizes = [0, 1, 1000, OPEN_SLICE_BYTES, OPEN_SLICE_BYTES + 1, 3 * OPEN_SLICE_BYTES + 777];

  it.each(Object.keys(modes))("round-trips uncompressed chunks byte for byte (%s)", (mode) => {
    for (const n of sizes) {
      const plain = pseudoRandomBytes(n, n + 1);
      const { hash, blob } = seal(plain);
      const out = modes[mode as keyof typeof modes](blob, hash);
      expect(out.length).toBe(n);
      expect(out.equals(plain)).toBe(true);
    }
  });

  it.each(Object.keys(modes))("round-trips compressed chunks byte for byte (%s)", (mode) => {
    const plain = Buffer.from("enigma ".repeat(100_000));
    const { hash, blob } = seal(plain, { compressed: zstdFrame(plain) });
    expect(blob.length).toBeLessThan(plain.length);
    expect(modes[mode as keyof typeof modes](blob, hash).equals(plain)).toBe(true);
  });

  it("in place, an uncompressed chunk's plaintext is a view of the blob and leaves the header", () => {
    const plain = pseudoRandomBytes(2 * OPEN_SLICE_BYTES + 5, 9);
    const { hash, blob } = seal(plain);
    const copy = Buffer.from(blob);
    const out = openSealedInto(copy, keyFor, hash, nameKey, { inPlace: true });
    expect(out.buffer).toBe(copy.buffer);
    expect(out.byteOffset).toBe(copy.byteOffset + SEALED_HEADER_BYTES);
    expect(copy.subarray(0, SEALED_HEADER_BYTES).equals(blob.subarray(0, SEALED_HEADER_BYTES))).toBe(true);
    expect(out.equals(plain)).toBe(true);
  });

  it("openSealed leaves its blob untouched", () => {
    const plain = pseudoRandomBytes(300_000, 4);
    const { hash, blob } = seal(plain);
    const copy = Buffer.from(blob);
    expect(openSealed(copy, keyFor, hash, nameKey).equals(plain)).toBe(true);
    expect(copy.equals(blob)).toBe(true);
  });

  describe.each(Object.keys(modes))("failures name the chunk and return nothing (%s)", (mode) => {
    const open = modes[mode as keyof typeof modes];
    const plain = pseudoRandomBytes(3 * OPEN_SLICE_BYTES + 100, 11);
    const { hash, blob, prefix } = seal(plain);

    it("a flipped ciphertext byte in any slice, a tampered tag or header is Corrupt", () => {
      for (const at of [
        SEALED_HEADER_BYTES,
        SEALED_HEADER_BYTES + 2 * OPEN_SLICE_BYTES + 3,
        blob.length - 17,
      ]) {
        const bad = Buffer.from(blob);
        bad[at]! ^= 0x40;
        expectChunkError(() => open(bad, hash), "Corrupt", prefix);
      }
      const badTag = Buffer.from(blob);
      badTag[blob.length - 1]! ^= 1;
      expectChunkError(() => open(badTag, hash), "Corrupt", prefix);
      const badReserved = Buffer.from(blob);
      badReserved[7]! ^= 1; // reserved header byte: only the AAD covers it
      expectChunkError(() => open(badReserved, hash), "Corrupt", prefix);
    });

    it("a truncated blob is Corrupt", () => {
      for (const n of [0, 20, SEAL_OVERHEAD_BYTES - 1, SEAL_OVERHEAD_BYTES, blob.length - 1]) {
        expectChunkError(() => open(blob.subarray(0, n), hash), "Corrupt", prefix);
      }
    });

    it("the wrong data key is Corrupt, an unknown key id UnknownKey", () => {
      const wrong = openSealedInto.bind(null, Buffer.from(blob), () => randomBytes(32), hash, nameKey);
      expectChunkError(() => wrong(mode === "inPlace" ? { inPlace: true } : {}), "Corrupt", prefix);
      expectChunkError(
        () =>
          openSealedInto(Buffer.from(blob), () => undefined, hash, nameKey, { inPlace: mode === "inPlace" }),
        "UnknownKey",
        prefix,
      );
    });

    it("another chunk's blob, or a payload that does not hash to the name, is Mismatch", () => {
      const other = seal(pseudoRandomBytes(5000, 12));
      expectChunkError(() => open(other.blob, hash), "Mismatch", prefix);
      const forged = seal(pseudoRandomBytes(5000, 13), { nameOf: plain });
      expectChunkError(() => open(forged.blob, hash), "Mismatch", prefix);
    });

    it("a chunk above the bound is TooLarge", () => {
      expectChunkError(() => open(blob, hash, 1000), "TooLarge", prefix);
      expectChunkError(() => open(Buffer.alloc(sealedBlobBound(1000) + 1), hash, 1000), "TooLarge", prefix);
    });

    it("a zstd bomb is TooLarge, declared or not; a non-zstd payload is Corrupt", () => {
      const zeros = Buffer.alloc(1_000_000);
      for (const declared of [true, false]) {
        const bomb = seal(zeros, { compressed: zstdFrame(zeros, declared) });
        expectChunkError(() => open(bomb.blob, bomb.hash, 100_000), "TooLarge", bomb.prefix);
        expect(open(bomb.blob, bomb.hash, 1_000_000).equals(zeros)).toBe(true);
      }
      const junk = seal(zeros, { compressed: Buffer.from("not a zstd frame at all") });
      expectChunkError(() => open(junk.blob, junk.hash), "Corrupt", junk.prefix);
    });
  });
});
