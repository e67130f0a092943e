import Database from "better-sqlite3";
import { ManifestError, oneLine } from "../errors.js";
import { MIGRATIONS, SCHEMA_VERSION } from "./migrations.js";

export type IntegrityCheck = "quick" | "full" | "none";

export interface OpenOptions {
  /**
   * Integrity check run at open: "quick" (PRAGMA quick_check, O(size) but cheap; the default for
   * files), "full" (integrity_check, also verifies indexes), or "none".
   */
  readonly integrityCheck?: IntegrityCheck;
  readonly readonly?: boolean;
  /** SQLite page cache per connection; the default (2 MiB) makes applies I/O-bound early. */
  readonly cacheSizeKiB?: number;
}

export const DEFAULT_CACHE_SIZE_KIB = 64 * 1024;
/** WAL pages between automatic checkpoints (SQLite's default is 1000); fewer checkpoint fsyncs. */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/**
 * Opens (creating if absent) a manifest database: pragmas, integrity check, migrations. Every SQLite
 * failure here that means "this is not a healthy manifest" becomes ManifestError("Corrupt").
 */
export function openDatabase(path: string, options: OpenOptions = {}): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, {
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    });
  } catch (err) {
    throw ManifestError.from(err);
  }
  try {
    configure(db, path === ":memory:", options.readonly ?? false);
    db.pragma(`cache_size = -${Math.max(1024, Math.floor(options.cacheSizeKiB ?? DEFAULT_CACHE_SIZE_KIB))}`);
    checkIntegrity(db, path, options.integrityCheck ?? "quick");
    if (!(options.readonly ?? false)) migrate(db, path);
    else checkVersion(db, path);
    return db;
  } catch (err) {
    db.close();
    const e = ManifestError.from(err);
    if (e.code === "Corrupt") {
      throw new ManifestError("Corrupt", `manifest database ${path} is corrupt: ${stripPrefix(e.message)}`, {
        cause: err,
      });
    }
    throw e;
  }
}

function stripPrefix(message: string): string {
  return message.replace(/^manifest database is corrupt: /, "");
}

function configure(db: Database.Database, inMemory: boolean, readonly: boolean): void {
  // Reading the header first turns "not a database" into an error here rather than later.
  db.pragma("schema_version", { simple: true });
  if (!inMemory && !readonly) {
    db.pragma("journal_mode = WAL");
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  }
  // FULL: a committed apply survives power loss; raft_meta.applied_index must never run ahead of
  // what is durable (ARCHITECTURE §5).
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
}

function checkIntegrity(db: Database.Database, path: string, mode: IntegrityCheck): void {
  if (mode === "none") return;
  const rows = db.pragma(mode === "full" ? "integrity_check(10)" : "quick_check(10)", {
    simple: false,
  }) as Record<string, unknown>[];
  const problems = rows.map((r) => String(Object.values(r)[0])).filter((t) => t !== "ok");
  if (problems.length > 0) {
    throw new ManifestError(
      "Corrupt",
      `manifest database ${path} is corrupt: ${oneLine(problems.slice(0, 3).join("; "))}`,
    );
  }
}

export function readSchemaVersion(db: Database.Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}

function checkVersion(db: Database.Database, path: string): number {
  const current = readSchemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new ManifestError(
      "SchemaTooNew",
      `manifest database ${path} has schema version ${current}, newer than this build's ${SCHEMA_VERSION}; upgrade enigma`,
    );
  }
  return current;
}

/** Applies every pending migration in one transaction (all or nothing). */
function migrate(db: Database.Database, path: string): void {
  const current = checkVersion(db, path);
  const pending = MIGRATIONS.filter((m) => m.version > current);
  if (pending.length === 0) return;
  db.transaction(() => {
    for (const m of pending) {
      for (const sql of m.statements) db.exec(sql);
    }
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}
