import { describe, expect, it } from "vitest";
import { Inflights } from "./inflights.js";
import { Progress } from "./progress.js";
import { committedIndex, hasQuorum, quorumSize, voteResult } from "./quorum.js";

describe("quorum", () => {
  it("sizes majorities", () => {
    expect([1, 2, 3, 4, 5].map(quorumSize)).toEqual([1, 2, 2, 3, 3]);
  });

  it("commits the highest index held by a majority", () => {
    const match = new Map([
      [1, 9],
      [2, 5],
      [3, 7],
      [4, 1],
      [5, 7],
    ]);
    expect(committedIndex([1, 2, 3, 4, 5], (id) => match.get(id) ?? 0)).toBe(7);
    expect(committedIndex([1, 2, 3], (id) => match.get(id) ?? 0)).toBe(7);
    expect(committedIndex([2, 4], (id) => match.get(id) ?? 0)).toBe(1);
    expect(committedIndex([], () => 9)).toBe(0);
  });

  it("tallies votes: won, lost, pending", () => {
    const v = (entries: Array<[number, boolean]>) => new Map(entries);
    expect(voteResult([1, 2, 3], v([[1, true]]))).toBe("pending");
    expect(
      voteResult(
        [1, 2, 3],
        v([
          [1, true],
          [2, true],
        ]),
      ),
    ).toBe("won");
    expect(
      voteResult(
        [1, 2, 3],
        v([
          [2, false],
          [3, false],
        ]),
      ),
    ).toBe("lost");
    // Votes from non-voters (a learner, a removed node) do not count.
    expect(
      voteResult(
        [1, 2, 3],
        v([
          [1, true],
          [9, true],
        ]),
      ),
    ).toBe("pending");
    expect(hasQuorum([1, 2, 3, 4], new Set([1, 2]))).toBe(false);
    expect(hasQuorum([1, 2, 3, 4], new Set([1, 2, 4]))).toBe(true);
  });
});

describe("progress and inflights", () => {
  it("pipelines up to the window and frees on acknowledgment", () => {
    const inf = new Inflights(3, 1000);
    inf.add(5, 10);
    inf.add(7, 10);
    inf.add(9, 10);
    expect(inf.full()).toBe(true);
    inf.freeLE(7);
    expect(inf.count).toBe(1);
    expect(inf.full()).toBe(false);
    expect(inf.totalBytes).toBe(10);
  });

  it("is full by bytes too", () => {
    const inf = new Inflights(100, 25);
    inf.add(1, 20);
    expect(inf.full()).toBe(false);
    inf.add(2, 10);
    expect(inf.full()).toBe(true);
  });

  it("probe sends one message at a time; a matching answer may replicate", () => {
    const pr = new Progress(11, 4, 1000, false);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(1, 11, 20);
    expect(pr.isPaused()).toBe(true);
    expect(pr.maybeUpdate(11)).toBe(true);
    pr.becomeReplicate();
    expect(pr.next).toBe(12);
    pr.sentEntries(2, 13, 40);
    expect(pr.next).toBe(14);
    expect(pr.inflights.count).toBe(1);
  });

  it("ignores stale rejections and backs off to the hint otherwise", () => {
    const pr = new Progress(11, 4, 1000, false);
    pr.match = 3;
    // Probe state: only the answer to prev = next - 1 = 10 counts.
    expect(pr.maybeDecrTo(9, 5)).toBe(false);
    expect(pr.maybeDecrTo(10, 5)).toBe(true);
    expect(pr.next).toBe(6);
    // The hint never moves next to or below match.
    pr.next = 6;
    expect(pr.maybeDecrTo(5, 0)).toBe(true);
    expect(pr.next).toBe(4);
    // Replicate state: rejections at or below match are stale.
    pr.becomeReplicate();
    expect(pr.maybeDecrTo(3, 0)).toBe(false);
    expect(pr.maybeDecrTo(8, 0)).toBe(true);
    expect(pr.next).toBe(4);
  });

  it("resumes after a snapshot from the snapshot index", () => {
    const pr = new Progress(5, 4, 1000, false);
    pr.match = 2;
    pr.becomeSnapshot(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.next).toBe(21);
  });
});
