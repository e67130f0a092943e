import { describe, expect, it } from "vitest";
import { RaftError } from "./errors.js";
import { MemoryStorage } from "./memory-storage.js";
import type { Entry } from "./types.js";

const e = (index: number, term: number, data = ""): Entry => ({
  index,
  term,
  type: "normal",
  data: new TextEncoder().encode(data),
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof RaftError) return err.code;
    throw err;
  }
  return undefined;
}

describe("MemoryStorage", () => {
  it("starts empty: first 1, last 0, term(0) = 0", () => {
    const s = new MemoryStorage();
    expect(s.firstIndex()).toBe(1);
    expect(s.lastIndex()).toBe(0);
    expect(s.term(0)).toBe(0);
    expect(s.initialState().hardState).toEqual({ term: 0, vote: 0, commit: 0 });
  });

  it("appends, truncates a conflicting suffix, and refuses gaps", () => {
    const s = new MemoryStorage();
    s.append([e(1, 1), e(2, 1), e(3, 1)]);
    s.append([e(2, 2)]);
    expect(s.lastIndex()).toBe(2);
    expect(s.term(2)).toBe(2);
    expect(() => s.append([e(5, 2)])).toThrow(/gap/);
  });

  it("returns entries with a size limit, but always at least one", () => {
    const s = new MemoryStorage();
    s.append([e(1, 1, "aaaa"), e(2, 1, "bbbb"), e(3, 1, "cccc")]);
    expect(s.entries(1, 4, 1).map((x) => x.index)).toEqual([1]);
    expect(s.entries(1, 4, 2 * (4 + 16)).map((x) => x.index)).toEqual([1, 2]);
    expect(s.entries(1, 4, Number.MAX_SAFE_INTEGER).map((x) => x.index)).toEqual([1, 2, 3]);
    expect(code(() => s.entries(1, 5, 100))).toBe("Unavailable");
  });

  it("snapshots and compacts; compacted reads fail with Compacted", () => {
    const s = new MemoryStorage();
    s.append([e(1, 1), e(2, 1), e(3, 2), e(4, 2)]);
    s.createSnapshot(3, { voters: [1], learners: [] }, new Uint8Array([7]));
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(2);
    expect(code(() => s.term(2))).toBe("Compacted");
    expect(code(() => s.entries(3, 5, 100))).toBe("Compacted");
    expect(code(() => s.term(5))).toBe("Unavailable");
    expect(code(() => s.compact(3))).toBe("Compacted");
    expect(code(() => s.createSnapshot(2, { voters: [1], learners: [] }, new Uint8Array()))).toBe(
      "SnapshotOutOfDate",
    );
    expect(s.initialState().confState).toEqual({ voters: [1], learners: [] });
  });

  it("never compacts past its snapshot", () => {
    const s = new MemoryStorage();
    s.append([e(1, 1), e(2, 1)]);
    expect(() => s.compact(2)).toThrow(/beyond snapshot/);
  });

  it("applySnapshot replaces the log and refuses an older snapshot", () => {
    const s = new MemoryStorage();
    s.append([e(1, 1), e(2, 1)]);
    const snap = {
      metadata: { index: 10, term: 3, confState: { voters: [1, 2], learners: [] } },
      data: new Uint8Array(),
    };
    s.applySnapshot(snap);
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(3);
    expect(code(() => s.applySnapshot(snap))).toBe("SnapshotOutOfDate");
    s.append([e(11, 3)]);
    expect(s.lastIndex()).toBe(11);
  });

  it("bootstrap writes one committed configuration entry at 1/1", () => {
    const s = MemoryStorage.bootstrap({ voters: [3, 1, 2], learners: [] });
    expect(s.lastIndex()).toBe(1);
    expect(s.entries(1, 2, 100)[0]?.type).toBe("confChange");
    expect(s.initialState().hardState).toEqual({ term: 1, vote: 0, commit: 1 });
  });
});
