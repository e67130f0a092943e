import { createHash } from "node:crypto";

/** ETags are compared without surrounding quotes (clients send them quoted, we store them bare). */
export function bareEtag(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

/** If-Match semantics: "*" matches any existing object. */
export function etagMatches(stored: string, condition: string): boolean {
  const c = bareEtag(condition.trim());
  return c === "*" || c === bareEtag(stored);
}

const MD5_HEX = /^[0-9a-f]{32}$/i;

/**
 * S3's multipart ETag: MD5 of the concatenated binary MD5s of the parts, then "-" and the part
 * count. Computed in apply from the stored part ETags, so it is deterministic. Returns undefined if
 * a part ETag is not an MD5 hex string.
 */
export function multipartEtag(partEtags: readonly string[]): string | undefined {
  const md5 = createHash("md5");
  for (const e of partEtags) {
    const bare = bareEtag(e);
    if (!MD5_HEX.test(bare)) return undefined;
    md5.update(Buffer.from(bare, "hex"));
  }
  return `${md5.digest("hex")}-${partEtags.length}`;
}
