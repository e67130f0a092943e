import type Database from "better-sqlite3";
import { canonicalJson } from "../canonical-json.js";
import type { ApplyResult, Command, ObjectPartSpec } from "../commands.js";
import { type ChunkRefs, countHashes } from "./chunk-refs.js";
import { bareEtag, etagMatches, multipartEtag } from "./etag.js";
import type { ObjectStore } from "./object-store.js";
import { checkChunkSizes, checkKey } from "./objects.js";
import { type ApplyContext, refuse } from "./refusal.js";

type CreateUpload = Extract<Command, { type: "CreateMultipartUpload" }>;
type PutPart = Extract<Command, { type: "PutPart" }>;
type Complete = Extract<Command, { type: "CompleteMultipartUpload" }>;
type Abort = Extract<Command, { type: "AbortMultipartUpload" }>;

export const MAX_PART_NUMBER = 10_000;
/** S3: every part but the last must be at least 5 MiB (EntityTooSmall). */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;

interface UploadRow {
  readonly bucket: string;
  readonly key: Buffer;
  readonly meta: string;
}

interface PartRow {
  readonly part_number: number;
  readonly size: number;
  readonly etag: string;
}

export class MultipartCommands {
  readonly #store: ObjectStore;
  readonly #refs: ChunkRefs;
  readonly #upload: Database.Statement<[string], UploadRow>;
  readonly #insertUpload: Database.Statement<[string, string, Buffer, string, number]>;
  readonly #deleteUpload: Database.Statement<[string]>;
  readonly #parts: Database.Statement<[string], PartRow>;
  readonly #partCounts: Database.Statement<[string, number], { hash: string; n: number }>;
  readonly #uploadCounts: Database.Statement<[string], { hash: string; n: number }>;
  readonly #partHashes: Database.Statement<[string, number], { hash: string }>;
  readonly #deletePart: Database.Statement<[string, number]>;
  readonly #insertPart: Database.Statement<[string, number, number, string, string | null, number, number]>;
  readonly #insertPartChunk: Database.Statement<[string, number, number, string]>;

