import { SIGNING_KEY_CACHE_ENTRIES } from "../limits.js";
import { hmacSha256 } from "./crypto-utils.js";

export function deriveSigningKey(secret: string, day: string, region: string, service: string): Buffer {
  const kDate = hmacSha256(`AWS4${secret}`, day);
  const kRegion = hmacSha256(kDate, region);
  const kService = hmacSha256(kRegion, service);
  return hmacSha256(kService, "aws4_request");
}

/**
 * Signing keys change once a day per (access key, region); four HMACs per request add up, so they
 * are cached. Bounded LRU (Map insertion order). The cache key includes the secret (held in memory
 * anyway by the credential store), so a rotated secret never reuses a stale signing key.
 */
export class SigningKeyCache {
  private readonly entries = new Map<string, Buffer>();

  constructor(private readonly capacity = SIGNING_KEY_CACHE_ENTRIES) {}

  get(accessKeyId: string, secret: string, day: string, region: string, service: string): Buffer {
    const cacheKey = `${accessKeyId}\u0000${secret}\u0000${day}\u0000${region}\u0000${service}`;
    const hit = this.entries.get(cacheKey);
    if (hit !== undefined) {
      this.entries.delete(cacheKey);
      this.entries.set(cacheKey, hit);
      return hit;
    }
    const key = deriveSigningKey(secret, day, region, service);
    this.entries.set(cacheKey, key);
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    return key;
  }
}
