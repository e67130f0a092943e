import { assert, RaftError } from "./errors.js";
import type { Storage } from "./storage.js";
import type { Entry, Snapshot } from "./types.js";
import { entrySizeBytes } from "./types.js";
import { Unstable } from "./unstable.js";

/** The log as the core sees it: stable storage below, unstable entries above, plus commit/applied. */
export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known committed (Raft §5.3). */
  committed: number;
  /** Highest index the application has applied (acknowledged through `advance`). */
  applied: number;

  constructor(
    readonly storage: Storage,
    private readonly maxCommittedSizePerReadyBytes: number,
  ) {
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** The term of entry i, or undefined if i is compacted (below firstIndex()-1) or beyond the log. */
  term(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (RaftError.is(e, "Compacted") || RaftError.is(e, "Unavailable")) return undefined;
      throw e;
    }
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert(t !== undefined, `no term for last index ${this.lastIndex()}`);
    return t;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * The follower side of AppendEntries (Raft §5.3). If our log matches (prevIndex, prevTerm),
   * appends the entries not already present (truncating a conflicting suffix), advances commit
   * and returns the index of the last new entry and the index from which the log changed (0 when
   * nothing changed). Returns undefined when the log does not match.
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    leaderCommit: number,
    ents: readonly Entry[],
  ): { lastNewIndex: number; changedFrom: number } | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNewIndex = prevIndex + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      assert(ci > this.committed, `entry ${ci} conflicts with committed entry (commit ${this.committed})`);
      this.append(ents.slice(ci - (prevIndex + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return { lastNewIndex, changedFrom: ci };
  }

  /** Appends entries (contiguous, starting at or below lastIndex()+1). Returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    assert(after >= this.committed, `append after ${after} would truncate committed ${this.committed}`);
    assert(after <= this.lastIndex(), `append after ${after} leaves a gap after ${this.lastIndex()}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * The index of the first entry whose term differs from ours or which is beyond our log, or 0 if
   * all are already present.
   */
  private findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast backtracking: the largest index <= `index` whose term is <= `term`, with that term. A
   * follower answers a rejected App with it, and the leader uses it to skip a whole term of
   * mismatching entries per round trip instead of one entry (Raft §5.3, "optimization").
   * Stops at a compacted or absent index with term 0.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  /** Entries [lo, lastIndex], size-limited; undefined if lo is compacted. */
  entriesFrom(lo: number, maxSizeBytes: number): Entry[] | undefined {
    return this.slice(lo, this.lastIndex() + 1, maxSizeBytes);
  }

  /** Entries [lo, hi), at most maxSizeBytes (but at least one); undefined if lo is compacted. */
  slice(lo: number, hi: number, maxSizeBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    assert(hi <= this.lastIndex() + 1, `slice(${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    if (lo >= hi) return [];
    const off = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < off) {
      const storedHi = Math.min(hi, off);
      ents = this.storage.entries(lo, storedHi, maxSizeBytes);
      if (ents.length < storedHi - lo) return ents;
    }
    if (hi > off) {
      const u = this.unstable.slice(Math.max(lo, off), hi);
      ents = ents.length === 0 ? u : ents.concat(u);
    }
    return limitSize(ents, maxSizeBytes);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    assert(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index <= this.applied) return;
    assert(index <= this.committed, `applied ${index} beyond committed ${this.committed}`);
    this.applied = index;
  }

  private nextApplyIndex(): number {
    return Math.max(this.applied + 1, this.firstIndex());
  }

  hasNextCommittedEnts(): boolean {
    return this.committed >= this.nextApplyIndex();
  }

  /** Committed entries not yet applied, size-limited (at least one if there is any). */
  nextCommittedEnts(): Entry[] {
    const lo = this.nextApplyIndex();
    if (lo > this.committed) return [];
    const ents = this.slice(lo, this.committed + 1, this.maxCommittedSizePerReadyBytes);
    assert(ents !== undefined, `committed entries from ${lo} are compacted`);
    return ents;
  }

  /** The snapshot to send a follower that is too far behind: a pending one, or storage's. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log with a snapshot from the leader (Raft §7). */
  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }
}

export function limitSize(ents: Entry[], maxSizeBytes: number): Entry[] {
  let size = 0;
  for (let i = 0; i < ents.length; i++) {
    size += entrySizeBytes(ents[i]!);
    if (i > 0 && size > maxSizeBytes) return ents.slice(0, i);
  }
  return ents;
}
