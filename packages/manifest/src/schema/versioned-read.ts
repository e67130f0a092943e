/**
 * Whole-database reads of a manifest at an *older* schema than this build's, without migrating it:
 * what a snapshot made by an older build is checked against before restore migrates its copy.
 *
 * The result equals what the build of that version computed (checksum.ts at the time): the same
 * canonical dump, over exactly the tables that version had (`tablesAt`, append-only like the
 * migrations), each row as stored (`SELECT *`, so a table widened later is hashed at its old width).
 * For a database at the current version the result equals `checksumDatabase` / `rowCountsOf`; a
 * test keeps the two encodings identical.
 */
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import { tablesAt } from "./migrations.js";
import { readSchemaVersion } from "./open-database.js";

export function checksumAtVersion(db: Database.Database): string {
  const version = readSchemaVersion(db);
  const sha = createHash("sha256");
  sha.update(`enigma-manifest schema ${version}\n`);
  for (const t of tablesAt(version)) {
    sha.update(`table ${t.name}\n`);
    const stmt = db.prepare(`SELECT * FROM ${t.name} ORDER BY ${t.orderBy}`).raw(true);
    for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
      sha.update(row.map(encodeValue).join("\u001f"));
      sha.update("\n");
    }
  }
  return sha.digest("hex");
}

export function rowCountsAtVersion(db: Database.Database): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tablesAt(readSchemaVersion(db))) {
    const r = db.prepare(`SELECT count(*) AS n FROM ${t.name}`).get() as { n: number };
    out[t.name] = r.n;
  }
  return out;
}

function encodeValue(v: unknown): string {
  if (v === null) return "n";
  if (typeof v === "number" || typeof v === "bigint") return `i${v.toString()}`;
  if (typeof v === "string") return `s${JSON.stringify(v)}`;
  if (Buffer.isBuffer(v)) return `b${v.toString("hex")}`;
  throw new Error(`unexpected SQLite value ${String(v)}`);
}
