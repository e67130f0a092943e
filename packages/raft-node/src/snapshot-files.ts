/**
 * State-machine snapshot files of one node: `<raft dir>/snapshots/snap-<index>-<term>.db`.
 *
 * The core treats `Snapshot.data` as opaque; here it is a small descriptor naming the file, its
 * size and SHA-256, and the members' addresses at that point. The image itself never travels
 * inside a Raft message: the transport streams the file in bounded chunks and the receiver
 * rewrites the descriptor to name its own verified copy.
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, fsyncSync, mkdirSync, openSync, readdirSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { RaftNodeError } from "./errors.js";

export interface SnapshotDescriptor {
  /** File name inside the snapshots directory. */
  readonly file: string;
  readonly sizeBytes: number;
  /** SHA-256 of the file, hex. */
  readonly sha256: string;
  /** Member addresses known when the snapshot was taken, by node id. */
  readonly addrs: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const FILE_RE = /^snap-(\d+)-(\d+)\.db$/;

export function encodeDescriptor(d: SnapshotDescriptor): Uint8Array {
  return encoder.encode(JSON.stringify({ v: 1, ...d }));
}

export function decodeDescriptor(data: Uint8Array): SnapshotDescriptor {
  let j: unknown;
  try {
    j = JSON.parse(decoder.decode(data));
  } catch (err) {
    throw new RaftNodeError("SnapshotCorrupt", "snapshot descriptor is not JSON", { cause: err });
  }
  const d = j as Partial<SnapshotDescriptor> & { v?: unknown };
  if (
    d.v !== 1 ||
    typeof d.file !== "string" ||
    !FILE_RE.test(d.file) ||
    typeof d.sizeBytes !== "number" ||
    typeof d.sha256 !== "string" ||
    typeof d.addrs !== "object" ||
    d.addrs === null
  ) {
    throw new RaftNodeError("SnapshotCorrupt", "snapshot descriptor has the wrong shape");
  }
  return { file: d.file, sizeBytes: d.sizeBytes, sha256: d.sha256, addrs: d.addrs };
}

export function snapshotFileName(index: number, term: number): string {
  return `snap-${index}-${term}.db`;
}

export class SnapshotDir {
  readonly dir: string;
  #tmpSeq = 0;

  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    // Leftovers of transfers or snapshots interrupted by a crash: anything but a snapshot file.
    for (const f of readdirSync(dir)) if (!FILE_RE.test(f)) rmSync(join(dir, f), { force: true });
  }

  path(file: string): string {
    if (basename(file) !== file) throw new RaftNodeError("SnapshotCorrupt", `bad snapshot file name ${file}`);
    return join(this.dir, file);
  }

  /** A fresh temporary path inside the directory (same file system, so renames are atomic). */
  tempPath(tag: string): string {
    return join(this.dir, `${tag}-${process.pid}-${++this.#tmpSeq}.tmp`);
  }

  /** Removes snapshot files except the ones named (the current one and any being sent). */
  prune(keep: ReadonlySet<string>): void {
    for (const f of readdirSync(this.dir)) {
      if (FILE_RE.test(f) && !keep.has(f)) rmSync(join(this.dir, f), { force: true });
    }
  }
}

/** SHA-256 (hex) and size of a file, streamed. */
export async function hashFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const h = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: h.digest("hex"), sizeBytes: size };
}

export function fsyncPath(path: string, flags = "r"): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
