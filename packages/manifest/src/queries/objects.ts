import type Database from "better-sqlite3";
import type { ObjectMeta } from "../commands.js";
import { toKeyBytes } from "../key-bytes.js";
import { CHUNK_REF_COLUMNS, type ChunkRefRow, toChunkRef } from "./chunk-rows.js";
import type { BucketInfo, ObjectHeadInfo, ObjectInfo } from "./types.js";

interface ObjectRow {
  readonly size: number;
  readonly etag: string;
  readonly meta: string;
  readonly last_modified_ms: number;
  readonly chunk_count: number;
}

export class ObjectQueries {
  readonly #buckets: Database.Statement<[], { name: string; created_ms: number }>;
  readonly #bucket: Database.Statement<[string], { name: string; created_ms: number }>;
  readonly #head: Database.Statement<[string, Buffer], ObjectRow>;
  readonly #chunks: Database.Statement<[string, Buffer], ChunkRefRow>;

  constructor(db: Database.Database) {
    this.#buckets = db.prepare("SELECT name, created_ms FROM buckets ORDER BY name");
    this.#bucket = db.prepare("SELECT name, created_ms FROM buckets WHERE name = ?");
    this.#head = db.prepare(
      "SELECT size, etag, meta, last_modified_ms, chunk_count FROM objects WHERE bucket = ? AND key = ?",
    );
    this.#chunks = db.prepare(
      `SELECT ${CHUNK_REF_COLUMNS} FROM object_chunks oc JOIN chunks ch ON ch.hash = oc.hash
       WHERE oc.bucket = ? AND oc.key = ? ORDER BY oc.seq`,
    );
  }

  listBuckets(): BucketInfo[] {
    return this.#buckets.all().map((r) => ({ name: r.name, createdAtMs: r.created_ms }));
  }

  getBucket(name: string): BucketInfo | undefined {
    const r = this.#bucket.get(name);
    return r === undefined ? undefined : { name: r.name, createdAtMs: r.created_ms };
  }

  headObject(bucket: string, key: string): ObjectHeadInfo | undefined {
    const r = this.#head.get(bucket, toKeyBytes(key));
    if (r === undefined) return undefined;
    return {
      bucket,
      key,
      size: r.size,
      etag: r.etag,
      meta: JSON.parse(r.meta) as ObjectMeta,
      lastModifiedMs: r.last_modified_ms,
      chunkCount: r.chunk_count,
    };
  }

  /** The object with its ordered chunk list (rows joined from `chunks`). */
  getObject(bucket: string, key: string): ObjectInfo | undefined {
    const head = this.headObject(bucket, key);
    if (head === undefined) return undefined;
    const chunks = this.#chunks.all(bucket, toKeyBytes(key)).map(toChunkRef);
    return { ...head, chunks };
  }
}
