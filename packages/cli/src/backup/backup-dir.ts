/**
 * `enigma backup PATH`: walk the tree, stream each file through the chunk pipeline, record files in
 * batches (AddBackupFiles), then CompleteBackup with the integrity chain head.
 *
 * Resume: an interrupted run leaves the backup `open`. Running the same backup again (same name and
 * source) continues that backup: every file is re-read (so the chain covers all content in path
 * order), but chunks already committed are live in the manifest and are not uploaded again.
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import type { BackupFileEntry, ChunkRef } from "@enigma/manifest";
import { type Engine, proposeOrThrow, WriteSession } from "@enigma/server";
import { IntegrityChain } from "./chain.js";
import { walkTree } from "./walk.js";

/** Files per AddBackupFiles command; bounds command size and work lost on a crash. */
export const FILES_PER_BATCH = 256;
/** Chunk references per AddBackupFiles command (the Raft entry stays well under gRPC limits). */
export const CHUNKS_PER_BATCH = 2048;
/** Read size for files: large reads keep the pipeline busy. */
const READ_HIGH_WATER_MARK_BYTES = 1024 * 1024;

export interface BackupSummary {
  readonly backupId: string;
  readonly name: string;
  readonly resumed: boolean;
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly skipped: readonly string[];
  readonly bytes: number;
  readonly chunks: number;
  readonly uploadedChunks: number;
  readonly uploadedBytes: number;
  readonly dedupedChunks: number;
  readonly chain: string;
  readonly seconds: number;
}

export interface BackupHooks {
  readonly onBytes?: (n: number) => void;
  readonly onTotal?: (bytes: number) => void;
  readonly signal?: AbortSignal;
  readonly nowMs?: () => number;
}

export async function backupDirectory(
  engine: Engine,
  path: string,
  name: string | undefined,
  hooks: BackupHooks = {},
): Promise<BackupSummary> {
  const started = performance.now();
  const now = hooks.nowMs ?? Date.now;
  const source = resolve(path);
  const backupName = name ?? source;
  const { entries, skipped } = await walkTree(source);
  hooks.onTotal?.(entries.reduce((n, e) => n + e.size, 0));

  const open = engine.manifest
    .listBackups()
    .find((b) => b.state === "open" && b.kind === "dir" && b.name === backupName && b.source === source);
  const backupId = open?.id ?? randomUUID();
  if (!open) {
    await proposeOrThrow(engine.committer, {
      type: "BeginBackup",
      backupId,
      name: backupName,
      kind: "dir",
      source,
      startedAtMs: now(),
      host: hostname(),
    });
  }

  const chain = new IntegrityChain(engine.keyring.chainKey, backupId);
  // Files are committed in batches: a chunk shared by two files of one batch is uploaded once.
  const session = new WriteSession();
  let batch: BackupFileEntry[] = [];
  let batchChunks = 0;
  const flush = async () => {
    if (!batch.length) return;
    await proposeOrThrow(engine.committer, { type: "AddBackupFiles", backupId, files: batch, atMs: now() });
    batch = [];
    batchChunks = 0;
    session.clear();
  };
  const stats = {
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytes: 0,
    chunks: 0,
    uploadedChunks: 0,
    uploadedBytes: 0,
    dedupedChunks: 0,
  };

  for (const e of entries) {
    hooks.signal?.throwIfAborted();
    let chunks: readonly ChunkRef[] = [];
    if (e.kind === "file") {
      const res = await engine.writer.write(
        createReadStream(e.absPath, { highWaterMark: READ_HIGH_WATER_MARK_BYTES }),
        {
          sha3: true,
          session,
          ...(hooks.signal ? { signal: hooks.signal } : {}),
          onChunk: (c) => {
            chain.push(Buffer.from(c.ref.hash, "hex"), c.sha3 ?? Buffer.alloc(0));
            hooks.onBytes?.(c.ref.size);
          },
        },
      );
      chunks = res.chunks;
      stats.files++;
      stats.bytes += res.size;
      stats.chunks += res.chunks.length;
      stats.uploadedChunks += res.uploadedChunks;
      stats.uploadedBytes += res.uploadedBytes;
      stats.dedupedChunks += res.dedupedChunks;
    } else if (e.kind === "dir") stats.dirs++;
    else stats.symlinks++;
    batch.push({
      path: e.path,
      kind: e.kind,
      mode: e.mode,
      size: e.kind === "file" ? chunks.reduce((n, c) => n + c.size, 0) : 0,
      mtimeMs: e.mtimeMs,
      ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
      chunks,
    });
    batchChunks += chunks.length;
    if (batch.length >= FILES_PER_BATCH || batchChunks >= CHUNKS_PER_BATCH) await flush();
  }
  await flush();
  await proposeOrThrow(engine.committer, {
    type: "CompleteBackup",
    backupId,
    completedAtMs: now(),
    chainHex: chain.hex,
  });
  return {
    backupId,
    name: backupName,
    resumed: Boolean(open),
    skipped,
    ...stats,
    chain: chain.hex,
    seconds: (performance.now() - started) / 1000,
  };
}
