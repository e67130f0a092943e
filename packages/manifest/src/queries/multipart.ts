import type Database from "better-sqlite3";
import type { Checksums, ObjectMeta } from "../commands.js";
import { ManifestError } from "../errors.js";
import { fromKeyBytes, immediateSuccessor, prefixEnd, toKeyBytes } from "../key-bytes.js";
import type { ListPartsPage, ListUploadsPage, ListUploadsParams, PartInfo, UploadInfo } from "./types.js";

export const DEFAULT_MAX_UPLOADS = 1000;
export const DEFAULT_MAX_PARTS = 1000;

interface UploadRow {
  readonly upload_id: string;
  readonly bucket: string;
  readonly key: Buffer;
  readonly meta: string;
  readonly initiated_ms: number;
}

interface PartRow {
  readonly part_number: number;
  readonly size: number;
  readonly etag: string;
  readonly checksums: string | null;
  readonly last_modified_ms: number;
  readonly chunk_count: number;
}

function toUpload(r: UploadRow): UploadInfo {
  return {
    uploadId: r.upload_id,
    bucket: r.bucket,
    key: fromKeyBytes(r.key),
    meta: JSON.parse(r.meta) as ObjectMeta,
    initiatedAtMs: r.initiated_ms,
  };
}

function toPart(r: PartRow): PartInfo {
  const base = {
    partNumber: r.part_number,
    size: r.size,
    etag: r.etag,
    lastModifiedMs: r.last_modified_ms,
    chunkCount: r.chunk_count,
  };
  return r.checksums === null ? base : { ...base, checksums: JSON.parse(r.checksums) as Checksums };
}

export class MultipartQueries {
  readonly #upload: Database.Statement<[string], UploadRow>;
  readonly #fromKey: Database.Statement<[string, Buffer, number], UploadRow>;
  readonly #afterUpload: Database.Statement<[string, Buffer, number, string, number], UploadRow>;
  readonly #parts: Database.Statement<[string, number, number], PartRow>;

  constructor(db: Database.Database) {
    const cols = "upload_id, bucket, key, meta, initiated_ms";
    const order = "ORDER BY key, initiated_ms, upload_id LIMIT ?";
    this.#upload = db.prepare(`SELECT ${cols} FROM uploads WHERE upload_id = ?`);
    this.#fromKey = db.prepare(`SELECT ${cols} FROM uploads WHERE bucket = ? AND key >= ? ${order}`);
    this.#afterUpload = db.prepare(
      `SELECT ${cols} FROM uploads WHERE bucket = ? AND (key, initiated_ms, upload_id) > (?, ?, ?) ${order}`,
    );
    this.#parts = db.prepare(
      `SELECT part_number, size, etag, checksums, last_modified_ms, chunk_count FROM parts
       WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?`,
    );
  }

  getUpload(uploadId: string): UploadInfo | undefined {
    const r = this.#upload.get(uploadId);
    return r === undefined ? undefined : toUpload(r);
  }

  /**
   * ListMultipartUploads: ordered by key, then initiation time (then id). keyMarker alone skips
   * that key; with uploadIdMarker it resumes after that upload. Common prefixes seek like listObjects.
   */
  listMultipartUploads(params: ListUploadsParams): ListUploadsPage {
    const max = Math.min(params.maxUploads ?? DEFAULT_MAX_UPLOADS, DEFAULT_MAX_UPLOADS);
    if (!Number.isInteger(max) || max < 0) {
      throw new ManifestError("InvalidArgument", "maxUploads must be a non-negative integer");
    }
    const prefix = params.prefix ?? "";
    const delimiter = params.delimiter === "" ? undefined : params.delimiter;
    const prefixBytes = toKeyBytes(prefix);
    const end = prefixEnd(prefixBytes);

    // The start position: either "key >= from" or "strictly after this upload".
    let from: Buffer | null = prefixBytes;
    let after: UploadRow | undefined;
    const marker = params.keyMarker;
    if (marker !== undefined && Buffer.compare(toKeyBytes(marker), prefixBytes) >= 0) {
      const at =
        delimiter !== undefined && marker.startsWith(prefix) ? marker.indexOf(delimiter, prefix.length) : -1;
      const resumeAt =
        params.uploadIdMarker === undefined ? undefined : this.#upload.get(params.uploadIdMarker);
      if (at >= 0) from = prefixEnd(toKeyBytes(marker.slice(0, at + (delimiter as string).length)));
      else if (
        resumeAt !== undefined &&
        resumeAt.bucket === params.bucket &&
        fromKeyBytes(resumeAt.key) === marker
      ) {
        after = resumeAt;
      } else from = immediateSuccessor(toKeyBytes(marker));
    }

    const uploads: UploadInfo[] = [];
    const commonPrefixes: string[] = [];
    let truncated = false;
    let lastKey = "";
    let lastUploadId: string | undefined;
    const full = () => uploads.length + commonPrefixes.length === max;
    scan: while (max > 0) {
      const limit = max - uploads.length - commonPrefixes.length + 1;
      let rows: UploadRow[];
      if (after !== undefined) {
        rows = this.#afterUpload.all(params.bucket, after.key, after.initiated_ms, after.upload_id, limit);
      } else if (from !== null) rows = this.#fromKey.all(params.bucket, from, limit);
      else break;
      if (rows.length === 0) break;
      let seeked = false;
      for (const r of rows) {
        if (end !== null && Buffer.compare(r.key, end) >= 0) break scan;
        if (full()) {
          truncated = true;
          break scan;
        }
        const key = fromKeyBytes(r.key);
        const at = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
        if (at >= 0) {
          const cp = key.slice(0, at + (delimiter as string).length);
          commonPrefixes.push(cp);
          lastKey = cp;
          lastUploadId = undefined;
          from = prefixEnd(toKeyBytes(cp));
          after = undefined;
          seeked = true;
          break;
        }
        uploads.push(toUpload(r));
        lastKey = key;
        lastUploadId = r.upload_id;
        after = r;
      }
      if (!seeked && rows.length < limit) break;
    }
    const page: ListUploadsPage = { uploads, commonPrefixes, isTruncated: truncated };
    if (!truncated) return page;
    return lastUploadId === undefined
      ? { ...page, nextKeyMarker: lastKey }
      : { ...page, nextKeyMarker: lastKey, nextUploadIdMarker: lastUploadId };
  }

  listParts(uploadId: string, opts: { partNumberMarker?: number; maxParts?: number } = {}): ListPartsPage {
    const max = opts.maxParts ?? DEFAULT_MAX_PARTS;
    if (!Number.isInteger(max) || max < 0) {
      throw new ManifestError("InvalidArgument", "maxParts must be a non-negative integer");
    }
    const rows = this.#parts.all(uploadId, opts.partNumberMarker ?? 0, max + 1);
    const parts = rows.slice(0, max).map(toPart);
    const last = parts[parts.length - 1];
    return rows.length > max && last !== undefined
      ? { parts, isTruncated: true, nextPartNumberMarker: last.partNumber }
      : { parts, isTruncated: false };
  }
}
