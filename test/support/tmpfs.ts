/**
 * Small tmpfs filesystems for full-disk tests: a directory that really runs out of space, without
 * touching the machine's disk. Mounting needs root (CAP_SYS_ADMIN); callers skip with the reason
 * when it is refused. Unmount everything you mount (`unmountTmpfs`), after stopping the processes
 * using it.
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Mounts a tmpfs of `sizeMiB` at `dir` (created if needed); returns why not, or null. */
export function mountTmpfs(dir: string, sizeMiB: number): string | null {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m,mode=0700`, "tmpfs", dir], {
      stdio: "pipe",
    });
    return null;
  } catch (err) {
    return `cannot mount a tmpfs (needs root): ${(err as Error).message.split("\n")[0]}`;
  }
}

/** Whether this process can mount a tmpfs (tries once in a scratch directory). */
export function tmpfsUnavailableReason(): string | null {
  const probe = mkdtempSync(join(tmpdir(), "enigma-tmpfs-probe-"));
  try {
    const reason = mountTmpfs(probe, 1);
    if (reason === null) unmountTmpfs(probe);
    return reason;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

export function unmountTmpfs(dir: string): void {
  execFileSync("umount", [dir], { stdio: "pipe" });
}

export function availableBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Fills the filesystem of `dir` to the last byte with `<dir>/<name>`; returns the file's path. */
export function fillToTheByte(dir: string, name = "junk"): string {
  const file = join(dir, name);
  const fd = openSync(file, "w");
  try {
    for (const size of [1024 * 1024, 64 * 1024, 4096, 512, 1]) {
      const block = Buffer.alloc(size);
      try {
        for (;;) writeSync(fd, block);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return file;
}
