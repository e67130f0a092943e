import { describe, expect, it } from "vitest";
import type { BackupFileEntry, ChunkRef } from "./commands.js";
import { Manifest } from "./manifest.js";
import { chunk, Log, sizeOf } from "./test-support.js";

function file(path: string, chunks: readonly ChunkRef[]): BackupFileEntry {
  return { path, kind: "file", mode: 0o644, size: sizeOf(chunks), mtimeMs: 5, chunks };
}

function setup(kind: "dir" | "stream" = "dir") {
  const m = Manifest.openInMemory();
  const log = new Log(m);
  log.ok({ type: "BeginBackup", backupId: "b1", name: "home", kind, source: "/home", startedAtMs: 10 });
  return { m, log };
}

describe("directory backups", () => {
  it("adds files idempotently per path, completes, lists", () => {
    const { m, log } = setup();
    expect(
      log.apply({ type: "BeginBackup", backupId: "b1", name: "x", kind: "dir", source: "/", startedAtMs: 1 }),
    ).toMatchObject({ code: "KeyExists" });
    log.ok({
      type: "AddBackupFiles",
      backupId: "b1",
      atMs: 11,
      files: [
        file("a.txt", [chunk("a"), chunk("b")]),
        { path: "d", kind: "dir", mode: 0o755, size: 0, mtimeMs: 1, chunks: [] },
        { path: "l", kind: "symlink", mode: 0o777, size: 0, mtimeMs: 1, linkTarget: "a.txt", chunks: [] },
      ],
    });
    // Resume after a crash: the same path again replaces the entry and releases the old chunks.
    log.ok({ type: "AddBackupFiles", backupId: "b1", atMs: 12, files: [file("a.txt", [chunk("c")])] });
    expect(m.getChunk(chunk("a").hash)).toMatchObject({ refcount: 0, zeroSinceMs: 12 });
    expect(m.getBackup("b1")).toMatchObject({
      fileCount: 3,
      chunkCount: 1,
      logicalBytes: 100,
      state: "open",
    });
    log.ok({ type: "CompleteBackup", backupId: "b1", completedAtMs: 20, chainHex: "ab".repeat(32) });
    expect(m.getBackup("home")).toMatchObject({ id: "b1", state: "complete", chainHex: "ab".repeat(32) });
    const files = m.listBackupFiles("b1");
    expect(files.map((f) => f.path)).toEqual(["a.txt", "d", "l"]);
    expect(files[0]?.chunks.map((c) => c.hash)).toEqual([chunk("c").hash]);
    expect(files[2]).toMatchObject({ linkTarget: "a.txt" });
    expect(m.listBackupFiles("b1", { prefix: "d" }).map((f) => f.path)).toEqual(["d"]);
    expect(m.listBackupFiles("b1", { startAfter: "a.txt", limit: 1 }).map((f) => f.path)).toEqual(["d"]);
    expect(log.apply({ type: "AddBackupFiles", backupId: "b1", atMs: 1, files: [] })).toMatchObject({
      code: "BackupNotOpen",
    });
    expect(log.apply({ type: "AddBackupFiles", backupId: "zz", atMs: 1, files: [] })).toMatchObject({
      code: "NoSuchBackup",
    });
    expect(m.checkInvariants()).toEqual([]);
  });

  it("getBackup by name picks the latest complete backup", () => {
    const { m, log } = setup();
    log.ok({ type: "CompleteBackup", backupId: "b1", completedAtMs: 20, chainHex: "" });
    log.ok({ type: "BeginBackup", backupId: "b2", name: "home", kind: "dir", source: "/", startedAtMs: 30 });
    log.ok({ type: "CompleteBackup", backupId: "b2", completedAtMs: 40, chainHex: "" });
    log.ok({ type: "BeginBackup", backupId: "b3", name: "home", kind: "dir", source: "/", startedAtMs: 50 });
    expect(m.getBackup("home")?.id).toBe("b2");
    expect(m.listBackups({ name: "home" }).map((b) => b.id)).toEqual(["b1", "b2", "b3"]);
  });

  it("abort releases chunks and keeps the row; delete releases and removes", () => {
    const { m, log } = setup();
    log.ok({ type: "AddBackupFiles", backupId: "b1", atMs: 11, files: [file("f", [chunk("a")])] });
    log.ok({ type: "AddBackupLog", backupId: "b1", atMs: 12, level: "warn", message: "skipped /proc" });
    log.ok({ type: "AbortBackup", backupId: "b1", reason: "ctrl-c", atMs: 13 });
    expect(m.getChunk(chunk("a").hash)).toMatchObject({ refcount: 0, zeroSinceMs: 13 });
    expect(m.getBackup("b1")).toMatchObject({ state: "aborted", abortReason: "ctrl-c", fileCount: 0 });
    expect(log.apply({ type: "AbortBackup", backupId: "b1", reason: "", atMs: 1 })).toMatchObject({
      code: "BackupNotOpen",
    });
    expect(m.backupLogs("b1")).toEqual([{ seq: 0, atMs: 12, level: "warn", message: "skipped /proc" }]);
    log.ok({ type: "DeleteBackup", backupId: "b1", atMs: 14 });
    expect(m.getBackup("b1")).toBeUndefined();
    expect(m.backupLogs("b1")).toEqual([]);
    expect(log.apply({ type: "DeleteBackup", backupId: "b1", atMs: 1 })).toMatchObject({
      code: "NoSuchBackup",
    });
    expect(
      log.apply({ type: "AddBackupLog", backupId: "b1", atMs: 1, level: "info", message: "" }),
    ).toMatchObject({ code: "NoSuchBackup" });
  });

  it("refuses chunks on directories and size mismatches", () => {
    const { log } = setup();
    const bad = { path: "d", kind: "dir", mode: 0, size: 0, mtimeMs: 0, chunks: [chunk("a")] } as const;
    expect(log.apply({ type: "AddBackupFiles", backupId: "b1", atMs: 1, files: [bad] })).toMatchObject({
      code: "InvalidArgument",
    });
    expect(
      log.apply({
        type: "AddBackupFiles",
        backupId: "b1",
        atMs: 1,
        files: [{ ...file("f", [chunk("a")]), size: 1 }],
      }),
    ).toMatchObject({ code: "InvalidArgument" });
    expect(
      log.apply({ type: "AppendBackupChunks", backupId: "b1", firstSeq: 0, chunks: [], chainHex: "" }),
    ).toMatchObject({ code: "InvalidArgument" });
  });
});

