import { createHash, randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { type ChunkerError, SealWorkerPool } from "@enigma/chunker";
import { chunkNameTag, FLAG_COMPRESSED, sealChunk } from "@enigma/crypto";
import {
  chunkObjectKey,
  Distributor,
  type DistributorEvent,
  LocalBackend,
  MemoryBackend,
  type StorageBackend,
  StorageError,
  withRetry,
} from "@enigma/storage";
import { afterAll, describe, expect, it, vi } from "vitest";
import { zstd } from "../../../chunker/src/zstd.js";
import { ChunkBufferPool, ChunkReader, type LeasedChunk, type ReadableChunk } from "./chunk-reader.js";

const KEY_ID = 1;
const key = randomBytes(32);
const keyring = { keyFor: (id: number) => (id === KEY_ID ? key : undefined), nameKey: randomBytes(32) };
const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await fsp.rm(r, { recursive: true, force: true });
});

async function local(name: string): Promise<LocalBackend> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "enigma-reader-"));
  roots.push(dir);
  return new LocalBackend({ name, root: path.join(dir, "data") });
}

/** Deterministic bytes, different per seed (random data is fine too; this keeps failures stable). */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function compress(plain: Buffer): Buffer {
  const out = Buffer.alloc(zstd.compressBound(plain.length));
  return out.subarray(0, new zstd.CCtx().compress(out, plain, 1));
}

/** Seals `plain` and stores it on `stores`; returns its reference. */
async function store(
  d: Distributor,
  plain: Buffer,
  opts: { compressed?: boolean; stores?: readonly string[] } = {},
): Promise<ReadableChunk & { blob: Buffer }> {
  const hash = createHash("sha256").update(plain).digest();
  const nameTag = chunkNameTag(keyring.nameKey, hash);
  const blob = sealChunk({
    keyId: KEY_ID,
    key,
    nameTag,
    payload: opts.compressed ? compress(plain) : plain,
    flags: opts.compressed ? FLAG_COMPRESSED : 0,
  });
  const tag = nameTag.toString("hex");
  const locations = await d.putChunk(tag, blob);
  return {
    hash: hash.toString("hex"),
    size: plain.length,
    nameTag: tag,
    locations: opts.stores ?? locations,
    blob,
  };
}

async function setup(rf = 1) {
  const backends: StorageBackend[] = [await local("l1"), await local("l2")];
  const events: DistributorEvent[] = [];
  const d = new Distributor({
    providers: backends.map((b) => ({ backend: withRetry(b) })),
    replicationFactor: rf,
    onEvent: (e) => events.push(e),
  });
  return { d, backends, events, reader: new ChunkReader(d, keyring) };
}

/** An object of several chunks of different sizes (some compressible), and its bytes. */
async function object(d: Distributor) {
  const parts = [
    bytes(300_000, 1),
    Buffer.from("compressible ".repeat(20_000)),
    bytes(1, 2),
    bytes(1_100_000, 3),
    bytes(65_536, 4),
  ];
  const refs: ReadableChunk[] = [];
  for (const [i, p] of parts.entries()) refs.push(await store(d, p, { compressed: i === 1 }));
  return { refs, whole: Buffer.concat(parts) };
}

async function collect(src: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const b of src) out.push(b);
  return out;
}

