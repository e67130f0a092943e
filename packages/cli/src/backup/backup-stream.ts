/**
 * `enigma backup --stdin --name NAME`: one stream, in bounded memory whatever its size. Chunks are
 * appended in batches (AppendBackupChunks, sequence-checked so a retried batch cannot double-append)
 * as soon as they are durable, so a killed run loses at most one batch of work.
 *
 * Resume: when an open stream backup with that name exists, the new input is re-chunked and its
 * first chunks must equal the stored ones (else we refuse: it is a different stream); they are
 * already stored, so nothing is uploaded until the input goes past what was committed.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { ChunkRef } from "@enigma/manifest";
import { type Engine, proposeOrThrow } from "@enigma/server";
import { CliError, ExitCode } from "../exit-codes.js";
import type { BackupHooks } from "./backup-dir.js";
import { IntegrityChain } from "./chain.js";

/** Chunks per AppendBackupChunks command. */
export const STREAM_CHUNKS_PER_BATCH = 64;

export interface StreamBackupSummary {
  readonly backupId: string;
  readonly name: string;
  readonly resumed: boolean;
  /** Chunks found already stored from the interrupted run and re-verified against the input. */
  readonly verifiedPrefixChunks: number;
  readonly bytes: number;
  readonly chunks: number;
  readonly uploadedChunks: number;
  readonly uploadedBytes: number;
  readonly dedupedChunks: number;
  readonly chain: string;
  readonly seconds: number;
}

export async function backupStream(
  engine: Engine,
  input: AsyncIterable<Uint8Array>,
  name: string,
  hooks: BackupHooks = {},
): Promise<StreamBackupSummary> {
  const started = performance.now();
  const now = hooks.nowMs ?? Date.now;
  const open = engine.manifest
    .listBackups()
    .find((b) => b.state === "open" && b.kind === "stream" && b.name === name);
  const backupId = open?.id ?? randomUUID();
  const stored: readonly ChunkRef[] = open ? engine.manifest.getBackupStreamChunks(backupId) : [];
  if (!open) {
    await proposeOrThrow(engine.committer, {
      type: "BeginBackup",
      backupId,
      name,
      kind: "stream",
      source: "stdin",
      startedAtMs: now(),
      host: hostname(),
    });
  }
  const chain = new IntegrityChain(engine.keyring.chainKey, backupId);
  let pending: ChunkRef[] = [];
  let nextSeq = stored.length;
  const flush = async () => {
    if (!pending.length) return;
    await proposeOrThrow(engine.committer, {
      type: "AppendBackupChunks",
      backupId,
      firstSeq: nextSeq,
      chunks: pending,
      chainHex: chain.hex,
    });
    nextSeq += pending.length;
    pending = [];
  };

  const res = await engine.writer.write(input, {
    sha3: true,
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    onChunk: async (c, seq) => {
      chain.push(Buffer.from(c.ref.hash, "hex"), c.sha3 ?? Buffer.alloc(0));
      hooks.onBytes?.(c.ref.size);
      if (seq < stored.length) {
        const expected = stored[seq]!;
        if (expected.hash !== c.ref.hash) {
          throw new CliError(
            ExitCode.Usage,
            `input differs from the interrupted backup "${name}" at chunk ${seq} (byte ~${offsetOf(stored, seq)}): ` +
              `refusing to resume with different data; use another --name, or delete backup ${backupId}`,
          );
        }
        return;
      }
      pending.push(c.ref);
      if (pending.length >= STREAM_CHUNKS_PER_BATCH) await flush();
    },
  });
  if (res.chunks.length < stored.length) {
    throw new CliError(
      ExitCode.Usage,
      `input ended after ${res.chunks.length} chunks but the interrupted backup "${name}" already holds ${stored.length}: ` +
        "refusing to resume with different data",
    );
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
    name,
    resumed: Boolean(open),
    verifiedPrefixChunks: stored.length,
    bytes: res.size,
    chunks: res.chunks.length,
    uploadedChunks: res.uploadedChunks,
    uploadedBytes: res.uploadedBytes,
    dedupedChunks: res.dedupedChunks,
    chain: chain.hex,
    seconds: (performance.now() - started) / 1000,
  };
}

function offsetOf(chunks: readonly ChunkRef[], seq: number): number {
  let n = 0;
  for (let i = 0; i < seq; i++) n += chunks[i]?.size ?? 0;
  return n;
}
