/**
 * Documented exit codes (README "Exit codes"). Scripts rely on them: keep them stable.
 */
export const ExitCode = {
  Ok: 0,
  /** Unexpected failure. */
  Failure: 1,
  /** Bad usage or invalid config. */
  Usage: 2,
  /** Keystore missing or unreadable, or wrong passphrase. */
  Keystore: 3,
  /** Data failed verification: corrupt/missing chunk, broken integrity chain. */
  Integrity: 4,
  /** A storage backend is unreachable or refused the operation. */
  Storage: 5,
  /** The named backup/object does not exist. */
  NotFound: 6,
  /** Interrupted by a signal. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line with a chosen exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}
