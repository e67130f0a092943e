/**
 * A tiny SQLite key-value state machine for the driver's tests: commands are UTF-8 JSON
 * `{"k": key, "v": value}`; the applied index lives in the same transaction as each write, like
 * the manifest's. Counts every entry it applies, so tests can prove nothing is applied twice.
 */

import type { Entry, SnapshotMetadata } from "@enigma/raft";
import Database from "better-sqlite3";
import { readSqliteRow, replaceSqliteContents } from "../sqlite-files.js";
import type { StateMachine } from "../state-machine.js";

export class KvStateMachine implements StateMachine {
  readonly path: string;
  readonly #db: Database.Database;
  /** Entries applied by this instance (not counting restores). */
  appliedCount = 0;
  restores = 0;

  constructor(path: string) {
    this.path = path;
    this.#db = new Database(path);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = FULL");
    this.#db.exec(`
      CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), applied_index INTEGER NOT NULL,
        applied_term INTEGER NOT NULL) STRICT;
      INSERT OR IGNORE INTO meta VALUES (1, 0, 0);
    `);
  }

  appliedIndex(): number {
    return this.#db.prepare<[], { i: number }>("SELECT applied_index AS i FROM meta").get()!.i;
  }

  apply(entries: readonly Entry[]): readonly unknown[] {
    const set = this.#db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
    const meta = this.#db.prepare("UPDATE meta SET applied_index = ?, applied_term = ?");
    return this.#db
      .transaction(() => {
        const out: unknown[] = [];
        let at = this.appliedIndex();
        for (const e of entries) {
          if (e.index !== at + 1) throw new Error(`kv: entry ${e.index} after ${at}`);
          at = e.index;
          if (e.type === "normal") {
            const { k, v } = JSON.parse(Buffer.from(e.data).toString("utf8")) as { k: string; v: string };
            set.run(k, v);
            out.push({ ok: true, k });
          } else out.push(undefined);
          meta.run(e.index, e.term);
          this.appliedCount++;
        }
        return out;
      })
      .immediate();
  }

  async snapshot(path: string): Promise<{ index: number; term: number }> {
    await this.#db.backup(path);
    const row = readSqliteRow<{ index: number; term: number }>(
      path,
      "SELECT applied_index AS 'index', applied_term AS term FROM meta",
    );
    return row!;
  }

  restore(path: string, _metadata: SnapshotMetadata): void {
    replaceSqliteContents(this.path, path);
    this.restores++;
  }

  get(k: string): string | undefined {
    return this.#db.prepare<[string], { v: string }>("SELECT v FROM kv WHERE k = ?").get(k)?.v;
  }

  dump(): string {
    return JSON.stringify(this.#db.prepare("SELECT k, v FROM kv ORDER BY k").all());
  }

  close(): void {
    this.#db.close();
  }
}

export function kvCommand(k: string, v: string): Uint8Array {
  return Buffer.from(JSON.stringify({ k, v }));
}
