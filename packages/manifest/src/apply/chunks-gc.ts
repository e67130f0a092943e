/** GC phases 1 and 3 (ARCHITECTURE §3.7) and data keys. */
import type Database from "better-sqlite3";
import type { ApplyResult, Command } from "../commands.js";
import { type ApplyContext, refuse } from "./refusal.js";

type Mark = Extract<Command, { type: "MarkChunksDeleting" }>;
type Forget = Extract<Command, { type: "ForgetChunks" }>;
type AddDataKey = Extract<Command, { type: "AddDataKey" }>;

/**
 * Forget tombstones are kept for this many log indexes. A writer whose observation (`seenIndex`)
 * is older than the pruned horizon can no longer be told apart from one that raced GC, so its
 * fresh uploads of absent chunks are refused (it retries with a new observation): rare, and safe.
 */
export const TOMBSTONE_WINDOW_ENTRIES = 1_000_000;

export class ChunkGcCommands {
  readonly #mark: Database.Statement<[string, number]>;
  readonly #forget: Database.Statement<[string]>;
  readonly #tombstone: Database.Statement<[string, number]>;
  readonly #prunable: Database.Statement<[number], { max: number | null }>;
  readonly #prune: Database.Statement<[number]>;
  readonly #raiseHorizon: Database.Statement<[number]>;
  readonly #keyExists: Database.Statement<[number], { one: number }>;
  readonly #insertKey: Database.Statement<[number, string, number, number]>;

  constructor(db: Database.Database) {
    this.#mark = db.prepare(
      `UPDATE chunks SET state = 'deleting'
       WHERE hash = ? AND state = 'live' AND refcount = 0 AND zero_since_ms <= ?`,
    );
    this.#forget = db.prepare("DELETE FROM chunks WHERE hash = ? AND state = 'deleting'");
    this.#tombstone = db.prepare(
      `INSERT INTO chunk_tombstones (hash, forgotten_index) VALUES (?, ?)
       ON CONFLICT (hash) DO UPDATE SET forgotten_index = excluded.forgotten_index`,
    );
    this.#prunable = db.prepare(
      "SELECT max(forgotten_index) AS max FROM chunk_tombstones WHERE forgotten_index <= ?",
    );
    this.#prune = db.prepare("DELETE FROM chunk_tombstones WHERE forgotten_index <= ?");
    this.#raiseHorizon = db.prepare(
      "UPDATE gc_meta SET tombstone_horizon_index = max(tombstone_horizon_index, ?) WHERE id = 1",
    );
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

  /**
   * Forgets chunks in 'deleting' state (their blobs are gone); others are left alone. Each
   * forgotten chunk leaves a tombstone at this log index: a later command that relies on an
   * upload or a dedup check made before this index is refused (chunk-refs.ts `acquire`).
   */
  forget(cmd: Forget, ctx: ApplyContext): ApplyResult {
    const hashes: string[] = [];
    for (const hash of new Set(cmd.hashes)) {
      if (this.#forget.run(hash).changes > 0) {
        this.#tombstone.run(hash, ctx.index);
        hashes.push(hash);
      }
    }
    const cutoff = ctx.index - TOMBSTONE_WINDOW_ENTRIES;
    const pruned = cutoff > 0 ? this.#prunable.get(cutoff)?.max : null;
    if (pruned !== null && pruned !== undefined) {
      this.#raiseHorizon.run(pruned);
      this.#prune.run(cutoff);
    }
    return { ok: true, hashes };
  }

  addDataKey(cmd: AddDataKey, ctx: ApplyContext): ApplyResult {
    if (this.#keyExists.get(cmd.keyId) !== undefined) refuse("KeyExists", `data key ${cmd.keyId} exists`);
    this.#insertKey.run(cmd.keyId, cmd.wrappedHex, cmd.createdAtMs, ctx.index);
    return { ok: true };
  }
}
