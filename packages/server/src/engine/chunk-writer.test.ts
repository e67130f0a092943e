import { createHash, randomBytes } from "node:crypto";
import { chunkObjectKey } from "@enigma/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestEngine, type TestEngine } from "../../../../test/support/engine.js";
import type { WriteResult } from "./chunk-writer.js";
import { proposeOrThrow } from "./committer.js";

async function* pieces(...bufs: Buffer[]): AsyncGenerator<Uint8Array> {
  yield* bufs;
}

async function readAll(t: TestEngine, key: string): Promise<Buffer> {
  const obj = t.engine.manifest.getObject("b", key)!;
  const out: Buffer[] = [];
  for await (const b of t.engine.reader.read(obj.chunks)) out.push(Buffer.from(b));
  return Buffer.concat(out);
}

/** Makes a written stream object `key` of bucket "b". */
async function commit(t: TestEngine, key: string, w: WriteResult): Promise<void> {
  await proposeOrThrow(t.engine.committer, {
    type: "PutObject",
    bucket: "b",
    key,
    size: w.size,
    etag: w.md5Hex,
    meta: {},
    lastModifiedMs: 1,
    chunks: w.chunks,
  });
}

describe("ChunkWriter", () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await openTestEngine();
    await proposeOrThrow(t.engine.committer, { type: "CreateBucket", bucket: "b", createdAtMs: 1 });
  });
  afterAll(async () => {
    await t?.close();
  });

  async function put(key: string, body: Buffer) {
    const w = await t.engine.writer.write(pieces(body.subarray(0, 10), body.subarray(10)));
    await commit(t, key, w);
    return w;
  }

  it("returns the MD5 of the bytes written (computed by the pipeline), small, multi-chunk and empty", async () => {
    for (const body of [randomBytes(3000), randomBytes(700 * 1024 + 3), Buffer.alloc(0)]) {
      const w = await put(`md5-${body.length}`, body);
      expect(w.md5Hex).toBe(createHash("md5").update(body).digest("hex"));
      expect(w.size).toBe(body.length);
    }
  });

  it("stores a small body as one chunk that reads back, and dedups a second copy", async () => {
    const body = randomBytes(4096);
    const first = await put("small-1", body);
    expect(first).toMatchObject({ uploadedChunks: 1, dedupedChunks: 0 });
    expect(first.chunks[0]).toMatchObject({ size: 4096, uploaded: true });
    const again = await put("small-2", body);
    expect(again).toMatchObject({ uploadedChunks: 0, dedupedChunks: 1 });
    expect(again.chunks[0]!.hash).toBe(first.chunks[0]!.hash);
    expect((await readAll(t, "small-2")).equals(body)).toBe(true);
    expect(t.engine.manifest.getChunk(first.chunks[0]!.hash)?.refcount).toBe(2);
  });

  it("names each upload afresh (tag + nonce); repeats within a write share the first one's name", async () => {
    const block = randomBytes(300 * 1024);
    const body = Buffer.concat([block, block, block]);
    const w = await put("repeats", body);
    const byHash = new Map<string, Set<string>>();
    for (const c of w.chunks) byHash.set(c.hash, (byHash.get(c.hash) ?? new Set()).add(c.nameTag));
    expect(byHash.size).toBeLessThan(w.chunks.length); // the content does repeat
    expect(w.uploadedChunks).toBe(byHash.size);
    for (const [hash, names] of byHash) {
      expect(names.size).toBe(1);
      const name = [...names][0]!;
      expect(name).toMatch(/^[0-9a-f]{80}$/);
      expect(t.engine.manifest.getChunk(hash)?.nameTag).toBe(name);
      expect(await t.engine.backends[0]!.exists(chunkObjectKey(name))).toBe(true);
    }
    // Written again: every chunk is a dedup hit under the stored name, repeats included.
    const again = await put("repeats-2", body);
    expect(again.uploadedChunks).toBe(0);
    for (const c of again.chunks) expect(c.nameTag).toBe([...byHash.get(c.hash)!][0]);
    expect((await readAll(t, "repeats-2")).equals(body)).toBe(true);
  });

  it("concurrent writes of the same content share the uploads in flight (one object per chunk)", async () => {
    // Fixed 64 KiB chunks and room for all of them in flight: the first write's uploads are all
    // started (and held) before the second write begins.
    const own = await openTestEngine({ extraToml: 'chunk_strategy = "fixed"\nupload_concurrency = 8' });
    try {
      await proposeOrThrow(own.engine.committer, { type: "CreateBucket", bucket: "b", createdAtMs: 1 });
      const distributor = own.engine.distributor;
      const original = distributor.putChunk.bind(distributor);
      let gate = Promise.resolve();
      const names: string[] = [];
      distributor.putChunk = async (name, blob) => {
        names.push(name);
        await gate;
        return original(name, blob);
      };
      for (const [body, chunks] of [
        [randomBytes(5000), 1],
        [randomBytes(300 * 1024), 5],
      ] as const) {
        names.length = 0;
        let release!: () => void;
        gate = new Promise<void>((r) => {
          release = r;
        });
        const first = own.engine.writer.write(pieces(body));
        while (names.length < chunks) await new Promise((r) => setTimeout(r, 5));
        const second = own.engine.writer.write(pieces(body));
        await new Promise((r) => setTimeout(r, 100));
        release();
        const [a, b] = await Promise.all([first, second]);
        expect(names).toHaveLength(chunks);
        expect(a.uploadedChunks).toBe(chunks);
        expect(b).toMatchObject({ uploadedChunks: 0, dedupedChunks: chunks });
        expect(b.chunks.map((c) => c.nameTag)).toEqual(a.chunks.map((c) => c.nameTag));
        for (const [key, w] of [
          [`a-${body.length}`, a],
          [`b-${body.length}`, b],
        ] as const) {
          await commit(own, key, w);
          expect((await readAll(own, key)).equals(body)).toBe(true);
        }
      }
    } finally {
      await own.close();
    }
  });

  it("the engine reports its worker threads (null without a pool)", async () => {
    const w = t.engine.workers();
    expect(w).not.toBeNull();
    expect(w!.configured).toBe(t.engine.settings.workers);
    expect(w!.seal).toBe(w!.configured);
    const inline = await openTestEngine({ extraToml: "workers = 0" });
    try {
      expect(inline.engine.workers()).toBeNull();
    } finally {
      await inline.close();
    }
  });

  it("writes a multi-chunk body through the pipeline", async () => {
    const body = randomBytes(1024 * 1024 + 17); // 64 KiB test chunks
    const w = await put("big", body);
    expect(w.chunks.length).toBeGreaterThan(4);
    expect((await readAll(t, "big")).equals(body)).toBe(true);
  });
});
