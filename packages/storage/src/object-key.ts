import { StorageError } from "./backend.js";

/** Longest key we accept: S3's and GCS's limit is 1024 bytes of UTF-8. */
export const MAX_OBJECT_KEY_BYTES = 1024;

/**
 * Reserved first path segment: the local backend keeps its in-flight temp files there, so no key
 * may live under it. Every backend rejects it so keys stay portable between providers.
 */
export const RESERVED_KEY_SEGMENT = ".enigma-tmp";

/**
 * Returns why `key` is not a valid object key, or null when it is. The rules are the local
 * backend's (a key becomes a relative path under the root), applied to every backend so a key
 * that works on one provider works on all:
 * non-empty, at most 1024 UTF-8 bytes, no NUL or other control characters, no backslash,
 * not absolute, and every `/`-separated segment non-empty and neither `.` nor `..`.
 */
export function objectKeyProblem(key: string): string | null {
  if (key.length === 0) return "key is empty";
  if (Buffer.byteLength(key, "utf8") > MAX_OBJECT_KEY_BYTES)
    return `key is longer than ${MAX_OBJECT_KEY_BYTES} bytes`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key)) return "key contains a NUL or control character";
  if (key.includes("\\")) return "key contains a backslash";
  if (key.startsWith("/")) return "key is absolute";
  const segments = key.split("/");
  for (const s of segments) {
    if (s === "") return "key has an empty path segment";
    if (s === "." || s === "..") return "key has a '.' or '..' segment";
  }
  if (segments[0] === RESERVED_KEY_SEGMENT) return `key is under the reserved ${RESERVED_KEY_SEGMENT}/`;
  return null;
}

/** Throws StorageError("InvalidKey") naming `provider` when `key` is not valid. */
export function validateObjectKey(key: string, provider: string): void {
  const problem = objectKeyProblem(key);
  if (problem !== null) {
    throw new StorageError("InvalidKey", provider, `invalid object key ${JSON.stringify(key)}: ${problem}`);
  }
}

/**
 * A list prefix may end mid-segment ("chunks/a") or with "/" — only reject what could escape:
 * NUL/control characters, backslashes, absolute prefixes and `..`/`.` segments.
 */
export function validateListPrefix(prefix: string, provider: string): void {
  if (prefix === "") return;
  const probe = prefix.endsWith("/") ? `${prefix}x` : prefix;
  const problem = objectKeyProblem(probe);
  if (problem !== null && !problem.startsWith("key is under the reserved")) {
    throw new StorageError(
      "InvalidKey",
      provider,
      `invalid list prefix ${JSON.stringify(prefix)}: ${problem}`,
    );
  }
}
