/** The backup integrity chain (ARCHITECTURE §8): chain[n] = HMAC(chain[n-1], sha256 ‖ sha3-256). */
import { chainInit, chainStep } from "@enigma/crypto";

export class IntegrityChain {
  #value: Buffer;
  #length = 0;

  constructor(chainKey: Uint8Array, backupId: string) {
    this.#value = Buffer.from(chainInit(chainKey, backupId));
  }

  push(sha256: Uint8Array, sha3: Uint8Array): void {
    this.#value = Buffer.from(chainStep(this.#value, sha256, sha3));
    this.#length++;
  }

  get hex(): string {
    return this.#value.toString("hex");
  }

  get length(): number {
    return this.#length;
  }
}
