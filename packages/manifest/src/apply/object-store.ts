/** Object rows shared by the object and multipart command groups. */
import type Database from "better-sqlite3";
import type { ObjectPartSpec } from "../commands.js";
import type { ChunkRefs } from "./chunk-refs.js";
import type { FeatureLevel } from "./features.js";
import type { ApplyContext } from "./refusal.js";

export interface ObjectHead {
  readonly size: number;
  readonly etag: string;
  readonly meta: string;
}

export interface NewObject {
  readonly bucket: string;
  readonly key: Buffer;
  readonly size: number;
  readonly etag: string;
  readonly meta: string;
  readonly lastModifiedMs: number;
}

export class ObjectStore {
  readonly #bucketExists: Database.Statement<[string], { one: number }>;
  readonly #head: Database.Statement<[string, Buffer], ObjectHead>;
  readonly #hashes: Database.Statement<[string, Buffer], { hash: string }>;
  readonly #counts: Database.Statement<[string, Buffer], { hash: string; n: number }>;
  readonly #delete: Database.Statement<[string, Buffer]>;
  readonly #insert: Database.Statement<[string, Buffer, number, string, string, number, number]>;
  readonly #insertChunk: Database.Statement<[string, Buffer, number, string]>;
  readonly #parts: Database.Statement<[string, Buffer], ObjectPartSpec>;
  readonly #insertPart: Database.Statement<[string, Buffer, number, number, string, number]>;
  readonly #refs: ChunkRefs;
  readonly #features: FeatureLevel;

  constructor(db: Database.Database, refs: ChunkRefs, features: FeatureLevel) {
    this.#refs = refs;
    this.#features = features;
    this.#parts = db.prepare(
      `SELECT part_number AS partNumber, size, etag, chunk_count AS chunkCount
       FROM object_parts WHERE bucket = ? AND key = ? ORDER BY part_number`,
    );
    this.#insertPart = db.prepare(
      `INSERT INTO object_parts (bucket, key, part_number, size, etag, chunk_count)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#bucketExists = db.prepare("SELECT 1 AS one FROM buckets WHERE name = ?");
    this.#head = db.prepare("SELECT size, etag, meta FROM objects WHERE bucket = ? AND key = ?");
    this.#hashes = db.prepare("SELECT hash FROM object_chunks WHERE bucket = ? AND key = ? ORDER BY seq");
    this.#counts = db.prepare(
      "SELECT hash, count(*) AS n FROM object_chunks WHERE bucket = ? AND key = ? GROUP BY hash",
    );
    this.#delete = db.prepare("DELETE FROM objects WHERE bucket = ? AND key = ?");
    this.#insert = db.prepare(
      `INSERT INTO objects (bucket, key, size, etag, meta, last_modified_ms, chunk_count)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertChunk = db.prepare("INSERT INTO object_chunks (bucket, key, seq, hash) VALUES (?, ?, ?, ?)");
  }

  bucketExists(bucket: string): boolean {
    return this.#bucketExists.get(bucket) !== undefined;
  }

  head(bucket: string, key: Buffer): ObjectHead | undefined {
    return this.#head.get(bucket, key);
  }

  /** The object's chunk hashes in order. */
  chunkHashes(bucket: string, key: Buffer): string[] {
    return this.#hashes.all(bucket, key).map((r) => r.hash);
  }

  /** Releases the object's chunk references and deletes it. Returns whether it existed. */
  remove(bucket: string, key: Buffer, atMs: number, ctx: ApplyContext): boolean {
    const counts = this.#counts.all(bucket, key);
    this.#refs.release(counts, atMs, ctx);
    return this.#delete.run(bucket, key).changes > 0;
  }

  /** The object's recorded part boundaries (empty: single-part, or completed before feature level 1). */
  parts(bucket: string, key: Buffer): ObjectPartSpec[] {
    return this.#parts.all(bucket, key);
  }

  /**
   * Inserts the object rows. The caller has already acquired (or transferred) the references.
   * `parts` are recorded only from feature level 1 (`objectParts`): before it, every replica
   * applies the entry as a build without object_parts would.
   */
  insert(obj: NewObject, hashes: readonly string[], parts: readonly ObjectPartSpec[] = []): void {
    this.#insert.run(obj.bucket, obj.key, obj.size, obj.etag, obj.meta, obj.lastModifiedMs, hashes.length);
    for (let seq = 0; seq < hashes.length; seq++) {
      this.#insertChunk.run(obj.bucket, obj.key, seq, hashes[seq] as string);
    }
    if (parts.length > 0 && this.#features.has("objectParts")) {
      for (const p of parts)
        this.#insertPart.run(obj.bucket, obj.key, p.partNumber, p.size, p.etag, p.chunkCount);
    }
  }
}
