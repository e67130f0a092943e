import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestEngine, type TestEngine } from "../../../../test/support/engine.js";
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

  it("writes a multi-chunk body through the pipeline", async () => {
    const body = randomBytes(1024 * 1024 + 17); // 64 KiB test chunks
    const w = await put("big", body);
    expect(w.chunks.length).toBeGreaterThan(4);
    expect((await readAll(t, "big")).equals(body)).toBe(true);
  });
});
