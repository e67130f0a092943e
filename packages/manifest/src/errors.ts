/**
 * The one error class of @enigma/manifest. Expected refusals of `apply` are *results*
 * (`ApplyError` in commands.ts), not exceptions; a thrown ManifestError means the caller cannot go
 * on (a corrupt file, an undecodable committed entry, an out-of-order apply) or misused the API.
 */

export type ManifestErrorCode =
  /** The database file is truncated, not a database, or fails its integrity check. */
  | "Corrupt"
  /** The database was written by a newer schema than this build knows. */
  | "SchemaTooNew"
  /** Bytes that are not a command envelope (bad UTF-8, bad JSON, wrong shape). Fatal in the FSM. */
  | "Undecodable"
  /** An envelope whose codec version is newer than this build. Fatal in the FSM. */
  | "UnsupportedVersion"
  /** A command whose `type` this build does not know. Fatal in the FSM. */
  | "UnknownCommand"
  /**
   * SetFeatureLevel above what this build implements, or a database whose feature level is: this
   * node would apply entries differently from the others. Fatal in the FSM; refused on open.
   */
  | "FeatureTooNew"
  /** A structurally invalid command (wrong field types, unknown fields), on encode or decode. */
  | "InvalidCommand"
  /** An entry index that is neither already applied nor the next one: the log feed is broken. */
  | "OutOfOrder"
  /** A bad argument to a query or administrative method (not to a command). */
  | "InvalidArgument"
  /** The manifest was closed. */
  | "Closed"
  /** Disk full, I/O error, permission denied, busy. */
  | "Io"
  /** An invariant violation or an unexpected failure. */
  | "Internal";

export class ManifestError extends Error {
  readonly code: ManifestErrorCode;

  constructor(code: ManifestErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ManifestError";
    this.code = code;
  }

  /** Normalizes anything thrown (SQLite errors included) into a ManifestError. */
  static from(err: unknown): ManifestError {
    if (err instanceof ManifestError) return err;
    const sqliteCode = sqliteCodeOf(err);
    const message = oneLine(err instanceof Error ? err.message : String(err));
    if (sqliteCode !== undefined) {
      if (sqliteCode.startsWith("SQLITE_CORRUPT") || sqliteCode === "SQLITE_NOTADB") {
        return new ManifestError("Corrupt", `manifest database is corrupt: ${message}`, { cause: err });
      }
      if (
        sqliteCode.startsWith("SQLITE_IOERR") ||
        sqliteCode.startsWith("SQLITE_CANTOPEN") ||
        sqliteCode.startsWith("SQLITE_READONLY") ||
        sqliteCode.startsWith("SQLITE_BUSY") ||
        sqliteCode.startsWith("SQLITE_LOCKED") ||
        sqliteCode === "SQLITE_FULL" ||
        sqliteCode === "SQLITE_PERM"
      ) {
        return new ManifestError("Io", `manifest database I/O error (${sqliteCode}): ${message}`, {
          cause: err,
        });
      }
      return new ManifestError("Internal", `SQLite error (${sqliteCode}): ${message}`, { cause: err });
    }
    return new ManifestError("Internal", message, { cause: err });
  }
}

function sqliteCodeOf(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/** Error messages are one line: they end up in logs and CLI output. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** Invariant check: a violation is a bug, never an expected outcome, and crashes the caller. */
export function assertInvariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ManifestError("Internal", `invariant violated: ${message}`);
}
