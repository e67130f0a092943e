/**
 * The Raft FSM side: applies committed log entries in index order, each command inside its own
 * savepoint, a whole batch inside one transaction (group commit), and records the applied index and
 * term in raft_meta in that same transaction, so a restart never re-applies an entry (§5).
 *
 * Rules, all deterministic (they depend only on the database and the entries):
 * - index <= applied index: already applied, skipped. The result is the stored result of its
 *   requestId if still in the window, else `{ ok: true, alreadyApplied: true }`.
 * - index == applied index + 1: applied. Anything else throws OutOfOrder (the feed is broken).
 * - requestId seen at an index within the last REQUEST_WINDOW_ENTRIES indexes: the stored original
 *   result is returned and nothing is re-applied. Older ids are pruned by index, never by time.
 */
import type Database from "better-sqlite3";
import { canonicalJson } from "../canonical-json.js";
import type { ApplyResult, Command } from "../commands.js";
import { ManifestError } from "../errors.js";
import { CommandProcessor } from "./dispatch.js";
import { Refusal } from "./refusal.js";

/** How many log indexes a requestId stays de-duplicated for. */
export const REQUEST_WINDOW_ENTRIES = 10_000;

/** Raft membership as the raft-node layer defines it; stored as canonical JSON, opaque here. */
export type MembershipConfig = Readonly<Record<string, unknown>>;

interface EntryBase {
  readonly index: number;
  readonly term: number;
}

/** A committed normal entry carrying a command. */
export interface CommandEntry extends EntryBase {
  readonly requestId?: string;
  readonly command: Command;
}

/** A committed configuration-change entry: the membership in force from this index. */
export interface MembershipEntry extends EntryBase {
  readonly membership: MembershipConfig;
}

/** An entry with no payload (a new leader's empty entry): only advances the applied index. */
export type EmptyEntry = EntryBase;

export type ApplyEntry = CommandEntry | MembershipEntry | EmptyEntry;

const OK: ApplyResult = { ok: true };
const ALREADY_APPLIED: ApplyResult = { ok: true, alreadyApplied: true };

export class EntryApplier {
  readonly #processor: CommandProcessor;
  readonly #batch: Database.Transaction<(entries: readonly ApplyEntry[]) => ApplyResult[]>;
  readonly #inSavepoint: Database.Transaction<(cmd: Command, index: number, term: number) => ApplyResult>;
  readonly #getApplied: Database.Statement<[], { applied_index: number; applied_term: number }>;
  readonly #setApplied: Database.Statement<[number, number]>;
  readonly #setMembership: Database.Statement<[string, number]>;
  readonly #findRequest: Database.Statement<[string, number], { result: string }>;
  readonly #findAnyRequest: Database.Statement<[string, number], { result: string }>;
  readonly #saveRequest: Database.Statement<[string, number, string]>;
  readonly #pruneRequests: Database.Statement<[number]>;

  constructor(db: Database.Database) {
    this.#processor = new CommandProcessor(db);
    this.#getApplied = db.prepare("SELECT applied_index, applied_term FROM raft_meta WHERE id = 1");
    this.#setApplied = db.prepare("UPDATE raft_meta SET applied_index = ?, applied_term = ? WHERE id = 1");
    this.#setMembership = db.prepare(
      "UPDATE raft_meta SET membership = ?, membership_index = ? WHERE id = 1",
    );
    this.#findRequest = db.prepare(
      "SELECT result FROM applied_requests WHERE request_id = ? AND applied_index > ?",
    );
    this.#findAnyRequest = db.prepare(
      "SELECT result FROM applied_requests WHERE request_id = ? AND applied_index <= ?",
    );
    this.#saveRequest = db.prepare(
      "INSERT OR REPLACE INTO applied_requests (request_id, applied_index, result) VALUES (?, ?, ?)",
    );
    this.#pruneRequests = db.prepare("DELETE FROM applied_requests WHERE applied_index <= ?");
    // Nested better-sqlite3 transactions are savepoints: a refusal rolls back only its command.
    this.#inSavepoint = db.transaction((cmd: Command, index: number, term: number) =>
      this.#processor.process(cmd, { index, term }),
    );
    this.#batch = db.transaction((entries: readonly ApplyEntry[]) => this.#applyAll(entries));
  }

  applyEntries(entries: readonly ApplyEntry[]): ApplyResult[] {
    if (entries.length === 0) return [];
    return this.#batch.immediate(entries);
  }

  appliedIndex(): { index: number; term: number } {
    const row = this.#getApplied.get();
    if (row === undefined) throw new ManifestError("Corrupt", "manifest database has no raft_meta row");
    return { index: row.applied_index, term: row.applied_term };
  }

  #applyAll(entries: readonly ApplyEntry[]): ApplyResult[] {
    const start = this.appliedIndex();
    let index = start.index;
    let term = start.term;
    const results: ApplyResult[] = [];
    for (const e of entries) {
      if (e.index <= index) {
        results.push(this.#replayed(e));
        continue;
      }
      if (e.index !== index + 1 || e.term < term) {
        throw new ManifestError(
          "OutOfOrder",
          `entry ${e.index} (term ${e.term}) cannot follow applied entry ${index} (term ${term})`,
        );
      }
      results.push(this.#applyOne(e));
      index = e.index;
      term = e.term;
    }
    if (index !== start.index) {
      this.#setApplied.run(index, term);
      this.#pruneRequests.run(index - REQUEST_WINDOW_ENTRIES);
    }
    return results;
  }

  #applyOne(e: ApplyEntry): ApplyResult {
    if ("membership" in e) {
      this.#setMembership.run(canonicalJson(e.membership), e.index);
      return OK;
    }
    if (!("command" in e)) return OK;
    const requestId = e.requestId;
    if (requestId !== undefined) {
      // Explicit window bound, so the answer never depends on when pruning last ran (batching).
      const seen = this.#findRequest.get(requestId, e.index - REQUEST_WINDOW_ENTRIES);
      if (seen !== undefined) return JSON.parse(seen.result) as ApplyResult;
    }
    let result: ApplyResult;
    try {
      result = this.#inSavepoint(e.command, e.index, e.term);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      result = err.result;
    }
    if (requestId !== undefined) this.#saveRequest.run(requestId, e.index, JSON.stringify(result));
    return result;
  }

  #replayed(e: ApplyEntry): ApplyResult {
    if ("command" in e && e.requestId !== undefined) {
      const seen = this.#findAnyRequest.get(e.requestId, e.index);
      if (seen !== undefined) return JSON.parse(seen.result) as ApplyResult;
    }
    return ALREADY_APPLIED;
  }
}
