import { describe, expect, it } from "vitest";
import { Manifest } from "./manifest.js";
import { chunk, Log, put } from "./test-support.js";

describe("GC commands", () => {
  it("marks only unreferenced live chunks past the grace period, then forgets them", () => {
    const m = Manifest.openInMemory();
    const log = new Log(m);
    log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    const [a, b, c] = [chunk("a", 10, ["s3"]), chunk("b", 20, ["s3", "gcs"]), chunk("c", 30)];
    log.ok(put("b", "k1", [a]));
    log.ok(put("b", "k2", [b]));
    log.ok(put("b", "k3", [c]));
    log.ok({ type: "DeleteObject", bucket: "b", key: "k1", atMs: 100 });
    log.ok({ type: "DeleteObject", bucket: "b", key: "k2", atMs: 200 });
    expect(m.listGarbageChunks({ olderThanMs: 150 }).map((x) => x.hash)).toEqual([a.hash]);
    expect(m.listGarbageChunks({ olderThanMs: 1000 }).map((x) => x.hash)).toEqual([a.hash, b.hash]);
    expect(m.chunkStats()).toMatchObject({
      live: 1,
      garbage: 2,
      deleting: 0,
      logicalBytes: 30,
      uniqueBytes: 30,
    });

    const marked = log.ok({
      type: "MarkChunksDeleting",
      hashes: [a.hash, b.hash, c.hash, a.hash, chunk("unknown").hash],
      nowMs: 260,
      graceMs: 100,
    });
    expect(marked.hashes).toEqual([a.hash]); // b is too young, c is referenced
    expect(m.listDeletingChunks().map((x) => x.hash)).toEqual([a.hash]);
    expect(m.hasLiveChunk(a.hash)).toBe(false);
    expect(m.hasNameTag(a.nameTag)).toBe(true);
    expect(m.chunkStats().deleting).toBe(1);

    const forgotten = log.ok({ type: "ForgetChunks", hashes: [a.hash, b.hash] });
    expect(forgotten.hashes).toEqual([a.hash]); // b is not deleting
    expect(m.getChunk(a.hash)).toBeUndefined();
    expect(m.hasNameTag(a.nameTag)).toBe(false);
    // After being forgotten, the chunk can be uploaded and referenced again.
    log.ok(put("b", "k4", [a]));
    expect(m.getChunk(a.hash)?.refcount).toBe(1);
    expect([...m.allNameTags(1)].sort()).toEqual([a.nameTag, b.nameTag, c.nameTag].sort());
    const loc = (
      chunks: number,
      sealedBytes: number,
      live: number,
      liveBytes: number,
      logicalBytes: number,
    ) => ({
      chunks,
      sealedBytes,
      liveChunks: live,
      liveSealedBytes: liveBytes,
      garbageChunks: chunks - live,
      garbageSealedBytes: sealedBytes - liveBytes,
      logicalBytes,
    });
    // a (s3, 10 B) live again via k4; b (s3+gcs, 20 B) garbage; c (local, 30 B) live.
    expect(m.chunkStats().perLocation).toEqual({
      gcs: loc(1, 92, 0, 0, 0),
      local: loc(1, 102, 1, 102, 30),
      s3: loc(2, 82 + 92, 1, 82, 10),
    });
    expect(m.checkInvariants()).toEqual([]);
  });

  it("a chunk revived between listing and marking is not marked (the fence)", () => {
    const m = Manifest.openInMemory();
    const log = new Log(m);
    log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    const a = chunk("a");
    log.ok(put("b", "k", [a]));
    log.ok({ type: "DeleteObject", bucket: "b", key: "k", atMs: 10 });
    const candidates = m.listGarbageChunks({ olderThanMs: 100 }).map((x) => x.hash);
    log.ok(put("b", "k2", [a], 50));
    expect(log.ok({ type: "MarkChunksDeleting", hashes: candidates, nowMs: 100, graceMs: 0 }).hashes).toEqual(
      [],
    );
  });

  it("data keys: KeyExists on reuse, ordered by when they were added", () => {
    const m = Manifest.openInMemory();
    const log = new Log(m);
    log.ok({ type: "AddDataKey", keyId: 2, wrappedHex: "aa", createdAtMs: 5 });
    log.ok({ type: "AddDataKey", keyId: 1, wrappedHex: "bb", createdAtMs: 6 });
    expect(log.apply({ type: "AddDataKey", keyId: 2, wrappedHex: "cc", createdAtMs: 7 })).toMatchObject({
      code: "KeyExists",
    });
    expect(m.dataKeys().map((k) => k.keyId)).toEqual([2, 1]);
  });
});
