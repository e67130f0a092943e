/**
 * Whole-file reads and writes with O_DIRECT for the local backend's large objects (chunks).
 *
 * Why: a buffered write copies every byte into the page cache, and on a machine whose fresh
 * pages are expensive (a VM whose host backs guest memory lazily, as here) that copy was the
 * largest single cost of a PUT — 35 % of all CPU during a 1 GiB PUT, ~2 s of thread-pool time per
 * GiB. Chunk files are written once and read rarely (restores, GETs of backups), so caching them
 * mostly evicts something more useful. Direct writes skip the cache; direct reads then avoid
 * filling it on the way back.
 *
 * O_DIRECT needs the memory address, the file offset and the length aligned (DIRECT_IO_ALIGN).
 * Data in memory from allocAligned (the gateway's chunk buffers) goes to and from the file with
 * no copy; other data is copied through a staging buffer in steps of STAGING_BYTES. The last
 * partial block always goes through the staging buffer, zero-padded (so nothing but the object's
 * bytes and zeros ever reaches the disk), and the file is then truncated to its real length.
 */
import type { FileHandle } from "node:fs/promises";
import { alignDown, allocAligned, DIRECT_IO_ALIGN, isAlignedView } from "../aligned.js";

/** Size of one staging buffer: misaligned data is copied through it in steps of this. */
export const STAGING_BYTES = 1024 * 1024;
/** Idle staging buffers a backend keeps (more are allocated under load and dropped after). */
const STAGING_IDLE_MAX = 4;

/** Thrown when the kernel wrote or read fewer bytes than asked in the middle of a file. */
export class ShortDirectIoError extends Error {}

export class StagingBuffers {
  readonly #free: Buffer[] = [];

  /** An aligned STAGING_BYTES buffer, or null when no aligned memory could be had. */
  take(): Buffer | null {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    const buf = Buffer.from(allocAligned(STAGING_BYTES));
    return isAlignedView(buf) ? buf : null;
  }

  give(buf: Buffer): void {
    if (this.#free.length < STAGING_IDLE_MAX) this.#free.push(buf);
  }

  get idle(): number {
    return this.#free.length;
  }
}

/** A staging buffer when the transfer needs one (unaligned memory, or a partial last block). */
function stagingFor(staging: StagingBuffers, zeroCopy: boolean, tail: number): Buffer | null {
  if (zeroCopy && tail === 0) return null;
  const stage = staging.take();
  if (stage === null) throw new ShortDirectIoError("no aligned staging memory");
  return stage;
}

async function writeFully(handle: FileHandle, src: Uint8Array, position: number): Promise<void> {
  for (let off = 0; off < src.length; ) {
    const { bytesWritten } = await handle.write(src, off, src.length - off, position + off);
    // A direct write that stops short leaves an unaligned offset no further direct write accepts.
    if (bytesWritten <= 0 || bytesWritten % DIRECT_IO_ALIGN !== 0) {
      throw new ShortDirectIoError(
        `direct write made ${bytesWritten} of ${src.length - off} bytes at ${position + off}`,
      );
    }
    off += bytesWritten;
  }
}

/** Reads `into.length` bytes at `position`, fewer only where the file ends; returns the count. */
async function readFully(handle: FileHandle, into: Uint8Array, position: number): Promise<number> {
  let off = 0;
  while (off < into.length) {
    const { bytesRead } = await handle.read(into, off, into.length - off, position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
    if (off < into.length && bytesRead % DIRECT_IO_ALIGN !== 0) break; // ended inside a block
  }
  return off;
}

/**
 * Writes `data` from offset 0 of `handle` (opened with O_DIRECT on an empty file), leaving the
 * file exactly `data.length` bytes long. Does not sync.
 */
export async function writeDirect(
  handle: FileHandle,
  data: Uint8Array,
  staging: StagingBuffers,
  signal?: AbortSignal,
): Promise<void> {
  const bulk = alignDown(data.length);
  const tail = data.length - bulk;
  const zeroCopy = isAlignedView(data);
  const stage = stagingFor(staging, zeroCopy, tail);
  try {
    if (zeroCopy) {
      signal?.throwIfAborted();
      if (bulk > 0) await writeFully(handle, data.subarray(0, bulk), 0);
    } else {
      for (let off = 0; off < bulk; ) {
        signal?.throwIfAborted();
        const n = Math.min(STAGING_BYTES, bulk - off);
        stage!.set(data.subarray(off, off + n), 0);
        await writeFully(handle, stage!.subarray(0, n), off);
        off += n;
      }
    }
    if (tail > 0) {
      signal?.throwIfAborted();
      stage!.set(data.subarray(bulk), 0);
      stage!.fill(0, tail, DIRECT_IO_ALIGN);
      await writeFully(handle, stage!.subarray(0, DIRECT_IO_ALIGN), bulk);
      await handle.truncate(data.length);
    }
  } finally {
    if (stage !== null) staging.give(stage);
  }
}

/**
 * Reads the first `view.length` bytes of `handle` (opened with O_DIRECT) into `view`; returns how
 * many it got (less only when the file is shorter).
 */
export async function readDirect(
  handle: FileHandle,
  view: Uint8Array,
  staging: StagingBuffers,
  signal?: AbortSignal,
): Promise<number> {
  const size = view.length;
  const bulk = alignDown(size);
  const tail = size - bulk;
  const zeroCopy = isAlignedView(view);
  const stage = stagingFor(staging, zeroCopy, tail);
  try {
    let got = 0;
    if (zeroCopy) {
      signal?.throwIfAborted();
      if (bulk > 0) got = await readFully(handle, view.subarray(0, bulk), 0);
    } else {
      while (got < bulk) {
        signal?.throwIfAborted();
        const want = Math.min(STAGING_BYTES, bulk - got);
        const n = await readFully(handle, stage!.subarray(0, want), got);
        stage!.copy(view, got, 0, n);
        got += n;
        if (n < want) return got;
      }
    }
    if (got < bulk || tail === 0) return got;
    signal?.throwIfAborted();
    const n = await readFully(handle, stage!.subarray(0, DIRECT_IO_ALIGN), bulk);
    const take = Math.min(n, tail);
    stage!.copy(view, bulk, 0, take);
    return bulk + take;
  } finally {
    if (stage !== null) staging.give(stage);
  }
}
