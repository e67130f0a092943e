import { describe, expect, it } from "vitest";
import { chunkStream } from "./chunk-stream.js";
import { type Cutter, createCutter, FastCdcCutter } from "./cutter.js";
import { ChunkerError } from "./errors.js";
import { GEAR } from "./gear.js";
import { gearScanner, WINDOW_BYTES } from "./gear-wasm.js";
import { type ChunkingOptions, resolveChunking } from "./options.js";
import { pseudoRandomBytes, splitInto } from "./test-bytes.js";

const CDC: ChunkingOptions = { strategy: "fastcdc", avgBytes: 16 * 1024 };

/** Chunk lengths of `pieces` fed through one cutter, using only the low-level API. */
function cutLengths(cutter: Cutter, pieces: Iterable<Uint8Array>): number[] {
  const lengths: number[] = [];
  let current = 0;
  for (const piece of pieces) {
    let start = 0;
    while (start < piece.length) {
      const cut = cutter.findCut(piece, start);
      if (cut < 0) {
        current += piece.length - start;
        break;
      }
      lengths.push(current + cut - start);
      current = 0;
      start = cut;
    }
  }
  const rest = cutter.finish();
  expect(rest).toBe(current);
  if (rest > 0) lengths.push(rest);
  return lengths;
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe("Gear table", () => {
  it("is the pinned constant (changing it breaks dedup with stored data)", () => {
    expect(GEAR.length).toBe(256);
    expect([GEAR[0], GEAR[1], GEAR[255]]).toMatchInlineSnapshot(`
      [
        1809747032,
        -1189734786,
        -944851851,
      ]
    `);
    expect(new Set(GEAR).size).toBe(256);
  });
});

describe("FastCDC", () => {
  const data = pseudoRandomBytes(2 * 1024 * 1024, 7);

  it("cuts pinned boundaries for a fixed input", () => {
    const lengths = cutLengths(createCutter(CDC), [data.subarray(0, 256 * 1024)]);
    expect(lengths).toMatchInlineSnapshot(`
      [
        18818,
        29183,
        22088,
        16428,
        17035,
        16901,
        32026,
        15359,
        16805,
        16771,
        7079,
        22580,
        19745,
        4912,
        6414,
      ]
    `);
  });

  it("finds the same boundaries however the input is split", () => {
    const whole = cutLengths(createCutter(CDC), [data]);
    const oneByte = cutLengths(createCutter(CDC), splitInto(data, [1]));
    const ragged = cutLengths(createCutter(CDC), splitInto(data, [1, 7, 4096, 3, 65_537, 100, 16_384, 999]));
    const noise = pseudoRandomBytes(4096, 99);
    const randomSizes = [...noise].map((b, k) => 1 + ((b << 8) | noise[(k + 1) % noise.length]!) * 2);
    expect(cutLengths(createCutter(CDC), splitInto(data, randomSizes))).toEqual(whole);
    expect(whole.length).toBeGreaterThan(50);
    expect(oneByte).toEqual(whole);
    expect(ragged).toEqual(whole);
  });

  it("chunkStream yields the same chunks for any read sizes", async () => {
    const direct = await collect(chunkStream([data], CDC));
    const ragged = await collect(chunkStream(splitInto(data, [13, 70_001, 1, 512]), CDC));
    expect(ragged.map((c) => c.length)).toEqual(direct.map((c) => c.length));
    expect(Buffer.concat(ragged).equals(data)).toBe(true);
  });

  it("keeps min and max bounds and averages near avg", () => {
    const lengths = cutLengths(createCutter(CDC), [data]);
    for (const n of lengths.slice(0, -1)) {
      expect(n).toBeGreaterThanOrEqual(4 * 1024);
      expect(n).toBeLessThanOrEqual(64 * 1024);
    }
    const mean = data.length / lengths.length;
    expect(mean).toBeGreaterThan(10 * 1024);
    expect(mean).toBeLessThan(24 * 1024);
  });

  it("cuts at max on data with no content boundaries", () => {
    const zeros = Buffer.alloc(300 * 1024);
    const lengths = cutLengths(
      createCutter({ strategy: "fastcdc", avgBytes: 16 * 1024, minBytes: 2048, maxBytes: 40_000 }),
      [zeros],
    );
    expect(lengths.slice(0, -1).every((n) => n === 40_000)).toBe(true);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(zeros.length);
  });

  it("changes only the chunks around an insertion", async () => {
    const edited = Buffer.concat([data.subarray(0, 1000), Buffer.from([0x42]), data.subarray(1000)]);
    const hex = (cs: Buffer[]) => cs.map((c) => c.toString("base64"));
    const before = new Set(hex(await collect(chunkStream([data], CDC))));
    const after = hex(await collect(chunkStream([edited], CDC)));
    const changed = after.filter((c) => !before.has(c)).length;
    expect(after.length).toBeGreaterThan(50);
    expect(changed).toBeGreaterThanOrEqual(1);
    expect(changed).toBeLessThanOrEqual(2);
  });

  it("yields no chunks for empty input", async () => {
    expect(await collect(chunkStream([], CDC))).toEqual([]);
    expect(await collect(chunkStream([new Uint8Array(0), new Uint8Array(0)], CDC))).toEqual([]);
    expect(cutLengths(createCutter(CDC), [])).toEqual([]);
  });

  it("yields one short chunk for input below min", async () => {
    const chunks = await collect(chunkStream([data.subarray(0, 100)], CDC));
    expect(chunks.map((c) => c.length)).toEqual([100]);
  });
});

describe("FastCDC WASM Gear loop", () => {
  it("is in use here (the JS loop is only the fallback)", () => {
    expect(gearScanner()).not.toBeNull();
  });

  // Boundaries are a format: the WASM loop must cut exactly where the byte-at-a-time JS loop does,
  // for every parameter set, however the input is split, including spans longer than its window.
  const params: ChunkingOptions[] = [
    { strategy: "fastcdc", avgBytes: 256 },
    { strategy: "fastcdc", avgBytes: 1024, minBytes: 64, maxBytes: 1100 },
    { strategy: "fastcdc", avgBytes: 16 * 1024 },
    { strategy: "fastcdc", avgBytes: 256 * 1024 },
    { strategy: "fastcdc", avgBytes: 1 << 20, minBytes: 64, maxBytes: 3 * (1 << 20) + 5 },
  ];
  const data = pseudoRandomBytes(3 * WINDOW_BYTES + 12_345, 11);
  const zeros = Buffer.alloc(4 * WINDOW_BYTES + 7000);
  it.each(params)("cuts where the JS loop cuts: %j", (opts) => {
    const resolved = resolveChunking(opts);
    for (const input of [data, zeros]) {
      const js = cutLengths(new FastCdcCutter(resolved, "js"), [input]);
      expect(js.length).toBeGreaterThan(1);
      expect(cutLengths(new FastCdcCutter(resolved), [input])).toEqual(js);
      expect(cutLengths(new FastCdcCutter(resolved), splitInto(input, [1, 3, 777, 65_536, 5]))).toEqual(js);
      expect(cutLengths(new FastCdcCutter(resolved), splitInto(input, [WINDOW_BYTES + 3, 17]))).toEqual(js);
    }
  });

  it("cuts where the JS loop cuts with the default parameters (the gateway's), in network-sized reads", () => {
    const resolved = resolveChunking({ strategy: "fastcdc", avgBytes: 4 << 20 });
    const big = pseudoRandomBytes(40 << 20, 5);
    const js = cutLengths(new FastCdcCutter(resolved, "js"), [big]);
    expect(js.length).toBeGreaterThan(4);
    expect(cutLengths(new FastCdcCutter(resolved), [big])).toEqual(js);
    const reads = [65_536, 16_384, 1, 65_000, 1_048_577, 31, 4096];
    expect(cutLengths(new FastCdcCutter(resolved), splitInto(big, reads))).toEqual(js);
  });
});

describe("fixed chunking", () => {
  it("cuts exact sizes with a short tail", async () => {
    const data = pseudoRandomBytes(10_000, 3);
    const chunks = await collect(
      chunkStream(splitInto(data, [333, 1]), { strategy: "fixed", avgBytes: 4096 }),
    );
    expect(chunks.map((c) => c.length)).toEqual([4096, 4096, 1808]);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it("has no empty tail when the input is a multiple of the size", async () => {
    const chunks = await collect(chunkStream([Buffer.alloc(8192)], { strategy: "fixed", avgBytes: 4096 }));
    expect(chunks.map((c) => c.length)).toEqual([4096, 4096]);
  });
});

describe("options", () => {
  const cases: [ChunkingOptions, string][] = [
    [{ strategy: "fastcdc", avgBytes: 3000 }, "avgBytes must be a power of two, got 3000"],
    [{ strategy: "fastcdc", avgBytes: 32 }, "avgBytes must be between 64 and 67108864 bytes, got 32"],
    [
      { strategy: "fastcdc", avgBytes: 4096, minBytes: 4096 },
      "minBytes (4096) must be less than avgBytes (4096)",
    ],
    [
      { strategy: "fastcdc", avgBytes: 4096, maxBytes: 2048 },
      "maxBytes (2048) must be greater than avgBytes (4096)",
    ],
    [
      { strategy: "fastcdc", avgBytes: 4096, minBytes: 16 },
      "minBytes must be between 64 and 67108864 bytes, got 16",
    ],
    [
      { strategy: "fastcdc", avgBytes: 1 << 25, maxBytes: 1 << 27 },
      "maxBytes must be between 64 and 67108864 bytes, got 134217728",
    ],
    [{ strategy: "fixed", avgBytes: 4096, maxBytes: 8192 }, "fixed chunking takes only avgBytes"],
    [{ strategy: "fixed", avgBytes: 1.5 }, "avgBytes must be an integer, got 1.5"],
  ];
  it.each(cases)("rejects %j", (opts, message) => {
    expect(() => createCutter(opts)).toThrow(message);
    try {
      createCutter(opts);
    } catch (err) {
      expect(err).toBeInstanceOf(ChunkerError);
      expect((err as ChunkerError).code).toBe("InvalidOptions");
    }
  });

  it("defaults to avg 4 MiB, min avg/4, max avg*4", () => {
    expect(createCutter().params).toEqual({
      strategy: "fastcdc",
      minBytes: 1 << 20,
      avgBytes: 1 << 22,
      maxBytes: 1 << 24,
    });
  });
});
