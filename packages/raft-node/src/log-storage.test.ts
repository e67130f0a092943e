import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "@enigma/raft";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteLogStorage } from "./log-storage.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), "raft-log-"));
  dirs.push(dir);
  return join(dir, "raft-log.db");
}

const entry = (index: number, term = 1): Entry => ({
  index,
  term,
  type: "normal",
  data: Buffer.from(`e${index}`),
});

/** The hard state as stored on disk, read through a second connection. */
function storedHardState(path: string): { term: number; vote: number; commit: number } {
  const db = new Database(path, { readonly: true });
  try {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'hard_state'").get() as { value: string };
    return JSON.parse(row.value) as { term: number; vote: number; commit: number };
  } finally {
    db.close();
  }
}

describe("SqliteLogStorage", () => {
  it("keeps a commit-only update in memory until the next synced write or a clean close", () => {
    const path = tempDb();
    const s = SqliteLogStorage.open(path, 1);
    s.save({ entries: [entry(1), entry(2), entry(3)], hardState: { term: 1, vote: 1, commit: 1 } }, true);
    s.save({ entries: [], hardState: { term: 1, vote: 1, commit: 3 } }, false);
    expect(s.initialState().hardState.commit).toBe(3);
    expect(storedHardState(path).commit).toBe(1);

    // Rides along with the next write that must be durable (here one without a hard state).
    s.save({ entries: [entry(4)] }, true);
    expect(storedHardState(path).commit).toBe(3);

    s.save({ entries: [], hardState: { term: 1, vote: 1, commit: 4 } }, false);
    s.close();
    const again = SqliteLogStorage.open(path, 1);
    expect(again.initialState().hardState).toEqual({ term: 1, vote: 1, commit: 4 });
    expect(again.lastIndex()).toBe(4);
    again.close();
  });

  it("refuses an unsynced write that changes term or vote", () => {
    const s = SqliteLogStorage.open(tempDb(), 1);
    try {
      s.save({ entries: [], hardState: { term: 1, vote: 1, commit: 0 } }, true);
      expect(() => s.save({ entries: [], hardState: { term: 2, vote: 0, commit: 0 } }, false)).toThrow(
        /must be synced/,
      );
      expect(s.initialState().hardState.term).toBe(1);
    } finally {
      s.close();
    }
  });

  it("keeps syncing the same WAL across checkpoints and reopens with every entry", () => {
    const path = tempDb();
    const s = SqliteLogStorage.open(path, 1);
    // ~3 WAL pages per write: well past SQLite's automatic checkpoint (1,000 pages), so the WAL
    // is checkpointed and restarted from its beginning while the storage keeps its descriptor.
    const n = 600;
    for (let i = 1; i <= n; i++) {
      s.save({ entries: [entry(i)], hardState: { term: 1, vote: 1, commit: i - 1 } }, true);
    }
    s.close();
    const again = SqliteLogStorage.open(path, 1);
    expect(again.lastIndex()).toBe(n);
    expect(again.initialState().hardState.commit).toBe(n - 1);
    expect(Buffer.from(again.entries(n, n + 1, 1024)[0]!.data).toString()).toBe(`e${n}`);
    again.close();
  });
});
