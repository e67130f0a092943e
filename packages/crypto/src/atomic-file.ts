import { randomBytes } from "node:crypto";
import { link, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CryptoError } from "./errors.js";

/**
 * Writes `data` to `path` atomically and never over an existing file: temp file (O_EXCL, `mode`)
 * → write → fsync → link(temp, path) → unlink temp → fsync the directory. `link` fails with EEXIST
 * when `path` appeared meanwhile, so two concurrent `enigma init`s cannot clobber each other. On
 * filesystems without hard links it falls back to an existence check plus rename (racy, but still
 * never leaves a partial file). On any failure the temp file is removed and nothing remains.
 */
export async function writeFileExclusive(path: string, data: Uint8Array, mode: number): Promise<void> {
  if (await exists(path)) throw new CryptoError("FileExists", `refusing to overwrite existing ${path}`);
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString("hex")}`);
  try {
    const fh = await open(tmp, "wx", mode);
    try {
      await fh.chmod(mode); // open()'s mode is filtered by the umask; set it exactly
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await publish(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if (err instanceof CryptoError) throw err;
    throw new CryptoError("Io", `cannot write ${path}: ${errnoCode(err)}`, { cause: err });
  }
  await syncDir(dirname(path));
}

async function publish(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "EEXIST") throw new CryptoError("FileExists", `refusing to overwrite existing ${path}`);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw err;
    if (await exists(path)) throw new CryptoError("FileExists", `refusing to overwrite existing ${path}`);
    await rename(tmp, path);
    return;
  }
  await unlink(tmp);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return false;
    throw new CryptoError("Io", `cannot stat ${path}: ${errnoCode(err)}`, { cause: err });
  }
}

/** fsync a directory so the new entry survives a crash; not supported everywhere, hence best effort. */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Directories cannot be fsynced on some platforms (Windows); the file itself is already synced.
  }
}

export function errnoCode(err: unknown): string {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string")
    return err.code;
  return "unknown error";
}
