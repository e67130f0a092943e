import { type ApplyEntry, Manifest } from "@enigma/manifest";
import { afterEach, describe, expect, it } from "vitest";
import { LOCAL_COMMIT_BATCH_MAX, LocalCommitter } from "./committer.js";

const bucket = (name: string) => ({ type: "CreateBucket" as const, bucket: name, createdAtMs: 1 });

describe("LocalCommitter", () => {
  const opened: Manifest[] = [];
  afterEach(() => {
    for (const m of opened.splice(0)) m.close();
  });

  /** An in-memory manifest whose transactions are recorded (entry indexes per applyEntries call). */
  function manifest(): { m: Manifest; batches: number[][]; failNext: () => void } {
    const m = Manifest.openInMemory();
    opened.push(m);
    const batches: number[][] = [];
    let fail = false;
    const inner = m.applyEntries.bind(m);
    m.applyEntries = (entries: readonly ApplyEntry[]) => {
      batches.push(entries.map((e) => e.index));
      if (fail) {
        fail = false;
        throw new Error("disk full");
      }
      return inner(entries);
    };
    return { m, batches, failNext: () => (fail = true) };
  }

  it("group-commits concurrent proposals with contiguous indexes, in arrival order", async () => {
    const { m, batches } = manifest();
    const c = new LocalCommitter(m);
    const n = LOCAL_COMMIT_BATCH_MAX + 88;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => c.propose(bucket(`b-${i}`))));
    expect(results.every((r) => r.ok)).toBe(true);
    // All were queued in one tick: one full transaction, then the rest.
    expect(batches.map((b) => b.length)).toEqual([LOCAL_COMMIT_BATCH_MAX, 88]);
    expect(batches.flat()).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(m.raftMeta().appliedIndex).toBe(n);
    expect(m.listBuckets().map((b) => b.name)).toContain(`b-${n - 1}`);
  });

  it("keeps committing waves that arrive while it paces after a grouped transaction", async () => {
    const { m, batches } = manifest();
    const c = new LocalCommitter(m);
    const first = Array.from({ length: 10 }, (_, i) => c.propose(bucket(`a-${i}`)));
    // Arrives after the first transaction (a group of 10): may wait for the pacing, never forever.
    await first[0];
    const second = Array.from({ length: 10 }, (_, i) => c.propose(bucket(`z-${i}`)));
    const all = await Promise.all([...first, ...second]);
    expect(all.every((r) => r.ok)).toBe(true);
    expect(batches.flat()).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(m.listBuckets()).toHaveLength(20);
  });

  it("commits a lone sequential proposer one transaction per proposal", async () => {
    const { m, batches } = manifest();
    const c = new LocalCommitter(m);
    for (let i = 0; i < 5; i++) expect((await c.propose(bucket(`s-${i}`))).ok).toBe(true);
    expect(batches).toEqual([[1], [2], [3], [4], [5]]);
  });

  it("rejects every proposal of a failed transaction and keeps serving later ones", async () => {
    const { m, failNext } = manifest();
    const c = new LocalCommitter(m);
    failNext();
    const failed = await Promise.allSettled([c.propose(bucket("x-1")), c.propose(bucket("x-2"))]);
    expect(failed.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ message: "disk full" });
    expect((await c.propose(bucket("y"))).ok).toBe(true);
    expect(m.listBuckets().map((b) => b.name)).toEqual(["y"]);
    expect(m.raftMeta().appliedIndex).toBe(1);
  });
});
