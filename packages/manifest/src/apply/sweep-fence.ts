/**
 * The sweep fence (DESIGN.md "Sweep against writers") and the replicated GC pause.
 *
 * The sweep deletes backend objects no chunk row owns. A writer may upload the very same object
 * (same content → same name tag → same key) between the sweep's listing and its delete, and then
 * commit a reference to it. So the sweep fences the name tags first (MarkSweeping), deletes, then
 * clears them (ClearSweeping, which leaves a tombstone at its index); `ChunkRefs.acquire` refuses
 * a reference to a fenced tag, and an upload observed before a tag's tombstone.
 */
import type Database from "better-sqlite3";
import { canonicalJson } from "../canonical-json.js";
import type { ApplyResult, Command } from "../commands.js";
import { TOMBSTONE_WINDOW_ENTRIES } from "./chunks-gc.js";
import { type ApplyContext, refuse } from "./refusal.js";

type MarkSweeping = Extract<Command, { type: "MarkSweeping" }>;
type ClearSweeping = Extract<Command, { type: "ClearSweeping" }>;
type ResumeGc = Extract<Command, { type: "ResumeGc" }>;

export class SweepFence {
  readonly #known: Database.Statement<[string], { one: number }>;
  readonly #state: Database.Statement<[string], { state: "sweeping" | "swept" }>;
  readonly #mark: Database.Statement<[string, number]>;
  readonly #clear: Database.Statement<[number, string]>;
  readonly #prunable: Database.Statement<[number], { max: number | null }>;
  readonly #prune: Database.Statement<[number]>;
  readonly #raiseHorizon: Database.Statement<[number]>;
  readonly #pause: Database.Statement<[], { gc_pause: string | null }>;
  readonly #resume: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.#known = db.prepare("SELECT 1 AS one FROM chunks WHERE name_tag = ? LIMIT 1");
    this.#state = db.prepare("SELECT state FROM swept_name_tags WHERE name_tag = ?");
    this.#mark = db.prepare(
      `INSERT INTO swept_name_tags (name_tag, state, marked_index, cleared_index)
       VALUES (?, 'sweeping', ?, NULL)
       ON CONFLICT (name_tag) DO UPDATE SET state = 'sweeping', marked_index = excluded.marked_index,
         cleared_index = NULL
       WHERE state = 'swept'`,
    );
    this.#clear = db.prepare(
      "UPDATE swept_name_tags SET state = 'swept', cleared_index = ? WHERE name_tag = ? AND state = 'sweeping'",
    );
    this.#prunable = db.prepare(
      "SELECT max(cleared_index) AS max FROM swept_name_tags WHERE state = 'swept' AND cleared_index <= ?",
    );
    this.#prune = db.prepare("DELETE FROM swept_name_tags WHERE state = 'swept' AND cleared_index <= ?");
    this.#raiseHorizon = db.prepare(
      "UPDATE gc_meta SET tombstone_horizon_index = max(tombstone_horizon_index, ?) WHERE id = 1",
    );
    this.#pause = db.prepare("SELECT gc_pause FROM gc_meta WHERE id = 1");
    this.#resume = db.prepare("UPDATE gc_meta SET gc_pause = NULL, gc_pause_confirmed = ? WHERE id = 1");
  }

  /** Refuses GC's deleting phases while the manifest carries a restore's pause. */
  assertNotPaused(what: string): void {
    const p = this.#pause.get()?.gc_pause ?? null;
    if (p !== null) {
      refuse(
        "GcPaused",
        `${what} refused: GC is paused after a snapshot restore (${p}); confirm with "enigma snapshot confirm-gc"`,
      );
    }
  }

  /**
   * Fences the listed name tags that no chunk row owns (a tag already fenced stays fenced, with its
   * first mark). Owned tags are skipped: their objects are live data or GC's own business. The
   * result is the fence: the sweep deletes only these.
   */
  mark(cmd: MarkSweeping, ctx: ApplyContext): ApplyResult {
    this.assertNotPaused("MarkSweeping");
    const nameTags: string[] = [];
    for (const tag of new Set(cmd.nameTags)) {
      if (this.#known.get(tag) !== undefined) continue;
      this.#mark.run(tag, ctx.index);
      // Inserted, re-fenced after a clear, or already sweeping (a crashed run's fence): fenced.
      nameTags.push(tag);
    }
    return { ok: true, nameTags };
  }

  /** Clears fenced tags (their objects are deleted); each leaves a tombstone at this index. */
  clear(cmd: ClearSweeping, ctx: ApplyContext): ApplyResult {
    const nameTags: string[] = [];
    for (const tag of new Set(cmd.nameTags)) {
      if (this.#clear.run(ctx.index, tag).changes > 0) nameTags.push(tag);
    }
    const cutoff = ctx.index - TOMBSTONE_WINDOW_ENTRIES;
    const pruned = cutoff > 0 ? this.#prunable.get(cutoff)?.max : null;
    if (pruned !== null && pruned !== undefined) {
      this.#raiseHorizon.run(pruned);
      this.#prune.run(cutoff);
    }
    return { ok: true, nameTags };
  }

  /** Lifts the replicated pause; records who confirmed, when, and what was paused. */
  resume(cmd: ResumeGc, ctx: ApplyContext): ApplyResult {
    const p = this.#pause.get()?.gc_pause ?? null;
    if (p === null) return { ok: true, resumed: false };
    this.#resume.run(
      canonicalJson({ atMs: cmd.atMs, by: cmd.by, index: ctx.index, pause: JSON.parse(p) as unknown }),
    );
    return { ok: true, resumed: true };
  }

  /** For acquire: is this name tag fenced by a sweep in progress? */
  isSweeping(nameTag: string): boolean {
    return this.#state.get(nameTag)?.state === "sweeping";
  }
}
