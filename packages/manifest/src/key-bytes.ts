/**
 * Object keys and backup paths are stored as BLOBs of their UTF-8 bytes: SQLite compares BLOBs with
 * memcmp, which is exactly S3's listing order (UTF-8 binary order), and byte strings make range
 * bounds exact (no collation, no surrogate pitfalls).
 */

export function toKeyBytes(key: string): Buffer {
  return Buffer.from(key, "utf8");
}

export function fromKeyBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/**
 * The smallest byte string greater than every string that starts with `prefix`, or null when there
 * is none (the prefix is empty or all 0xFF). `key >= prefix AND key < prefixEnd(prefix)` selects
 * exactly the keys with that prefix.
 */
export function prefixEnd(prefix: Uint8Array): Buffer | null {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return null;
  const out = Buffer.from(prefix.subarray(0, end));
  out[end - 1] = (out[end - 1] ?? 0) + 1;
  return out;
}

/** The smallest byte string greater than `bytes`: `> s` is `>= s || 0x00`. */
export function immediateSuccessor(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length + 1);
  out.set(bytes, 0);
  return out;
}

/** UTF-8 byte order of two JavaScript strings (what S3 sorts by; not UTF-16 code-unit order). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(toKeyBytes(a), toKeyBytes(b));
}