  constructor(db: Database.Database, store: ObjectStore, refs: ChunkRefs) {
    this.#store = store;
    this.#refs = refs;
    this.#upload = db.prepare("SELECT bucket, key, meta FROM uploads WHERE upload_id = ?");
    this.#insertUpload = db.prepare(
      "INSERT INTO uploads (upload_id, bucket, key, meta, initiated_ms) VALUES (?, ?, ?, ?, ?)",
    );
    this.#deleteUpload = db.prepare("DELETE FROM uploads WHERE upload_id = ?");
    this.#parts = db.prepare(
      "SELECT part_number, size, etag FROM parts WHERE upload_id = ? ORDER BY part_number",
    );
    this.#partCounts = db.prepare(
      "SELECT hash, count(*) AS n FROM part_chunks WHERE upload_id = ? AND part_number = ? GROUP BY hash",
    );
    this.#uploadCounts = db.prepare(
      "SELECT hash, count(*) AS n FROM part_chunks WHERE upload_id = ? GROUP BY hash",
    );
    this.#partHashes = db.prepare(
      "SELECT hash FROM part_chunks WHERE upload_id = ? AND part_number = ? ORDER BY seq",
    );
    this.#deletePart = db.prepare("DELETE FROM parts WHERE upload_id = ? AND part_number = ?");
    this.#insertPart = db.prepare(
      `INSERT INTO parts (upload_id, part_number, size, etag, checksums, last_modified_ms, chunk_count)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#insertPartChunk = db.prepare(
      "INSERT INTO part_chunks (upload_id, part_number, seq, hash) VALUES (?, ?, ?, ?)",
    );
  }

  create(cmd: CreateUpload): ApplyResult {
    const key = checkKey(cmd.key);
    if (!this.#store.bucketExists(cmd.bucket)) refuse("NoSuchBucket", `no bucket ${cmd.bucket}`);
    if (this.#upload.get(cmd.uploadId) !== undefined) {
      refuse("KeyExists", `upload id ${cmd.uploadId} is already in use`);
    }
    this.#insertUpload.run(cmd.uploadId, cmd.bucket, key, canonicalJson(cmd.meta), cmd.initiatedAtMs);
    return { ok: true };
  }

  putPart(cmd: PutPart, ctx: ApplyContext): ApplyResult {
    if (cmd.partNumber < 1 || cmd.partNumber > MAX_PART_NUMBER) {
      refuse("InvalidArgument", `part number must be 1..${MAX_PART_NUMBER}`);
    }
    if (this.#upload.get(cmd.uploadId) === undefined) refuse("NoSuchUpload", `no upload ${cmd.uploadId}`);
    checkChunkSizes(cmd.chunks, cmd.size, "PutPart");
    this.#refs.acquire(cmd.chunks);
    // A re-uploaded part number replaces the old part and releases its chunks.
    this.#refs.release(this.#partCounts.all(cmd.uploadId, cmd.partNumber), cmd.lastModifiedMs, ctx);
    this.#deletePart.run(cmd.uploadId, cmd.partNumber);
    this.#insertPart.run(
      cmd.uploadId,
      cmd.partNumber,
      cmd.size,
      cmd.etag,
      cmd.checksums === undefined ? null : canonicalJson(cmd.checksums),
      cmd.lastModifiedMs,
      cmd.chunks.length,
    );
    for (let seq = 0; seq < cmd.chunks.length; seq++) {
      this.#insertPartChunk.run(
        cmd.uploadId,
        cmd.partNumber,
        seq,
        (cmd.chunks[seq] as { hash: string }).hash,
      );
    }
    return { ok: true, etag: cmd.etag, lastModifiedMs: cmd.lastModifiedMs };
  }

  /**
   * The chosen parts' chunk references move to the object (no refcount change); parts not chosen
   * are released; an overwritten object is released; the upload disappears.
   */
  complete(cmd: Complete, ctx: ApplyContext): ApplyResult {
    const upload = this.#upload.get(cmd.uploadId);
    if (upload === undefined) refuse("NoSuchUpload", `no upload ${cmd.uploadId}`);
    if (cmd.parts.length === 0) refuse("InvalidArgument", "CompleteMultipartUpload needs at least one part");
    if (cmd.parts.length > MAX_PART_NUMBER) refuse("InvalidArgument", `at most ${MAX_PART_NUMBER} parts`);
    const stored = new Map(this.#parts.all(cmd.uploadId).map((p) => [p.part_number, p]));
    let previous = 0;
    const chosen: PartRow[] = [];
    for (const p of cmd.parts) {
      if (p.partNumber <= previous) refuse("InvalidPartOrder", "parts must be listed in ascending order");
      previous = p.partNumber;
      const row = stored.get(p.partNumber);
      if (row === undefined || bareEtag(row.etag) !== bareEtag(p.etag)) {
        refuse("InvalidPart", `part ${p.partNumber} was not uploaded or its ETag differs`);
      }
      chosen.push(row);
    }
    for (let i = 0; i < chosen.length - 1; i++) {
      const row = chosen[i] as PartRow;
      if (row.size < MIN_PART_SIZE_BYTES) {
        refuse("EntityTooSmall", `part ${row.part_number} is smaller than the 5 MiB minimum`);
      }
    }
    const etag = multipartEtag(chosen.map((p) => p.etag));
    if (etag === undefined) refuse("InvalidPart", "a part ETag is not an MD5 hex digest");

    const hashes: string[] = [];
    const parts: ObjectPartSpec[] = [];
    let size = 0;
    for (const p of chosen) {
      const partHashes = this.#partHashes.all(cmd.uploadId, p.part_number);
      for (const r of partHashes) hashes.push(r.hash);
      parts.push({
        partNumber: p.part_number,
        size: p.size,
        etag: bareEtag(p.etag),
        chunkCount: partHashes.length,
      });
      size += p.size;
      stored.delete(p.part_number);
    }
    // Releasing the unchosen parts: count the upload's references minus the chosen ones.
    const unchosen = new Map<string, number>();
    for (const r of this.#uploadCounts.all(cmd.uploadId)) unchosen.set(r.hash, r.n);
    for (const { hash, n } of countHashes(hashes)) {
      const left = (unchosen.get(hash) ?? 0) - n;
      if (left === 0) unchosen.delete(hash);
      else unchosen.set(hash, left);
    }
    this.#refs.release(
      [...unchosen].map(([hash, n]) => ({ hash, n })),
      cmd.lastModifiedMs,
      ctx,
    );
    const current = this.#store.head(upload.bucket, upload.key);
    if (cmd.ifNoneMatch === true && current !== undefined) {
      refuse("PreconditionFailed", "If-None-Match: the key already exists");
    }
    if (cmd.ifMatch !== undefined) {
      // S3: If-Match on a key that does not exist is 404 NoSuchKey, not 412.
      if (current === undefined) refuse("NoSuchKey", "If-Match: the key does not exist");
      if (!etagMatches(current.etag, cmd.ifMatch))
        refuse("PreconditionFailed", "If-Match: the current ETag differs");
    }
    this.#deleteUpload.run(cmd.uploadId);
    if (current !== undefined) {
      this.#store.remove(upload.bucket, upload.key, cmd.lastModifiedMs, ctx);
    }
    this.#store.insert(
      {
        bucket: upload.bucket,
        key: upload.key,
        size,
        etag,
        meta: canonicalJson({
          ...(JSON.parse(upload.meta) as Record<string, unknown>),
          partsCount: chosen.length,
          ...(cmd.checksums !== undefined ? { checksums: cmd.checksums } : {}),
          ...(cmd.checksumType !== undefined ? { checksumType: cmd.checksumType } : {}),
        }),
        lastModifiedMs: cmd.lastModifiedMs,
      },
      hashes,
      parts,
    );
    return { ok: true, etag, lastModifiedMs: cmd.lastModifiedMs };
  }

  abort(cmd: Abort, ctx: ApplyContext): ApplyResult {
    if (this.#upload.get(cmd.uploadId) === undefined) refuse("NoSuchUpload", `no upload ${cmd.uploadId}`);
    this.#refs.release(this.#uploadCounts.all(cmd.uploadId), cmd.atMs, ctx);
    this.#deleteUpload.run(cmd.uploadId);
    return { ok: true };
  }
}
