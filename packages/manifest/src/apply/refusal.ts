import type { ApplyError, ApplyErrorCode } from "../commands.js";

/** What a command handler may know besides the database: the entry's position in the log. */
export interface ApplyContext {
  readonly index: number;
  readonly term: number;
}

/**
 * Thrown inside a command's savepoint to refuse it: the savepoint is rolled back, so a refusal
 * leaves the state unchanged even if the handler had already written something.
 */
export class Refusal extends Error {
  readonly result: ApplyError;
  constructor(result: ApplyError) {
    super(result.message);
    this.result = result;
  }
}

export function refuse(code: ApplyErrorCode, message: string, hashes?: readonly string[]): never {
  throw new Refusal(
    hashes === undefined ? { ok: false, code, message } : { ok: false, code, message, hashes },
  );
}
