import { createHash, timingSafeEqual } from "node:crypto";
import { ChunkerError, chunkLabel } from "./errors.js";
import { CHUNK_MAX_LIMIT_BYTES } from "./options.js";
import { chunkNameTag, FLAG_COMPRESSED, openChunk, SEAL_OVERHEAD_BYTES, SealError } from "./seal-api.js";
import { zstd } from "./zstd.js";

export interface OpenSealedOptions {
  /** Bound on the plaintext size (the max chunk size of the writer). Default 64 MiB. */
  readonly maxBytes?: number;
}

let dctx: InstanceType<typeof zstd.DCtx> | null = null;

function decompressBounded(payload: Uint8Array, maxBytes: number, label: string): Buffer {
  let declared: number | null;
  try {
    declared = zstd.getFrameContentSize(payload);
  } catch (err) {
    throw new ChunkerError("Corrupt", `${label}: compressed payload is not a zstd frame`, { cause: err });
  }
  if (declared !== null && declared > maxBytes) {
    throw new ChunkerError(
      "TooLarge",
      `${label}: declares ${declared} bytes, more than the ${maxBytes}-byte bound`,
    );
  }
  // A frame without a declared size gets a max-size buffer; zstd fails instead of overrunning it.
  const out = Buffer.allocUnsafe(declared ?? maxBytes);
  dctx ??= new zstd.DCtx();
  let n: number;
  try {
    n = dctx.decompress(out, payload);
  } catch (err) {
    const tooSmall = err instanceof Error && /too small/i.test(err.message);
    throw new ChunkerError(
      tooSmall ? "TooLarge" : "Corrupt",
      tooSmall
        ? `${label}: decompresses beyond the ${maxBytes}-byte bound`
        : `${label}: compressed payload does not decompress`,
      { cause: err },
    );
  }
  if (declared !== null && n !== declared) {
    throw new ChunkerError("Corrupt", `${label}: decompressed to ${n} bytes, frame declares ${declared}`);
  }
  return n === out.length ? out : out.subarray(0, n);
}

/**
 * Opens a sealed chunk and returns its plaintext, or throws ChunkerError — never wrong data:
 * the name tag must be HMAC(nameKey, expectedHash) ("Mismatch"), the key id known ("UnknownKey"),
 * the blob authentic ("Corrupt"), the plaintext within `maxBytes` ("TooLarge"), and its SHA-256
 * equal to `expectedHash` ("Mismatch").
 */
export function openSealed(
  blob: Uint8Array,
  keyFor: (keyId: number) => Uint8Array | undefined,
  expectedHash: Uint8Array,
  nameKey: Uint8Array,
  opts: OpenSealedOptions = {},
): Buffer {
  const label = chunkLabel(expectedHash);
  const maxBytes = opts.maxBytes ?? CHUNK_MAX_LIMIT_BYTES;
  // Payloads are stored compressed only when that shrinks them, so no valid blob exceeds this.
  if (blob.length > maxBytes + SEAL_OVERHEAD_BYTES) {
    throw new ChunkerError(
      "TooLarge",
      `${label}: sealed blob of ${blob.length} bytes exceeds the ${maxBytes}-byte bound`,
    );
  }
  let opened: ReturnType<typeof openChunk>;
  try {
    opened = openChunk(blob, keyFor, chunkNameTag(nameKey, expectedHash));
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
    switch (err.code) {
      case "NameMismatch":
        throw new ChunkerError("Mismatch", `${label}: blob belongs to another chunk (name tag differs)`, {
          cause: err,
        });
      case "UnknownKey":
        throw new ChunkerError("UnknownKey", `${label}: ${err.message}`, { cause: err });
      case "BadFormat":
      case "AuthFailed":
        throw new ChunkerError("Corrupt", `${label}: ${err.message}`, { cause: err });
    }
  }
  let plain: Buffer;
  if ((opened.header.flags & FLAG_COMPRESSED) !== 0) {
    plain = decompressBounded(opened.payload, maxBytes, label);
  } else {
    if (opened.payload.length > maxBytes) {
      throw new ChunkerError(
        "TooLarge",
        `${label}: ${opened.payload.length} bytes exceeds the ${maxBytes}-byte bound`,
      );
    }
    plain = opened.payload;
  }
  const actual = createHash("sha256").update(plain).digest();
  if (actual.length !== expectedHash.length || !timingSafeEqual(actual, expectedHash)) {
    throw new ChunkerError(
      "Mismatch",
      `${label}: plaintext SHA-256 is ${actual.toString("hex", 0, 8)}…, not the expected hash`,
    );
  }
  return plain;
}
