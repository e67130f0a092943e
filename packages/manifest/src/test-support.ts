/** Helpers shared by this package's tests (not exported from index.ts). */
import { createHash } from "node:crypto";
import type { ApplyResult, ChunkRef, Command } from "./commands.js";
import type { Manifest } from "./manifest.js";

export const MiB = 1024 * 1024;

export function hashOf(seed: string): string {
  return createHash("sha256").update(seed).digest("hex");
}

export function md5Of(seed: string): string {
  return createHash("md5").update(seed).digest("hex");
}

export function chunk(seed: string, size = 100, locations: readonly string[] = ["local"]): ChunkRef {
  const hash = hashOf(seed);
  return {
    hash,
    size,
    sealedSize: size + 72,
    keyId: 1,
    compressed: false,
    nameTag: hashOf(`tag:${hash}`),
    locations,
  };
}

export function sizeOf(chunks: readonly ChunkRef[]): number {
  return chunks.reduce((n, c) => n + c.size, 0);
}

/** Feeds commands to a manifest as consecutive log entries (term 1). */
export class Log {
  readonly manifest: Manifest;
  index: number;
  constructor(manifest: Manifest) {
    this.manifest = manifest;
    this.index = manifest.raftMeta().appliedIndex;
  }

  apply(command: Command, requestId?: string): ApplyResult {
    this.index++;
    return this.manifest.applyEntry(
      requestId === undefined
        ? { index: this.index, term: 1, command }
        : { index: this.index, term: 1, command, requestId },
    );
  }

  ok(command: Command): Extract<ApplyResult, { ok: true }> {
    const r = this.apply(command);
    if (!r.ok) throw new Error(`${command.type} refused: ${r.code} ${r.message}`);
    return r;
  }
}

export type PutObjectCommand = Extract<Command, { type: "PutObject" }>;

export function put(bucket: string, key: string, chunks: readonly ChunkRef[], atMs = 1000): PutObjectCommand {
  return {
    type: "PutObject",
    bucket,
    key,
    size: sizeOf(chunks),
    etag: md5Of(`${key}:${chunks.map((c) => c.hash).join(",")}`),
    meta: { contentType: "application/octet-stream" },
    lastModifiedMs: atMs,
    chunks,
  };
}

/** A tiny seeded PRNG (mulberry32): tests replay exactly from the printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
