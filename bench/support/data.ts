/** BENCH HELPER: cheap, incompressible, never-repeating data (so dedup cannot shortcut the work). */
import { randomFillSync } from "node:crypto";
import { Readable } from "node:stream";

const POOL_BYTES = 64 * 1024 * 1024;
const PIECE_BYTES = 1024 * 1024;
const STAMP_EVERY_BYTES = 4096;
let pool: Buffer | undefined;

/** `total` bytes: a random pool with a running counter stamped every 4 KiB of each piece. */
export function uniqueStream(total: number, salt = Date.now()): Readable {
  pool ??= randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
  const src = pool;
  let sent = 0;
  let counter = salt;
  return new Readable({
    highWaterMark: 4 * PIECE_BYTES,
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(PIECE_BYTES, total - sent);
      const off = sent % (POOL_BYTES - PIECE_BYTES);
      const piece = Buffer.from(src.subarray(off, off + n));
      for (let i = 0; i + 8 <= n; i += STAMP_EVERY_BYTES) piece.writeDoubleLE(counter++, i);
      sent += n;
      this.push(piece);
    },
  });
}
