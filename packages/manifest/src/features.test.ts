/**
 * The cluster feature level and what level 1 switches on: part boundaries of multipart objects.
 * Below the level every replica applies entries exactly as a build without object_parts would;
 * from the SetFeatureLevel entry on, CompleteMultipartUpload and CopyObject record parts. A level
 * this build does not implement stops apply (and opening) instead of diverging.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { FEATURE_LEVEL } from "./apply/features.js";
import type { ChunkRef, Command } from "./commands.js";
import { ManifestError } from "./errors.js";
import { Manifest } from "./manifest.js";
import { chunk, Log, MiB, md5Of, put, sizeOf } from "./test-support.js";

function upload(log: Log, id: string, key: string, parts: readonly (readonly ChunkRef[])[]): Command {
  log.ok({ type: "CreateMultipartUpload", uploadId: id, bucket: "b", key, meta: {}, initiatedAtMs: 2 });
  const listed: { partNumber: number; etag: string }[] = [];
  parts.forEach((chunks, i) => {
    const etag = md5Of(`${id}:${i}`);
    log.ok({
      type: "PutPart",
      uploadId: id,
      partNumber: i + 1,
      size: sizeOf(chunks),
      etag,
      lastModifiedMs: 3,
      chunks,
    });
    listed.push({ partNumber: i + 1, etag: `"${etag}"` });
  });
  return { type: "CompleteMultipartUpload", uploadId: id, parts: listed, lastModifiedMs: 4 };
}

const PARTS = [[chunk("a", 3 * MiB), chunk("b", 2 * MiB)], [chunk("c", 5 * MiB)], [chunk("d", 10)]];

describe("cluster feature level", () => {
  it("starts at 0: a multipart object completed then has no recorded parts", () => {
    const m = Manifest.openInMemory();
    const log = new Log(m);
    log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    expect(m.featureLevel()).toBe(0);
    log.ok(upload(log, "u1", "old", PARTS));
    expect(m.getObject("b", "old")?.meta.partsCount).toBe(3);
    expect(m.getObjectParts("b", "old")).toBeUndefined();
    expect(m.checkInvariants()).toEqual([]);
  });

  it("from level 1 records part sizes, bare ETags and chunk counts; copies carry them; deletes drop them", () => {
    const m = Manifest.openInMemory();
    const log = new Log(m);
    log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    expect(log.ok({ type: "SetFeatureLevel", level: 1 })).toMatchObject({ featureLevel: 1 });
    log.ok(upload(log, "u1", "big", PARTS));
    const parts = m.getObjectParts("b", "big");
    expect(parts).toEqual([
      { partNumber: 1, size: 5 * MiB, etag: md5Of("u1:0"), chunkCount: 2 },
      { partNumber: 2, size: 5 * MiB, etag: md5Of("u1:1"), chunkCount: 1 },
      { partNumber: 3, size: 10, etag: md5Of("u1:2"), chunkCount: 1 },
    ]);
    log.ok({
      type: "CopyObject",
      srcBucket: "b",
      srcKey: "big",
      dstBucket: "b",
      dstKey: "copy",
      lastModifiedMs: 5,
    });
    expect(m.getObjectParts("b", "copy")).toEqual(parts);
    // A copy onto itself (metadata replace) keeps them.
    log.ok({
      type: "CopyObject",
      srcBucket: "b",
      srcKey: "big",
      dstBucket: "b",
      dstKey: "big",
      replaceMeta: { contentType: "x/y" },
      lastModifiedMs: 6,
    });
    expect(m.getObjectParts("b", "big")).toEqual(parts);
    expect(m.checkInvariants()).toEqual([]);
    // Overwritten by a single-part object, or deleted: gone with the object.
    log.ok(put("b", "big", [chunk("z", 7)], 7));
    expect(m.getObjectParts("b", "big")).toBeUndefined();
    log.ok({ type: "DeleteObject", bucket: "b", key: "copy", atMs: 8 });
    expect(m.getObjectParts("b", "copy")).toBeUndefined();
    expect(m.checkInvariants()).toEqual([]);
  });

  it("PutObject carries a copy's parts: checked to add up, recorded from level 1 only", () => {
    const m = Manifest.openInMemory();
    const log = new Log(m);
    log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    const chunks = [chunk("p", 6), chunk("q", 4)];
    const parts = [
      { partNumber: 1, size: 6, etag: md5Of("1"), chunkCount: 1 },
      { partNumber: 2, size: 4, etag: md5Of("2"), chunkCount: 1 },
    ];
    log.ok({ ...put("b", "k", chunks), parts });
    expect(m.getObjectParts("b", "k")).toBeUndefined();
    log.ok({ type: "SetFeatureLevel", level: 1 });
    log.ok({ ...put("b", "k", chunks), parts });
    expect(m.getObjectParts("b", "k")).toEqual(parts);
    const short = [{ ...parts[0]!, size: 5 }, parts[1]!];
    expect(log.apply({ ...put("b", "k2", chunks), parts: short })).toMatchObject({ code: "InvalidArgument" });
    const unordered = [parts[1]!, parts[0]!];
    expect(log.apply({ ...put("b", "k2", chunks), parts: unordered })).toMatchObject({
      code: "InvalidArgument",
    });
    expect(m.headObject("b", "k2")).toBeUndefined();
    expect(m.checkInvariants()).toEqual([]);
  });

  it("from level 2 an upload under another name merges no locations into the chunk's row", () => {
    for (const level of [1, 2]) {
      const m = Manifest.openInMemory();
      const log = new Log(m);
      log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
      log.ok({ type: "SetFeatureLevel", level });
      const first = chunk("x", 10, ["a"]);
      log.ok(put("b", "k1", [first]));
      // Same content, uploaded again under another object name, to another provider.
      const other = { ...first, nameTag: "ee".repeat(40), locations: ["c"] };
      log.ok(put("b", "k2", [other]));
      const row = m.getChunk(first.hash);
      expect(row?.nameTag).toBe(first.nameTag);
      expect(row?.locations).toEqual(level === 1 ? ["a", "c"] : ["a"]);
      expect(row?.refcount).toBe(2);
      // The same name from another writer still adds its providers.
      log.ok(put("b", "k3", [{ ...first, locations: ["d"] }]));
      expect(m.getChunk(first.hash)?.locations).toEqual(level === 1 ? ["a", "c", "d"] : ["a", "d"]);
    }
  });

  it("never lowers the level; replicas applying the same log agree byte for byte", () => {
    const replicas = [Manifest.openInMemory(), Manifest.openInMemory()];
    for (const m of replicas) {
      const log = new Log(m);
      log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
      log.ok(upload(log, "u1", "before", PARTS));
      log.ok({ type: "SetFeatureLevel", level: 1 });
      log.ok({ type: "SetFeatureLevel", level: 0 });
      log.ok(upload(log, "u2", "after", PARTS));
      expect(m.featureLevel()).toBe(1);
      expect(m.getObjectParts("b", "before")).toBeUndefined();
      expect(m.getObjectParts("b", "after")).toHaveLength(3);
    }
    expect(replicas[0]!.checksum()).toBe(replicas[1]!.checksum());
  });

  it("stops apply at a level this build does not implement, changing nothing", () => {
    const m = Manifest.openInMemory();
    const log = new Log(m);
    log.ok({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    const before = m.checksum();
    const applied = m.raftMeta().appliedIndex;
    expect(() => log.apply({ type: "SetFeatureLevel", level: FEATURE_LEVEL + 1 })).toThrow(
      expect.objectContaining({ code: "FeatureTooNew" }),
    );
    expect(m.raftMeta().appliedIndex).toBe(applied);
    expect(m.checksum()).toBe(before);
  });

  it("refuses to open a database at a feature level above this build's", () => {
    const dir = mkdtempSync(join(tmpdir(), "manifest-features-"));
    try {
      const path = join(dir, "manifest.db");
      Manifest.open(path).close();
      const db = new Database(path);
      db.prepare("UPDATE cluster_features SET level = ?").run(FEATURE_LEVEL + 1);
      db.close();
      let err: unknown;
      try {
        Manifest.open(path).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ManifestError);
      expect((err as ManifestError).code).toBe("FeatureTooNew");
      expect((err as Error).message).toMatch(/upgrade enigma/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
