import { describeEntry } from "../describe.js";
import type { MemoryStorage } from "../memory-storage.js";
import type { Entry, NodeId, Snapshot } from "../types.js";

/** A broken invariant: the simulation stops and reports it with its seed. */
export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
    this.name = "InvariantViolation";
  }
}

function identity(e: Entry): string {
  let s = `${e.type}:`;
  for (const b of e.data) s += String.fromCharCode(b);
  return s;
}

function termIn(storage: MemoryStorage, i: number): number | undefined {
  if (i < storage.firstIndex() - 1 || i > storage.lastIndex()) return undefined;
  return storage.term(i);
}

/**
 * The safety properties of Raft (paper Figure 3), checked as the simulation runs, from what the
 * nodes persist, commit, apply and answer:
 * - Election Safety: at most one leader per term.
 * - Log Matching: an (index, term) names one entry, always preceded by the same (index-1, term).
 * - Leader Completeness: an entry committed in term T is in the log of every leader of a later term.
 * - State Machine Safety: no two nodes apply different entries at one index.
 * - Linearizable reads: a ReadIndex answer is at least the index of every write acknowledged
 *   before the read began.
 */
export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** For each (index:term): the entry's identity and the term of the entry before it. */
  private readonly entries = new Map<string, { id: string; prevTerm: number | undefined }>();
  /** committedTerm[i]: the term of the entry committed at i; committedAt[i]: a term it was known committed by. */
  private readonly committedTerm: number[] = [];
  private readonly committedAt: number[] = [];
  private readonly applied: string[] = [];
  private maxCommitted = 0;
  /** Current leaders and their terms (for Leader Completeness as new commits appear). */
  private readonly leaders = new Map<NodeId, { term: number; storage: MemoryStorage }>();
  checks = 0;

  onLeader(id: NodeId, term: number, storage: MemoryStorage): void {
    this.checks++;
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) {
      throw new InvariantViolation("election safety", `nodes ${prev} and ${id} both leader in term ${term}`);
    }
    this.leaderOfTerm.set(term, id);
    this.leaders.set(id, { term, storage });
    const first = storage.firstIndex();
    for (let i = this.maxCommitted; i >= first; i--) this.checkLeaderHas(id, term, storage, i);
  }

  /** Only a leader sends App, Heartbeat and Snap: each is evidence of leadership in its term. */
  onLeaderMessage(id: NodeId, term: number): void {
    const prev = this.leaderOfTerm.get(term);
    if (prev === undefined) this.leaderOfTerm.set(term, id);
    else if (prev !== id) {
      throw new InvariantViolation(
        "election safety",
        `nodes ${prev} and ${id} both acted as leader in term ${term}`,
      );
    }
  }

  onNotLeader(id: NodeId): void {
    this.leaders.delete(id);
  }

  private checkLeaderHas(id: NodeId, term: number, storage: MemoryStorage, i: number): void {
    const ct = this.committedTerm[i];
    if (ct === undefined || this.committedAt[i]! >= term) return;
    if (i < storage.firstIndex()) return;
    const t = termIn(storage, i);
    if (t !== ct) {
      throw new InvariantViolation(
        "leader completeness",
        `leader ${id} of term ${term} has term ${t} at index ${i}, where term ${ct} was committed`,
      );
    }
  }

  /** `entries` are about to be appended to `storage` (node `id`'s disk). */
  onPersist(id: NodeId, storage: MemoryStorage, entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.checks++;
    let prevTerm = termIn(storage, entries[0]!.index - 1);
    for (const e of entries) {
      const key = `${e.index}:${e.term}`;
      const ident = identity(e);
      const known = this.entries.get(key);
      if (known === undefined) {
        this.entries.set(key, { id: ident, prevTerm });
      } else {
        if (known.id !== ident) {
          throw new InvariantViolation(
            "log matching",
            `node ${id}: two different entries at ${key}: ${describeEntry(e)}`,
          );
        }
        if (known.prevTerm !== undefined && prevTerm !== undefined && known.prevTerm !== prevTerm) {
          throw new InvariantViolation(
            "log matching",
            `node ${id}: entry ${key} follows term ${prevTerm}, elsewhere term ${known.prevTerm}`,
          );
        }
      }
      prevTerm = e.term;
    }
  }

  /** Node `id` (now at `term`) has persisted commit index `commit`; `from` is the last checked. */
  onCommit(id: NodeId, term: number, storage: MemoryStorage, from: number, commit: number): void {
    this.checks++;
    for (let i = Math.max(from + 1, storage.firstIndex()); i <= commit; i++) {
      const t = termIn(storage, i);
      if (t === undefined)
        throw new InvariantViolation("commit", `node ${id} committed ${i} but does not hold it`);
      const ct = this.committedTerm[i];
      if (ct === undefined) {
        this.committedTerm[i] = t;
        this.committedAt[i] = term;
        if (i > this.maxCommitted) this.maxCommitted = i;
        for (const [lid, l] of this.leaders) this.checkLeaderHas(lid, l.term, l.storage, i);
      } else if (ct !== t) {
        throw new InvariantViolation(
          "state machine safety",
          `node ${id} committed term ${t} at index ${i}, another node committed term ${ct}`,
        );
      }
    }
  }

  onApply(id: NodeId, e: Entry): void {
    this.checks++;
    const ident = `${e.term}|${identity(e)}`;
    const known = this.applied[e.index];
    if (known === undefined) this.applied[e.index] = ident;
    else if (known !== ident) {
      throw new InvariantViolation(
        "state machine safety",
        `node ${id} applied ${describeEntry(e)} at index ${e.index}, another node applied a different entry`,
      );
    }
  }

  onSnapshot(id: NodeId, snap: Snapshot): void {
    this.checks++;
    const { index, term } = snap.metadata;
    const ct = this.committedTerm[index];
    if (ct !== undefined && ct !== term) {
      throw new InvariantViolation(
        "state machine safety",
        `node ${id} installed snapshot ${index}/${term}, committed term ${ct}`,
      );
    }
  }

  onRead(id: NodeId, ctx: string, readIndex: number, mustCover: number): void {
    this.checks++;
    if (readIndex < mustCover) {
      throw new InvariantViolation(
        "linearizable read",
        `node ${id} read ${ctx} at index ${readIndex}, but a write at index ${mustCover} was acknowledged before it began`,
      );
    }
  }
}
