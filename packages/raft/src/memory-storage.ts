import { bootstrapState } from "./bootstrap.js";
import { assert, RaftError } from "./errors.js";
import type { Storage } from "./storage.js";
import type { ConfState, Entry, HardState, Snapshot } from "./types.js";
import { EMPTY_BYTES, EMPTY_CONF_STATE, entrySizeBytes } from "./types.js";

/**
 * An in-memory `Storage` for tests and the simulator; in the simulator it plays the disk, so it
 * survives a simulated crash while the `RawNode` above it does not.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot = {
    metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
    data: EMPTY_BYTES,
  };
  /** ents[0] is a dummy entry standing for the snapshot (its index and term). */
  private ents: Entry[] = [{ term: 0, index: 0, type: "noop", data: EMPTY_BYTES }];

  /** A storage holding the bootstrap entry of a fresh cluster (see `bootstrapState`). */
  static bootstrap(confState: ConfState): MemoryStorage {
    const s = new MemoryStorage();
    const { entries, hardState } = bootstrapState(confState);
    s.append(entries);
    s.setHardState(hardState);
    return s;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  private get offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.ents.length - 1;
  }

  term(i: number): number {
    if (i < this.offset) throw new RaftError("Compacted", `term(${i}): compacted below ${this.offset}`);
    if (i > this.lastIndex())
      throw new RaftError("Unavailable", `term(${i}): beyond last index ${this.lastIndex()}`);
    return this.ents[i - this.offset]!.term;
  }

  entries(lo: number, hi: number, maxSizeBytes: number): Entry[] {
    if (lo <= this.offset)
      throw new RaftError("Compacted", `entries(${lo}): compacted through ${this.offset}`);
    if (hi > this.lastIndex() + 1) {
      throw new RaftError("Unavailable", `entries(${lo}, ${hi}): beyond last index ${this.lastIndex()}`);
    }
    const out: Entry[] = [];
    let size = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.ents[i - this.offset]!;
      size += entrySizeBytes(e);
      if (out.length > 0 && size > maxSizeBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /**
   * Appends entries, first discarding any stored entries at or after `entries[0].index` (they
   * conflict with the leader's log). Entries at or below the snapshot are ignored. Asserts that
   * the entries are contiguous with the log.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    const last = first + entries.length - 1;
    if (last <= this.offset) return;
    const fresh = first <= this.offset ? entries.slice(this.offset + 1 - first) : entries;
    const start = fresh[0]!.index;
    assert(start <= this.lastIndex() + 1, `append: gap between ${this.lastIndex()} and ${start}`);
    this.ents.length = start - this.offset;
    for (const e of fresh) this.ents.push(e);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) {
      throw new RaftError(
        "SnapshotOutOfDate",
        `snapshot at ${snap.metadata.index} is not newer than ${this.snap.metadata.index}`,
      );
    }
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: "noop", data: EMPTY_BYTES }];
  }

  /**
   * Records a snapshot the application took at `index` (which it has applied). Does not discard
   * entries; call `compact` for that. Throws `SnapshotOutOfDate` if not newer than the current one.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new RaftError(
        "SnapshotOutOfDate",
        `snapshot at ${index} is not newer than ${this.snap.metadata.index}`,
      );
    }
    assert(index <= this.lastIndex(), `createSnapshot(${index}) beyond last index ${this.lastIndex()}`);
    this.snap = { metadata: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /**
   * Discards entries up to and including `compactIndex`, which must be covered by a snapshot the
   * application can still serve. Throws `Compacted` if already compacted that far.
   */
  compact(compactIndex: number): void {
    if (compactIndex <= this.offset)
      throw new RaftError("Compacted", `compact(${compactIndex}): already compacted`);
    assert(
      compactIndex <= this.lastIndex(),
      `compact(${compactIndex}) beyond last index ${this.lastIndex()}`,
    );
    // Compacting past the snapshot would leave a gap no snapshot or entry can fill for a follower.
    assert(
      compactIndex <= this.snap.metadata.index,
      `compact(${compactIndex}) beyond snapshot ${this.snap.metadata.index}`,
    );
    const t = this.term(compactIndex);
    const rest = this.ents.slice(compactIndex - this.offset + 1);
    this.ents = [{ term: t, index: compactIndex, type: "noop", data: EMPTY_BYTES }, ...rest];
  }
}
