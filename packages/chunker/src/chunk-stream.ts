import { copyInto } from "./copy.js";
import { type Cutter, createCutter } from "./cutter.js";
import type { ChunkingOptions } from "./options.js";

/**
 * Cuts `source` into chunks, copying each chunk's bytes into a buffer from `take(minBytes)` (at
 * least `minBytes` long) and yielding the filled view. The first buffer of a chunk is asked for
 * `initialBytes` (default: the cutter's max); a chunk that outgrows it moves to a buffer of the max
 * (its bytes so far copied over) and the smaller one goes to `give`. Holds at most one chunk buffer
 * plus the current input buffer; input buffers are never retained after they are copied, so a
 * source may reuse them.
 */
export async function* splitChunks(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  cutter: Cutter,
  take: (minBytes: number) => Buffer,
  opts: { readonly initialBytes?: number; readonly give?: (buf: Buffer) => void } = {},
): AsyncGenerator<Buffer, void, undefined> {
  const maxBytes = cutter.params.maxBytes;
  const initialBytes = Math.min(maxBytes, opts.initialBytes ?? maxBytes);
  let cur: Buffer | null = null;
  let fill = 0;
  for await (const piece of source) {
    let start = 0;
    while (start < piece.length) {
      const cut = cutter.findCut(piece, start);
      const end = cut < 0 ? piece.length : cut;
      if (cur === null) cur = take(initialBytes);
      if (fill + (end - start) > cur.length) {
        const bigger = take(maxBytes);
        copyInto(bigger, cur.subarray(0, fill), 0);
        opts.give?.(cur);
        cur = bigger;
      }
      copyInto(cur, piece.subarray(start, end), fill);
      fill += end - start;
      start = end;
      if (cut >= 0) {
        const chunk = cur.subarray(0, fill);
        cur = null;
        fill = 0;
        yield chunk;
      }
    }
  }
  const rest = cutter.finish();
  if (rest !== fill) throw new Error(`chunker invariant: cutter holds ${rest} bytes, buffer ${fill}`);
  if (cur !== null && fill > 0) yield cur.subarray(0, fill);
}

/**
 * Cuts a byte stream into content-defined (or fixed-size) chunks. Each yielded Buffer is a fresh,
 * exact-size copy owned by the consumer. Empty input yields no chunks. Memory: one scratch buffer
 * of `maxBytes` plus the current input buffer.
 */
export async function* chunkStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts?: ChunkingOptions,
): AsyncGenerator<Buffer, void, undefined> {
  const cutter = createCutter(opts);
  // One scratch buffer, copied out per chunk: a fresh max-size buffer per chunk would pin 4× the
  // chunk's memory in whatever the consumer keeps.
  const scratch = Buffer.allocUnsafeSlow(cutter.params.maxBytes);
  for await (const view of splitChunks(source, cutter, () => scratch)) {
    yield Buffer.from(view);
  }
}
