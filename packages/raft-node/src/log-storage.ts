/**
 * The durable Raft log, hard state and snapshot record of one node, in its own SQLite database
 * (better-sqlite3, WAL, `synchronous=FULL`). The core reads it through the `Storage` interface;
 * the driver writes each `Ready` through `save`, in one transaction (group commit), fsynced before
 * any message that depends on it is sent (Raft §5.1).
 *
 * Reads are served from memory where it is cheap: every term of the log (one number per entry)
 * and a bounded tail of recent entries, which is what the leader replicates from.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ConfState, Entry, EntryType, HardState, NodeId, Snapshot, Storage } from "@enigma/raft";
import { entrySizeBytes, RaftError } from "@enigma/raft";
import Database from "better-sqlite3";
import { RaftNodeError } from "./errors.js";

/** Recent entries kept in memory for replication (by `entrySizeBytes`). */
export const DEFAULT_TAIL_CACHE_BYTES = 32 * 1024 * 1024;

const SCHEMA_VERSION = 1;
const TYPE_CODES: Record<EntryType, number> = { normal: 0, confChange: 1, noop: 2 };
const TYPES: readonly EntryType[] = ["normal", "confChange", "noop"];
const EMPTY = new Uint8Array(0);
const EMPTY_CONF: ConfState = { voters: [], learners: [] };

/** What one `Ready` asks to persist. */
export interface LogWrite {
  readonly hardState?: HardState | undefined;
  readonly entries: readonly Entry[];
  readonly snapshot?: Snapshot | undefined;
}

interface EntryRow {
  readonly idx: number;
  readonly term: number;
  readonly type: number;
  readonly data: Buffer;
}

export class SqliteLogStorage implements Storage {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #tailCacheBytes: number;
  #hardState: HardState = { term: 0, vote: 0, commit: 0 };
  #snap: Snapshot = { metadata: { index: 0, term: 0, confState: EMPTY_CONF }, data: EMPTY };
  /** terms[i - snapIndex] is the term of entry i, for snapIndex <= i <= lastIndex. */
  #terms: number[] = [0];
  #tail: Entry[] = [];
  #tailBytes = 0;
  #sync: "FULL" | "NORMAL" = "FULL";
  #closed = false;

  readonly #select: Database.Statement<[number, number], EntryRow>;
  readonly #insert: Database.Statement<[number, number, number, Uint8Array]>;
  readonly #deleteFrom: Database.Statement<[number]>;
  readonly #deleteUpTo: Database.Statement<[number]>;
  readonly #deleteAll: Database.Statement<[]>;
  readonly #getMeta: Database.Statement<[string], { value: string }>;
  readonly #setMeta: Database.Statement<[string, string]>;

