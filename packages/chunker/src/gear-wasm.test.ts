import { describe, expect, it } from "vitest";
import { GEAR } from "./gear.js";
import {
  BIG_STRIDE,
  type GearScanner,
  gearScanner,
  LANES,
  SMALL_STRIDE,
  WARMUP_BYTES,
  WINDOW_BYTES,
  WINDOW_OFFSET,
} from "./gear-wasm.js";
import { pseudoRandomBytes } from "./test-bytes.js";

/**
 * The lane-parallel `scan` must return exactly what the byte-at-a-time definition returns: the
 * first cut in stream order, or -1 and the sequential fp. These tests drive the scanner directly
 * (custom masks, chosen cut positions) and compare it with this reference.
 */
function reference(data: Uint8Array, fp: number, mask: number): { cut: number; fp: number } {
  for (let i = 0; i < data.length; i++) {
    fp = ((fp << 1) + GEAR[data[i]!]!) | 0;
    if ((fp & mask) === 0) return { cut: i + 1, fp: 0 };
  }
  return { cut: -1, fp };
}

type Which = "scan" | "scan1";

/** Runs the WASM scan over `data` (copied into the window): the cut (offset in data) or -1, and fp. */
function wasmScan(s: GearScanner, which: Which, data: Uint8Array, fp: number, mask: number) {
  expect(data.length).toBeLessThanOrEqual(WINDOW_BYTES);
  s.bytes.set(data, WINDOW_OFFSET);
  const r = s[which](WINDOW_OFFSET, WINDOW_OFFSET + data.length, fp, mask);
  return r < 0 ? { cut: -1, fp: s.lastFp() } : { cut: r - WINDOW_OFFSET, fp: 0 };
}

