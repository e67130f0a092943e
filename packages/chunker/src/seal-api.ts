/** The one place this package reaches into @enigma/crypto's chunk sealing API. */
export {
  chunkNameTag,
  FLAG_COMPRESSED,
  GCM_TAG_BYTES,
  openChunk,
  parseSealedHeader,
  SEAL_OVERHEAD_BYTES,
  SEALED_HEADER_BYTES,
  SEALED_MAGIC,
  SEALED_VERSION,
  SealError,
  sealChunk,
} from "@enigma/crypto";
