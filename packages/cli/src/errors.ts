/** Maps any failure to one line and a documented exit code. Stack traces only with ENIGMA_DEBUG. */
import { CommandRefused, ConfigError } from "@enigma/server";
import { CliError, ExitCode } from "./exit-codes.js";

interface Coded {
  readonly code?: unknown;
  readonly name?: unknown;
}

export function toExit(err: unknown): { code: ExitCode; message: string } {
  if (err instanceof CliError) return { code: err.exitCode, message: err.message };
  if (err instanceof ConfigError) return { code: ExitCode.Usage, message: err.message };
  if (err instanceof CommandRefused) {
    return {
      code: err.code.startsWith("NoSuch") ? ExitCode.NotFound : ExitCode.Failure,
      message: err.message,
    };
  }
  const e = err as Coded & Error;
  const name = typeof e?.name === "string" ? e.name : "";
  const code = typeof e?.code === "string" ? e.code : "";
  if (name === "AbortError") return { code: ExitCode.Interrupted, message: "interrupted" };
  if (name === "CryptoError") {
    if (["WrongPassphrase", "KeystoreMissing", "KeystoreCorrupt"].includes(code)) {
      return { code: ExitCode.Keystore, message: e.message };
    }
    return { code: ExitCode.Integrity, message: e.message };
  }
  if (name === "ChunkerError" || name === "SealError")
    return { code: ExitCode.Integrity, message: e.message };
  if (name === "StorageError") {
    // A chunk the manifest references but no replica holds intact is a data-integrity failure.
    const integrity = code === "NotFound" || code === "Corrupt";
    return { code: integrity ? ExitCode.Integrity : ExitCode.Storage, message: e.message };
  }
  if (name === "ManifestError") return { code: ExitCode.Failure, message: `manifest: ${e.message}` };
  if (code === "ENOENT" || code === "EACCES" || code === "ENOTDIR" || code === "EISDIR") {
    return { code: ExitCode.Failure, message: e.message };
  }
  if (code === "ENOSPC") return { code: ExitCode.Failure, message: `disk full: ${e.message}` };
  return { code: ExitCode.Failure, message: e instanceof Error ? e.message : String(err) };
}