describe("stream backups", () => {
  it("appends with a sequence check so a retried batch cannot double-append", () => {
    const { m, log } = setup("stream");
    const batch1 = [chunk("a"), chunk("b")];
    log.ok({ type: "AppendBackupChunks", backupId: "b1", firstSeq: 0, chunks: batch1, chainHex: "01" });
    expect(
      log.apply({ type: "AppendBackupChunks", backupId: "b1", firstSeq: 0, chunks: batch1, chainHex: "01" }),
    ).toMatchObject({ code: "BadSequence" });
    log.ok({ type: "AppendBackupChunks", backupId: "b1", firstSeq: 2, chunks: [chunk("a")], chainHex: "02" });
    expect(m.getBackup("b1")).toMatchObject({ chunkCount: 3, logicalBytes: 300, chainHex: "02" });
    expect(m.getBackupStreamChunks("b1").map((c) => [c.seq, c.hash])).toEqual([
      [0, chunk("a").hash],
      [1, chunk("b").hash],
      [2, chunk("a").hash],
    ]);
    expect(m.getBackupStreamChunks("b1", { fromSeq: 1, limit: 1 }).map((c) => c.seq)).toEqual([1]);
    expect(m.getChunk(chunk("a").hash)?.refcount).toBe(2);
    expect(log.apply({ type: "AddBackupFiles", backupId: "b1", atMs: 1, files: [] })).toMatchObject({
      code: "InvalidArgument",
    });
    log.ok({ type: "CompleteBackup", backupId: "b1", completedAtMs: 9, chainHex: "03" });
    expect(
      log.apply({ type: "AppendBackupChunks", backupId: "b1", firstSeq: 3, chunks: [], chainHex: "" }),
    ).toMatchObject({ code: "BackupNotOpen" });
    log.ok({ type: "DeleteBackup", backupId: "b1", atMs: 50 });
    expect(m.getChunk(chunk("a").hash)).toMatchObject({ refcount: 0, zeroSinceMs: 50 });
    expect(m.checkInvariants()).toEqual([]);
  });
});
