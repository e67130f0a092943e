import { PassThrough } from "node:stream";
import { setImmediate as tick } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { BODY_QUEUE_MAX_BYTES, PrematureCloseError, RequestBodyReader } from "./body-reader.js";

const piece = (n: number, fill: number) => Buffer.alloc(n, fill);

async function collect(reader: RequestBodyReader): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of reader) out.push(b);
  return Buffer.concat(out);
}

describe("RequestBodyReader", () => {
  it("yields every piece in order, counts each once, then ends (also if asked again)", async () => {
    const s = new PassThrough();
    let counted = 0;
    const reader = new RequestBodyReader(s, (n) => {
      counted += n;
    });
    const pieces = [piece(10, 1), piece(70_000, 2), piece(1, 3)];
    const done = collect(reader);
    for (const p of pieces) s.write(p);
    s.end();
    expect((await done).equals(Buffer.concat(pieces))).toBe(true);
    expect(counted).toBe(70_011);
    await expect(reader.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it("pieces that arrived before the end are still delivered after it", async () => {
    const s = new PassThrough();
    const reader = new RequestBodyReader(s);
    const first = await Promise.all([reader.next(), Promise.resolve().then(() => s.write(piece(5, 9)))]);
    expect(first[0].value?.length).toBe(5);
    s.write(piece(6, 8));
    s.end();
    await tick();
    await tick();
    expect((await reader.next()).value?.length).toBe(6);
    expect((await reader.next()).done).toBe(true);
  });

  it("pauses the request once its queue is full, and resumes as the consumer drains it", async () => {
    const s = new PassThrough({ highWaterMark: 64 * 1024 });
    const reader = new RequestBodyReader(s);
    const pieceBytes = 64 * 1024;
    const total = 4 * BODY_QUEUE_MAX_BYTES;
    // Start the flow, then write far more than the queue may hold while nobody consumes.
    const firstRead = reader.next();
    for (let written = 0; written < total; written += pieceBytes) s.write(piece(pieceBytes, 7));
    s.end();
    for (let i = 0; i < 10; i++) await tick();
    expect(s.isPaused()).toBe(true);
    // What the reader did not take is still in the stream's own buffers, not in its queue.
    expect(s.readableLength + s.writableLength).toBeGreaterThanOrEqual(
      total - BODY_QUEUE_MAX_BYTES - 2 * pieceBytes,
    );
    let got = (await firstRead).value!.length;
    for await (const b of reader) got += b.length;
    expect(got).toBe(total);
  });

  it("rejects with the stream's error, and with PrematureCloseError when it closes before its end", async () => {
    const failing = new PassThrough();
    const r1 = new RequestBodyReader(failing);
    const pending = r1.next();
    failing.destroy(new Error("connection reset"));
    await expect(pending).rejects.toThrow("connection reset");
    await expect(r1.next()).resolves.toEqual({ done: true, value: undefined });

    const closed = new PassThrough();
    const r2 = new RequestBodyReader(closed);
    closed.write(piece(3, 1));
    const read = collect(r2);
    await tick();
    closed.destroy();
    await expect(read).rejects.toBeInstanceOf(PrematureCloseError);

    const already = new PassThrough();
    already.destroy();
    await tick();
    await expect(new RequestBodyReader(already).next()).rejects.toBeInstanceOf(PrematureCloseError);
  });

  it("leaving early pauses an unfinished request (the handler answers, then drains or closes)", async () => {
    const s = new PassThrough();
    const reader = new RequestBodyReader(s);
    s.write(piece(4, 1));
    for await (const _ of reader) break;
    expect(s.destroyed).toBe(false);
    expect(s.isPaused()).toBe(true);
    expect(s.listenerCount("data")).toBe(0);
    // The rest is still there for whoever drains it.
    s.end(piece(3, 2));
    const rest: Buffer[] = [];
    for await (const b of s) rest.push(b as Buffer);
    expect(Buffer.concat(rest).length).toBe(3);

    // (autoDestroy off: a stream that ended normally would otherwise destroy itself.)
    const whole = new PassThrough({ autoDestroy: false });
    const r2 = new RequestBodyReader(whole);
    whole.end(piece(4, 1));
    await collect(r2);
    await r2.return();
    expect(whole.destroyed).toBe(false);
    // A late error after the reader finished does not become an uncaught exception.
    whole.destroy(new Error("late"));
    await tick();
  });
});
