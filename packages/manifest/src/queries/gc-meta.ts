/**
 * The replicated GC pause and the sweep fence, read side (apply side: apply/sweep-fence.ts).
 * `setGcPause` is the one writer outside apply: a new-cluster restore writes the pause into the
 * restored database file before it becomes the cluster's state (like resetClusterIdentity).
 */
import type Database from "better-sqlite3";
import { canonicalJson } from "../canonical-json.js";
import { ManifestError } from "../errors.js";
import type { GcPauseConfirmation, GcPauseRecord } from "./types.js";

const MAX_PAGE = 100_000;

export class GcMetaQueries {
  readonly #get: Database.Statement<[], { gc_pause: string | null; gc_pause_confirmed: string | null }>;
  readonly #set: Database.Statement<[string]>;
  readonly #sweeping: Database.Statement<[string], { one: number }>;
  readonly #listSweeping: Database.Statement<[string, number], { name_tag: string }>;
  readonly #countSweeping: Database.Statement<[], { n: number }>;

  constructor(db: Database.Database) {
    this.#get = db.prepare("SELECT gc_pause, gc_pause_confirmed FROM gc_meta WHERE id = 1");
    this.#set = db.prepare("UPDATE gc_meta SET gc_pause = ? WHERE id = 1");
    this.#sweeping = db.prepare(
      "SELECT 1 AS one FROM swept_name_tags WHERE name_tag = ? AND state = 'sweeping'",
    );
    this.#listSweeping = db.prepare(
      "SELECT name_tag FROM swept_name_tags WHERE state = 'sweeping' AND name_tag > ? ORDER BY name_tag LIMIT ?",
    );
    this.#countSweeping = db.prepare("SELECT count(*) AS n FROM swept_name_tags WHERE state = 'sweeping'");
  }

  gcPause(): GcPauseRecord | undefined {
    const p = this.#get.get()?.gc_pause ?? null;
    return p === null ? undefined : (JSON.parse(p) as GcPauseRecord);
  }

  gcPauseConfirmation(): GcPauseConfirmation | undefined {
    const c = this.#get.get()?.gc_pause_confirmed ?? null;
    return c === null ? undefined : (JSON.parse(c) as GcPauseConfirmation);
  }

  setGcPause(pause: GcPauseRecord): void {
    if (typeof pause.reason !== "string" || pause.reason === "" || !Number.isSafeInteger(pause.pausedAtMs))
      throw new ManifestError("InvalidArgument", "a GC pause needs a reason and pausedAtMs");
    this.#set.run(canonicalJson(pause));
  }

  isNameTagSweeping(nameTag: string): boolean {
    return this.#sweeping.get(nameTag) !== undefined;
  }

  listSweepingNameTags(opts: { afterNameTag?: string; limit?: number } = {}): string[] {
    const limit = opts.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE)
      throw new ManifestError("InvalidArgument", `limit must be an integer in 0..${MAX_PAGE}`);
    return this.#listSweeping.all(opts.afterNameTag ?? "", limit).map((r) => r.name_tag);
  }

  sweepingCount(): number {
    return this.#countSweeping.get()?.n ?? 0;
  }
}
