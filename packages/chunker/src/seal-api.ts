/** The one place this package reaches into @enigma/crypto's chunk sealing API. */
export {
  chunkNameTag,
  FLAG_COMPRESSED,
  openChunk,
  SEAL_OVERHEAD_BYTES,
  SEALED_HEADER_BYTES,
  SEALED_MAGIC,
  SEALED_VERSION,
  SealError,
  sealChunk,
} from "@enigma/crypto";
