import type { ChunkRef } from "../commands.js";
import type { ChunkInfo, ChunkState } from "./types.js";

/** Columns of `chunks ch` that make a ChunkRef. */
export const CHUNK_REF_COLUMNS =
  "ch.hash, ch.size, ch.sealed_size, ch.key_id, ch.compressed, ch.name_tag, ch.locations";

export interface ChunkRefRow {
  readonly hash: string;
  readonly size: number;
  readonly sealed_size: number;
  readonly key_id: number;
  readonly compressed: number;
  readonly name_tag: string;
  readonly locations: string;
}

export interface ChunkRow extends ChunkRefRow {
  readonly refcount: number;
  readonly state: ChunkState;
  readonly zero_since_ms: number | null;
  readonly zero_since_index: number | null;
}

export function toChunkRef(row: ChunkRefRow): ChunkRef {
  return {
    hash: row.hash,
    size: row.size,
    sealedSize: row.sealed_size,
    keyId: row.key_id,
    compressed: row.compressed === 1,
    nameTag: row.name_tag,
    locations: JSON.parse(row.locations) as string[],
  };
}

export function toChunkInfo(row: ChunkRow): ChunkInfo {
  return {
    ...toChunkRef(row),
    refcount: row.refcount,
    state: row.state,
    zeroSinceMs: row.zero_since_ms,
    zeroSinceIndex: row.zero_since_index,
  };
}
