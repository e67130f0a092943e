/**
 * `enigma restore ID|NAME DEST`: files are written to a temp name beside their target and renamed
 * into place only once complete and verified, so a failed restore never leaves a partial file.
 * Directory modes and times are applied last, deepest first (writing into a 0500 dir needs it open).
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, lutimes, mkdir, rename, rm, symlink, utimes } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Engine } from "@enigma/server";
import { CliError, ExitCode } from "../exit-codes.js";
import { globToRegExp } from "./glob.js";
import { resolveBackup } from "./resolve-backup.js";

export interface RestoreOptions {
  readonly pathPrefix?: string;
  readonly glob?: string;
  readonly onBytes?: (n: number) => void;
  readonly onTotal?: (n: number) => void;
  readonly signal?: AbortSignal;
}

export interface RestoreSummary {
  readonly backupId: string;
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly bytes: number;
  readonly seconds: number;
}

export interface ListedFile {
  readonly path: string;
  readonly kind: string;
  readonly size: number;
  readonly mode: string;
  readonly mtime: string;
}

function selector(opts: RestoreOptions): (path: string) => boolean {
  const prefix = opts.pathPrefix?.replace(/^\/+|\/+$/g, "");
  const glob = opts.glob ? globToRegExp(opts.glob) : undefined;
  return (path) =>
    (!prefix || path === prefix || path.startsWith(`${prefix}/`)) && (!glob || glob.test(path));
}

export function listBackupFiles(engine: Engine, idOrName: string, opts: RestoreOptions = {}): ListedFile[] {
  const backup = resolveBackup(engine.manifest, idOrName);
  const keep = selector(opts);
  if (backup.kind === "stream") {
    const size = engine.manifest.getBackupStreamChunks(backup.id).reduce((n, c) => n + c.size, 0);
    return [{ path: "-", kind: "stream", size, mode: "", mtime: new Date(backup.startedAtMs).toISOString() }];
  }
  return engine.manifest
    .listBackupFiles(backup.id)
    .filter((f) => keep(f.path))
    .map((f) => ({
      path: f.path,
      kind: f.kind,
      size: f.size,
      mode: `0${(f.mode & 0o7777).toString(8)}`,
      mtime: new Date(f.mtimeMs).toISOString(),
    }));
}

/** Restores a stream backup to a writable (stdout) or a file path (atomically). */
export async function restoreStream(
  engine: Engine,
  idOrName: string,
  dest: NodeJS.WritableStream | string,
  opts: RestoreOptions = {},
): Promise<RestoreSummary> {
  const started = performance.now();
  const backup = resolveBackup(engine.manifest, idOrName);
  const chunks =
    backup.kind === "stream"
      ? engine.manifest.getBackupStreamChunks(backup.id)
      : (() => {
          const files = engine.manifest.listBackupFiles(backup.id).filter((f) => f.kind === "file");
          const only = files.length === 1 ? files[0] : undefined;
          if (!only) {
            throw new CliError(
              ExitCode.Usage,
              `backup ${backup.id} is a directory backup; restore it to a directory`,
            );
          }
          return only.chunks;
        })();
  const total = chunks.reduce((n, c) => n + c.size, 0);
  opts.onTotal?.(total);
  const source = counting(engine.reader.read(chunks), opts.onBytes);
  if (typeof dest === "string") {
    await writeAtomically(resolve(dest), source, opts.signal);
  } else {
    await pipeline(source, dest, opts.signal ? { signal: opts.signal, end: false } : { end: false });
  }
  return {
    backupId: backup.id,
    files: 1,
    dirs: 0,
    symlinks: 0,
    bytes: total,
    seconds: (performance.now() - started) / 1000,
  };
}

export async function restoreDirectory(
  engine: Engine,
  idOrName: string,
  destDir: string,
  opts: RestoreOptions = {},
): Promise<RestoreSummary> {
  const started = performance.now();
  const backup = resolveBackup(engine.manifest, idOrName);
  if (backup.kind === "stream") return restoreStream(engine, idOrName, destDir, opts);
  const root = resolve(destDir);
  const keep = selector(opts);
  const files = engine.manifest.listBackupFiles(backup.id).filter((f) => keep(f.path));
  opts.onTotal?.(files.reduce((n, f) => n + (f.kind === "file" ? f.size : 0), 0));
  await mkdir(root, { recursive: true });
  const stats = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const dirs: { path: string; mode: number; mtimeMs: number }[] = [];
  for (const f of files) {
    opts.signal?.throwIfAborted();
    const target = safeJoin(root, f.path);
    if (f.kind === "dir") {
      await mkdir(target, { recursive: true, mode: 0o700 });
      dirs.push({ path: target, mode: f.mode, mtimeMs: f.mtimeMs });
      stats.dirs++;
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    if (f.kind === "symlink") {
      await rm(target, { force: true });
      await symlink(f.linkTarget ?? "", target);
      await lutimes(target, f.mtimeMs / 1000, f.mtimeMs / 1000).catch(() => {});
      stats.symlinks++;
      continue;
    }
    await writeAtomically(target, counting(engine.reader.read(f.chunks), opts.onBytes), opts.signal, f.mode);
    await utimes(target, f.mtimeMs / 1000, f.mtimeMs / 1000);
    stats.files++;
    stats.bytes += f.size;
  }
  dirs.sort((a, b) => b.path.length - a.path.length);
  for (const d of dirs) {
    await chmod(d.path, d.mode);
    await utimes(d.path, d.mtimeMs / 1000, d.mtimeMs / 1000);
  }
  return { backupId: backup.id, ...stats, seconds: (performance.now() - started) / 1000 };
}

/** Joins a stored relative path under root, refusing anything that would escape it. */
export function safeJoin(root: string, rel: string): string {
  const target = resolve(root, rel);
  const r = relative(root, target);
  if (!rel || r === "" || r.startsWith("..") || r.split(sep).includes("..") || rel.includes("\0")) {
    throw new CliError(ExitCode.Integrity, `refusing unsafe path in backup: ${JSON.stringify(rel)}`);
  }
  return join(root, r);
}

async function* counting(src: AsyncIterable<Buffer>, onBytes?: (n: number) => void): AsyncIterable<Buffer> {
  for await (const b of src) {
    onBytes?.(b.length);
    yield b;
  }
}

async function writeAtomically(
  target: string,
  source: AsyncIterable<Buffer>,
  signal?: AbortSignal,
  mode = 0o644,
): Promise<void> {
  const tmp = join(dirname(target), `.${randomBytes(6).toString("hex")}.enigma-restore`);
  try {
    const out = createWriteStream(tmp, { mode: 0o600 });
    await pipeline(source, out, signal ? { signal } : {});
    await chmod(tmp, mode);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
