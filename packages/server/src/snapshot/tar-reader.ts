/**
 * A strict, streaming ustar reader. It never touches the filesystem: each member's bytes are handed
 * to a callback as a stream, and every member is judged from its header *before* any of its data is
 * read. Refused (so nothing hostile reaches an extractor): absolute paths, `.`/`..`/empty segments,
 * backslashes, control characters, invalid UTF-8, hard and symbolic links, devices, FIFOs,
 * directories, duplicate names, members above a size bound, too many members; and, as unsupported,
 * pax and GNU extension headers and pre-POSIX headers. Bad checksums, truncation and anything but
 * zeros after the end-of-archive marker are malformed.
 */
import { SnapshotError } from "./errors.js";
import {
  headerChecksum,
  paddingBytes,
  parseNumeric,
  TAR_BLOCK_BYTES,
  TAR_RECORD_BYTES,
  TYPEFLAG_NAMES,
  USTAR_MAGIC,
  USTAR_VERSION,
  unsafeNameReason,
} from "./tar-format.js";

export interface TarEntry {
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly mtimeS: number;
  /** 0-based position in the archive. */
  readonly index: number;
}

export interface TarReadLimits {
  /** Largest member accepted, checked from the header before any data is read. */
  readonly maxMemberBytes: number;
  readonly maxMembers: number;
  /** Zero padding accepted after the end-of-archive marker. */
  readonly maxTrailingBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarReadLimits = {
  maxMemberBytes: 64 * 1024 ** 3,
  maxMembers: 64,
  maxTrailingBytes: 16 * TAR_RECORD_BYTES,
};

/** Receives each member; must consume `body` (whatever it leaves is read and discarded). */
export type TarEntryHandler = (entry: TarEntry, body: AsyncIterable<Buffer>) => Promise<void>;

export interface TarSummary {
  readonly members: number;
  readonly archiveBytes: number;
}

const UNSAFE_TYPES = new Set(["1", "2", "3", "4", "5", "6", "7"]);
const GNU_MAGIC = "ustar  \u0000";
const utf8 = new TextDecoder("utf-8", { fatal: true });

export async function readTar(
  source: AsyncIterable<Uint8Array>,
  onEntry: TarEntryHandler,
  limits: TarReadLimits = DEFAULT_TAR_LIMITS,
): Promise<TarSummary> {
  const src = new ByteSource(source);
  try {
    return await readMembers(src, onEntry, limits);
  } finally {
    // Early exit (a refusal) must not leave the file open or a decryptor running.
    await src.close();
  }
}

async function readMembers(
  src: ByteSource,
  onEntry: TarEntryHandler,
  limits: TarReadLimits,
): Promise<TarSummary> {
  const names = new Set<string>();
  let index = 0;
  for (;;) {
    const offset = src.position;
    const h = await src.read(TAR_BLOCK_BYTES);
    if (h.length < TAR_BLOCK_BYTES)
      throw malformed(`archive is truncated at byte ${offset} (no end-of-archive marker)`);
    if (isZero(h)) {
      const second = await src.read(TAR_BLOCK_BYTES);
      if (second.length < TAR_BLOCK_BYTES || !isZero(second))
        throw malformed(`a lone zero block at byte ${offset} is not an end-of-archive marker`);
      await checkTrailer(src, limits.maxTrailingBytes);
      return { members: index, archiveBytes: src.position };
    }
    const entry = parseHeader(h, offset, index);
    if (index >= limits.maxMembers) throw unsafe(`archive has more than ${limits.maxMembers} members`);
    if (names.has(entry.name)) throw unsafe(`duplicate member "${entry.name}"`);
    if (entry.size > limits.maxMemberBytes)
      throw unsafe(
        `member "${entry.name}" is ${entry.size} bytes, above the limit of ${limits.maxMemberBytes} bytes`,
      );
    names.add(entry.name);
    const body = new MemberBody(src, entry);
    await onEntry(entry, body);
    await body.drain();
    const pad = await src.read(paddingBytes(entry.size));
    if (pad.length < paddingBytes(entry.size)) throw malformed(`archive is truncated in "${entry.name}"`);
    index++;
  }
}

function parseHeader(h: Buffer, offset: number, index: number): TarEntry {
  const stored = parseNumeric(h, 148, 8);
  if (stored === undefined || stored !== headerChecksum(h))
    throw malformed(`bad header checksum at byte ${offset}: not a tar archive, or damaged`);
  const magic = h.toString("latin1", 257, 265);
  if (magic === GNU_MAGIC)
    throw new SnapshotError("TarUnsupported", `GNU tar header at byte ${offset}: only POSIX ustar is read`);
  if (magic.slice(0, 6) !== USTAR_MAGIC || magic.slice(6) !== USTAR_VERSION)
    throw new SnapshotError(
      "TarUnsupported",
      `header at byte ${offset} is not POSIX ustar (pre-POSIX or unknown tar format)`,
    );
  const name = decodeName(h, offset);
  const typeflag = h.toString("latin1", 156, 157);
  if (typeflag !== "0" && typeflag !== "\u0000") {
    const what = TYPEFLAG_NAMES[typeflag] ?? `unknown type ${JSON.stringify(typeflag)}`;
    if (UNSAFE_TYPES.has(typeflag)) {
      const target = typeflag === "1" || typeflag === "2" ? ` to "${field(h, 157, 100)}"` : "";
      throw unsafe(`member "${name}" is a ${what}${target}: only regular files are extracted`);
    }
    throw new SnapshotError("TarUnsupported", `member "${name}" is a ${what}: not supported`);
  }
  const why = unsafeNameReason(name);
  if (why !== undefined) throw unsafe(`member "${name}" refused: ${why}`);
  const size = parseNumeric(h, 124, 12);
  const mode = parseNumeric(h, 100, 8);
  const mtimeS = parseNumeric(h, 136, 12);
  if (size === undefined || mode === undefined || mtimeS === undefined)
    throw malformed(`member "${name}" has a malformed numeric field`);
  return { name, size, mode, mtimeS, index };
}

function decodeName(h: Buffer, offset: number): string {
  try {
    const name = utf8.decode(fieldBytes(h, 0, 100));
    const prefix = utf8.decode(fieldBytes(h, 345, 155));
    return prefix === "" ? name : `${prefix}/${name}`;
  } catch {
    throw unsafe(`member name at byte ${offset} is not valid UTF-8`);
  }
}

/** A NUL-terminated field; bytes after the first NUL are ignored, as every tar does. */
function fieldBytes(h: Buffer, off: number, len: number): Buffer {
  const f = h.subarray(off, off + len);
  const nul = f.indexOf(0);
  return nul < 0 ? f : f.subarray(0, nul);
}

function field(h: Buffer, off: number, len: number): string {
  return fieldBytes(h, off, len).toString("utf8").slice(0, 200);
}

async function checkTrailer(src: ByteSource, maxTrailingBytes: number): Promise<void> {
  const start = src.position;
  for (;;) {
    const piece = await src.readSome(TAR_RECORD_BYTES);
    if (piece === undefined) return;
    if (!isZero(piece)) throw malformed(`data after the end-of-archive marker at byte ${src.position}`);
    if (src.position - start > maxTrailingBytes)
      throw malformed(`more than ${maxTrailingBytes} bytes of padding after the end-of-archive marker`);
  }
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function malformed(message: string): SnapshotError {
  return new SnapshotError("TarMalformed", message);
}

function unsafe(message: string): SnapshotError {
  return new SnapshotError("TarUnsafe", message);
}

/** One member's data as a stream of at most `size` bytes in total. */
class MemberBody implements AsyncIterable<Buffer> {
  readonly #src: ByteSource;
  readonly #entry: TarEntry;
  #left: number;

  constructor(src: ByteSource, entry: TarEntry) {
    this.#src = src;
    this.#entry = entry;
    this.#left = entry.size;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    while (this.#left > 0) {
      const piece = await this.#src.readSome(this.#left);
      if (piece === undefined) throw malformed(`archive is truncated in "${this.#entry.name}"`);
      this.#left -= piece.length;
      yield piece;
    }
  }

  async drain(): Promise<void> {
    for await (const _ of this) {
      // discard
    }
  }
}

/** Pull-based reads over an async iterable of byte chunks. */
class ByteSource {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf: Buffer = Buffer.alloc(0);
  #eof = false;
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  /** Exactly n bytes, or fewer only at end of input. */
  async read(n: number): Promise<Buffer> {
    while (this.#buf.length < n && (await this.#fill())) {
      // keep filling
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** Between 1 and max bytes, or undefined at end of input. */
  async readSome(max: number): Promise<Buffer | undefined> {
    if (this.#buf.length === 0 && !(await this.#fill())) return undefined;
    const out = this.#buf.subarray(0, max);
    this.#buf = this.#buf.subarray(out.length);
    this.position += out.length;
    return out;
  }

  async close(): Promise<void> {
    if (this.#eof) return;
    this.#eof = true;
    await this.#it.return?.();
  }

  async #fill(): Promise<boolean> {
    for (;;) {
      if (this.#eof) return false;
      const r = await this.#it.next();
      if (r.done) {
        this.#eof = true;
        return false;
      }
      if (r.value.length === 0) continue;
      const piece = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
      this.#buf = this.#buf.length === 0 ? piece : Buffer.concat([this.#buf, piece]);
      return true;
    }
  }
}