describe("ChunkReader", () => {
  it("reads multi-chunk objects byte for byte, whole and in ranges; read() buffers stay the consumer's", async () => {
    const { d, reader } = await setup();
    const { refs, whole } = await object(d);
    const got = await collect(reader.read(refs));
    // Held to the end and compared only now: nothing was recycled under us.
    expect(Buffer.concat(got).equals(whole)).toBe(true);
    const cuts = [
      0,
      1,
      299_999,
      300_000,
      300_001,
      560_000,
      560_001,
      1_660_000,
      whole.length - 1,
      whole.length,
    ];
    for (const start of cuts) {
      for (const end of cuts) {
        if (end <= start) continue;
        const part = Buffer.concat(await collect(reader.read(refs, { range: { start, end } })));
        expect(part.equals(whole.subarray(start, end)), `range ${start}-${end}`).toBe(true);
      }
    }
  });

  it("readLeased recycles released buffers and never hands out one still held", async () => {
    const { d, reader } = await setup();
    const parts = Array.from({ length: 12 }, (_, i) => bytes(200_000 + i * 1000, 10 + i));
    const refs: ReadableChunk[] = [];
    for (const p of parts) refs.push(await store(d, p));
    // Hold every third lease unreleased until the end; release the rest at once.
    const held: { data: Buffer; i: number }[] = [];
    const seen: Buffer[] = [];
    let i = 0;
    for await (const lease of reader.readLeased(refs)) {
      expect(lease.data.equals(parts[i]!)).toBe(true);
      if (i % 3 === 0) held.push({ data: lease.data, i });
      else {
        seen.push(Buffer.from(lease.data));
        lease.release();
        lease.release(); // a second release is a no-op, not a second copy in the pool
      }
      i++;
    }
    expect(i).toBe(parts.length);
    for (const h of held) expect(h.data.equals(parts[h.i]!), `held chunk ${h.i}`).toBe(true);
    // The held buffers are distinct from each other (none was recycled while held).
    expect(new Set(held.map((h) => h.data.buffer)).size).toBe(held.length);
  });

  it("leased reads share the reader's buffers: a second read of the same size allocates none", async () => {
    const { d, reader } = await setup();
    const parts = Array.from({ length: 8 }, (_, i) => bytes(180_000, 70 + i));
    const refs: ReadableChunk[] = [];
    for (const p of parts) refs.push(await store(d, p));
    const readAll = async () => {
      const out: Buffer[] = [];
      for await (const lease of reader.readLeased(refs)) {
        out.push(Buffer.from(lease.data));
        lease.release();
      }
      return Buffer.concat(out);
    };
    expect((await readAll()).equals(Buffer.concat(parts))).toBe(true);
    const afterFirst = reader.leasedBuffersAllocated;
    expect(afterFirst).toBeGreaterThan(0);
    expect((await readAll()).equals(Buffer.concat(parts))).toBe(true);
    expect(reader.leasedBuffersAllocated).toBe(afterFirst);
  });

  it("a pool lends distinct buffers, reuses given ones, and ignores foreign or repeated gives", () => {
    const pool = new ChunkBufferPool(2);
    const a = pool.take(1000);
    const b = pool.take(1000);
    expect(a.buffer).not.toBe(b.buffer);
    expect(pool.lent(a) && pool.lent(b.subarray(10))).toBe(true);
    pool.give(a);
    pool.give(a);
    pool.give(Buffer.alloc(4096)); // not ours
    expect(pool.idle).toBe(1);
    expect(pool.lent(a)).toBe(false);
    const c = pool.take(900);
    expect(c.buffer).toBe(a.buffer);
    const d = pool.take(900); // b is still lent: a fresh one
    expect(d.buffer).not.toBe(b.buffer);
    expect(pool.allocated).toBe(3);
    // A full pool keeps its larger buffers.
    const big = pool.take(3 << 20);
    pool.give(c);
    pool.give(d);
    pool.give(big);
    expect(pool.idle).toBe(2);
    expect(pool.take(3 << 20).buffer).toBe(big.buffer);
  });

  it("uses a handful of buffers for a long leased read, one per chunk for read()", async () => {
    const { d, reader } = await setup();
    const parts = Array.from({ length: 10 }, (_, i) => bytes(150_000, 40 + i));
    const refs: ReadableChunk[] = [];
    for (const p of parts) refs.push(await store(d, p));
    const buffers = new Set<ArrayBufferLike>();
    const out: Buffer[] = [];
    for await (const lease of reader.readLeased(refs)) {
      buffers.add(lease.data.buffer);
      out.push(Buffer.from(lease.data));
      lease.release();
    }
    expect(Buffer.concat(out).equals(Buffer.concat(parts))).toBe(true);
    expect(buffers.size).toBeLessThanOrEqual(4); // prefetch 2 + the one being consumed + slack
    const owned = await collect(reader.read(refs));
    expect(new Set(owned.map((b) => b.buffer)).size).toBe(parts.length);
  });

  it("keeps the configured number of chunk fetches in flight (download_concurrency), no more", async () => {
    /** A backend whose reads wait until the test lets them go, counting how many wait at once. */
    class GatedBackend extends MemoryBackend {
      waiting: (() => void)[] = [];
      maxInFlight = 0;
      override async get(key: string): Promise<Buffer> {
        await new Promise<void>((go) => {
          this.waiting.push(go);
          this.maxInFlight = Math.max(this.maxInFlight, this.waiting.length);
        });
        return super.get(key);
      }
    }
    const releaseAll = async (b: GatedBackend, done: { v: boolean }) => {
      while (!done.v) {
        await new Promise((r) => setTimeout(r, 5));
        for (const go of b.waiting.splice(0)) go();
      }
    };
    for (const [prefetch, expected] of [
      [undefined, 2],
      [5, 5],
      [1, 1],
    ] as const) {
      const gated = new GatedBackend({ name: "gated" });
      const d = new Distributor({ providers: [{ backend: gated }] });
      const parts = Array.from({ length: 12 }, (_, i) => bytes(20_000, 70 + i));
      const refs: ReadableChunk[] = [];
      for (const p of parts) refs.push(await store(d, p));
      const reader = new ChunkReader(d, keyring, prefetch === undefined ? {} : { prefetch });
      const done = { v: false };
      const pump = releaseAll(gated, done);
      const out = await collect(reader.read(refs));
      done.v = true;
      await pump;
      expect(Buffer.concat(out).equals(Buffer.concat(parts))).toBe(true);
      expect(gated.maxInFlight).toBe(expected);
    }
    const { d } = await setup();
    expect(() => new ChunkReader(d, keyring, { prefetch: 0 })).toThrow(/prefetch must be a positive integer/);
  });

  it("falls back to another replica when one is corrupt, truncated or missing", async () => {
    const { d, backends, events, reader } = await setup(2);
    const plain = bytes(400_000, 7);
    const ref = await store(d, plain);
    const [first] = ref.locations;
    const firstBackend = backends.find((b) => b.name === first)!;
    const k = chunkObjectKey(ref.nameTag);
    const flipped = Buffer.from(ref.blob);
    flipped[flipped.length - 100]! ^= 1;
    for (const bad of [flipped, ref.blob.subarray(0, ref.blob.length - 1), null]) {
      if (bad) await firstBackend.put(k, bad);
      else await firstBackend.delete(k);
      events.length = 0;
      expect((await reader.readChunk(ref)).equals(plain)).toBe(true);
      expect(events.map((e) => e.type === "read-fallback" && e.provider)).toEqual([first]);
    }
  });

  it("every replica bad: an error naming the chunk, never bytes", async () => {
    const { d, backends, reader } = await setup(2);
    const plain = bytes(300_000, 8);
    const ref = await store(d, plain);
    const k = chunkObjectKey(ref.nameTag);
    const prefix = ref.hash.slice(0, 16);
    const cases: [string, Buffer][] = [
      ["tampered tag", Buffer.concat([ref.blob.subarray(0, -1), Buffer.from([ref.blob.at(-1)! ^ 1])])],
      ["truncated", ref.blob.subarray(0, 100)],
      ["another chunk", (await store(d, bytes(1000, 9))).blob],
    ];
    for (const [what, bad] of cases) {
      for (const b of backends) await b.put(k, bad);
      const err = await collect(reader.read([ref])).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(StorageError);
      expect((err as StorageError).code, what).toBe("Corrupt");
      expect((err as Error).message, what).toContain(ref.nameTag);
      const causes = ((err as Error).cause as AggregateError).errors as StorageError[];
      expect(causes.map((c) => (c.cause as ChunkerError).message).every((m) => m.includes(prefix))).toBe(
        true,
      );
    }
  });

  it("a wrong key is an error, and a blob above the bound is refused before it is read", async () => {
    const { d, backends } = await setup();
    const ref = await store(d, bytes(5000, 11));
    const wrongKey = new ChunkReader(d, { keyFor: () => randomBytes(32), nameKey: keyring.nameKey });
    await expect(wrongKey.readChunk(ref)).rejects.toMatchObject({ code: "Corrupt" });
    // A sparse 65 MiB file where the chunk should be: refused by size, not allocated.
    const where = backends.find((b) => b.name === ref.locations[0]) as LocalBackend;
    const file = path.join(where.root, ...chunkObjectKey(ref.nameTag).split("/"));
    await fsp.truncate(file, 65 * 1024 * 1024);
    const reader = new ChunkReader(d, keyring);
    await expect(reader.readChunk(ref)).rejects.toThrow(/exceeds the \d+-byte bound/);
  });

  it("reads from backends without getInto (fresh buffers, opened out of place)", async () => {
    const mem = new MemoryBackend({ name: "mem" });
    const d = new Distributor({ providers: [{ backend: mem }] });
    const reader = new ChunkReader(d, keyring);
    const { refs, whole } = await object(d);
    expect(Buffer.concat(await collect(reader.read(refs))).equals(whole)).toBe(true);
    // The memory backend's stored blobs are untouched (nothing was decrypted over them).
    for (const r of refs as (ReadableChunk & { blob: Buffer })[]) {
      expect((await mem.get(chunkObjectKey(r.nameTag))).equals(r.blob)).toBe(true);
    }
  });
});

