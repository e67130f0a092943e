export type ConfigErrorCode = "Invalid" | "Unreadable" | "Secret";

/** A config problem; `issues` name each bad key (`[enigma] chunk_size: not a size…`). */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly issues: readonly string[];
  constructor(code: ConfigErrorCode, issues: readonly string[], source?: string) {
    const where = source ? `${source}: ` : "";
    super(issues.length === 1 ? `${where}${issues[0]}` : `${where}invalid config:\n  ${issues.join("\n  ")}`);
    this.name = "ConfigError";
    this.code = code;
    this.issues = issues;
  }
}
