import { describe, expect, it } from "vitest";
import { Manifest } from "./manifest.js";
import { chunk, Log, md5Of, put } from "./test-support.js";

function setup() {
  const m = Manifest.openInMemory();
  const log = new Log(m);
  log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
  return { m, log };
}

describe("buckets", () => {
  it("creates, refuses duplicates, deletes only when empty", () => {
    const { m, log } = setup();
    expect(log.apply({ type: "CreateBucket", bucket: "b", createdAtMs: 2 })).toMatchObject({
      ok: false,
      code: "BucketAlreadyExists",
    });
    expect(m.listBuckets()).toEqual([{ name: "b", createdAtMs: 1 }]);
    expect(log.apply({ type: "DeleteBucket", bucket: "nope" })).toMatchObject({ code: "NoSuchBucket" });
    log.ok(put("b", "k", [chunk("a")]));
    expect(log.apply({ type: "DeleteBucket", bucket: "b" })).toMatchObject({ code: "BucketNotEmpty" });
    log.ok({ type: "DeleteObject", bucket: "b", key: "k", atMs: 5 });
    log.ok({
      type: "CreateMultipartUpload",
      uploadId: "u1",
      bucket: "b",
      key: "m",
      meta: {},
      initiatedAtMs: 5,
    });
    expect(log.apply({ type: "DeleteBucket", bucket: "b" })).toMatchObject({ code: "BucketNotEmpty" });
    log.ok({ type: "AbortMultipartUpload", uploadId: "u1", atMs: 6 });
    log.ok({ type: "DeleteBucket", bucket: "b" });
    expect(m.getBucket("b")).toBeUndefined();
    expect(m.checkInvariants()).toEqual([]);
  });
});

describe("PutObject", () => {
  it("stores the object with its ordered chunk list and counts references", () => {
    const { m, log } = setup();
    const a = chunk("a", 10);
    const b = chunk("b", 20);
    const r = log.ok(put("b", "dir/k", [a, b, a], 77));
    expect(r).toMatchObject({ ok: true, lastModifiedMs: 77 });
    const obj = m.getObject("b", "dir/k");
    expect(obj?.size).toBe(40);
    expect(obj?.chunks.map((c) => c.hash)).toEqual([a.hash, b.hash, a.hash]);
    expect(obj?.meta).toEqual({ contentType: "application/octet-stream" });
    expect(m.getChunk(a.hash)).toMatchObject({ refcount: 2, state: "live", zeroSinceMs: null });
    expect(m.getChunk(b.hash)?.refcount).toBe(1);
    expect(m.checkInvariants()).toEqual([]);
  });

  it("refuses a missing bucket and mismatched sizes", () => {
    const { log } = setup();
    expect(log.apply(put("nope", "k", [chunk("a")]))).toMatchObject({ code: "NoSuchBucket" });
    expect(log.apply({ ...put("b", "k", [chunk("a", 10)]), size: 11 } as never)).toMatchObject({
      code: "InvalidArgument",
    });
  });

  it("overwrite releases the old chunks with the command's timestamp and log index", () => {
    const { m, log } = setup();
    const a = chunk("a");
    const b = chunk("b");
    log.ok(put("b", "k", [a], 10));
    log.ok(put("b", "k", [b], 20));
    expect(m.getChunk(a.hash)).toMatchObject({ refcount: 0, zeroSinceMs: 20, zeroSinceIndex: log.index });
    expect(m.getChunk(b.hash)?.refcount).toBe(1);
    // Overwriting with the same chunk never passes through zero.
    log.ok(put("b", "k", [b], 30));
    expect(m.getChunk(b.hash)).toMatchObject({ refcount: 1, zeroSinceMs: null });
    // Re-referencing a live chunk at refcount 0 revives it.
    log.ok(put("b", "k2", [a], 40));
    expect(m.getChunk(a.hash)).toMatchObject({ refcount: 1, zeroSinceMs: null, zeroSinceIndex: null });
    expect(m.checkInvariants()).toEqual([]);
  });

  it("merges locations but keeps the first writer's sealed metadata", () => {
    const { m, log } = setup();
    const first = chunk("a", 10, ["s3"]);
    log.ok(put("b", "k1", [first]));
    log.ok(put("b", "k2", [{ ...first, sealedSize: 999, keyId: 7, locations: ["azure", "s3"] }]));
    expect(m.getChunk(first.hash)).toMatchObject({ sealedSize: 82, keyId: 1, locations: ["azure", "s3"] });
    expect(log.apply(put("b", "k3", [{ ...first, size: 11 }]))).toMatchObject({ code: "InvalidArgument" });
  });

  it("If-None-Match and If-Match are checked atomically at apply", () => {
    const { m, log } = setup();
    // If-Match on a missing key: NoSuchKey, as S3 answers.
    expect(log.apply({ ...put("b", "k", [chunk("a")]), ifMatch: "x" })).toMatchObject({
      code: "NoSuchKey",
    });
    log.ok({ ...put("b", "k", [chunk("a")]), ifNoneMatch: true });
    expect(log.apply({ ...put("b", "k", [chunk("b")]), ifNoneMatch: true })).toMatchObject({
      ok: false,
      code: "PreconditionFailed",
    });
    const etag = m.headObject("b", "k")?.etag as string;
    expect(log.apply({ ...put("b", "k", [chunk("b")]), ifMatch: "wrong" })).toMatchObject({
      code: "PreconditionFailed",
    });
    log.ok({ ...put("b", "k", [chunk("b")]), ifMatch: `"${etag}"` });
    // A refused command leaves no trace: chunk c was never inserted.
    expect(m.getChunk(chunk("c").hash)).toBeUndefined();
    expect(m.checkInvariants()).toEqual([]);
  });

  it("refuses ChunkDeleting, listing the hashes, and changes nothing", () => {
    const { m, log } = setup();
    const a = chunk("a");
    log.ok(put("b", "k", [a], 10));
    log.ok({ type: "DeleteObject", bucket: "b", key: "k", atMs: 20 });
    expect(log.ok({ type: "MarkChunksDeleting", hashes: [a.hash], nowMs: 100, graceMs: 50 }).hashes).toEqual([
      a.hash,
    ]);
    const before = m.checksum();
    const r = log.apply(put("b", "k2", [chunk("fresh"), a]));
    expect(r).toMatchObject({ ok: false, code: "ChunkDeleting", hashes: [a.hash] });
    // Only raft_meta moved.
    expect(m.getChunk(chunk("fresh").hash)).toBeUndefined();
    expect(m.headObject("b", "k2")).toBeUndefined();
    expect(m.checksum()).not.toBe(before);
    expect(m.hasLiveChunk(a.hash)).toBe(false);
  });

  it("keys are case-sensitive and byte-ordered", () => {
    const { m, log } = setup();
    for (const k of ["b", "B", "a", "é", "z", "Ω", "a/b", "\u{1F600}", "\uFFFD"]) log.ok(put("b", k, []));
    const keys = m.listObjects({ bucket: "b" }).contents.map((c) => c.key);
    expect(keys).toEqual(["B", "a", "a/b", "b", "z", "é", "Ω", "\uFFFD", "\u{1F600}"]);
  });
});