  private constructor(path: string, db: Database.Database, tailCacheBytes: number) {
    this.path = path;
    this.#db = db;
    this.#tailCacheBytes = tailCacheBytes;
    this.#select = db.prepare(
      "SELECT idx, term, type, data FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
    );
    this.#insert = db.prepare("INSERT INTO entries (idx, term, type, data) VALUES (?, ?, ?, ?)");
    this.#deleteFrom = db.prepare("DELETE FROM entries WHERE idx >= ?");
    this.#deleteUpTo = db.prepare("DELETE FROM entries WHERE idx <= ?");
    this.#deleteAll = db.prepare("DELETE FROM entries");
    this.#getMeta = db.prepare("SELECT value FROM meta WHERE key = ?");
    this.#setMeta = db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    this.#load();
  }

  /**
   * Opens (creating if needed) the log database. `nodeId` is recorded on first open; a database
   * written by another node id is refused (a data directory copied to the wrong node).
   */
  static open(path: string, nodeId: NodeId, opts: { tailCacheBytes?: number } = {}): SqliteLogStorage {
    mkdirSync(dirname(path), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(path);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.exec(`
        CREATE TABLE IF NOT EXISTS entries (
          idx INTEGER NOT NULL PRIMARY KEY, term INTEGER NOT NULL, type INTEGER NOT NULL, data BLOB NOT NULL
        ) STRICT;
        CREATE TABLE IF NOT EXISTS meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) STRICT;
      `);
    } catch (err) {
      throw new RaftNodeError("Storage", `cannot open raft log ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version === 0) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    else if (version > SCHEMA_VERSION) {
      db.close();
      throw new RaftNodeError(
        "Storage",
        `raft log ${path} has schema ${version}; this build knows ${SCHEMA_VERSION}`,
      );
    }
    const s = new SqliteLogStorage(path, db, opts.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES);
    const recorded = s.getMeta("node_id");
    if (recorded === undefined) s.setMeta("node_id", String(nodeId));
    else if (Number(recorded) !== nodeId) {
      s.close();
      throw new RaftNodeError(
        "InvalidArgument",
        `raft log ${path} belongs to node ${recorded}, not ${nodeId}: wrong data directory?`,
      );
    }
    return s;
  }

  #load(): void {
    const hs = this.getMeta("hard_state");
    if (hs !== undefined) this.#hardState = JSON.parse(hs) as HardState;
    const snap = this.getMeta("snapshot");
    if (snap !== undefined) {
      const j = JSON.parse(snap) as { index: number; term: number; confState: ConfState; data: string };
      this.#snap = {
        metadata: { index: j.index, term: j.term, confState: j.confState },
        data: Buffer.from(j.data, "base64"),
      };
    }
    const snapIndex = this.#snap.metadata.index;
    this.#terms = [this.#snap.metadata.term];
    const rows = this.#db
      .prepare<[number], { idx: number; term: number }>(
        "SELECT idx, term FROM entries WHERE idx > ? ORDER BY idx",
      )
      .all(snapIndex);
    for (const r of rows) {
      if (r.idx !== snapIndex + this.#terms.length) {
        throw new RaftNodeError("Storage", `raft log ${this.path}: gap before entry ${r.idx}`);
      }
      this.#terms.push(r.term);
    }
    // Entries at or below the snapshot are leftovers of an interrupted compaction: harmless.
  }

  // ---- Storage (read by the core) ----

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.#hardState, confState: this.#snap.metadata.confState };
  }

  firstIndex(): number {
    return this.#snap.metadata.index + 1;
  }

  lastIndex(): number {
    return this.#snap.metadata.index + this.#terms.length - 1;
  }

  term(i: number): number {
    const off = this.#snap.metadata.index;
    if (i < off) throw new RaftError("Compacted", `term(${i}): compacted through ${off}`);
    if (i > this.lastIndex()) throw new RaftError("Unavailable", `term(${i}): beyond ${this.lastIndex()}`);
    return this.#terms[i - off]!;
  }

  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    if (lo <= this.#snap.metadata.index) {
      throw new RaftError("Compacted", `entries(${lo}): compacted through ${this.#snap.metadata.index}`);
    }
    if (hi > this.lastIndex() + 1) {
      throw new RaftError("Unavailable", `entries(${lo}, ${hi}): beyond ${this.lastIndex()}`);
    }
    const out: Entry[] = [];
    let size = 0;
    const tailFirst = this.lastIndex() - this.#tail.length + 1;
    if (lo >= tailFirst) {
      for (let i = lo; i < hi; i++) {
        const e = this.#tail[i - tailFirst]!;
        size += entrySizeBytes(e);
        if (out.length > 0 && size > maxSizeBytes) break;
        out.push(e);
      }
      return out;
    }
    for (const r of this.#select.iterate(lo, hi)) {
      const e = rowToEntry(r);
      size += entrySizeBytes(e);
      if (out.length > 0 && size > maxSizeBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.#snap;
  }

  // ---- writes (the driver's) ----

  /**
   * Persists one `Ready` in one transaction: the snapshot (replacing the log), then the entries
   * (discarding any stored entries at or after the first), then the hard state. `sync` = fsync
   * before returning (term, vote or entries changed); otherwise only the commit index moved,
   * which is re-derived after a crash, so the write may skip the fsync.
   */
  save(w: LogWrite, sync: boolean): void {
    const want = sync || w.snapshot !== undefined ? "FULL" : "NORMAL";
    if (want !== this.#sync) {
      this.#db.pragma(`synchronous = ${want}`);
      this.#sync = want;
    }
    const first = w.entries[0]?.index;
    if (w.snapshot === undefined && first !== undefined) {
      if (first > this.lastIndex() + 1 || first <= this.#snap.metadata.index) {
        throw new Error(
          `raft log invariant: append at ${first} with snapshot ${this.#snap.metadata.index} last ${this.lastIndex()}`,
        );
      }
    }
    this.#run(() => {
      if (w.snapshot !== undefined) {
        this.#deleteAll.run();
        this.#writeSnapshotMeta(w.snapshot);
      }
      if (first !== undefined) {
        this.#deleteFrom.run(first);
        for (const e of w.entries) this.#insert.run(e.index, e.term, TYPE_CODES[e.type], e.data);
      }
      if (w.hardState !== undefined) this.setMeta("hard_state", JSON.stringify(w.hardState));
    });
    if (w.snapshot !== undefined) {
      this.#snap = w.snapshot;
      this.#terms = [w.snapshot.metadata.term];
      this.#tail = [];
      this.#tailBytes = 0;
    }
    if (first !== undefined) this.#appendInMemory(w.entries);
    if (w.hardState !== undefined) this.#hardState = w.hardState;
  }

  /**
   * Records a snapshot the state machine took at `metadata.index` (applied, hence committed and
   * stored) and discards the entries it covers (Raft §7). Returns false, changing nothing, when a
   * snapshot at or past that index is already recorded.
   */
  compact(snapshot: Snapshot): boolean {
    const { index } = snapshot.metadata;
    if (index <= this.#snap.metadata.index) return false;
    if (index > this.lastIndex())
      throw new Error(`raft log invariant: compact(${index}) beyond ${this.lastIndex()}`);
    if (this.term(index) !== snapshot.metadata.term) {
      throw new Error(
        `raft log invariant: snapshot term ${snapshot.metadata.term} != entry term at ${index}`,
      );
    }
    if (this.#sync !== "FULL") {
      this.#db.pragma("synchronous = FULL");
      this.#sync = "FULL";
    }
    this.#run(() => {
      this.#deleteUpTo.run(index);
      this.#writeSnapshotMeta(snapshot);
    });
    const drop = index - this.#snap.metadata.index;
    this.#terms = this.#terms.slice(drop);
    this.#snap = snapshot;
    const tailFirst = this.lastIndex() - this.#tail.length + 1;
    if (index >= tailFirst) {
      const cut = index - tailFirst + 1;
      for (const e of this.#tail.slice(0, cut)) this.#tailBytes -= entrySizeBytes(e);
      this.#tail = this.#tail.slice(cut);
    }
    return true;
  }

  /**
   * Startup repair: the commit index is written without fsync (see `save`), so after a crash it
   * may lag what the state machine durably applied. Applied entries were committed; raise it.
   */
  raiseCommit(applied: number): void {
    if (applied <= this.#hardState.commit) return;
    if (applied > this.lastIndex()) {
      throw new RaftNodeError(
        "Storage",
        `state machine applied index ${applied} is beyond the raft log (last ${this.lastIndex()}): ` +
          "the manifest and the raft log do not belong together",
      );
    }
    this.save({ hardState: { ...this.#hardState, commit: applied }, entries: [] }, true);
  }

  getMeta(key: string): string | undefined {
    return this.#getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.#setMeta.run(key, value);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #writeSnapshotMeta(s: Snapshot): void {
    const m = s.metadata;
    this.setMeta(
      "snapshot",
      JSON.stringify({
        index: m.index,
        term: m.term,
        confState: m.confState,
        data: Buffer.from(s.data).toString("base64"),
      }),
    );
  }

  #appendInMemory(ents: readonly Entry[]): void {
    const first = ents[0]!.index;
    const off = this.#snap.metadata.index;
    // Truncate the conflicting suffix (terms and the cached tail), then append.
    const oldLast = this.lastIndex();
    this.#terms.length = first - off;
    const tailFirst = oldLast - this.#tail.length + 1;
    if (first <= oldLast) {
      const keep = Math.max(0, first - tailFirst);
      for (const e of this.#tail.slice(keep)) this.#tailBytes -= entrySizeBytes(e);
      this.#tail.length = keep;
    }
    for (const e of ents) {
      this.#terms.push(e.term);
      this.#tail.push(e);
      this.#tailBytes += entrySizeBytes(e);
    }
    // If the tail no longer ends at lastIndex (it was emptied above), it starts right after the cut.
    while (this.#tailBytes > this.#tailCacheBytes && this.#tail.length > 1) {
      this.#tailBytes -= entrySizeBytes(this.#tail.shift()!);
    }
  }

  #run(fn: () => void): void {
    try {
      this.#db.transaction(fn).immediate();
    } catch (err) {
      throw new RaftNodeError("Storage", `raft log ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

function rowToEntry(r: EntryRow): Entry {
  const type = TYPES[r.type];
  if (type === undefined) throw new Error(`raft log invariant: unknown entry type ${r.type} at ${r.idx}`);
  return { index: r.idx, term: r.term, type, data: r.data };
}
