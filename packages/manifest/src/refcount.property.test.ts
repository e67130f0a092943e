/**
 * Property test: random command sequences (seeded; a failure prints its seed and replays exactly)
 * over a small pool of chunks. After every command the cross-table invariants hold: refcount ==
 * references from objects, parts and backups; nothing references a 'deleting' or forgotten chunk.
 * The same sequence applied in random batches to a second database gives the same checksum.
 */
import { describe, expect, it } from "vitest";
import type { ApplyEntry } from "./apply/entries.js";
import { FEATURE_LEVEL } from "./apply/features.js";
import type { ChunkRef, Command } from "./commands.js";
import { Manifest } from "./manifest.js";
import { chunk, MiB, md5Of, prng, sizeOf } from "./test-support.js";

const SEQUENCES = 200;
const OPS = 100;
const POOL = Array.from({ length: 12 }, (_, i) => chunk(`pool${i}`, i % 3 === 0 ? 6 * MiB : 1000 + i));
const KEYS = ["a", "b", "c", "d/e", "d/f"];

function generate(seed: number): Command[] {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]) => xs[int(xs.length)] as T;
  const chunks = (max: number): ChunkRef[] => Array.from({ length: int(max + 1) }, () => pick(POOL));
  const m = Manifest.openInMemory();
  const cmds: Command[] = [];
  let now = 1000;
  let n = 0;
  const uploads: string[] = [];
  const backups: { id: string; kind: "dir" | "stream" }[] = [];
  const apply = (c: Command) => {
    cmds.push(c);
    n++;
    m.applyEntry({ index: n, term: 1, command: c });
    const problems = m.checkInvariants();
    if (problems.length > 0) {
      throw new Error(`seed ${seed} op ${n} ${c.type}: ${problems.join("; ")}`);
    }
  };
  apply({ type: "CreateBucket", bucket: "b", createdAtMs: now });
  // Half the sequences raise the feature level part-way (new nodes run at the build's level, old
  // clusters below it): part rows and the location rule then come into play mid-sequence.
  const raiseAt = seed % 2 === 0 ? int(OPS) : -1;
  for (let op = 0; op < OPS; op++) {
    if (op === raiseAt) apply({ type: "SetFeatureLevel", level: FEATURE_LEVEL });
    now += int(50);
    const r = rand();
    const key = pick(KEYS);
    if (r < 0.2) {
      const cs = chunks(3);
      apply({
        type: "PutObject",
        bucket: "b",
        key,
        size: sizeOf(cs),
        etag: md5Of(String(op)),
        meta: {},
        lastModifiedMs: now,
        chunks: cs,
        ...(rand() < 0.1 ? { ifNoneMatch: true } : {}),
      });
    } else if (r < 0.27) {
      apply({
        type: "CopyObject",
        srcBucket: "b",
        srcKey: key,
        dstBucket: "b",
        dstKey: pick(KEYS),
        lastModifiedMs: now,
      });
    } else if (r < 0.32) {
      apply({ type: "DeleteObject", bucket: "b", key, atMs: now });
    } else if (r < 0.35) {
      apply({ type: "DeleteObjects", bucket: "b", keys: [pick(KEYS), pick(KEYS)], atMs: now });
    } else if (r < 0.4) {
      const id = `u${op}`;
      uploads.push(id);
      apply({ type: "CreateMultipartUpload", uploadId: id, bucket: "b", key, meta: {}, initiatedAtMs: now });
    } else if (r < 0.5 && uploads.length > 0) {
      const cs = chunks(2);
      apply({
        type: "PutPart",
        uploadId: pick(uploads),
        partNumber: 1 + int(3),
        size: sizeOf(cs),
        etag: md5Of(`p${op}`),
        lastModifiedMs: now,
        chunks: cs,
      });
    } else if (r < 0.55 && uploads.length > 0) {
      const id = pick(uploads);
      const parts = m
        .listParts(id)
        .parts.filter(() => rand() < 0.7)
        .map((p) => ({ partNumber: p.partNumber, etag: p.etag }));
      apply({ type: "CompleteMultipartUpload", uploadId: id, parts, lastModifiedMs: now });
    } else if (r < 0.58 && uploads.length > 0) {
      apply({ type: "AbortMultipartUpload", uploadId: pick(uploads), atMs: now });
    } else if (r < 0.62) {
      const kind = rand() < 0.5 ? "dir" : "stream";
      const id = `bk${op}`;
      backups.push({ id, kind });
      apply({ type: "BeginBackup", backupId: id, name: "n", kind, source: "/", startedAtMs: now });
    } else if (r < 0.72 && backups.length > 0) {
      const b = pick(backups);
      if (b.kind === "dir") {
        const files = Array.from({ length: 1 + int(2) }, () => {
          const cs = chunks(2);
          return {
            path: pick(["x", "y", "z/w"]),
            kind: "file" as const,
            mode: 0,
            size: sizeOf(cs),
            mtimeMs: 1,
            chunks: cs,
          };
        });
        apply({ type: "AddBackupFiles", backupId: b.id, files, atMs: now });
      } else {
        const firstSeq = m.getBackup(b.id)?.chunkCount ?? 0;
        apply({
          type: "AppendBackupChunks",
          backupId: b.id,
          firstSeq: rand() < 0.9 ? firstSeq : firstSeq + 1,
          chunks: chunks(2),
          chainHex: "aa",
        });
      }
    } else if (r < 0.75 && backups.length > 0) {
      apply({ type: "CompleteBackup", backupId: pick(backups).id, completedAtMs: now, chainHex: "bb" });
    } else if (r < 0.78 && backups.length > 0) {
      apply({ type: "AbortBackup", backupId: pick(backups).id, reason: "r", atMs: now });
    } else if (r < 0.81 && backups.length > 0) {
      apply({ type: "DeleteBackup", backupId: pick(backups).id, atMs: now });
    } else if (r < 0.92) {
      apply({
        type: "MarkChunksDeleting",
        hashes: POOL.filter(() => rand() < 0.5).map((c) => c.hash),
        nowMs: now,
        graceMs: int(100),
      });
    } else {
      const deleting = m.listDeletingChunks().map((c) => c.hash);
      apply({ type: "ForgetChunks", hashes: deleting.filter(() => rand() < 0.7) });
    }
  }
  const sum = m.checksum();
  m.close();
  cmds.push({ type: "Noop" });
  (cmds as Command[] & { checksum?: string }).checksum = sum;
  return cmds;
}

describe("refcount invariants under random command sequences", () => {
  it(`holds after every command (${SEQUENCES} seeds × ${OPS} ops) and replays deterministically`, () => {
    let refusals = 0;
    let total = 0;
    for (let seed = 1; seed <= SEQUENCES; seed++) {
      const cmds = generate(seed) as Command[] & { checksum?: string };
      // Replay on a fresh database in random batch sizes: identical content.
      const rand = prng(seed ^ 0x5eed);
      const other = Manifest.openInMemory();
      const entries: ApplyEntry[] = cmds
        .slice(0, -1)
        .map((command, i) => ({ index: i + 1, term: 1, command }));
      for (let i = 0; i < entries.length; ) {
        const size = 1 + Math.floor(rand() * 20);
        for (const r of other.applyEntries(entries.slice(i, i + size))) {
          total++;
          if (!r.ok) refusals++;
        }
        i += size;
      }
      expect(other.checksum(), `seed ${seed}`).toBe(cmds.checksum);
      other.close();
    }
    // The generator exercises refusal paths too, but mostly successes.
    expect(refusals).toBeGreaterThan(total * 0.05);
    expect(refusals).toBeLessThan(total * 0.6);
  }, 180_000); // ~10 s idle; generous for loaded CI machines
});
