/**
 * Helpers for state machines that live in a SQLite file (the manifest): read a row out of a
 * snapshot image, and replace the contents of a live database with an image, in one transaction
 * through a second connection, so the application's own connection (and every prepared statement
 * and object holding it) stays valid and simply sees the new rows on its next read (WAL mode).
 */
import Database from "better-sqlite3";
import { RaftNodeError } from "./errors.js";

/** Reads one row from a database file opened read-only; undefined when the query returns none. */
export function readSqliteRow<T>(path: string, sql: string): T | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], T>(sql).get();
  } finally {
    db.close();
  }
}

/**
 * Replaces every table's rows in the live database at `targetPath` with those of the image at
 * `sourcePath`, atomically. Both must have the same schema (same `user_version` and the same
 * table definitions): validate and migrate the image first.
 */
export function replaceSqliteContents(targetPath: string, sourcePath: string): void {
  const db = new Database(targetPath, { fileMustExist: true });
  try {
    db.pragma("busy_timeout = 10000");
    db.pragma("synchronous = FULL");
    // Rows are copied table by table; references are complete once the transaction commits.
    db.pragma("foreign_keys = OFF");
    db.prepare("ATTACH DATABASE ? AS image").run(sourcePath);
    try {
      const mainVersion = db.pragma("main.user_version", { simple: true });
      const imageVersion = db.pragma("image.user_version", { simple: true });
      if (mainVersion !== imageVersion) {
        throw new RaftNodeError(
          "SnapshotCorrupt",
          `snapshot schema version ${String(imageVersion)} differs from the database's ${String(mainVersion)}`,
        );
      }
      const schemaOf = (schema: "main" | "image") =>
        db
          .prepare<[], { name: string; sql: string }>(
            `SELECT name, sql FROM ${schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
          )
          .all();
      const tables = schemaOf("main");
      const image = schemaOf("image");
      if (JSON.stringify(tables) !== JSON.stringify(image)) {
        throw new RaftNodeError("SnapshotCorrupt", "snapshot tables differ from the database's");
      }
      db.transaction(() => {
        for (const { name } of tables) {
          const q = `"${name.replaceAll('"', '""')}"`;
          db.exec(`DELETE FROM main.${q}; INSERT INTO main.${q} SELECT * FROM image.${q};`);
        }
      }).immediate();
    } finally {
      db.exec("DETACH DATABASE image");
    }
  } finally {
    db.close();
  }
}
