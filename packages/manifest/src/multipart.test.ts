import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ChunkRef, Command } from "./commands.js";
import { Manifest } from "./manifest.js";
import { chunk, Log, MiB, md5Of, sizeOf } from "./test-support.js";

function setup() {
  const m = Manifest.openInMemory();
  const log = new Log(m);
  log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
  log.ok({
    type: "CreateMultipartUpload",
    uploadId: "u",
    bucket: "b",
    key: "big",
    meta: { contentType: "video/mp4" },
    initiatedAtMs: 2,
  });
  return { m, log };
}

function part(partNumber: number, chunks: readonly ChunkRef[], atMs = 10): Command {
  return {
    type: "PutPart",
    uploadId: "u",
    partNumber,
    size: sizeOf(chunks),
    etag: md5Of(`part${partNumber}:${chunks.map((c) => c.hash).join()}`),
    lastModifiedMs: atMs,
    chunks,
  };
}

function etagOf(c: Command): string {
  return (c as { etag: string }).etag;
}

describe("multipart uploads", () => {
  it("create refuses a missing bucket and a reused upload id", () => {
    const { m, log } = setup();
    const c = {
      type: "CreateMultipartUpload",
      uploadId: "u2",
      key: "k",
      meta: {},
      initiatedAtMs: 1,
    } as const;
    expect(log.apply({ ...c, bucket: "nope" })).toMatchObject({ code: "NoSuchBucket" });
    expect(log.apply({ ...c, bucket: "b", uploadId: "u" })).toMatchObject({ code: "KeyExists" });
    expect(m.getUpload("u")).toMatchObject({ bucket: "b", key: "big", meta: { contentType: "video/mp4" } });
  });

  it("PutPart refuses unknown uploads and bad part numbers; replacing a part releases its chunks", () => {
    const { m, log } = setup();
    expect(log.apply({ ...part(1, [chunk("a")]), uploadId: "nope" } as Command)).toMatchObject({
      code: "NoSuchUpload",
    });
    expect(log.apply(part(0, [chunk("a")]))).toMatchObject({ code: "InvalidArgument" });
    expect(log.apply(part(10_001, [chunk("a")]))).toMatchObject({ code: "InvalidArgument" });
    log.ok(part(1, [chunk("a")], 10));
    log.ok(part(1, [chunk("b")], 20));
    expect(m.getChunk(chunk("a").hash)).toMatchObject({ refcount: 0, zeroSinceMs: 20 });
    expect(m.listParts("u").parts.map((p) => p.partNumber)).toEqual([1]);
    expect(m.checkInvariants()).toEqual([]);
  });

  it("complete: concatenates chosen parts, computes the S3 ETag, releases unused parts", () => {
    const { m, log } = setup();
    const p1 = part(1, [chunk("a", 3 * MiB), chunk("b", 2 * MiB)]);
    const p2 = part(2, [chunk("c", 5 * MiB)]);
    const p3 = part(3, [chunk("d", 10), chunk("a", 3 * MiB)]);
    const unused = part(4, [chunk("e", 7)]);
    for (const p of [p1, p2, p3, unused]) log.ok(p);
    log.ok({
      type: "CompleteMultipartUpload",
      uploadId: "u",
      parts: [
        { partNumber: 1, etag: `"${etagOf(p1)}"` },
        { partNumber: 2, etag: etagOf(p2) },
        { partNumber: 3, etag: etagOf(p3) },
      ],
      lastModifiedMs: 99,
    });
    const md5 = createHash("md5");
    for (const p of [p1, p2, p3]) md5.update(Buffer.from(etagOf(p), "hex"));
    const obj = m.getObject("b", "big");
    expect(obj?.etag).toBe(`${md5.digest("hex")}-3`);
    expect(obj?.size).toBe(10 * MiB + 10 + 3 * MiB);
    expect(obj?.meta).toEqual({ contentType: "video/mp4", partsCount: 3 });
    expect(obj?.chunks.map((c) => c.hash)).toEqual(["a", "b", "c", "d", "a"].map((s) => chunk(s).hash));
    expect(m.getChunk(chunk("a").hash)?.refcount).toBe(2);
    expect(m.getChunk(chunk("e").hash)).toMatchObject({ refcount: 0, zeroSinceMs: 99 });
    expect(m.getUpload("u")).toBeUndefined();
    expect(m.checkInvariants()).toEqual([]);
  });

  it("complete refuses bad part lists without changing anything", () => {
    const { m, log } = setup();
    const p1 = part(1, [chunk("a", 5 * MiB)]);
    const small = part(2, [chunk("b", 10)]);
    const p3 = part(3, [chunk("c", 10)]);
    for (const p of [p1, small, p3]) log.ok(p);
    const complete = (parts: { partNumber: number; etag: string }[]): Command => ({
      type: "CompleteMultipartUpload",
      uploadId: "u",
      parts,
      lastModifiedMs: 5,
    });
    const e1 = { partNumber: 1, etag: etagOf(p1) };
    const e2 = { partNumber: 2, etag: etagOf(small) };
    const e3 = { partNumber: 3, etag: etagOf(p3) };
    expect(log.apply(complete([e2, e1]))).toMatchObject({ code: "InvalidPartOrder" });
    expect(log.apply(complete([e1, e1]))).toMatchObject({ code: "InvalidPartOrder" });
    expect(log.apply(complete([e1, { partNumber: 2, etag: "0".repeat(32) }]))).toMatchObject({
      code: "InvalidPart",
    });
    expect(log.apply(complete([e1, { partNumber: 9, etag: e3.etag }]))).toMatchObject({
      code: "InvalidPart",
    });
    expect(log.apply(complete([e1, e2, e3]))).toMatchObject({ code: "EntityTooSmall" });
    expect(log.apply(complete([]))).toMatchObject({ code: "InvalidArgument" });
    expect(log.apply({ ...complete([e1]), uploadId: "x" } as Command)).toMatchObject({
      code: "NoSuchUpload",
    });
    expect(m.getUpload("u")).toBeDefined();
    log.ok(complete([e1, e3])); // the last part may be small
    expect(m.getChunk(chunk("b").hash)?.refcount).toBe(0);
    expect(m.checkInvariants()).toEqual([]);
  });

  it("complete overwrites an existing object and releases its chunks", () => {
    const { m, log } = setup();
    log.ok({
      type: "PutObject",
      bucket: "b",
      key: "big",
      size: 1,
      etag: md5Of("x"),
      meta: {},
      lastModifiedMs: 3,
      chunks: [chunk("old", 1)],
    });
    const p1 = part(1, [chunk("new", 4)]);
    log.ok(p1);
    log.ok({
      type: "CompleteMultipartUpload",
      uploadId: "u",
      parts: [{ partNumber: 1, etag: etagOf(p1) }],
      lastModifiedMs: 40,
    });
    expect(m.getChunk(chunk("old").hash)).toMatchObject({ refcount: 0, zeroSinceMs: 40 });
    expect(m.getObject("b", "big")?.size).toBe(4);
  });

  it("abort releases every part; listings page", () => {
    const { m, log } = setup();
    for (let i = 1; i <= 5; i++) log.ok(part(i, [chunk(`c${i}`)]));
    const page = m.listParts("u", { maxParts: 2, partNumberMarker: 1 });
    expect(page.parts.map((p) => p.partNumber)).toEqual([2, 3]);
    expect(page).toMatchObject({ isTruncated: true, nextPartNumberMarker: 3 });
    expect(log.apply({ type: "AbortMultipartUpload", uploadId: "x", atMs: 1 })).toMatchObject({
      code: "NoSuchUpload",
    });
    log.ok({ type: "AbortMultipartUpload", uploadId: "u", atMs: 77 });
    expect(m.getChunk(chunk("c3").hash)).toMatchObject({ refcount: 0, zeroSinceMs: 77 });
    expect(m.rowCounts()).toMatchObject({ uploads: 0, parts: 0, part_chunks: 0 });
  });

  it("listMultipartUploads orders by key and initiation, with markers and delimiter", () => {
    const { m, log } = setup();
    const mk = (uploadId: string, key: string, at: number) =>
      log.ok({ type: "CreateMultipartUpload", uploadId, bucket: "b", key, meta: {}, initiatedAtMs: at });
    mk("u2", "a/1", 5);
    mk("u3", "a/2", 6);
    mk("u4", "big", 1);
    mk("u5", "c", 9);
    const all = m.listMultipartUploads({ bucket: "b" });
    expect(all.uploads.map((u) => u.uploadId)).toEqual(["u2", "u3", "u4", "u", "u5"]);
    const d = m.listMultipartUploads({ bucket: "b", delimiter: "/" });
    expect(d.commonPrefixes).toEqual(["a/"]);
    expect(d.uploads.map((u) => u.uploadId)).toEqual(["u4", "u", "u5"]);
    const p1 = m.listMultipartUploads({ bucket: "b", maxUploads: 3 });
    expect(p1).toMatchObject({ isTruncated: true, nextKeyMarker: "big", nextUploadIdMarker: "u4" });
    const p2 = m.listMultipartUploads({ bucket: "b", keyMarker: "big", uploadIdMarker: "u4" });
    expect(p2.uploads.map((u) => u.uploadId)).toEqual(["u", "u5"]);
    const p3 = m.listMultipartUploads({ bucket: "b", keyMarker: "big" });
    expect(p3.uploads.map((u) => u.uploadId)).toEqual(["u5"]);
    expect(m.listMultipartUploads({ bucket: "b", prefix: "a/" }).uploads).toHaveLength(2);
  });
});
