import { createHash, randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ChunkerError } from "./errors.js";
import { openSealed } from "./open-sealed.js";
import type { ChunkingOptions } from "./options.js";
import { chunkNameTag, sealChunk } from "./seal-api.js";
import { SealWorkerPool } from "./seal-pool.js";
import { type PipelineOptions, type SealedChunk, sealStream } from "./seal-stream.js";
import { pseudoRandomBytes, splitInto } from "./test-bytes.js";

const KEY_ID = 7;
const key = randomBytes(32);
const nameKey = randomBytes(32);
const keyFor = (id: number) => (id === KEY_ID ? key : undefined);
const CDC: ChunkingOptions = { strategy: "fastcdc", avgBytes: 64 * 1024 };
const MAX = 256 * 1024;

function baseOpts(extra: Partial<PipelineOptions> = {}): PipelineOptions {
  return { chunking: CDC, dataKey: { keyId: KEY_ID, key }, nameKey, workers: 0, ...extra };
}

/** Half random, half highly compressible text, so compression has something to do. */
function mixedData(bytes: number, seed: number): Buffer {
  const random = pseudoRandomBytes(bytes / 2, seed);
  const text = Buffer.from(
    "the quick brown fox jumps over the lazy dog ".repeat(bytes / 2 / 44 + 1),
  ).subarray(0, bytes / 2);
  return Buffer.concat([random, text]);
}

async function collect(it: AsyncIterable<SealedChunk>): Promise<SealedChunk[]> {
  const out: SealedChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

function expectChunkError(fn: () => unknown, code: ChunkerError["code"], hashPrefix: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ChunkerError);
    expect((err as ChunkerError).code).toBe(code);
    expect((err as ChunkerError).message).toContain(hashPrefix);
    return;
  }
  throw new Error(`expected ChunkerError ${code}`);
}

describe.each([0, 2])("sealStream with workers=%i", (workers) => {
  const data = mixedData(1024 * 1024, 11);

  it("leaves the caller's key bytes intact (workers wipe only their own copies)", async () => {
    const myKey = Buffer.from(key);
    const myNameKey = Buffer.from(nameKey);
    const opts = { ...baseOpts({ workers }), dataKey: { keyId: KEY_ID, key: myKey }, nameKey: myNameKey };
    const chunks = await collect(sealStream(splitInto(data, [50_000]), opts));
    expect(chunks.length).toBeGreaterThan(2);
    expect(myKey.equals(key)).toBe(true);
    expect(myNameKey.equals(nameKey)).toBe(true);
    for (const c of chunks) {
      expect(c.nameTag.equals(chunkNameTag(nameKey, c.hash))).toBe(true);
      c.release();
    }
  });

  it.each([false, true])("round-trips (compression=%s), recycling released buffers", async (compress) => {
    const opts = baseOpts({ workers, sha3: true, ...(compress ? { compression: { level: 3 } } : {}) });
    const plain: Buffer[] = [];
    const chunks: SealedChunk[] = [];
    for await (const c of sealStream(splitInto(data, [10_000, 3, 77_777]), opts)) {
      expect(c.seq).toBe(chunks.length);
      expect(c.keyId).toBe(KEY_ID);
      expect(c.nameTag.equals(chunkNameTag(nameKey, c.hash))).toBe(true);
      expect(c.nameTagHex).toBe(c.nameTag.toString("hex"));
      const p = openSealed(c.sealed!, keyFor, c.hash, nameKey, { maxBytes: MAX });
      expect(p.length).toBe(c.size);
      expect(c.hashHex).toBe(createHash("sha256").update(p).digest("hex"));
      expect(c.sha3?.equals(createHash("sha3-256").update(p).digest())).toBe(true);
      plain.push(p);
      chunks.push(c);
      if (compress) expect(c.sealed!.length < c.size).toBe(c.compressed);
      c.release(); // its memory may now hold a later chunk's blob
    }
    expect(chunks.length).toBeGreaterThan(5);
    expect(Buffer.concat(plain).equals(data)).toBe(true);
    // Random half never compresses; the text half always does when compression is on.
    expect(chunks[0]!.compressed).toBe(false);
    expect(chunks.at(-1)!.compressed).toBe(compress);
  });

  it("skips compress+seal for known chunks", async () => {
    const first = await collect(sealStream([data], baseOpts({ workers })));
    const known = new Set(first.filter((_, i) => i % 2 === 0).map((c) => c.hashHex));
    const asked: string[] = [];
    const second = await collect(
      sealStream(
        [data],
        baseOpts({
          workers,
          isKnown: async (h) => {
            asked.push(h);
            return known.has(h);
          },
        }),
      ),
    );
    expect(asked.sort()).toEqual(first.map((c) => c.hashHex).sort());
    expect(second.map((c) => c.hashHex)).toEqual(first.map((c) => c.hashHex));
    second.forEach((c, i) => {
      expect(c.sealed === null).toBe(i % 2 === 0);
      expect(c.nameTag.equals(first[i]!.nameTag)).toBe(true);
    });
  });

  it("backpressure: never cuts more than maxInFlight chunks ahead of a stalled pipeline", async () => {
    const maxInFlight = 3;
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 20; i++) {
        pulled++;
        yield pseudoRandomBytes(4096, i + 1);
      }
    }
    const gates: (() => void)[] = [];
    const it = sealStream(source(), {
      ...baseOpts({ workers, maxInFlight }),
      chunking: { strategy: "fixed", avgBytes: 4096 },
      isKnown: () => new Promise<boolean>((resolve) => gates.push(() => resolve(false))),
    })[Symbol.asyncIterator]();
    const turn = () => new Promise((r) => setImmediate(r));
    let received = 0;
    const ahead: number[] = [];
    while (true) {
      const next = it.next();
      let settled = false;
      next.then(
        () => (settled = true),
        () => (settled = true),
      );
      // Stall every dedup check and let the producer run as far ahead as it will.
      for (let i = 0; i < 20; i++) await turn();
      ahead.push(pulled - received);
      while (!settled) {
        while (gates.length > 0) gates.shift()!();
        await turn();
      }
      const r = await next;
      if (r.done) break;
      received++;
    }
    expect(received).toBe(20);
    expect(ahead[0]).toBe(maxInFlight);
    const maxAhead = Math.max(...ahead);
    expect(maxAhead).toBeLessThanOrEqual(maxInFlight);
  });
});

