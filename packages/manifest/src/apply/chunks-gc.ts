/** GC phases 1 and 3 (ARCHITECTURE §3.7) and data keys. */
import type Database from "better-sqlite3";
import type { ApplyResult, Command } from "../commands.js";
import { type ApplyContext, refuse } from "./refusal.js";

type Mark = Extract<Command, { type: "MarkChunksDeleting" }>;
type Forget = Extract<Command, { type: "ForgetChunks" }>;
type AddDataKey = Extract<Command, { type: "AddDataKey" }>;

export class ChunkGcCommands {
  readonly #mark: Database.Statement<[string, number]>;
  readonly #forget: Database.Statement<[string]>;
  readonly #keyExists: Database.Statement<[number], { one: number }>;
  readonly #insertKey: Database.Statement<[number, string, number, number]>;

  constructor(db: Database.Database) {
    this.#mark = db.prepare(
      `UPDATE chunks SET state = 'deleting'
       WHERE hash = ? AND state = 'live' AND refcount = 0 AND zero_since_ms <= ?`,
    );
    this.#forget = db.prepare("DELETE FROM chunks WHERE hash = ? AND state = 'deleting'");
    this.#keyExists = db.prepare("SELECT 1 AS one FROM data_keys WHERE key_id = ?");
    this.#insertKey = db.prepare(
      "INSERT INTO data_keys (key_id, wrapped_hex, created_ms, added_index) VALUES (?, ?, ?, ?)",
    );
  }

  /**
   * Marks the listed chunks that are still garbage at apply time (refcount 0, live, zero since at
   * least graceMs before nowMs). A chunk revived between the GC's listing and this command is
   * skipped, which is the fence: only hashes in the result may be deleted from the backends.
   */
  mark(cmd: Mark): ApplyResult {
    const cutoffMs = cmd.nowMs - cmd.graceMs;
    const hashes: string[] = [];
    for (const hash of new Set(cmd.hashes)) {
      if (this.#mark.run(hash, cutoffMs).changes > 0) hashes.push(hash);
    }
    return { ok: true, hashes };
  }

  /** Forgets chunks in 'deleting' state (their blobs are gone); others are left alone. */
  forget(cmd: Forget): ApplyResult {
    const hashes: string[] = [];
    for (const hash of new Set(cmd.hashes)) {
      if (this.#forget.run(hash).changes > 0) hashes.push(hash);
    }
    return { ok: true, hashes };
  }

  addDataKey(cmd: AddDataKey, ctx: ApplyContext): ApplyResult {
    if (this.#keyExists.get(cmd.keyId) !== undefined) refuse("KeyExists", `data key ${cmd.keyId} exists`);
    this.#insertKey.run(cmd.keyId, cmd.wrappedHex, cmd.createdAtMs, ctx.index);
    return { ok: true };
  }
}
