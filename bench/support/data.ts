/** BENCH HELPER: cheap, incompressible, never-repeating data (so dedup cannot shortcut the work). */
import { randomFillSync } from "node:crypto";
import type { Writable } from "node:stream";

const POOL_BYTES = 64 * 1024 * 1024;
const PIECE_BYTES = 1024 * 1024;
const STAMP_EVERY_BYTES = 4096;
let pool: Buffer | undefined;

/** Buffers in flight in a UniqueBody: the most it writes ahead of what the socket has flushed. */
const RING_PIECES = 8;

/**
 * `total` cheap, incompressible, never-repeating bytes (a random pool, a running counter stamped
 * every 4 KiB, so dedup cannot shortcut the work), written straight into a request from a ring of reused 1 MiB buffers: a buffer is restamped only after the
 * socket flushed it (the write callback). The client shares the machine's two cores with the server
 * under test, so its data generator must cost next to nothing: copying every piece into a fresh
 * buffer took ~0.5 s of CPU per GiB, half of the client's, and that CPU was taken from whichever
 * server runs threads on both cores (in production the client is elsewhere).
 */
export class UniqueBody {
  constructor(
    readonly total: number,
    readonly salt: number,
  ) {}

  /** Writes all `total` bytes to `sink` (each piece shown to `onPiece` first), then ends it. */
  pipeTo(sink: Writable, onPiece?: (piece: Buffer) => void): void {
    pool ??= randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    const src = pool;
    const free = Array.from({ length: RING_PIECES }, (_, k) =>
      Buffer.from(src.subarray(k * PIECE_BYTES, (k + 1) * PIECE_BYTES)),
    );
    let sent = 0;
    let counter = this.salt;
    let ended = false;
    const pump = (): void => {
      while (sent < this.total && free.length > 0) {
        const buf = free.pop()!;
        const n = Math.min(PIECE_BYTES, this.total - sent);
        for (let i = 0; i + 8 <= n; i += STAMP_EVERY_BYTES) buf.writeDoubleLE(counter++, i);
        sent += n;
        const piece = n === PIECE_BYTES ? buf : buf.subarray(0, n);
        onPiece?.(piece);
        sink.write(piece, (err) => {
          if (err) return;
          free.push(buf);
          pump();
        });
      }
      if (sent >= this.total && !ended) {
        ended = true;
        sink.end();
      }
    };
    pump();
  }
}
