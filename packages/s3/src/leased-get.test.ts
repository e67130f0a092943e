import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ByteRange, LeasedBuffer, ObjectHandle, ObjectReadInput } from "./port.js";
import { startTestServer, type TestServer } from "./testing/harness.js";
import { MemoryObjectService } from "./testing/memory-service.js";

const PIECE = 256 * 1024;

/**
 * Lends GET bodies from two buffers and refills a buffer the moment it is released, poisoning it
 * first: if the server released a buffer while the socket still held it, the client would read
 * 0xff or a later piece's bytes instead of the object.
 */
class LendingService extends MemoryObjectService {
  lent = 0;
  released = 0;
  streamsEnded = 0;

  override async getObject(input: ObjectReadInput): Promise<ObjectHandle> {
    const handle = await super.getObject(input);
    return { ...handle, readLeased: (range?: ByteRange) => this.#lend(handle.read(range)) };
  }

  async *#lend(src: AsyncIterable<Buffer>): AsyncIterable<LeasedBuffer> {
    const free = [Buffer.alloc(PIECE), Buffer.alloc(PIECE)];
    const waiting: (() => void)[] = [];
    try {
      for await (const chunk of src) {
        for (let at = 0; at < chunk.length; at += PIECE) {
          const piece = chunk.subarray(at, at + PIECE);
          while (free.length === 0) await new Promise<void>((r) => waiting.push(r));
          const buf = free.pop()!;
          piece.copy(buf);
          this.lent++;
          let released = false;
          yield {
            data: buf.subarray(0, piece.length),
            release: () => {
              if (released) throw new Error("released twice");
              released = true;
              this.released++;
              buf.fill(0xff);
              free.push(buf);
              waiting.shift()?.();
            },
          };
        }
      }
    } finally {
      this.streamsEnded++;
    }
  }
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("GET bodies from lent buffers", () => {
  const service = new LendingService();
  let t: TestServer;
  const body = Buffer.alloc(6 * 1024 * 1024 + 12345);
  for (let i = 0; i + 4 <= body.length; i += 4) body.writeUInt32LE(i, i);

  beforeAll(async () => {
    t = await startTestServer({ service });
    await t.client.send(new CreateBucketCommand({ Bucket: "lent-bucket" }));
    await t.client.send(new PutObjectCommand({ Bucket: "lent-bucket", Key: "k", Body: body }));
  });
  afterAll(async () => {
    await t?.close();
  });

  async function get(range?: string): Promise<Buffer> {
    const res = await t.client.send(
      new GetObjectCommand({ Bucket: "lent-bucket", Key: "k", ...(range ? { Range: range } : {}) }),
    );
    const stream = res.Body as NodeJS.ReadableStream;
    stream.pause();
    // A slow reader: the socket fills up and writes stay pending while later pieces are produced.
    await new Promise((r) => setTimeout(r, 200));
    const parts: Buffer[] = [];
    for await (const p of stream) parts.push(p as Buffer);
    return Buffer.concat(parts);
  }

  it("releases each buffer only after its write: a slow client gets the exact bytes", async () => {
    const before = { lent: service.lent, released: service.released };
    expect((await get()).equals(body)).toBe(true);
    expect(service.lent - before.lent).toBe(Math.ceil(body.length / PIECE));
    await until(() => service.released === service.lent, "every lease released");
    expect(service.released - before.released).toBe(service.lent - before.lent);
  });

  it("serves ranges from lent buffers byte for byte", async () => {
    for (const [start, end] of [
      [0, 0],
      [PIECE - 1, PIECE],
      [12345, 3 * 1024 * 1024 + 7],
      [body.length - 10, body.length - 1],
    ] as const) {
      const got = await get(`bytes=${start}-${end}`);
      expect(got.equals(body.subarray(start, end + 1)), `bytes=${start}-${end}`).toBe(true);
    }
    await until(() => service.released === service.lent, "every lease released");
  });

  it("a client that goes away ends the read (no stuck handler, no double release)", async () => {
    const ended = service.streamsEnded;
    const res = await t.client.send(new GetObjectCommand({ Bucket: "lent-bucket", Key: "k" }));
    const stream = res.Body as NodeJS.ReadableStream & { destroy(): void };
    await new Promise<void>((resolve) => stream.once("data", () => resolve()));
    stream.destroy();
    await until(() => service.streamsEnded === ended + 1, "the lending stream to end");
    // And the server still serves.
    expect((await get("bytes=0-9")).equals(body.subarray(0, 10))).toBe(true);
  });
});
