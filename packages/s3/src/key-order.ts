/**
 * Byte order of UTF-8 keys (what SQLite's BINARY collation and S3 use), without encoding: UTF-8 byte
 * order equals code point order, which JS `<` (UTF-16 code units) breaks only for astral characters
 * versus U+E000–U+FFFF — so compare by code point.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const aSurrogate = ca >= 0xd800 && ca <= 0xdfff;
    const bSurrogate = cb >= 0xd800 && cb <= 0xdfff;
    // A surrogate (astral code point) sorts after every BMP character; otherwise code units order.
    if (aSurrogate !== bSurrogate) return aSurrogate ? 1 : -1;
    return ca < cb ? -1 : 1;
  }
  return a.length - b.length;
}
