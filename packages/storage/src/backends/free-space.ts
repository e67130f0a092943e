/**
 * The free-space reserve of a local provider (`min_free_space`). Chunk data must never fill the
 * filesystem it shares with the node's Raft log and manifest: when it does, the node cannot even
 * commit the deletes that would free space (measured: with 0 bytes free every DeleteObject failed
 * until space came back). So a put that would leave less than the reserve free is refused up front
 * with NoSpace, and the reserve stays for metadata: deletes, GC, log compaction.
 *
 * statfs is one thread-pool round trip, so it is not asked on every put: the last reading is used,
 * minus what was admitted since, until it is older than `STATFS_MAX_AGE_MS` or the estimate comes
 * within `STATFS_MARGIN_BYTES` of the reserve, where every put asks again. Writes by others between
 * readings are what the margin and the reserve absorb.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";

/** Default reserve: 1 % of the filesystem, at most this. */
export const DEFAULT_MIN_FREE_MAX_BYTES = 1024 ** 3;
export const DEFAULT_MIN_FREE_FRACTION = 0.01;
/** A reading is reused for at most this long. */
export const STATFS_MAX_AGE_MS = 1000;
/** Closer than this to the reserve, every put reads the filesystem again. */
export const STATFS_MARGIN_BYTES = 64 * 1024 * 1024;

export interface FsSpace {
  /** Bytes available to this process (statfs bavail × bsize). */
  readonly availableBytes: number;
  readonly totalBytes: number;
}

export type StatFs = (dir: string) => Promise<FsSpace>;

/** statfs of `dir`, or of its nearest existing ancestor while it does not exist yet. */
export const statFs: StatFs = async (dir) => {
  for (let d = dir; ; ) {
    try {
      const s = await fsp.statfs(d);
      return { availableBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
    } catch (err) {
      const parent = path.dirname(d);
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || parent === d) throw err;
      d = parent;
    }
  }
};

export interface FreeSpaceGuardOptions {
  /** The reserve in bytes; undefined = 1 % of the filesystem, at most 1 GiB; 0 = no reserve. */
  readonly minFreeBytes?: number;
  readonly statFs?: StatFs;
  readonly nowMs?: () => number;
}

/** Why a put was refused: what was free and what the reserve is. */
export interface Shortfall {
  readonly availableBytes: number;
  readonly reserveBytes: number;
}

export class FreeSpaceGuard {
  readonly #dir: string;
  readonly #configured: number | undefined;
  readonly #statFs: StatFs;
  readonly #now: () => number;
  #reading: { available: number; reserve: number; atMs: number } | undefined;
  /** Bytes admitted since the last reading. */
  #admitted = 0;

  constructor(dir: string, opts: FreeSpaceGuardOptions = {}) {
    this.#dir = dir;
    this.#configured = opts.minFreeBytes;
    this.#statFs = opts.statFs ?? statFs;
    this.#now = opts.nowMs ?? Date.now;
  }

  /** A fresh reading of the filesystem and the reserve that applies to it (also refreshes the cache). */
  async space(): Promise<FsSpace & { readonly reserveBytes: number }> {
    const s = await this.#statFs(this.#dir);
    const reserveBytes = this.#reserveFor(s);
    this.#reading = { available: s.availableBytes, reserve: reserveBytes, atMs: this.#now() };
    this.#admitted = 0;
    return { ...s, reserveBytes };
  }

  #reserveFor(s: FsSpace): number {
    return (
      this.#configured ??
      Math.min(DEFAULT_MIN_FREE_MAX_BYTES, Math.floor(s.totalBytes * DEFAULT_MIN_FREE_FRACTION))
    );
  }

  /**
   * Admits a write of `bytes`, or returns the shortfall when it would leave less than the reserve
   * free. Errors of statfs itself propagate (the write would fail the same way).
   */
  async admit(bytes: number): Promise<Shortfall | null> {
    if (this.#configured === 0) return null;
    const now = this.#now();
    let r = this.#reading;
    const estimate = r === undefined ? 0 : r.available - this.#admitted;
    if (
      r === undefined ||
      now - r.atMs > STATFS_MAX_AGE_MS ||
      estimate - bytes < r.reserve + STATFS_MARGIN_BYTES
    ) {
      const s = await this.#statFs(this.#dir);
      r = { available: s.availableBytes, reserve: this.#reserveFor(s), atMs: now };
      this.#reading = r;
      this.#admitted = 0;
    }
    const available = r.available - this.#admitted;
    if (available - bytes < r.reserve)
      return { availableBytes: Math.max(0, available), reserveBytes: r.reserve };
    this.#admitted += bytes;
    return null;
  }
}
