/** Helpers shared by this module's tests (not exported from index.ts). */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChunkRef, Command, Manifest } from "@enigma/manifest";
import { encodeUstarHeader, paddingBytes, TAR_BLOCK_BYTES, type UstarFields } from "./tar-format.js";

export function tempDirs(): { make(prefix?: string): string; cleanup(): void } {
  const dirs: string[] = [];
  return {
    make(prefix = "enigma-snap-") {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    cleanup() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

const hex = (s: string) => createHash("sha256").update(s).digest("hex");

function chunk(seed: string, size = 1000): ChunkRef {
  const hash = hex(seed);
  return {
    hash,
    size,
    sealedSize: size + 72,
    keyId: 1,
    compressed: false,
    nameTag: hex(`tag:${hash}`),
    locations: ["local"],
  };
}

/**
 * A deterministic command sequence: one bucket, then puts (some sharing chunks), overwrites and
 * deletes, so every table with refcounts moves.
 */
export function commandSequence(count: number): Command[] {
  const out: Command[] = [{ type: "CreateBucket", bucket: "b", createdAtMs: 1 }];
  for (let i = 1; out.length < count; i++) {
    if (i % 7 === 0) {
      out.push({ type: "DeleteObject", bucket: "b", key: `k${i - 3}`, atMs: 1000 + i });
      continue;
    }
    const chunks = [chunk(`shared${i % 13}`), chunk(`own${i}`, 500 + (i % 100))];
    out.push({
      type: "PutObject",
      bucket: "b",
      key: `k${i % 400}`,
      size: chunks.reduce((n, c) => n + c.size, 0),
      etag: hex(`etag${i}`).slice(0, 32),
      meta: { contentType: "application/octet-stream", userMeta: { seq: String(i) } },
      lastModifiedMs: 1000 + i,
      chunks,
    });
  }
  return out;
}

/** Applies commands as consecutive log entries after the manifest's applied index (term 1). */
export function applyCommands(manifest: Manifest, commands: readonly Command[]): void {
  let index = manifest.raftMeta().appliedIndex;
  manifest.applyEntries(commands.map((command) => ({ index: ++index, term: 1, command })));
}

// ---- raw tar surgery for tamper tests ----

export interface RawMember {
  readonly name: string;
  readonly headerOffset: number;
  readonly dataOffset: number;
  readonly size: number;
}

/** Lists members of a well-formed ustar buffer (no validation; for locating bytes to flip). */
export function rawMembers(tar: Buffer): RawMember[] {
  const out: RawMember[] = [];
  let off = 0;
  while (off + TAR_BLOCK_BYTES <= tar.length) {
    const h = tar.subarray(off, off + TAR_BLOCK_BYTES);
    if (h.every((b) => b === 0)) break;
    const name = h.toString("utf8", 0, 100).replace(/\0.*$/s, "");
    const size = Number.parseInt(h.toString("latin1", 124, 136).replace(/\0.*$/s, "").trim(), 8);
    out.push({ name, headerOffset: off, dataOffset: off + TAR_BLOCK_BYTES, size });
    off += TAR_BLOCK_BYTES + size + paddingBytes(size);
  }
  return out;
}

export function memberData(tar: Buffer, name: string): Buffer {
  const m = rawMembers(tar).find((x) => x.name === name);
  if (!m) throw new Error(`no member ${name}`);
  return tar.subarray(m.dataOffset, m.dataOffset + m.size);
}

/** Builds a tar from raw headers (hostile ones included) and data. */
export function rawTar(members: readonly { fields: UstarFields; data?: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    parts.push(encodeUstarHeader(m.fields));
    const data = m.data ?? Buffer.alloc(0);
    parts.push(data, Buffer.alloc(paddingBytes(data.length)));
  }
  parts.push(Buffer.alloc(2 * TAR_BLOCK_BYTES));
  return Buffer.concat(parts);
}

/** Re-packs a snapshot's members (in order) with replaced or added ones. */
export function repack(
  tar: Buffer,
  edit: (members: { name: string; data: Buffer }[]) => { fields: UstarFields; data?: Buffer }[],
): Buffer {
  const members = rawMembers(tar).map((m) => ({ name: m.name, data: Buffer.from(memberData(tar, m.name)) }));
  return rawTar(edit(members));
}

export function regular(name: string, data: Buffer): { fields: UstarFields; data: Buffer } {
  return { fields: { name, size: data.length, mode: 0o600 }, data };
}

/** File names and contents of a directory, to prove nothing was written. */
export function dirState(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    out[name] = statSync(p).isFile() ? hex(readFileSync(p).toString("latin1")) : "dir";
  }
  return out;
}
