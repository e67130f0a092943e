import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REQUEST_WINDOW_ENTRIES } from "./apply/entries.js";
import type { Command } from "./commands.js";
import { ManifestError } from "./errors.js";
import { Manifest } from "./manifest.js";
import { chunk, put } from "./test-support.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), "manifest-"));
  dirs.push(d);
  return join(d, "manifest.db");
}

const bucket: Command = { type: "CreateBucket", bucket: "b", createdAtMs: 1 };

describe("applying entries", () => {
  it("records applied index, term and membership in the same transaction", () => {
    const m = Manifest.openInMemory();
    m.applyEntries([
      { index: 1, term: 1 },
      { index: 2, term: 1, membership: { voters: ["n1", "n2"], learners: [] } },
      { index: 3, term: 2, command: bucket },
    ]);
    expect(m.raftMeta()).toEqual({
      appliedIndex: 3,
      appliedTerm: 2,
      membership: { learners: [], voters: ["n1", "n2"] },
      membershipIndex: 2,
      clusterId: null,
    });
  });

  it("throws OutOfOrder on gaps and term regressions, and applies nothing of that batch", () => {
    const m = Manifest.openInMemory();
    m.applyEntry({ index: 1, term: 2, command: bucket });
    const gap = () =>
      m.applyEntries([
        { index: 2, term: 2 },
        { index: 4, term: 2 },
      ]);
    expect(gap).toThrow(ManifestError);
    expect(gap).toThrow(/cannot follow/);
    expect(() => m.applyEntry({ index: 2, term: 1 })).toThrow(/OutOfOrder|cannot follow/);
    expect(m.raftMeta().appliedIndex).toBe(1);
  });

  it("a restart never re-applies: already-applied entries are skipped", () => {
    const path = tempDb();
    const entries = [
      { index: 1, term: 1, command: bucket },
      { index: 2, term: 1, command: put("b", "k", [chunk("a")]), requestId: "r2" },
      { index: 3, term: 1, command: put("b", "k2", [chunk("a")]) },
    ];
    let m = Manifest.open(path);
    const first = m.applyEntries(entries);
    const sum = m.checksum();
    m.close();
    m = Manifest.open(path);
    expect(m.raftMeta().appliedIndex).toBe(3);
    const replay = m.applyEntries(entries);
    expect(replay[0]).toEqual({ ok: true, alreadyApplied: true });
    expect(replay[1]).toEqual(first[1]); // stored result of its requestId
    expect(replay[2]).toEqual({ ok: true, alreadyApplied: true });
    expect(m.checksum()).toBe(sum);
    expect(m.getChunk(chunk("a").hash)?.refcount).toBe(2);
    // Overlapping batch: old entries skipped, new one applied.
    m.applyEntries([...entries, { index: 4, term: 1, command: { type: "Noop" } }]);
    expect(m.raftMeta().appliedIndex).toBe(4);
    m.close();
  });

  it("de-duplicates a requestId within the window and returns the original result", () => {
    const m = Manifest.openInMemory();
    m.applyEntry({ index: 1, term: 1, command: bucket });
    const cmd = { ...put("b", "k", [chunk("a")]), ifNoneMatch: true };
    const r1 = m.applyEntry({ index: 2, term: 1, command: cmd, requestId: "req-1" });
    const r2 = m.applyEntry({ index: 3, term: 1, command: cmd, requestId: "req-1" });
    expect(r1).toMatchObject({ ok: true });
    expect(r2).toEqual(r1); // not PreconditionFailed: the retry was not re-applied
    expect(m.getChunk(chunk("a").hash)?.refcount).toBe(1);
    // Refusals are remembered too.
    const r3 = m.applyEntry({ index: 4, term: 1, command: cmd, requestId: "req-2" });
    expect(r3).toMatchObject({ code: "PreconditionFailed" });
    m.applyEntry({ index: 5, term: 1, command: { type: "DeleteObject", bucket: "b", key: "k", atMs: 1 } });
    expect(m.applyEntry({ index: 6, term: 1, command: cmd, requestId: "req-2" })).toEqual(r3);
  });

  it("forgets request ids after REQUEST_WINDOW_ENTRIES indexes, independent of batching", () => {
    const run = (batch: number) => {
      const m = Manifest.openInMemory();
      m.applyEntry({ index: 1, term: 1, command: bucket });
      m.applyEntry({ index: 2, term: 1, command: put("b", "k", [chunk("a")]), requestId: "x" });
      const entries = [];
      const last = 2 + REQUEST_WINDOW_ENTRIES;
      for (let i = 3; i <= last; i++) entries.push({ index: i, term: 1 });
      for (let i = 0; i < entries.length; i += batch) m.applyEntries(entries.slice(i, i + batch));
      // At index last+1 the id (applied at 2) is outside the window: applied again.
      const cmd = { ...put("b", "k", [chunk("b")]), ifNoneMatch: true };
      const r = m.applyEntry({ index: last + 1, term: 1, command: cmd, requestId: "x" });
      return { r, sum: m.checksum(), rows: m.rowCounts().applied_requests };
    };
    const a = run(1);
    const b = run(REQUEST_WINDOW_ENTRIES);
    const c = run(333);
    expect(a.r).toMatchObject({ code: "PreconditionFailed" });
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect(a.rows).toBe(1);
  });

  it("refusals inside a batch roll back only their own command", () => {
    const m = Manifest.openInMemory();
    const results = m.applyEntries([
      { index: 1, term: 1, command: bucket },
      { index: 2, term: 1, command: put("b", "k", [chunk("a")]) },
      { index: 3, term: 1, command: { ...put("b", "k", [chunk("z")]), ifNoneMatch: true } },
      { index: 4, term: 1, command: put("b", "k2", [chunk("a")]) },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, false, true]);
    expect(m.getChunk(chunk("z").hash)).toBeUndefined();
    expect(m.getChunk(chunk("a").hash)?.refcount).toBe(2);
    expect(m.checkInvariants()).toEqual([]);
  });

  it("batch and one-by-one application give identical databases", () => {
    const entries = [
      { index: 1, term: 1, command: bucket },
      ...Array.from({ length: 50 }, (_, i) => ({
        index: i + 2,
        term: 1,
        command: put("b", `k${i % 7}`, [chunk(`c${i % 5}`), chunk(`c${i % 3}`)], i),
        requestId: `r${i % 10}`,
      })),
    ];
    const one = Manifest.openInMemory();
    for (const e of entries) one.applyEntry(e);
    const all = Manifest.openInMemory();
    all.applyEntries(entries);
    expect(all.checksum()).toBe(one.checksum());
  });

  it("setClusterId is write-once", () => {
    const m = Manifest.openInMemory();
    m.setClusterId("c1");
    m.setClusterId("c1");
    expect(() => m.setClusterId("c2")).toThrow(/belongs to cluster c1/);
    m.close();
    expect(() => m.raftMeta()).toThrow(expect.objectContaining({ code: "Closed" }));
  });
});
