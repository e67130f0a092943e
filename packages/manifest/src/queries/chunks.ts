import type Database from "better-sqlite3";
import { ManifestError } from "../errors.js";
import { type ChunkRow, toChunkInfo } from "./chunk-rows.js";
import type { ChunkInfo, ChunkStats, DataKeyInfo, LocationStats } from "./types.js";

/** GC lists are bounded by default: a GC run works in batches, the next run continues. */
export const DEFAULT_CHUNK_PAGE = 10_000;
export const MAX_CHUNK_PAGE = 100_000;

function pageSize(limit: number | undefined): number {
  const n = limit ?? DEFAULT_CHUNK_PAGE;
  if (!Number.isInteger(n) || n < 0 || n > MAX_CHUNK_PAGE) {
    throw new ManifestError("InvalidArgument", `limit must be an integer in 0..${MAX_CHUNK_PAGE}`);
  }
  return n;
}

export class ChunkQueries {
  readonly #get: Database.Statement<[string], ChunkRow>;
  readonly #live: Database.Statement<[string], { one: number }>;
  readonly #byNameTag: Database.Statement<[string], { one: number }>;
  readonly #garbage: Database.Statement<[number, number], ChunkRow>;
  readonly #deleting: Database.Statement<[string, number], ChunkRow>;
  readonly #nameTags: Database.Statement<[string, number], { hash: string; name_tag: string }>;
  readonly #counts: Database.Statement<
    [],
    {
      live: number | null;
      garbage: number | null;
      deleting: number | null;
      stored: number | null;
      unique_bytes: number | null;
      logical: number | null;
    }
  >;
  readonly #perLocation: Database.Statement<
    [],
    {
      location: string;
      chunks: number;
      bytes: number;
      live: number;
      live_bytes: number;
      logical: number;
    }
  >;
  readonly #dataKeys: Database.Statement<
    [],
    { key_id: number; wrapped_hex: string; created_ms: number; added_index: number }
  >;

  constructor(db: Database.Database) {
    this.#get = db.prepare("SELECT * FROM chunks WHERE hash = ?");
    this.#live = db.prepare("SELECT 1 AS one FROM chunks WHERE hash = ? AND state = 'live'");
    this.#byNameTag = db.prepare("SELECT 1 AS one FROM chunks WHERE name_tag = ? LIMIT 1");
    this.#garbage = db.prepare(
      `SELECT * FROM chunks WHERE refcount = 0 AND state = 'live' AND zero_since_ms <= ?
       ORDER BY zero_since_ms, hash LIMIT ?`,
    );
    this.#deleting = db.prepare(
      "SELECT * FROM chunks WHERE state = 'deleting' AND hash > ? ORDER BY hash LIMIT ?",
    );
    this.#nameTags = db.prepare("SELECT hash, name_tag FROM chunks WHERE hash > ? ORDER BY hash LIMIT ?");
    this.#counts = db.prepare(
      `SELECT
         sum(state = 'live' AND refcount > 0) AS live,
         sum(state = 'live' AND refcount = 0) AS garbage,
         sum(state = 'deleting') AS deleting,
         sum(sealed_size) AS stored,
         sum(CASE WHEN refcount > 0 THEN size ELSE 0 END) AS unique_bytes,
         sum(size * refcount) AS logical
       FROM chunks`,
    );
    this.#perLocation = db.prepare(
      `SELECT j.value AS location, count(*) AS chunks, sum(ch.sealed_size) AS bytes,
         sum(ch.refcount > 0) AS live,
         sum(CASE WHEN ch.refcount > 0 THEN ch.sealed_size ELSE 0 END) AS live_bytes,
         sum(ch.size * ch.refcount) AS logical
       FROM chunks ch, json_each(ch.locations) j GROUP BY j.value ORDER BY j.value`,
    );
    this.#dataKeys = db.prepare(
      "SELECT key_id, wrapped_hex, created_ms, added_index FROM data_keys ORDER BY added_index",
    );
  }

  getChunk(hash: string): ChunkInfo | undefined {
    const r = this.#get.get(hash);
    return r === undefined ? undefined : toChunkInfo(r);
  }

  /**
   * Dedup test: the chunk exists and is live. A live chunk at refcount 0 is reusable (referencing
   * it revives it); a 'deleting' one is not (the command would be refused with ChunkDeleting).
   */
  hasLiveChunk(hash: string): boolean {
    return this.#live.get(hash) !== undefined;
  }

  /** Backend sweep: does any chunk row (live or deleting) own this name tag? */
  hasNameTag(nameTag: string): boolean {
    return this.#byNameTag.get(nameTag) !== undefined;
  }

  /** GC candidates: live, unreferenced, zero since at most olderThanMs; oldest first. */
  listGarbageChunks(opts: { olderThanMs: number; limit?: number }): ChunkInfo[] {
    return this.#garbage.all(opts.olderThanMs, pageSize(opts.limit)).map(toChunkInfo);
  }

  /** Chunks in 'deleting' state (GC phase 2 work), by hash; page with `afterHash`. */
  listDeletingChunks(opts: { afterHash?: string; limit?: number } = {}): ChunkInfo[] {
    return this.#deleting.all(opts.afterHash ?? "", pageSize(opts.limit)).map(toChunkInfo);
  }

  /**
   * Every name tag, paged internally (no statement stays open between yields, so applying entries
   * while a sweep iterates is safe; entries applied meanwhile may or may not be seen).
   */
  *allNameTags(pageRows = DEFAULT_CHUNK_PAGE): Generator<string, void, undefined> {
    let after = "";
    for (;;) {
      const rows = this.#nameTags.all(after, pageSize(pageRows));
      for (const r of rows) yield r.name_tag;
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < pageRows) return;
      after = last.hash;
    }
  }

  /** A full scan: meant for metrics scrapes and `enigma status`, not for hot paths. */
  chunkStats(): ChunkStats {
    const c = this.#counts.get();
    const logical = c?.logical ?? 0;
    const unique = c?.unique_bytes ?? 0;
    const perLocation: Record<string, LocationStats> = {};
    for (const r of this.#perLocation.all()) {
      perLocation[r.location] = {
        chunks: r.chunks,
        sealedBytes: r.bytes,
        liveChunks: r.live,
        liveSealedBytes: r.live_bytes,
        garbageChunks: r.chunks - r.live,
        garbageSealedBytes: r.bytes - r.live_bytes,
        logicalBytes: r.logical,
      };
    }
    return {
      live: c?.live ?? 0,
      garbage: c?.garbage ?? 0,
      deleting: c?.deleting ?? 0,
      storedBytes: c?.stored ?? 0,
      uniqueBytes: unique,
      logicalBytes: logical,
      dedupRatio: unique === 0 ? 1 : logical / unique,
      perLocation,
    };
  }

  /** Oldest first; the last one is the current key. */
  dataKeys(): DataKeyInfo[] {
    return this.#dataKeys.all().map((r) => ({
      keyId: r.key_id,
      wrappedHex: r.wrapped_hex,
      createdAtMs: r.created_ms,
      addedIndex: r.added_index,
    }));
  }
}