describe("ChunkReader with seal workers (readLeased opens on workers)", () => {
  const workers = new SealWorkerPool(1);
  afterAll(() => workers.close());

  async function setupWorkers(rf = 1) {
    const s = await setup(rf);
    const spy = vi.spyOn(workers, "openSealed");
    spy.mockClear();
    return { ...s, spy, reader: new ChunkReader(s.d, keyring, { workers }) };
  }

  async function leased(src: AsyncIterable<LeasedChunk>): Promise<Buffer> {
    const out: Buffer[] = [];
    for await (const lease of src) {
      out.push(Buffer.from(lease.data));
      lease.release();
    }
    return Buffer.concat(out);
  }

  it("reads multi-chunk objects byte for byte, whole and in ranges, in shared buffers", async () => {
    const { d, reader, spy } = await setupWorkers();
    const { refs, whole } = await object(d);
    const more = [bytes(2_000_000, 21), bytes(700_000, 22), bytes(900_000, 23)];
    for (const p of more) refs.push(await store(d, p));
    const all = Buffer.concat([whole, ...more]);
    const shared = new Set<boolean>();
    const out: Buffer[] = [];
    for await (const lease of reader.readLeased(refs)) {
      shared.add(lease.data.buffer instanceof SharedArrayBuffer);
      out.push(Buffer.from(lease.data));
      lease.release();
    }
    expect(Buffer.concat(out).equals(all)).toBe(true);
    expect(shared.has(true)).toBe(true);
    expect(spy.mock.calls.length).toBeGreaterThan(0); // some chunks did open on the worker
    const cuts = [0, 1, 299_999, 300_001, 1_660_000, whole.length, whole.length + 2_000_001, all.length - 1];
    for (const start of cuts) {
      for (const end of [...cuts, all.length]) {
        if (end <= start) continue;
        const part = await leased(reader.readLeased(refs, { range: { start, end } }));
        expect(part.equals(all.subarray(start, end)), `range ${start}-${end}`).toBe(true);
      }
    }
  });

  it("never hands out a buffer still held (as by a socket write not yet called back)", async () => {
    const { d, reader } = await setupWorkers();
    const parts = Array.from({ length: 12 }, (_, i) => bytes(200_000 + i * 1000, 60 + i));
    const refs: ReadableChunk[] = [];
    for (const p of parts) refs.push(await store(d, p));
    const held: { data: Buffer; i: number }[] = [];
    let i = 0;
    for await (const lease of reader.readLeased(refs)) {
      expect(lease.data.equals(parts[i]!)).toBe(true);
      if (i % 3 === 0) held.push({ data: lease.data, i });
      else lease.release();
      i++;
    }
    expect(i).toBe(parts.length);
    for (const h of held) expect(h.data.equals(parts[h.i]!), `held chunk ${h.i}`).toBe(true);
    expect(new Set(held.map((h) => h.data.buffer)).size).toBe(held.length);
  });

  it("falls back to another replica when the worker finds one corrupt", async () => {
    const { d, backends, events, reader, spy } = await setupWorkers(2);
    const plain = bytes(400_000, 27);
    const ref = await store(d, plain);
    const [first] = ref.locations;
    const firstBackend = backends.find((b) => b.name === first)!;
    const flipped = Buffer.from(ref.blob);
    flipped[flipped.length - 100]! ^= 1;
    await firstBackend.put(chunkObjectKey(ref.nameTag), flipped);
    events.length = 0;
    expect((await leased(reader.readLeased([ref]))).equals(plain)).toBe(true);
    expect(events.map((e) => e.type === "read-fallback" && e.provider)).toEqual([first]);
    // The corrupt replica was judged by the worker, with the chunk's own error.
    const verdict = await spy.mock.results[0]!.value.then(
      () => null,
      (e: unknown) => e,
    );
    expect(verdict).toMatchObject({
      code: "Corrupt",
      message: expect.stringContaining(ref.hash.slice(0, 16)),
    });
  });

  it("every replica bad or an unknown key: the chunk's error codes come through the worker", async () => {
    const { d, backends, reader, spy } = await setupWorkers(2);
    const plain = bytes(300_000, 28);
    const ref = await store(d, plain);
    const k = chunkObjectKey(ref.nameTag);
    const prefix = ref.hash.slice(0, 16);
    const other = await store(d, bytes(100_000, 29));
    for (const [what, bad, code] of [
      ["tampered", Buffer.concat([ref.blob.subarray(0, -1), Buffer.from([ref.blob.at(-1)! ^ 1])]), "Corrupt"],
      ["another chunk", other.blob, "Mismatch"],
    ] as const) {
      for (const b of backends) await b.put(k, bad);
      spy.mockClear();
      const err = await leased(reader.readLeased([ref])).then(
        () => null,
        (e: unknown) => e,
      );
      expect((err as StorageError).code, what).toBe("Corrupt");
      expect((err as Error).message, what).toContain(ref.nameTag);
      const causes = ((err as Error).cause as AggregateError).errors as StorageError[];
      expect(causes.map((c) => (c.cause as ChunkerError).code)).toEqual([code, code]);
      expect(causes.every((c) => (c.cause as Error).message.includes(prefix))).toBe(true);
      expect(spy.mock.calls.length, what).toBe(2);
    }
    for (const b of backends) await b.put(k, ref.blob);
    const noKey = new ChunkReader(d, { keyFor: () => undefined, nameKey: keyring.nameKey }, { workers });
    const err = await leased(noKey.readLeased([ref])).then(
      () => null,
      (e: unknown) => e,
    );
    const causes = ((err as Error).cause as AggregateError).errors as StorageError[];
    expect(causes.map((c) => (c.cause as ChunkerError).code)).toEqual(["UnknownKey", "UnknownKey"]);
    // A blob above the bound is refused before it is read, as without workers.
    const where = backends.find((b) => b.name === ref.locations[0]) as LocalBackend;
    await fsp.truncate(path.join(where.root, ...k.split("/")), 65 * 1024 * 1024);
    const big = ref.locations.length === 1 ? ref : { ...ref, locations: [ref.locations[0]!] };
    await expect(leased(reader.readLeased([big]))).rejects.toThrow(/exceeds the \d+-byte bound/);
  });

  it("a closed pool: a WorkerFailed error naming the chunk, no hang, the buffer never reused", async () => {
    const { d } = await setup();
    const own = new SealWorkerPool(1);
    const reader = new ChunkReader(d, keyring, { workers: own });
    const ref = await store(d, bytes(300_000, 30));
    expect((await leased(reader.readLeased([ref]))).equals(bytes(300_000, 30))).toBe(true);
    await own.close();
    const buffers = new ChunkBufferPool(4, { shared: true });
    const err = await reader.readChunk(ref, buffers).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({
      code: "WorkerFailed",
      message: expect.stringContaining(ref.hash.slice(0, 16)),
    });
    // The blob's buffer was dropped, not pooled: a worker may still have been writing it.
    expect(buffers.idle).toBe(0);
    await expect(leased(reader.readLeased([ref]))).rejects.toMatchObject({ code: "WorkerFailed" });
  });
});