describe("CopyObject", () => {
  it("shares the chunk list (refcounts), copies or replaces metadata", () => {
    const { m, log } = setup();
    log.ok({ type: "CreateBucket", bucket: "c", createdAtMs: 1 });
    const a = chunk("a");
    log.ok(put("b", "src", [a, a]));
    const r = log.ok({
      type: "CopyObject",
      srcBucket: "b",
      srcKey: "src",
      dstBucket: "c",
      dstKey: "dst",
      lastModifiedMs: 50,
    });
    expect(r).toMatchObject({ etag: m.headObject("b", "src")?.etag, lastModifiedMs: 50 });
    expect(m.getChunk(a.hash)?.refcount).toBe(4);
    expect(m.getObject("c", "dst")?.meta).toEqual({ contentType: "application/octet-stream" });
    log.ok({
      type: "CopyObject",
      srcBucket: "c",
      srcKey: "dst",
      dstBucket: "c",
      dstKey: "dst",
      replaceMeta: { contentType: "text/plain" },
      lastModifiedMs: 60,
    });
    expect(m.getChunk(a.hash)?.refcount).toBe(4);
    expect(m.headObject("c", "dst")?.meta).toEqual({ contentType: "text/plain" });
    expect(m.checkInvariants()).toEqual([]);
  });

  it("refuses missing buckets, keys and failed preconditions", () => {
    const { log } = setup();
    log.ok(put("b", "src", [chunk("a")]));
    const base = { type: "CopyObject", srcBucket: "b", srcKey: "src", dstBucket: "b", dstKey: "d" } as const;
    expect(log.apply({ ...base, srcBucket: "x", lastModifiedMs: 1 })).toMatchObject({ code: "NoSuchBucket" });
    expect(log.apply({ ...base, dstBucket: "x", lastModifiedMs: 1 })).toMatchObject({ code: "NoSuchBucket" });
    expect(log.apply({ ...base, srcKey: "x", lastModifiedMs: 1 })).toMatchObject({ code: "NoSuchKey" });
    expect(log.apply({ ...base, srcIfMatch: "nope", lastModifiedMs: 1 })).toMatchObject({
      code: "PreconditionFailed",
    });
  });
});

describe("DeleteObject(s)", () => {
  it("is idempotent and returns the deleted keys", () => {
    const { m, log } = setup();
    log.ok(put("b", "k1", [chunk("a")]));
    log.ok(put("b", "k2", [chunk("a")]));
    log.ok({ type: "DeleteObject", bucket: "b", key: "absent", atMs: 1 });
    expect(log.apply({ type: "DeleteObject", bucket: "x", key: "k", atMs: 1 })).toMatchObject({
      code: "NoSuchBucket",
    });
    const r = log.ok({ type: "DeleteObjects", bucket: "b", keys: ["k2", "nope", "k1", "k2"], atMs: 9 });
    expect(r.deleted).toEqual(["k2", "k1"]);
    expect(m.getChunk(chunk("a").hash)).toMatchObject({ refcount: 0, zeroSinceMs: 9 });
    const tooMany = Array.from({ length: 1001 }, (_, i) => `k${i}`);
    expect(log.apply({ type: "DeleteObjects", bucket: "b", keys: tooMany, atMs: 1 })).toMatchObject({
      code: "InvalidArgument",
    });
    expect(md5Of("x")).toHaveLength(32);
  });
});