function expectSame(s: GearScanner, data: Uint8Array, fp: number, mask: number, what: string): void {
  const want = reference(data, fp, mask);
  for (const which of ["scan", "scan1"] as const) {
    const got = wasmScan(s, which, data, fp, mask);
    if (got.cut !== want.cut || got.fp !== want.fp) {
      expect.fail(`${which} ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    }
  }
}

/** Top `bits` bits, like the cutter's masks. */
const topBits = (bits: number) => (bits >= 32 ? -1 : (-1 << (32 - bits)) | 0);

/**
 * Bytes whose sequential fingerprint (from `fp`) meets `mask` exactly at the given indices and
 * nowhere else: each byte is picked (from a pseudo-random start) so that the test at its index
 * comes out as wanted. `mask` must be loose enough for a hit byte to exist (4 bits: 16 in 256).
 */
function bytesWithCutsAt(length: number, cuts: readonly number[], mask: number, fp: number, seed: number) {
  const want = new Set(cuts);
  const noise = pseudoRandomBytes(length, seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    const hit = want.has(i);
    let t = 0;
    for (; t < 256; t++) {
      const b = (noise[i]! + t) & 0xff;
      const next = ((fp << 1) + GEAR[b]!) | 0;
      if (((next & mask) === 0) === hit) {
        out[i] = b;
        fp = next;
        break;
      }
    }
    if (t === 256) throw new Error(`no byte gives the wanted test at ${i}`);
  }
  return out;
}

/** Where `scan` puts lanes in a range of `length` bytes: [start, lane length) of every lane. */
function laneStarts(length: number): { start: number; stride: number }[] {
  const lanes: { start: number; stride: number }[] = [];
  let p = 0;
  for (const stride of [BIG_STRIDE, SMALL_STRIDE]) {
    for (; length - p >= LANES * stride; p += LANES * stride) {
      for (let j = 0; j < LANES; j++) lanes.push({ start: p + j * stride, stride });
    }
  }
  return lanes;
}

describe("WASM Gear scan (lanes) against the byte-at-a-time definition", () => {
  const s = gearScanner();
  if (s === null) {
    // The JS loop (cutter.test.ts, engine "js") still runs and pins the same cut points.
    const reason =
      "WASM Gear scan tests skipped: WebAssembly disabled (ENIGMA_CHUNKER_WASM=0) or unavailable";
    console.log(reason);
    it.skip(reason, () => {});
    return;
  }
  const mask4 = topBits(4);
  // Two big superblocks, two small ones and a tail for scan1.
  const length = 2 * LANES * BIG_STRIDE + 2 * LANES * SMALL_STRIDE + 100;
  const lanes = laneStarts(length);

  it("lays out the lanes as this test assumes", () => {
    expect(lanes.length).toBe(4 * LANES);
    expect(lanes.at(-1)!.start + SMALL_STRIDE).toBe(length - 100);
  });

  it("finds a single cut at every interesting offset of every lane, and in the tail", () => {
    const offsets = (stride: number) => [
      0,
      1,
      WARMUP_BYTES - 1, // the lane's first 32 bytes: exact although its warm-up has just ended
      WARMUP_BYTES,
      7,
      8, // an unrolled block boundary (UNROLL = 8)
      stride - WARMUP_BYTES - 1, // the next lane's warm-up bytes start here
      stride - WARMUP_BYTES,
      stride - 1,
    ];
    const cuts: number[] = [];
    for (const { start, stride } of lanes) for (const o of offsets(stride)) cuts.push(start + o);
    for (let k = 1; k <= 100; k += 9) cuts.push(length - k);
    let n = 0;
    for (const cut of cuts) {
      const fp = (cut * 0x9e3779b1) | 0;
      const data = bytesWithCutsAt(length, [cut], mask4, fp, cut + 1);
      expect(reference(data, fp, mask4).cut).toBe(cut + 1);
      expectSame(s, data, fp, mask4, `single cut at ${cut}`);
      n++;
    }
    expect(n).toBe(lanes.length * 9 + 12);
  });

  it("returns the earliest cut when a later lane cuts first in loop order", () => {
    // Lane a cuts at its last byte, lane b > a at its first: b's hit is seen first (same step
    // order), but a's is earlier in the stream. Also a hit in a's last byte that b hashed untested.
    let n = 0;
    for (const [from, to] of [
      [0, LANES],
      [2 * LANES, 3 * LANES],
    ] as const) {
      for (let a = from; a < to; a++) {
        for (let b = a + 1; b < to; b++) {
          const la = lanes[a]!;
          const lb = lanes[b]!;
          for (const [ca, cb] of [
            [la.start + la.stride - 1, lb.start],
            [la.start + la.stride - 2, lb.start + 5],
            [la.start + 3, lb.start + lb.stride - 1],
          ] as const) {
            const data = bytesWithCutsAt(length, [ca, cb], mask4, 0, ca ^ cb);
            expectSame(s, data, 0, mask4, `cuts at ${ca} and ${cb}`);
            expect(reference(data, 0, mask4).cut).toBe(ca + 1);
            n++;
          }
        }
      }
    }
    expect(n).toBe(2 * 3 * ((LANES * (LANES - 1)) / 2));
  });

  it("carries the sequential fp when there is no cut, for lengths around every threshold", () => {
    const data = bytesWithCutsAt(3 * LANES * BIG_STRIDE, [], mask4, 0x1234567, 5);
    const lengths = new Set<number>();
    for (const sb of [LANES * SMALL_STRIDE, LANES * BIG_STRIDE, LANES * (BIG_STRIDE + SMALL_STRIDE)]) {
      for (const d of [-33, -32, -31, -1, 0, 1, 31, 32, 33]) lengths.add(sb + d);
    }
    for (let k = 0; k <= 70; k++) lengths.add(k);
    lengths.add(2 * LANES * BIG_STRIDE + 3 * LANES * SMALL_STRIDE + 1000);
    for (const n of lengths) {
      // Any fp is carried only when the range starts where a previous one left off: data[0..n)
      // has no cut from 0x1234567; the fp must come back bit-exact.
      const want = reference(data.subarray(0, n), 0x1234567, mask4);
      expect(want.cut).toBe(-1);
      expectSame(s, data.subarray(0, n), 0x1234567, mask4, `no cut, length ${n}`);
    }
  });

  it("agrees on random data for random lengths, starts, carried fps and masks (incl. very loose)", () => {
    const data = pseudoRandomBytes(200_000, 21);
    let x = 12345;
    const rand = (n: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % n;
    };
    const masks = [0, topBits(1), topBits(2), 0x0000_0001, 0x8000_0001 | 0, 0x0f0f_0000, topBits(10)];
    let cuts = 0;
    for (let t = 0; t < 600; t++) {
      const len = t % 3 === 0 ? rand(70_000) : rand(LANES * (BIG_STRIDE + 2 * SMALL_STRIDE));
      const at = rand(data.length - len);
      const fp = rand(0x7fff_ffff) ^ (rand(2) << 31);
      const mask = t % 2 === 0 ? topBits(1 + rand(20)) : masks[rand(masks.length)]!;
      const slice = data.subarray(at, at + len);
      if (reference(slice, fp, mask).cut >= 0) cuts++;
      expectSame(s, slice, fp, mask, `len ${len} at ${at} fp ${fp} mask ${mask}`);
    }
    // Both outcomes were exercised plenty.
    expect(cuts).toBeGreaterThan(150);
    expect(cuts).toBeLessThan(550);
  });

  it("agrees on degenerate inputs (all zeros, one repeated byte) with a full window", () => {
    for (const fill of [0, 0xff, 0x5a]) {
      const data = Buffer.alloc(WINDOW_BYTES, fill);
      for (const mask of [topBits(24), topBits(3), -1, 0x00ff_ff00]) {
        expectSame(s, data, 0, mask, `fill ${fill} mask ${mask}`);
        expectSame(s, data, -7, mask, `fill ${fill} mask ${mask} fp -7`);
      }
    }
    const random = pseudoRandomBytes(WINDOW_BYTES, 3);
    expectSame(s, random, 0, topBits(24), "random window, strict mask");
    expectSame(s, random, 99, topBits(30), "random window, no cut");
  });

  it("cuts a stream like the cutter does (fp carried across calls, reset at cuts) as the reference", () => {
    const data = pseudoRandomBytes(600_000, 8);
    const mask = topBits(13); // a cut every ~8 KiB: many superblocks with and without a hit
    const want: number[] = [];
    let fp = 0;
    for (let i = 0; i < data.length; i++) {
      fp = ((fp << 1) + GEAR[data[i]!]!) | 0;
      if ((fp & mask) === 0) {
        want.push(i + 1);
        fp = 0;
      }
    }
    const sizes = [1, 70_000, 31, 16_384, 4097, 1024, 33, 100_000, 5];
    const got: number[] = [];
    let at = 0;
    fp = 0;
    for (let k = 0; at < data.length; k++) {
      const end = Math.min(data.length, at + sizes[k % sizes.length]!);
      let p = at;
      while (p < end) {
        const r = wasmScan(s, "scan", data.subarray(p, end), fp, mask);
        if (r.cut < 0) {
          fp = r.fp;
          break;
        }
        got.push(p + r.cut);
        p += r.cut;
        fp = 0;
      }
      at = end;
    }
    expect(want.length).toBeGreaterThan(40);
    expect(got).toEqual(want);
  });
});
