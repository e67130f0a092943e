/**
 * ListObjects with prefix, delimiter, startAfter and maxKeys, in S3 order (UTF-8 bytes).
 *
 * With a delimiter the scan SEEKS: on meeting a key that rolls up into a common prefix P it emits P
 * and restarts the range scan at prefixEnd(P), the first byte string after every key starting with
 * P. A page therefore costs O(page) statement executions and row visits, whatever the number of
 * keys under each common prefix. Each statement is a range scan of the (bucket, key) primary key.
 *
 * Semantics (as S3/MinIO): items are keys and common prefixes merged in byte order; maxKeys counts
 * both; startAfter is exclusive, and when it lies inside a common prefix (it is one, or a key under
 * one) that whole prefix counts as already returned.
 */
import type Database from "better-sqlite3";
import { ManifestError } from "../errors.js";
import { fromKeyBytes, immediateSuccessor, prefixEnd, toKeyBytes } from "../key-bytes.js";
import type { ListObjectsPage, ListObjectsParams, ObjectSummary } from "./types.js";

export const DEFAULT_MAX_KEYS = 1000;
/** The most a single page may hold; S3 clamps max-keys to 1000 as well. */
export const MAX_KEYS_LIMIT = 1000;

interface ListRow {
  readonly key: Buffer;
  readonly size: number;
  readonly etag: string;
  readonly last_modified_ms: number;
}

/** Counters for tests and metrics: how much work listings did. */
export interface ListCounters {
  statements: number;
  rows: number;
}

export class ListObjectsQuery {
  readonly #bounded: Database.Statement<[string, Buffer, Buffer, number], ListRow>;
  readonly #unbounded: Database.Statement<[string, Buffer, number], ListRow>;
  readonly counters: ListCounters = { statements: 0, rows: 0 };

  constructor(db: Database.Database) {
    const cols = "key, size, etag, last_modified_ms";
    this.#bounded = db.prepare(
      `SELECT ${cols} FROM objects WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?`,
    );
    this.#unbounded = db.prepare(
      `SELECT ${cols} FROM objects WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?`,
    );
  }

  /** The query plan of the scan statement (tests check it is a primary-key range search). */
  static readonly SCAN_SQL =
    "SELECT key FROM objects WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?";

  list(params: ListObjectsParams): ListObjectsPage {
    const maxKeys = Math.min(params.maxKeys ?? DEFAULT_MAX_KEYS, MAX_KEYS_LIMIT);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) {
      throw new ManifestError("InvalidArgument", "maxKeys must be a non-negative integer");
    }
    const empty: ListObjectsPage = { contents: [], commonPrefixes: [], isTruncated: false };
    if (maxKeys === 0) return empty;
    const prefix = params.prefix ?? "";
    const delimiter = params.delimiter === "" ? undefined : params.delimiter;
    const prefixBytes = toKeyBytes(prefix);
    const upper = prefixEnd(prefixBytes);

    let lower: Buffer | null = startBound(prefix, prefixBytes, delimiter, params.startAfter);
    const contents: ObjectSummary[] = [];
    const commonPrefixes: string[] = [];
    let count = 0;
    let last = "";
    let truncated = false;

    scan: while (lower !== null && (upper === null || Buffer.compare(lower, upper) < 0)) {
      const limit = maxKeys - count + 1;
      this.counters.statements++;
      const rows =
        upper === null
          ? this.#unbounded.iterate(params.bucket, lower, limit)
          : this.#bounded.iterate(params.bucket, lower, upper, limit);
      let seeked = false;
      for (const row of rows) {
        this.counters.rows++;
        if (count === maxKeys) {
          truncated = true;
          break scan;
        }
        const key = fromKeyBytes(row.key);
        const at = delimiter === undefined ? -1 : key.indexOf(delimiter, prefix.length);
        if (at >= 0) {
          const cp = key.slice(0, at + (delimiter as string).length);
          commonPrefixes.push(cp);
          count++;
          last = cp;
          lower = prefixEnd(toKeyBytes(cp));
          seeked = true;
          break;
        }
        contents.push({ key, size: row.size, etag: row.etag, lastModifiedMs: row.last_modified_ms });
        count++;
        last = key;
      }
      if (!seeked) break;
    }
    if (contents.length === 0 && commonPrefixes.length === 0 && !truncated) return empty;
    return truncated
      ? { contents, commonPrefixes, isTruncated: true, nextStartAfter: last }
      : { contents, commonPrefixes, isTruncated: false };
  }
}

/** Where the scan starts (inclusive), or null when nothing can follow startAfter. */
function startBound(
  prefix: string,
  prefixBytes: Buffer,
  delimiter: string | undefined,
  startAfter: string | undefined,
): Buffer | null {
  if (startAfter === undefined || startAfter === "") return prefixBytes;
  const after = toKeyBytes(startAfter);
  if (Buffer.compare(after, prefixBytes) < 0) return prefixBytes;
  if (delimiter !== undefined && startAfter.startsWith(prefix)) {
    const at = startAfter.indexOf(delimiter, prefix.length);
    // startAfter is inside common prefix cp, which sorts before it: the whole prefix is done.
    if (at >= 0) return prefixEnd(toKeyBytes(startAfter.slice(0, at + delimiter.length)));
  }
  return immediateSuccessor(after);
}
