/**
 * Node-to-node authentication with the shared cluster secret: every request body is signed with
 * HMAC-SHA256 over the method path and the exact bytes, so a party without the secret can neither
 * join nor inject or alter messages. Replaying a captured request is not prevented here (Raft
 * tolerates duplicate messages; proposals are de-duplicated by their idempotency id); use mutual
 * TLS against eavesdroppers.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const AUTH_METADATA_KEY = "x-enigma-auth";
const DOMAIN = "enigma-cluster-auth-v1";

export class ClusterAuth {
  readonly #key: Buffer | undefined;

  constructor(secret: string | undefined) {
    this.#key = secret === undefined || secret === "" ? undefined : Buffer.from(secret, "utf8");
  }

  get enabled(): boolean {
    return this.#key !== undefined;
  }

  /** The signature of `body` for `path` (hex), or "" when no secret is configured. */
  sign(path: string, body: Uint8Array): string {
    if (this.#key === undefined) return "";
    return this.#mac(path, body).toString("hex");
  }

  verify(path: string, body: Uint8Array, signature: string | undefined): boolean {
    if (this.#key === undefined) return true;
    if (signature === undefined || !/^[0-9a-f]{64}$/.test(signature)) return false;
    return timingSafeEqual(this.#mac(path, body), Buffer.from(signature, "hex"));
  }

  #mac(path: string, body: Uint8Array): Buffer {
    return createHmac("sha256", this.#key!)
      .update(DOMAIN)
      .update("\0")
      .update(path)
      .update("\0")
      .update(body)
      .digest();
  }
}