describe("early exit", () => {
  it("stops private workers when the consumer breaks off", async () => {
    let seen = 0;
    for await (const c of sealStream([pseudoRandomBytes(512 * 1024, 8)], baseOpts({ workers: 2 }))) {
      expect(c.seq).toBe(0);
      seen++;
      break;
    }
    expect(seen).toBe(1);
  });
});

describe("sealed buffer ownership", () => {
  it("reuses a released buffer for the next chunk, and never one still held", async () => {
    const data = pseudoRandomBytes(64 * 1024, 4);
    const opts = baseOpts({ chunking: { strategy: "fixed", avgBytes: 4096 } });
    const released = new Set<ArrayBufferLike>();
    for await (const c of sealStream([data], opts)) {
      released.add(c.sealed!.buffer);
      c.release();
    }
    expect(released.size).toBe(1);
    const held = new Set<ArrayBufferLike>();
    for await (const c of sealStream([data], opts)) held.add(c.sealed!.buffer);
    expect(held.size).toBe(16);
  });
});

describe("sealStream with a shared pool", () => {
  const pool = new SealWorkerPool(2);
  afterAll(() => pool.close());

  it("serves concurrent streams in order", async () => {
    const a = pseudoRandomBytes(600_000, 1);
    const b = pseudoRandomBytes(700_000, 2);
    const [ca, cb] = await Promise.all([
      collect(sealStream([a], baseOpts({ pool }))),
      collect(sealStream([b], baseOpts({ pool }))),
    ]);
    const open = (cs: SealedChunk[]) =>
      Buffer.concat(cs.map((c) => openSealed(c.sealed!, keyFor, c.hash, nameKey)));
    expect(open(ca).equals(a)).toBe(true);
    expect(open(cb).equals(b)).toBe(true);
  });

  it("recycles released buffers across streams, never handing out one still held", async () => {
    const inputs = [
      pseudoRandomBytes(900_000, 3),
      pseudoRandomBytes(800_000, 4),
      pseudoRandomBytes(1_000_000, 5),
    ];
    // Each stream opens every chunk at once and releases it, so later chunks and later streams
    // seal into the same buffers; a buffer handed out twice would corrupt a chunk still being read.
    const roundTrip = async (data: Buffer) => {
      const out: Buffer[] = [];
      for await (const c of sealStream([data], baseOpts({ pool }))) {
        // Sealed in place: the chunk's own shared buffer, from its start.
        expect(c.sealed!.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(c.sealed!.byteOffset).toBe(0);
        out.push(openSealed(c.sealed!, keyFor, c.hash, nameKey));
        c.release();
      }
      return Buffer.concat(out);
    };
    const first = await Promise.all(inputs.slice(0, 2).map(roundTrip));
    expect(first[0]!.equals(inputs[0]!)).toBe(true);
    expect(first[1]!.equals(inputs[1]!)).toBe(true);
    expect(pool.plainBuffers.size).toBeGreaterThan(0);
    expect((await roundTrip(inputs[2]!)).equals(inputs[2]!)).toBe(true);
  });
});

describe("sealStream with a dedup check on a shared pool", () => {
  const pool = new SealWorkerPool(1);
  afterAll(() => pool.close());

  it("a sealed chunk keeps its buffer until release(); a known chunk's goes back at once", async () => {
    const data = pseudoRandomBytes(400_000, 8);
    // Every other chunk is "known": it is never sealed, and its buffer is free again at once.
    let n = 0;
    const isKnown = async () => n++ % 2 === 1;
    const chunks = await collect(sealStream([data], baseOpts({ pool, isKnown })));
    const sealed = chunks.filter((c) => c.sealed !== null);
    expect(sealed.length).toBeGreaterThan(1);
    expect(chunks.length - sealed.length).toBeGreaterThan(0);
    // Each held sealed chunk still owns a buffer of its own (none was handed out again).
    expect(new Set(sealed.map((c) => c.sealed!.buffer)).size).toBe(sealed.length);
    for (const c of sealed) expect(openSealed(c.sealed!, keyFor, c.hash, nameKey).length).toBe(c.size);
    const idle = pool.plainBuffers.size;
    expect(idle).toBeGreaterThan(0);
    for (const c of chunks) c.release();
    // The pool keeps at most 2 × size + 10 = 12 idle buffers.
    expect(pool.plainBuffers.size).toBe(Math.min(12, idle + sealed.length));
  });
});

describe("whole-stream MD5 (the S3 ETag)", () => {
  const pool = new SealWorkerPool(2);
  const sealOnly = new SealWorkerPool(1, { hashWorkers: 0 });
  afterAll(() => Promise.all([pool.close(), sealOnly.close()]));
  const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

  async function sealWithMd5(data: Buffer, opts: PipelineOptions): Promise<{ md5: string; plain: Buffer }> {
    let got: string | undefined;
    const parts: Buffer[] = [];
    for await (const c of sealStream(splitInto(data, [10_000, 1, 65_537]), {
      ...opts,
      md5: (d) => {
        got = d.toString("hex");
      },
    })) {
      if (c.sealed !== null) parts.push(openSealed(c.sealed, keyFor, c.hash, nameKey));
      c.release();
    }
    if (got === undefined) throw new Error("md5 callback not called");
    return { md5: got, plain: Buffer.concat(parts) };
  }

  it.each([
    ["inline", () => baseOpts({ workers: 0 })],
    ["private workers", () => baseOpts({ workers: 2 })],
    ["shared pool", () => baseOpts({ pool })],
    ["lanes on the seal worker (no hash workers)", () => baseOpts({ pool: sealOnly })],
  ])("equals the MD5 of the input, %s (empty, one chunk, many)", async (_name, opts) => {
    for (const data of [Buffer.alloc(0), pseudoRandomBytes(5_000, 8), mixedData(1024 * 1024, 9)]) {
      const r = await sealWithMd5(data, opts());
      expect(r.md5).toBe(md5(data));
      expect(r.plain.equals(data)).toBe(true);
    }
  });

  it("keeps concurrent streams' lanes apart on a shared pool, with dedup asks in between", async () => {
    const inputs = [1, 2, 3, 4].map((i) => pseudoRandomBytes(400_000 + i * 50_000, 20 + i));
    let n = 0;
    // Every other chunk is "known": the worker waits for the decision, the lane must not care.
    const isKnown = async () => n++ % 2 === 0;
    const results = await Promise.all(inputs.map((d) => sealWithMd5(d, baseOpts({ pool, isKnown }))));
    results.forEach((r, i) => {
      expect(r.md5).toBe(md5(inputs[i]!));
    });
  });

  it("puts a lane on an idle hash worker first, then on the worker with the fewest lanes", async () => {
    const own = new SealWorkerPool(1, { hashWorkers: 1 });
    try {
      const data = [pseudoRandomBytes(70_000, 41), pseudoRandomBytes(90_000, 42), pseudoRandomBytes(10, 43)];
      const shared = data.map((d) => {
        const sab = new SharedArrayBuffer(d.length + 8);
        new Uint8Array(sab).set(d, 8);
        return sab;
      });
      const a = own.openMd5();
      const b = own.openMd5();
      expect([a.role, b.role]).toEqual(["hash", "seal"]);
      await Promise.all([own.feedMd5(a, shared[0]!, 8, data[0]!.length), own.feedMd5(b, shared[1]!, 8, 50)]);
      await own.feedMd5(b, shared[1]!, 58, data[1]!.length - 50);
      const [da, db] = await Promise.all([own.endMd5(a, true), own.endMd5(b, true)]);
      expect(da.toString("hex")).toBe(md5(data[0]!));
      expect(db.toString("hex")).toBe(md5(data[1]!));
      // The hash worker is free again: the next lane goes back to it.
      const c = own.openMd5();
      expect(c.role).toBe("hash");
      await own.feedMd5(c, shared[2]!, 8, data[2]!.length);
      expect((await own.endMd5(c, true)).toString("hex")).toBe(md5(data[2]!));
    } finally {
      await own.close();
    }
  });

  it("rejects a hash worker count outside 0..16", () => {
    for (const hashWorkers of [-1, 17, 1.5]) {
      expectChunkError(() => new SealWorkerPool(1, { hashWorkers }), "InvalidOptions", "hashWorkers");
    }
  });

  it("drops the lane of a stream abandoned midway, and the pool keeps serving", async () => {
    const data = pseudoRandomBytes(900_000, 31);
    let called = false;
    for await (const c of sealStream([data], baseOpts({ pool, md5: () => (called = true) }))) {
      c.release();
      break;
    }
    expect(called).toBe(false);
    const again = pseudoRandomBytes(300_000, 32);
    expect((await sealWithMd5(again, baseOpts({ pool }))).md5).toBe(md5(again));
  });
});

describe("openSealed failures", async () => {
  const data = pseudoRandomBytes(300_000, 5);
  const chunks = await collect(sealStream([data], baseOpts()));
  const [a, b] = [chunks[0]!, chunks[1]!];
  const prefix = (c: SealedChunk) => c.hashHex.slice(0, 16);

  it("a corrupted blob is Corrupt, naming the chunk", () => {
    const bad = Buffer.from(a.sealed!);
    bad[100]! ^= 1;
    expectChunkError(() => openSealed(bad, keyFor, a.hash, nameKey), "Corrupt", prefix(a));
    expectChunkError(() => openSealed(bad.subarray(0, 20), keyFor, a.hash, nameKey), "Corrupt", prefix(a));
  });

  it("a swapped blob or wrong expected hash is Mismatch", () => {
    expectChunkError(() => openSealed(b.sealed!, keyFor, a.hash, nameKey), "Mismatch", prefix(a));
    expectChunkError(() => openSealed(a.sealed!, keyFor, b.hash, nameKey), "Mismatch", prefix(b));
  });

  it("a blob whose plaintext does not hash to its name is Mismatch", () => {
    // A writer bug: the name tag claims chunk a, the payload is chunk b.
    const forged = sealChunk({
      keyId: KEY_ID,
      key,
      nameTag: a.nameTag,
      payload: data.subarray(0, 10),
      flags: 0,
    });
    expectChunkError(() => openSealed(forged, keyFor, a.hash, nameKey), "Mismatch", prefix(a));
  });

  it("an unknown key id is UnknownKey", () => {
    expectChunkError(() => openSealed(a.sealed!, () => undefined, a.hash, nameKey), "UnknownKey", prefix(a));
  });

  it("a chunk above the bound is TooLarge", () => {
    expectChunkError(
      () => openSealed(a.sealed!, keyFor, a.hash, nameKey, { maxBytes: 1000 }),
      "TooLarge",
      prefix(a),
    );
  });

  it("a compressed payload above the bound is TooLarge before inflating", async () => {
    const zeros = Buffer.alloc(200_000);
    const [z] = await collect(
      sealStream(
        [zeros],
        baseOpts({ compression: { level: 1 }, chunking: { strategy: "fixed", avgBytes: 200_000 } }),
      ),
    );
    expect(z!.compressed).toBe(true);
    expectChunkError(
      () => openSealed(z!.sealed!, keyFor, z!.hash, nameKey, { maxBytes: 100_000 }),
      "TooLarge",
      z!.hashHex.slice(0, 16),
    );
    expect(openSealed(z!.sealed!, keyFor, z!.hash, nameKey, { maxBytes: 200_000 }).equals(zeros)).toBe(true);
  });
});

describe("pipeline options", () => {
  it("rejects bad options with InvalidOptions", async () => {
    const bad = sealStream([Buffer.alloc(10)], baseOpts({ maxInFlight: 0 }));
    await expect(bad.next()).rejects.toMatchObject({
      code: "InvalidOptions",
      message: "pipeline: maxInFlight must be 1..1024, got 0",
    });
    const badKey = sealStream([Buffer.alloc(10)], {
      ...baseOpts(),
      dataKey: { keyId: 1, key: Buffer.alloc(16) },
    });
    await expect(badKey.next()).rejects.toMatchObject({ code: "InvalidOptions" });
  });

  it("propagates an isKnown failure", async () => {
    const boom = new Error("manifest unavailable");
    for (const workers of [0, 1]) {
      const s = sealStream(
        [pseudoRandomBytes(100_000, 9)],
        baseOpts({ workers, isKnown: () => Promise.reject(boom) }),
      );
      await expect(collect(s)).rejects.toBe(boom);
    }
  });
});
