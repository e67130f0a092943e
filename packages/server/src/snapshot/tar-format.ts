/**
 * The POSIX ustar header (IEEE Std 1003.1, "pax" chapter, ustar interchange format), shared by the
 * writer and the reader. Only what snapshots need: regular files, names ≤ 255 bytes.
 *
 *   offset size field            offset size field
 *   0      100  name             257    6    magic "ustar\0"
 *   100    8    mode (octal)     263    2    version "00"
 *   108    8    uid              265    32   uname
 *   116    8    gid              297    32   gname
 *   124    12   size             329    8    devmajor
 *   136    12   mtime            337    8    devminor
 *   148    8    chksum           345    155  prefix (name = prefix + "/" + name)
 *   156    1    typeflag         500    12   (zero)
 *   157    100  linkname
 */
import { SnapshotError } from "./errors.js";

export const TAR_BLOCK_BYTES = 512;
/** Archives are padded to a multiple of this (tar's default blocking factor 20). */
export const TAR_RECORD_BYTES = 20 * TAR_BLOCK_BYTES;
export const USTAR_MAGIC = "ustar\u0000";
export const USTAR_VERSION = "00";
/** Largest size the 11 octal digits of the size field can hold; above it, base-256 (see below). */
export const MAX_OCTAL_SIZE_BYTES = 8 ** 11 - 1;
export const MAX_NAME_BYTES = 100;
export const MAX_PREFIX_BYTES = 155;
export const MAX_PATH_BYTES = MAX_NAME_BYTES + 1 + MAX_PREFIX_BYTES;

/** Every typeflag the reader can meet, with the word used in its refusal. */
export const TYPEFLAG_NAMES: Readonly<Record<string, string>> = {
  "0": "regular file",
  "\u0000": "regular file",
  "1": "hard link",
  "2": "symbolic link",
  "3": "character device",
  "4": "block device",
  "5": "directory",
  "6": "FIFO",
  "7": "contiguous file",
  x: "pax extended header",
  g: "pax global header",
  L: "GNU long name",
  K: "GNU long link name",
  S: "GNU sparse file",
  D: "GNU dump directory",
  M: "GNU multi-volume continuation",
  V: "GNU volume label",
};

/** Raw header fields. No validation here: the writer validates first, tests craft hostile ones. */
export interface UstarFields {
  readonly name: string;
  readonly prefix?: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly size: number;
  readonly mtimeS?: number;
  readonly typeflag?: string;
  readonly linkname?: string;
  readonly magic?: string;
  readonly version?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
}

/** Encodes one 512-byte header with its checksum. */
export function encodeUstarHeader(f: UstarFields): Buffer {
  const h = Buffer.alloc(TAR_BLOCK_BYTES);
  writeText(h, 0, 100, f.name);
  writeOctal(h, 100, 8, f.mode ?? 0o644);
  writeOctal(h, 108, 8, f.uid ?? 0);
  writeOctal(h, 116, 8, f.gid ?? 0);
  writeSize(h, 124, f.size);
  writeOctal(h, 136, 12, f.mtimeS ?? 0);
  h.write(f.typeflag ?? "0", 156, 1, "latin1");
  writeText(h, 157, 100, f.linkname ?? "");
  h.write(f.magic ?? USTAR_MAGIC, 257, 6, "latin1");
  h.write(f.version ?? USTAR_VERSION, 263, 2, "latin1");
  writeOctal(h, 329, 8, f.devmajor ?? 0);
  writeOctal(h, 337, 8, f.devminor ?? 0);
  writeText(h, 345, 155, f.prefix ?? "");
  writeChecksum(h);
  return h;
}

/** The checksum rule: sum of all header bytes with the chksum field read as eight spaces. */
export function headerChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK_BYTES; i++) sum += i >= 148 && i < 156 ? 0x20 : (h[i] as number);
  return sum;
}

export function writeChecksum(h: Buffer): void {
  // Six octal digits, NUL, space: what every tar writes.
  h.write(`${headerChecksum(h).toString(8).padStart(6, "0")}\u0000 `, 148, 8, "latin1");
}

export function paddingBytes(size: number): number {
  return (TAR_BLOCK_BYTES - (size % TAR_BLOCK_BYTES)) % TAR_BLOCK_BYTES;
}

/**
 * Why `name` must not be extracted, or undefined when it is a safe relative path. Strict on
 * purpose: no absolute paths, no `.`/`..`/empty segments, no backslashes (a Windows separator), no
 * control characters, valid UTF-8 only (checked by the caller's decoder).
 */
export function unsafeNameReason(name: string): string | undefined {
  if (name.length === 0) return "empty member name";
  if (name.startsWith("/")) return "absolute path";
  if (/^[A-Za-z]:/.test(name)) return "drive-letter path";
  if (name.includes("\\")) return "backslash in name";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) return "control character in name";
  for (const seg of name.split("/")) {
    if (seg === "..") return "parent-directory (..) segment";
    if (seg === ".") return "current-directory (.) segment";
    if (seg === "") return "empty path segment";
  }
  if (Buffer.byteLength(name, "utf8") > MAX_PATH_BYTES) return `name longer than ${MAX_PATH_BYTES} bytes`;
  return undefined;
}

function writeText(h: Buffer, off: number, len: number, s: string): void {
  const b = Buffer.from(s, "utf8");
  if (b.length > len)
    throw new SnapshotError("Internal", `tar field of ${len} bytes cannot hold ${b.length}`);
  b.copy(h, off);
}

function writeOctal(h: Buffer, off: number, len: number, n: number): void {
  const digits = n.toString(8);
  if (!Number.isSafeInteger(n) || n < 0 || digits.length > len - 1)
    throw new SnapshotError("Internal", `tar numeric field of ${len} bytes cannot hold ${n}`);
  h.write(`${digits.padStart(len - 1, "0")}\u0000`, off, len, "latin1");
}

/**
 * Sizes up to 8 GiB − 1 in octal; larger ones in the base-256 form (high bit of the first byte set,
 * big-endian value in the rest), which GNU tar, bsdtar and Go's archive/tar all read.
 */
function writeSize(h: Buffer, off: number, size: number): void {
  if (size <= MAX_OCTAL_SIZE_BYTES) {
    writeOctal(h, off, 12, size);
    return;
  }
  if (!Number.isSafeInteger(size)) throw new SnapshotError("Internal", `tar size ${size} is not an integer`);
  h.fill(0, off, off + 12);
  h[off] = 0x80;
  let v = BigInt(size);
  for (let i = off + 11; i > off; i--) {
    h[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Parses a numeric field; undefined when it is not a well-formed octal or base-256 number. */
export function parseNumeric(h: Buffer, off: number, len: number): number | undefined {
  const first = h[off] as number;
  if (first & 0x80) {
    if (first !== 0x80) return undefined; // negative or >2^88: nothing we accept
    let v = 0n;
    for (let i = off + 1; i < off + len; i++) v = (v << 8n) | BigInt(h[i] as number);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
  }
  const text = h
    .toString("latin1", off, off + len)
    .replace(/[\0 ]+$/, "")
    .replace(/^ +/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const v = Number.parseInt(text, 8);
  return Number.isSafeInteger(v) ? v : undefined;
}
