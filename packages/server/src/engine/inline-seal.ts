/**
 * Small bodies skip the streaming pipeline. `sealStream` reserves a max-size chunk buffer (16 MiB
 * with the default chunking) per stream and, with workers, moves it to a worker and back: for a
 * 4 KiB PUT that is a worker round trip plus 16 MiB of external memory per request, which with 32
 * concurrent PUTs kept both isolates in the garbage collector (CPU profile of the small-object
 * bench: GC 5 s of 31 s on the main thread, 2.8 s in the otherwise idle seal worker). Hashing and
 * sealing a few KiB on the calling thread costs microseconds.
 *
 * A body no longer than the chunker's minimum chunk size is exactly one chunk under every
 * strategy (FastCDC never cuts before `minBytes`; fixed chunks are `avgBytes` = `minBytes`), so the
 * chunk (hash, name tag, dedup) is the same one the pipeline would produce.
 */
import { createHash } from "node:crypto";
import { type PipelineOptions, resolveChunking, type SealedChunk, sealStream } from "@enigma/chunker";
import { chunkNameTag, sealChunk } from "@enigma/crypto";
import { withPrefix } from "./pieces.js";

/** Largest body sealed on the calling thread (also bounded by the chunker's minimum chunk size). */
export const INLINE_SEAL_MAX_BYTES = 256 * 1024;

/**
 * `sealStream(source, opts)`, except that a source ending within the inline limit is sealed here as
 * one chunk. Reads at most the limit + one piece ahead, copying what it holds (a source may reuse
 * its buffers); a longer source continues through `sealStream` with the copied prefix first.
 * Compression is left to the pipeline (bodies are sealed inline only without it).
 */
export async function* sealSmallOrStream(
  source: AsyncIterable<Uint8Array>,
  opts: PipelineOptions,
): AsyncGenerator<SealedChunk, void, undefined> {
  const minBytes = resolveChunking(opts.chunking).minBytes;
  const limit = opts.compression === undefined ? Math.min(INLINE_SEAL_MAX_BYTES, minBytes) : 0;
  const it = source[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  let heldBytes = 0;
  let ended = false;
  while (limit > 0 && heldBytes <= limit) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    held.push(Buffer.from(r.value));
    heldBytes += r.value.length;
  }
  if (ended) {
    if (heldBytes > 0) yield await sealOne(Buffer.concat(held, heldBytes), opts);
    else opts.md5?.(createHash("md5").digest());
    return;
  }
  yield* sealStream(withPrefix(held, it), opts);
}

async function sealOne(plain: Buffer, opts: PipelineOptions): Promise<SealedChunk> {
  const hash = createHash("sha256").update(plain).digest();
  const hashHex = hash.toString("hex");
  const sha3 = opts.sha3 === true ? createHash("sha3-256").update(plain).digest() : undefined;
  const nameTag = chunkNameTag(opts.nameKey, hash);
  opts.md5?.(createHash("md5").update(plain).digest());
  const known = opts.isKnown !== undefined && (await opts.isKnown(hashHex));
  const sealed = known
    ? null
    : sealChunk({ keyId: opts.dataKey.keyId, key: opts.dataKey.key, nameTag, payload: plain, flags: 0 });
  return {
    seq: 0,
    hash,
    hashHex,
    size: plain.length,
    nameTag,
    nameTagHex: nameTag.toString("hex"),
    keyId: opts.dataKey.keyId,
    compressed: false,
    ...(sha3 !== undefined ? { sha3 } : {}),
    sealed,
    release() {},
  };
}
