import type Database from "better-sqlite3";
import type { ObjectMeta } from "../commands.js";
import { toKeyBytes } from "../key-bytes.js";
import { CHUNK_REF_COLUMNS, type ChunkRefRow, toChunkRef } from "./chunk-rows.js";
import type { BucketInfo, ObjectHeadInfo, ObjectInfo, ObjectPart } from "./types.js";

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
  readonly #parts: Database.Statement<[string, Buffer], ObjectPart>;
  readonly #featureLevel: Database.Statement<[], { level: number }>;

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
    this.#parts = db.prepare(
      `SELECT part_number AS partNumber, size, etag, chunk_count AS chunkCount
       FROM object_parts WHERE bucket = ? AND key = ? ORDER BY part_number`,
    );
    this.#featureLevel = db.prepare("SELECT level FROM cluster_features WHERE id = 1");
  }

  /**
   * A multipart object's parts in order, or undefined when none are recorded (a single-part object,
   * or one completed before the cluster reached feature level 1).
   */
  getObjectParts(bucket: string, key: string): ObjectPart[] | undefined {
    const parts = this.#parts.all(bucket, toKeyBytes(key));
    return parts.length === 0 ? undefined : parts;
  }

  featureLevel(): number {
    return this.#featureLevel.get()?.level ?? 0;
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
