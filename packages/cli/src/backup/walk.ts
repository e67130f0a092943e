/**
 * Deterministic directory walk: entries sorted by byte order of their '/'-joined relative path,
 * symlinks not followed (stored as links), special files reported and skipped.
 */
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";

export interface WalkEntry {
  /** Relative path, '/'-separated, never empty (the root itself is not an entry). */
  readonly path: string;
  readonly absPath: string;
  readonly kind: "file" | "dir" | "symlink";
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly linkTarget?: string;
}

export interface WalkResult {
  readonly entries: WalkEntry[];
  /** Sockets, FIFOs, devices: not backed up. */
  readonly skipped: string[];
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export async function walkTree(root: string): Promise<WalkResult> {
  const entries: WalkEntry[] = [];
  const skipped: string[] = [];
  async function visit(absDir: string, relDir: string): Promise<void> {
    const names = (await readdir(absDir)).sort(byteOrder);
    for (const name of names) {
      const absPath = join(absDir, name);
      const path = relDir ? `${relDir}/${name}` : name;
      const st = await lstat(absPath);
      const base = { path, absPath, mode: st.mode & 0o7777, mtimeMs: Math.trunc(st.mtimeMs) };
      if (st.isSymbolicLink()) {
        entries.push({ ...base, kind: "symlink", size: 0, linkTarget: await readlink(absPath) });
      } else if (st.isDirectory()) {
        entries.push({ ...base, kind: "dir", size: 0 });
        await visit(absPath, path);
      } else if (st.isFile()) {
        entries.push({ ...base, kind: "file", size: st.size });
      } else {
        skipped.push(path);
      }
    }
  }
  await visit(root, "");
  return { entries, skipped };
}
