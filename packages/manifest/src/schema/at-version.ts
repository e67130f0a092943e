/**
 * Upgrade drills and tests: a manifest database file as an older build wrote it. Never used by a
 * node; it exists so "a newer build restores an older snapshot" can be tested with real data.
 */
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { ManifestError } from "../errors.js";
import { MIGRATIONS, SCHEMA_VERSION, tablesAt } from "./migrations.js";

/**
 * Writes `destPath` (which must not exist) with only the migrations up to `version` applied, and
 * copies into it, from the (closed) manifest at `sourcePath`, every row of the tables that version
 * has, in the columns that version has. Rows of later tables are not carried: use a source whose
 * later tables hold only what their migration inserted. Rollback-journal mode, like a snapshot.
 */
export function writeManifestAtSchema(sourcePath: string, destPath: string, version: number): void {
  if (!Number.isInteger(version) || version < 1 || version > SCHEMA_VERSION)
    throw new ManifestError(
      "InvalidArgument",
      `schema version ${version} is not between 1 and ${SCHEMA_VERSION}`,
    );
  if (existsSync(destPath)) throw new ManifestError("InvalidArgument", `${destPath} exists`);
  const db = new Database(destPath);
  try {
    db.pragma("journal_mode = DELETE");
    db.exec(`ATTACH DATABASE '${sourcePath.replaceAll("'", "''")}' AS src`);
    db.transaction(() => {
      for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
        for (const sql of m.statements) db.exec(sql);
      }
      for (const t of tablesAt(version)) {
        const cols = (db.pragma(`main.table_info(${t.name})`) as { name: string }[]).map(
          (c) => `"${c.name}"`,
        );
        const list = cols.join(", ");
        db.exec(`DELETE FROM main.${t.name}`);
        db.exec(`INSERT INTO main.${t.name} (${list}) SELECT ${list} FROM src.${t.name}`);
      }
      db.pragma(`user_version = ${version}`);
    })();
    db.exec("DETACH DATABASE src");
  } finally {
    db.close();
  }
}
