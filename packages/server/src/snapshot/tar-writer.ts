/**
 * A minimal ustar writer: regular files only, names ≤ 100 bytes, deterministic headers (uid/gid 0,
 * no user names, one mtime). Output is an async stream of buffers, so a multi-GiB member never sits
 * in memory. A member whose source yields a different number of bytes than declared is an error,
 * not a silently corrupt archive.
 */
import { SnapshotError } from "./errors.js";
import {
  encodeUstarHeader,
  MAX_NAME_BYTES,
  paddingBytes,
  TAR_BLOCK_BYTES,
  TAR_RECORD_BYTES,
  unsafeNameReason,
} from "./tar-format.js";

export interface TarMemberSource {
  readonly name: string;
  readonly size: number;
  /** The member's bytes: a buffer, or a stream that must yield exactly `size` bytes. */
  readonly body: Uint8Array | (() => AsyncIterable<Uint8Array>);
  readonly mode?: number;
}

export interface TarWriteOptions {
  /** mtime of every member, seconds since the epoch. */
  readonly mtimeS: number;
}

const ZERO_BLOCK = Buffer.alloc(TAR_BLOCK_BYTES);

export async function* tarStream(
  members: readonly TarMemberSource[],
  opts: TarWriteOptions,
): AsyncGenerator<Buffer, void, undefined> {
  const seen = new Set<string>();
  let written = 0;
  for (const m of members) {
    const why = unsafeNameReason(m.name);
    if (why !== undefined) throw new SnapshotError("Internal", `cannot write tar member ${m.name}: ${why}`);
    if (Buffer.byteLength(m.name, "utf8") > MAX_NAME_BYTES)
      throw new SnapshotError("Internal", `tar member name ${m.name} is longer than ${MAX_NAME_BYTES} bytes`);
    if (seen.has(m.name)) throw new SnapshotError("Internal", `duplicate tar member ${m.name}`);
    seen.add(m.name);
    if (!Number.isSafeInteger(m.size) || m.size < 0)
      throw new SnapshotError("Internal", `tar member ${m.name}: bad size ${m.size}`);
    const header = encodeUstarHeader({
      name: m.name,
      size: m.size,
      mode: m.mode ?? 0o600,
      mtimeS: opts.mtimeS,
    });
    yield header;
    written += header.length;
    let bytes = 0;
    if (m.body instanceof Uint8Array) {
      bytes = m.body.length;
      if (bytes === m.size) yield Buffer.from(m.body.buffer, m.body.byteOffset, m.body.length);
    } else {
      for await (const piece of m.body()) {
        bytes += piece.length;
        if (bytes > m.size) break;
        yield Buffer.from(piece.buffer, piece.byteOffset, piece.length);
      }
    }
    if (bytes !== m.size)
      throw new SnapshotError(
        "Internal",
        `tar member ${m.name}: source ${bytes > m.size ? "grew beyond" : "yielded"} ${bytes} bytes, declared ${m.size}`,
      );
    written += bytes;
    const pad = paddingBytes(m.size);
    if (pad > 0) {
      yield ZERO_BLOCK.subarray(0, pad);
      written += pad;
    }
  }
  // End of archive: two zero blocks, then zeros up to a whole record, as tar(1) writes.
  const end = 2 * TAR_BLOCK_BYTES;
  const total = written + end;
  const tail = end + ((TAR_RECORD_BYTES - (total % TAR_RECORD_BYTES)) % TAR_RECORD_BYTES);
  yield Buffer.alloc(tail);
}
