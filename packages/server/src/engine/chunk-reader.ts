/**
 * Chunk list → plaintext stream: fetch (any replica, falling back on error or a blob that fails
 * verification) → open (name tag, AES-GCM) → decompress → verify SHA-256. A bad chunk is an error
 * naming it, never wrong bytes. Fetches run ahead by a bounded prefetch window.
 */
import { openSealed } from "@enigma/chunker";
import type { ChunkRef } from "@enigma/manifest";
import type { Distributor } from "@enigma/storage";
import type { Keyring } from "./keys.js";

/** What reading needs from a chunk reference. */
export type ReadableChunk = Pick<ChunkRef, "hash" | "size" | "nameTag" | "locations">;

export const DEFAULT_PREFETCH_CHUNKS = 2;

export class ChunkReader {
  readonly #distributor: Distributor;
  readonly #keyring: Keyring;

  constructor(distributor: Distributor, keyring: Keyring) {
    this.#distributor = distributor;
    this.#keyring = keyring;
  }

  /** One chunk's verified plaintext. */
  async readChunk(ref: ReadableChunk): Promise<Buffer> {
    const expected = Buffer.from(ref.hash, "hex");
    let opened: Buffer | undefined;
    const blob = await this.#distributor.getChunk(ref.nameTag, ref.locations, (candidate: Buffer) => {
      // Verification failure makes the distributor try the next replica.
      opened = openSealed(candidate, (id) => this.#keyring.keyFor(id), expected, this.#keyring.nameKey);
      return true;
    });
    return opened ?? openSealed(blob, (id) => this.#keyring.keyFor(id), expected, this.#keyring.nameKey);
  }

  /**
   * Streams the plaintext of `refs` in order; with `range` (inclusive start, exclusive end, in bytes
   * of the concatenation) only the chunks overlapping it are fetched.
   */
  async *read(
    refs: readonly ReadableChunk[],
    opts: {
      readonly range?: { readonly start: number; readonly end: number };
      readonly prefetch?: number;
    } = {},
  ): AsyncIterable<Buffer> {
    const prefetch = Math.max(1, opts.prefetch ?? DEFAULT_PREFETCH_CHUNKS);
    const start = opts.range?.start ?? 0;
    const end = opts.range?.end ?? Number.POSITIVE_INFINITY;
    const wanted: { ref: ReadableChunk; from: number; to: number }[] = [];
    let offset = 0;
    for (const ref of refs) {
      const chunkStart = offset;
      const chunkEnd = offset + ref.size;
      offset = chunkEnd;
      if (chunkEnd <= start || chunkStart >= end) continue;
      wanted.push({ ref, from: Math.max(0, start - chunkStart), to: Math.min(ref.size, end - chunkStart) });
    }
    const inflight: Promise<Buffer>[] = [];
    let next = 0;
    const fill = () => {
      while (inflight.length < prefetch && next < wanted.length) {
        const p = this.readChunk(wanted[next]!.ref);
        p.catch(() => {});
        inflight.push(p);
        next++;
      }
    };
    try {
      for (const w of wanted) {
        fill();
        const buf = await inflight.shift()!;
        yield w.from === 0 && w.to === buf.length ? buf : buf.subarray(w.from, w.to);
      }
    } finally {
      await Promise.allSettled(inflight);
    }
  }
}
