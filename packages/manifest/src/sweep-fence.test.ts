/**
 * The sweep fence and the replicated GC pause as commands: what MarkSweeping fences, what acquire
 * refuses while a tag is fenced and after its tombstone, the pause refusing GC's marks until
 * ResumeGc, and the same checksum on two replicas applying the same log.
 */
import { describe, expect, it } from "vitest";
import { encodeCommand } from "./codec/codec.js";
import { MAX_SWEEP_NAME_TAGS } from "./codec/command-checks.js";
import { Manifest } from "./manifest.js";
import { chunk, Log, put } from "./test-support.js";

function open(): { m: Manifest; log: Log } {
  const m = Manifest.openInMemory();
  const log = new Log(m);
  log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
  return { m, log };
}

describe("sweep fence", () => {
  it("fences only unknown tags; refuses references while fenced and stale uploads after the clear", () => {
    const { m, log } = open();
    const known = chunk("known");
    const orphan = chunk("orphan");
    log.ok(put("b", "k", [known]));
    const mark = log.ok({ type: "MarkSweeping", nameTags: [known.nameTag, orphan.nameTag, orphan.nameTag] });
    expect(mark.nameTags).toEqual([orphan.nameTag]);
    expect(m.isNameTagSweeping(orphan.nameTag)).toBe(true);
    expect(m.isNameTagSweeping(known.nameTag)).toBe(false);
    expect(m.listSweepingNameTags()).toEqual([orphan.nameTag]);

    // A writer that looked before the mark (or during it) uploads the orphan's content.
    const seen = log.index;
    const ref = { ...orphan, uploaded: true, seenIndex: seen };
    const during = log.apply(put("b", "w", [ref]));
    expect(during).toMatchObject({ ok: false, code: "ChunkDeleting", hashes: [orphan.hash] });
    // Legacy refs (no provenance) are refused as well while fenced.
    expect(log.apply(put("b", "w", [orphan]))).toMatchObject({ ok: false, code: "ChunkDeleting" });
    // A second mark keeps the first fence; an unknown tag is cleared only once.
    expect(log.ok({ type: "MarkSweeping", nameTags: [orphan.nameTag] }).nameTags).toEqual([orphan.nameTag]);
    expect(log.ok({ type: "ClearSweeping", nameTags: [orphan.nameTag, known.nameTag] }).nameTags).toEqual([
      orphan.nameTag,
    ]);
    expect(m.isNameTagSweeping(orphan.nameTag)).toBe(false);
    // After the clear: the stale upload is still refused (its object may be the one deleted) …
    expect(log.apply(put("b", "w", [ref]))).toMatchObject({ ok: false, code: "ChunkDeleting" });
    // … and an upload observed after the clear is accepted.
    log.ok(put("b", "w", [{ ...orphan, uploaded: true, seenIndex: log.index }]));
    expect(m.getChunk(orphan.hash)?.refcount).toBe(1);
    expect(m.checkInvariants()).toEqual([]);
    m.close();
  });

  it("a stale upload of a chunk re-created meanwhile is accepted like a dedup hit (its locations not merged)", () => {
    const { m, log } = open();
    const c = chunk("c", 100, ["a"]);
    log.ok({ type: "MarkSweeping", nameTags: [c.nameTag] });
    const stale = { ...c, locations: ["b"], uploaded: true, seenIndex: log.index };
    log.ok({ type: "ClearSweeping", nameTags: [c.nameTag] });
    log.ok(put("b", "fresh", [{ ...c, uploaded: true, seenIndex: log.index }]));
    log.ok(put("b", "stale", [stale]));
    expect(m.getChunk(c.hash)).toMatchObject({ refcount: 2, locations: ["a"] });
    m.close();
  });

  it("batches are bounded by the codec", () => {
    const tags = Array.from({ length: MAX_SWEEP_NAME_TAGS + 1 }, (_, i) => i.toString(16).padStart(64, "0"));
    expect(() => encodeCommand({ type: "MarkSweeping", nameTags: tags })).toThrow(/at most/);
    expect(() => encodeCommand({ type: "ClearSweeping", nameTags: tags.slice(1) })).not.toThrow();
  });
});

describe("replicated GC pause", () => {
  it("refuses GC's marks until ResumeGc; identical on replicas applying the same log", () => {
    const replicas = [open(), open()];
    const [a, b] = replicas as [ReturnType<typeof open>, ReturnType<typeof open>];
    const g = chunk("g");
    for (const r of replicas) {
      r.log.ok(put("b", "k", [g]));
      r.log.ok({ type: "DeleteObject", bucket: "b", key: "k", atMs: 5 });
      // What a new-cluster restore writes into the restored file (joiners get it by snapshot).
      r.m.setGcPause({ reason: "snapshot-restore", pausedAtMs: 7, mode: "new-cluster", appliedIndex: 3 });
    }
    expect(a.m.gcPause()).toEqual({
      reason: "snapshot-restore",
      pausedAtMs: 7,
      mode: "new-cluster",
      appliedIndex: 3,
    });
    for (const r of replicas) {
      const before = r.m.checksum();
      const mark = r.log.apply({ type: "MarkChunksDeleting", hashes: [g.hash], nowMs: 10, graceMs: 0 });
      expect(mark).toMatchObject({ ok: false, code: "GcPaused" });
      expect(r.log.apply({ type: "MarkSweeping", nameTags: [chunk("x").nameTag] })).toMatchObject({
        ok: false,
        code: "GcPaused",
      });
      // Refusals change nothing but the applied index.
      expect(r.m.getChunk(g.hash)?.state).toBe("live");
      expect(r.m.checksum()).not.toBe(before);
      expect(r.log.ok({ type: "ResumeGc", atMs: 20, by: "operator" }).resumed).toBe(true);
      expect(r.m.gcPause()).toBeUndefined();
      expect(r.m.gcPauseConfirmation()).toMatchObject({
        atMs: 20,
        by: "operator",
        pause: { mode: "new-cluster" },
      });
      expect(r.log.ok({ type: "ResumeGc", atMs: 21, by: "again" }).resumed).toBe(false);
      expect(
        r.log.ok({ type: "MarkChunksDeleting", hashes: [g.hash], nowMs: 10, graceMs: 0 }).hashes,
      ).toEqual([g.hash]);
    }
    expect(a.m.checksum()).toBe(b.m.checksum());
    // The pause is state: a replica without it differs.
    const c = open();
    c.log.ok(put("b", "k", [g]));
    c.log.ok({ type: "DeleteObject", bucket: "b", key: "k", atMs: 5 });
    const d = open();
    d.log.ok(put("b", "k", [g]));
    d.log.ok({ type: "DeleteObject", bucket: "b", key: "k", atMs: 5 });
    d.m.setGcPause({ reason: "snapshot-restore", pausedAtMs: 7 });
    expect(c.m.checksum()).not.toBe(d.m.checksum());
    for (const r of [a, b, c, d]) r.m.close();
  });
});
