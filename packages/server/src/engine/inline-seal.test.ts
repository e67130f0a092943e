import { createHash, randomBytes } from "node:crypto";
import { type ChunkingOptions, openSealed, type SealedChunk, sealStream } from "@enigma/chunker";
import { describe, expect, it } from "vitest";
import { INLINE_SEAL_MAX_BYTES, sealSmallOrStream } from "./inline-seal.js";

const dataKey = { keyId: 7, key: randomBytes(32) };
const nameKey = randomBytes(32);
const keyFor = (id: number) => (id === dataKey.keyId ? dataKey.key : undefined);
const KiB = 1024;

/** A source that hands out `body` in `piece`-byte slices of ONE reused buffer (like the CLI's reader). */
async function* reusing(body: Buffer, piece: number): AsyncGenerator<Uint8Array> {
  const scratch = Buffer.alloc(piece);
  for (let off = 0; off < body.length; off += piece) {
    const n = Math.min(piece, body.length - off);
    body.copy(scratch, 0, off, off + n);
    yield scratch.subarray(0, n);
    scratch.fill(0xee); // whatever the consumer kept of the last piece is now garbage
  }
}

async function collect(it: AsyncIterable<SealedChunk>): Promise<SealedChunk[]> {
  const out: SealedChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

const summary = (cs: SealedChunk[]) => cs.map((c) => [c.seq, c.hashHex, c.nameTagHex, c.size, c.keyId]);

function opened(c: SealedChunk): Buffer {
  expect(c.sealed).not.toBeNull();
  return openSealed(c.sealed!, keyFor, c.hash, nameKey);
}

describe("sealSmallOrStream", () => {
  const chunking: ChunkingOptions = { strategy: "fastcdc", avgBytes: 4 * 1024 * KiB };

  it("seals a small body inline as the same single chunk the pipeline cuts, and it opens", async () => {
    const body = randomBytes(4 * KiB + 3);
    const opts = { chunking, dataKey, nameKey, sha3: true, workers: 0 };
    const inline = await collect(sealSmallOrStream(reusing(body, 1000), opts));
    const piped = await collect(sealStream([body], opts));
    expect(summary(inline)).toEqual(summary(piped));
    expect(inline[0]!.hashHex).toBe(createHash("sha256").update(body).digest("hex"));
    expect(inline[0]!.sha3).toEqual(createHash("sha3-256").update(body).digest());
    expect(opened(inline[0]!).equals(body)).toBe(true);
  });

  it("yields no chunk for an empty body, like the pipeline", async () => {
    expect(await collect(sealSmallOrStream(reusing(Buffer.alloc(0), 10), { dataKey, nameKey }))).toEqual([]);
  });

  it("asks isKnown and leaves a known chunk unsealed", async () => {
    const body = randomBytes(100);
    const asked: string[] = [];
    const [c] = await collect(
      sealSmallOrStream(reusing(body, 64), {
        dataKey,
        nameKey,
        isKnown: async (h) => {
          asked.push(h);
          return true;
        },
      }),
    );
    expect(asked).toEqual([c!.hashHex]);
    expect(c!.sealed).toBeNull();
  });

  it("passes a body over the inline limit to the pipeline with the held prefix intact", async () => {
    // Small chunks, so the body spans several; pieces of a reused buffer straddle the limit.
    const small: ChunkingOptions = { strategy: "fastcdc", avgBytes: 256 * KiB };
    const body = randomBytes(INLINE_SEAL_MAX_BYTES + 700 * KiB + 5);
    const opts = { chunking: small, dataKey, nameKey, workers: 0 };
    const got = await collect(sealSmallOrStream(reusing(body, 48 * KiB + 1), opts));
    const want = await collect(sealStream([body], opts));
    expect(got.length).toBeGreaterThan(1);
    expect(summary(got)).toEqual(summary(want));
    expect(Buffer.concat(got.map(opened)).equals(body)).toBe(true);
  });

  it("never seals inline beyond the chunker's minimum chunk size", async () => {
    // fixed 64 KiB chunks: a 100 KiB body is two chunks, although it is under the inline limit.
    const fixed: ChunkingOptions = { strategy: "fixed", avgBytes: 64 * KiB };
    const body = randomBytes(100 * KiB);
    const got = await collect(sealSmallOrStream(reusing(body, 4096), { chunking: fixed, dataKey, nameKey }));
    expect(got.map((c) => c.size)).toEqual([64 * KiB, 36 * KiB]);
    expect(Buffer.concat(got.map(opened)).equals(body)).toBe(true);
  });

  it("leaves compressed writes to the pipeline (a compressible small body is stored compressed)", async () => {
    const body = Buffer.alloc(8 * KiB, 0x61);
    const [c] = await collect(
      sealSmallOrStream(reusing(body, 1024), { dataKey, nameKey, compression: { level: 3 }, workers: 0 }),
    );
    expect(c!.compressed).toBe(true);
    expect(opened(c!).equals(body)).toBe(true);
  });

  it("stops reading the source when the consumer stops early", async () => {
    let returned = false;
    const body = randomBytes(INLINE_SEAL_MAX_BYTES * 3);
    async function* src(): AsyncGenerator<Uint8Array> {
      try {
        yield* reusing(body, 64 * KiB);
      } finally {
        returned = true;
      }
    }
    const opts = {
      chunking: { strategy: "fixed", avgBytes: 64 * KiB } as const,
      dataKey,
      nameKey,
      workers: 0,
    };
    for await (const c of sealSmallOrStream(src(), opts)) {
      expect(c.seq).toBe(0);
      break;
    }
    expect(returned).toBe(true);
  });
});
