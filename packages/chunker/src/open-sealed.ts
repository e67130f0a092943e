import { openSealedInto } from "./open-into.js";
import { CHUNK_MAX_LIMIT_BYTES } from "./options.js";

export interface OpenSealedOptions {
  /** Bound on the plaintext size (the max chunk size of the writer). Default 64 MiB. */
  readonly maxBytes?: number;
}

/**
 * Opens a sealed chunk and returns its plaintext (a fresh buffer; `blob` is left as it was), or
 * throws ChunkerError — never wrong data: the name tag must be HMAC(nameKey, expectedHash)
 * ("Mismatch"), the key id known ("UnknownKey"), the blob authentic ("Corrupt"), the plaintext
 * within `maxBytes` ("TooLarge"), and its SHA-256 equal to `expectedHash` ("Mismatch").
 * `openSealedInto` (open-into.ts) is the same with control over where the plaintext goes.
 */
export function openSealed(
  blob: Uint8Array,
  keyFor: (keyId: number) => Uint8Array | undefined,
  expectedHash: Uint8Array,
  nameKey: Uint8Array,
  opts: OpenSealedOptions = {},
): Buffer {
  return openSealedInto(blob, keyFor, expectedHash, nameKey, {
    maxBytes: opts.maxBytes ?? CHUNK_MAX_LIMIT_BYTES,
  });
}
