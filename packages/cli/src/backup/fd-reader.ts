/**
 * Reads a file descriptor (stdin for `backup --stdin`) into two alternating buffers instead of a
 * stream's fresh 64 KiB allocation per read: a multi-GiB stream then makes no garbage for the GC to
 * lag behind on, which keeps peak RSS flat. The pipeline copies what it keeps before pulling the
 * next piece, so a buffer is reused only after its consumer moved on (double buffering for margin).
 */
import { read } from "node:fs";

/** Bytes per read. */
export const FD_READ_BYTES = 1024 * 1024;
const EAGAIN_RETRY_MS = 5;

function readOnce(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, buf.length, null, (err, n) => {
      if (err) reject(err);
      else resolve(n);
    });
  });
}

export async function* readFd(fd: number, chunkBytes = FD_READ_BYTES): AsyncIterable<Buffer> {
  const bufs = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  for (let turn = 0; ; turn ^= 1) {
    const buf = bufs[turn]!;
    let n: number;
    try {
      n = await readOnce(fd, buf);
    } catch (err) {
      // A non-blocking pipe with nothing to read yet.
      if ((err as NodeJS.ErrnoException).code === "EAGAIN") {
        await new Promise((r) => setTimeout(r, EAGAIN_RETRY_MS));
        turn ^= 1;
        continue;
      }
      throw err;
    }
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}
