/**
 * SHA-256 over a canonical dump of every table, rows in key order, plus the schema version. Two
 * nodes that applied the same entries must give the same checksum (cluster tests compare them).
 * Nothing is excluded: raft_meta and the request de-dup window are state-machine state too.
 */
import { createHash } from "node:crypto";
import type Database from "better-sqlite3";
import { TABLES } from "./schema/migrations.js";
import { readSchemaVersion } from "./schema/open-database.js";

export function checksumDatabase(db: Database.Database): string {
  const sha = createHash("sha256");
  sha.update(`enigma-manifest schema ${readSchemaVersion(db)}\n`);
  for (const t of TABLES) {
    sha.update(`table ${t.name}\n`);
    const stmt = db.prepare(`SELECT * FROM ${t.name} ORDER BY ${t.orderBy}`).raw(true);
    for (const row of stmt.iterate() as IterableIterator<unknown[]>) {
      sha.update(row.map(encodeValue).join("\u001f"));
      sha.update("\n");
    }
  }
  return sha.digest("hex");
}

function encodeValue(v: unknown): string {
  if (v === null) return "n";
  if (typeof v === "number" || typeof v === "bigint") return `i${v.toString()}`;
  if (typeof v === "string") return `s${JSON.stringify(v)}`;
  if (Buffer.isBuffer(v)) return `b${v.toString("hex")}`;
  throw new Error(`unexpected SQLite value ${String(v)}`);
}

export function rowCountsOf(db: Database.Database): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of TABLES) {
    const r = db.prepare(`SELECT count(*) AS n FROM ${t.name}`).get() as { n: number };
    out[t.name] = r.n;
  }
  return out;
}
