/** Recognizing "the disk is full" in an error from any layer (fs, SQLite, storage backends). */

/** Error codes that mean a full disk: errno (fs), SQLite (manifest), StorageError (backends). */
const DISK_FULL_CODES = new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL", "NoSpace"]);

/** Whether `err`, its causes or its aggregated errors say the disk is full (depth-bounded). */
export function isDiskFull(err: unknown, depth = 0): boolean {
  if (depth > 8 || typeof err !== "object" || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && DISK_FULL_CODES.has(code)) return true;
  if (err instanceof AggregateError && err.errors.some((e) => isDiskFull(e, depth + 1))) return true;
  return isDiskFull((err as { cause?: unknown }).cause, depth + 1);
}
