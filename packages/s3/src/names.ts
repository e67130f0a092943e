import { S3Error } from "./errors.js";
import { MAX_KEY_BYTES } from "./limits.js";

/**
 * Bucket naming rules of S3 (general purpose buckets): 3–63 characters of lowercase letters, digits,
 * dots and hyphens, starting and ending with a letter or digit, no `..`, not an IPv4 address, and
 * none of the reserved prefixes/suffixes. Virtual-host addressing needs exactly these rules.
 */
export function validateBucketName(name: string): void {
  const ok =
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !name.includes(".-") &&
    !name.includes("-.") &&
    !/^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name) &&
    !name.startsWith("xn--") &&
    !name.startsWith("sthree-") &&
    !name.endsWith("-s3alias") &&
    !name.endsWith("--ol-s3");
  if (!ok) throw new S3Error("InvalidBucketName", undefined, { extra: { BucketName: name } });
}

/**
 * Object keys: at most 1024 bytes of UTF-8 (KeyTooLongError). Beyond S3 — a documented choice of this
 * gateway, because keys are also restored as file paths by the backup tool — NUL and `.`/`..` path
 * segments are refused with InvalidArgument, so no key can escape a directory on restore.
 */
export function validateObjectKey(key: string): void {
  if (key.length === 0) throw new S3Error("InvalidArgument", "Object keys must not be empty.");
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new S3Error("KeyTooLongError", undefined, { extra: { MaxSizeAllowed: String(MAX_KEY_BYTES) } });
  }
  if (key.includes("\u0000")) {
    throw new S3Error("InvalidArgument", "Object keys must not contain NUL characters.", {
      extra: { ArgumentName: "key" },
    });
  }
  for (const segment of key.split("/")) {
    if (segment === "." || segment === "..") {
      throw new S3Error("InvalidArgument", "Object keys must not contain '.' or '..' path segments.", {
        extra: { ArgumentName: "key" },
      });
    }
  }
}
