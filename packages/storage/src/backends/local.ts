import { randomUUID } from "node:crypto";
import { type Dirent, constants as fsc } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { DIRECT_IO_ALIGN } from "../aligned.js";
import {
  type BackendSpace,
  type ListedObject,
  type OpOptions,
  type StorageBackend,
  StorageError,
} from "../backend.js";
import { errnoCode } from "../errors.js";
import { RESERVED_KEY_SEGMENT, validateListPrefix, validateObjectKey } from "../object-key.js";
import { readDirect, ShortDirectIoError, StagingBuffers, writeDirect } from "./direct-io.js";
import { FreeSpaceGuard, type StatFs } from "./free-space.js";
import { mapFsError } from "./local-errors.js";

/**
 * The file operations the local backend needs that tests may want to fail (ENOSPC) or observe
 * (fsync). Everything else uses node:fs/promises directly.
 */
export interface LocalIo {
  open(file: string, flags: string | number, mode?: number): Promise<fsp.FileHandle>;
}

/**
 * `[[providers]] direct_io` for Local: whether objects of DIRECT_IO_MIN_BYTES and more (chunks) are
 * written and read with O_DIRECT, bypassing the page cache (see direct-io.ts). "auto" uses it
 * where the filesystem accepts it and quietly falls back where it does not (tmpfs, some FUSE and
 * network filesystems); "on" makes a refusal an error; "off" never uses it.
 */
export type DirectIoMode = "auto" | "on" | "off";
export const DIRECT_IO_MODES: readonly DirectIoMode[] = ["auto", "on", "off"];

/**
 * Objects at least this large use direct I/O. Smaller ones (small S3 objects, the last chunk of
 * small files, metadata) stay buffered: the page cache serves their re-reads, and per-byte costs
 * only matter for large ones.
 */
export const DIRECT_IO_MIN_BYTES = 256 * 1024;

export interface LocalBackendOptions {
  readonly name: string;
  /** Root directory (`[[providers]] bucket` for type Local); created on first use. */
  readonly root: string;
  readonly io?: LocalIo;
  /**
   * Free space a put must leave on the root's filesystem (`min_free_space`); undefined = 1 % of
   * the filesystem, at most 1 GiB; 0 = none. See FreeSpaceGuard.
   */
  readonly minFreeBytes?: number;
  /** Test hook: the filesystem reading the reserve is checked against. */
  readonly statFs?: StatFs;
  /** Direct I/O for large objects (`direct_io`); default "auto". */
  readonly directIo?: DirectIoMode;
  /** Test hook: the size from which direct I/O is used (default DIRECT_IO_MIN_BYTES). */
  readonly directIoMinBytes?: number;
}

const defaultIo: LocalIo = { open: (file, flags, mode) => fsp.open(file, flags, mode) };

/**
 * Directories `put` has created or seen, so the next put into one skips its `mkdir -p` (each fs
 * call is a thread-pool round trip; a 4 MiB chunk used to cost ~17 of them). Bounded: past this
 * many entries the set is cleared and refills as puts go. A cached directory removed behind our
 * back only costs one failed rename (ENOENT), after which put creates it again.
 */
const KNOWN_DIRS_MAX = 65_536;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * A directory tree as an object store. `put` writes a temp file under `<root>/.enigma-tmp/`,
 * fsyncs it, renames it into place and fsyncs the directory (plus any directories it had to
 * create), so after a crash a key holds either the old object, the new one, or nothing — never a
 * torn write. Temp files live outside every key's path and are never listed.
 */
export class LocalBackend implements StorageBackend {
  readonly name: string;
  readonly root: string;
  private readonly io: LocalIo;
  private tmpDirReady: Promise<void> | undefined;
  private readonly knownDirs = new Set<string>();
  private readonly freeSpace: FreeSpaceGuard;
  private readonly directMode: DirectIoMode;
  private readonly directMinBytes: number;
  /** What direct I/O has done here: untried until the first large object, then works or refused. */
  private directState: "untried" | "works" | "refused" = "untried";
  /** What `space()`'s one-block probe found while no chunk has tried yet (null: not probed). */
  private probed: boolean | null = null;
  private readonly staging = new StagingBuffers();

  constructor(opts: LocalBackendOptions) {
    this.name = opts.name;
    this.root = path.resolve(opts.root);
    this.io = opts.io ?? defaultIo;
    this.freeSpace = new FreeSpaceGuard(this.root, {
      ...(opts.minFreeBytes !== undefined ? { minFreeBytes: opts.minFreeBytes } : {}),
      ...(opts.statFs !== undefined ? { statFs: opts.statFs } : {}),
    });
    this.directMode = opts.directIo ?? "auto";
    if (!DIRECT_IO_MODES.includes(this.directMode)) {
      throw new StorageError(
        "InvalidConfig",
        this.name,
        `direct_io must be one of ${DIRECT_IO_MODES.join(", ")}`,
      );
    }
    this.directMinBytes = opts.directIoMinBytes ?? DIRECT_IO_MIN_BYTES;
  }

  /**
   * Whether large objects go through O_DIRECT: what the first one met (true, or false when the
   * filesystem refused it in mode auto), false when the mode is off; before any, what `space()`'s
   * probe found, or null.
   */
  get directIo(): boolean | null {
    if (this.directMode === "off" || this.directState === "refused") return false;
    return this.directState === "works" ? true : this.probed;
  }

  private useDirect(bytes: number): boolean {
    return this.directMode !== "off" && this.directState !== "refused" && bytes >= this.directMinBytes;
  }

  /**
   * Opens `file` with O_DIRECT added to `flags`, or returns null when the filesystem refuses it
   * and the mode allows falling back (EINVAL: tmpfs and others have no direct I/O).
   */
  private async openDirect(file: string, flags: number, what: string): Promise<fsp.FileHandle | null> {
    try {
      return await this.io.open(file, flags | fsc.O_DIRECT, 0o644);
    } catch (err) {
      if (errnoCode(err) !== "EINVAL") throw err;
      this.directRefused(err, what);
      return null;
    }
  }

  /** The filesystem refused direct I/O: fall back for good (auto) or fail (on). */
  private directRefused(err: unknown, what: string): void {
    if (this.directMode === "on" && this.directState !== "works") {
      throw new StorageError(
        "Internal",
        this.name,
        `${what}: direct_io = "on" but the filesystem of ${this.root} refuses O_DIRECT (${errnoCode(err) ?? String(err)}); set direct_io = "auto" or "off"`,
        { cause: err },
      );
    }
    if (this.directState === "works") throw err; // worked before: this is a real failure
    this.directState = "refused";
  }

  private pathOf(key: string): string {
    validateObjectKey(key, this.name);
    return path.join(this.root, ...key.split("/"));
  }

  private get tmpDir(): string {
    return path.join(this.root, RESERVED_KEY_SEGMENT);
  }

  private ensureTmpDir(): Promise<void> {
    this.tmpDirReady ??= (async () => {
      const created = await fsp.mkdir(this.tmpDir, { recursive: true });
      if (created !== undefined) await this.syncCreatedDirs(created, this.tmpDir);
    })().catch((err: unknown) => {
      this.tmpDirReady = undefined;
      throw err;
    });
    return this.tmpDirReady;
  }

  private async fsyncDir(dir: string): Promise<void> {
    const h = await this.io.open(dir, "r");
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  }

  /** After `mkdir -p` created `firstCreated`..`leaf`, make each new entry durable in its parent. */
  private async syncCreatedDirs(firstCreated: string, leaf: string): Promise<void> {
    const dirs: string[] = [];
    for (let d = leaf; d.length >= firstCreated.length; d = path.dirname(d)) dirs.push(d);
    dirs.push(path.dirname(firstCreated));
    for (const d of dirs) await this.fsyncDir(d);
  }

  /**
   * The root's filesystem: available and total bytes, the reserve puts keep, and whether chunks go
   * through O_DIRECT (probed once with a one-block temp file if no chunk has tried yet, so status
   * and metrics can say it before the first chunk).
   */
  async space(): Promise<BackendSpace> {
    try {
      const space = await this.freeSpace.space();
      if (this.directMode !== "off" && this.directState === "untried" && this.probed === null) {
        this.probed = await this.probeDirect();
      }
      return { ...space, directIo: this.directIo };
    } catch (err) {
      throw mapFsError(err, this.name, "space");
    }
  }

  /**
   * Writes one zero block with O_DIRECT to a temp file and removes it: whether the filesystem takes
   * direct I/O (null: no aligned memory to try with). Only reported: what chunks do is still
   * decided by the first chunk (so mode "on" fails that chunk loudly, not status).
   */
  private async probeDirect(): Promise<boolean | null> {
    await this.ensureTmpDir();
    const probe = path.join(this.tmpDir, `${randomUUID()}.probe`);
    const stage = this.staging.take();
    if (stage === null) return null;
    let h: fsp.FileHandle | null = null;
    try {
      h = await this.io.open(probe, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_DIRECT, 0o600);
      stage.fill(0, 0, DIRECT_IO_ALIGN);
      await h.write(stage, 0, DIRECT_IO_ALIGN, 0);
      return true;
    } catch (err) {
      if (errnoCode(err) !== "EINVAL") throw err;
      return false;
    } finally {
      this.staging.give(stage);
      await h?.close().catch(() => {});
      await fsp.rm(probe, { force: true });
    }
  }

  /**
   * One put is open, write (whole buffer, one call unless the kernel writes short), fsync, close,
   * rename and a directory fsync: 8 thread-pool round trips, plus `mkdir -p` the first time a
   * directory is used.
   */
  async put(key: string, data: Uint8Array, opts?: OpOptions): Promise<void> {
    const dest = this.pathOf(key);
    const what = `put ${key}`;
    let tmp: string | undefined;
    let handle: fsp.FileHandle | undefined;
    try {
      opts?.signal?.throwIfAborted();
      await this.ensureTmpDir();
      const short = await this.freeSpace.admit(data.length);
      if (short !== null) {
        throw new StorageError(
          "NoSpace",
          this.name,
          `${what}: ${mib(short.availableBytes)} free on the filesystem of ${this.root}, and ${mib(data.length)} more would go below its ${mib(short.reserveBytes)} reserve (min_free_space)`,
        );
      }
      tmp = path.join(this.tmpDir, `${randomUUID()}.tmp`);
      if (this.useDirect(data.length)) {
        handle = await this.putDirect(tmp, data, what, opts);
        // Refused (auto): the temp file may exist, empty; a buffered write starts it afresh.
        if (handle === undefined) await fsp.rm(tmp, { force: true });
      }
      if (handle === undefined) {
        handle = await this.io.open(tmp, "wx", 0o644);
        for (let off = 0; off < data.length; ) {
          opts?.signal?.throwIfAborted();
          const { bytesWritten } = await handle.write(data, off, data.length - off, off);
          if (bytesWritten <= 0)
            throw new Error(`${what}: write made no progress at ${off} of ${data.length} bytes`);
          off += bytesWritten;
        }
      }
      // The file's data and what reading it back needs (size, block map); not its timestamps.
      await handle.datasync();
      const h = handle;
      handle = undefined;
      await h.close();
      const dir = path.dirname(dest);
      const created = await this.renameInto(tmp, dest, dir, opts);
      tmp = undefined;
      if (created !== undefined) await this.syncCreatedDirs(created, dir);
      else await this.fsyncDir(dir);
    } catch (err) {
      if (handle !== undefined) await handle.close().catch(() => {});
      if (tmp !== undefined) await fsp.rm(tmp, { force: true }).catch(() => {});
      const code = errnoCode(err);
      if (code === "EISDIR" || code === "ENOTDIR" || code === "EEXIST") {
        throw new StorageError(
          "InvalidKey",
          this.name,
          `${what}: key conflicts with an existing object's path`,
          {
            cause: err,
          },
        );
      }
      throw mapFsError(err, this.name, what);
    }
  }

  /**
   * Creates `tmp` with O_DIRECT and writes `data` to it; returns the open handle (not synced), or
   * undefined when the filesystem refused direct I/O and the put should go buffered instead.
   */
  private async putDirect(
    tmp: string,
    data: Uint8Array,
    what: string,
    opts: OpOptions | undefined,
  ): Promise<fsp.FileHandle | undefined> {
    const h = await this.openDirect(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, what);
    if (h === null) return undefined;
    try {
      await writeDirect(h, data, this.staging, opts?.signal);
      this.directState = "works";
      return h;
    } catch (err) {
      await h.close().catch(() => {});
      // Some filesystems accept the open and refuse the write.
      if (errnoCode(err) === "EINVAL") {
        this.directRefused(err, what);
        return undefined;
      }
      // A short write (or no aligned staging memory): this put goes buffered, the next tries again.
      if (err instanceof ShortDirectIoError) return undefined;
      throw err;
    }
  }

  /**
   * Renames `tmp` to `dest`, creating `dir` first unless a put already made or saw it. Returns the
   * first directory mkdir created (to be made durable), or undefined.
   */
  private async renameInto(
    tmp: string,
    dest: string,
    dir: string,
    opts: OpOptions | undefined,
  ): Promise<string | undefined> {
    if (this.knownDirs.has(dir)) {
      opts?.signal?.throwIfAborted();
      try {
        await fsp.rename(tmp, dest);
        return undefined;
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw err;
        this.knownDirs.delete(dir); // removed behind our back: create it again below
      }
    }
    const created = await fsp.mkdir(dir, { recursive: true });
    opts?.signal?.throwIfAborted();
    await fsp.rename(tmp, dest);
    if (this.knownDirs.size >= KNOWN_DIRS_MAX) this.knownDirs.clear();
    this.knownDirs.add(dir);
    return created;
  }

  async get(key: string, opts?: OpOptions): Promise<Buffer> {
    const file = this.pathOf(key);
    try {
      return await fsp.readFile(file, opts?.signal ? { signal: opts.signal } : {});
    } catch (err) {
      if (errnoCode(err) === "EISDIR")
        throw new StorageError("NotFound", this.name, `get ${key}: no such object`);
      throw mapFsError(err, this.name, `get ${key}`);
    }
  }

  /**
   * `get` into the caller's buffer: one open, fstat and (usually) one read of the whole file, with
   * no fresh file-sized buffer per call. Objects are replaced by rename, so the open file keeps
   * the size fstat reported; a file that still ends early is an error, never a short blob.
   */
  async getInto(key: string, alloc: (sizeBytes: number) => Buffer, opts?: OpOptions): Promise<Buffer> {
    const file = this.pathOf(key);
    let handle: fsp.FileHandle | undefined;
    let size: number;
    let ino: number;
    try {
      opts?.signal?.throwIfAborted();
      handle = await fsp.open(file, "r");
      const st = await handle.stat();
      if (!st.isFile()) throw new StorageError("NotFound", this.name, `get ${key}: no such object`);
      size = st.size;
      ino = st.ino;
    } catch (err) {
      await handle?.close().catch(() => {});
      if (errnoCode(err) === "EISDIR")
        throw new StorageError("NotFound", this.name, `get ${key}: no such object`);
      throw mapFsError(err, this.name, `get ${key}`);
    }
    try {
      // alloc's own refusal (a size above the caller's bound) propagates unchanged.
      const buf = alloc(size);
      if (buf.length < size) throw new RangeError(`get ${key}: alloc returned ${buf.length} < ${size} bytes`);
      const view = buf.subarray(0, size);
      if (this.useDirect(size)) {
        const direct = await this.openDirect(file, fsc.O_RDONLY, `get ${key}`).catch((err: unknown) => {
          throw mapFsError(err, this.name, `get ${key}`);
        });
        if (direct !== null) {
          let n: number | undefined;
          try {
            // Replaced by a rename since the first open: read the file that was sized, below.
            if ((await direct.stat()).ino === ino)
              n = await readDirect(direct, view, this.staging, opts?.signal);
          } catch (err) {
            if (!(err instanceof ShortDirectIoError)) throw mapFsError(err, this.name, `get ${key}`);
          } finally {
            await direct.close().catch(() => {});
          }
          if (n !== undefined) {
            if (n < size) {
              throw new StorageError(
                "Internal",
                this.name,
                `get ${key}: file ended at ${n} of ${size} bytes`,
              );
            }
            this.directState = "works";
            return view;
          }
          // Replaced meanwhile, or no aligned staging memory: read it buffered below.
        }
      }
      let off = 0;
      while (off < size) {
        let n: number;
        try {
          opts?.signal?.throwIfAborted();
          ({ bytesRead: n } = await handle.read(view, off, size - off, off));
        } catch (err) {
          throw mapFsError(err, this.name, `get ${key}`);
        }
        if (n === 0) {
          throw new StorageError("Internal", this.name, `get ${key}: file ended at ${off} of ${size} bytes`);
        }
        off += n;
      }
      return view;
    } finally {
      await handle.close().catch(() => {});
    }
  }

  async exists(key: string, opts?: OpOptions): Promise<boolean> {
    const file = this.pathOf(key);
    opts?.signal?.throwIfAborted();
    try {
      return (await fsp.stat(file)).isFile();
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return false;
      throw mapFsError(err, this.name, `exists ${key}`);
    }
  }

  async delete(key: string, opts?: OpOptions): Promise<void> {
    const file = this.pathOf(key);
    opts?.signal?.throwIfAborted();
    try {
      await fsp.unlink(file);
      // Empty fan-out directories are left in place: removing them would race a concurrent put
      // that has just created the directory and is about to rename into it.
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return;
      throw mapFsError(err, this.name, `delete ${key}`);
    }
  }

  async *list(prefix = "", opts?: OpOptions): AsyncGenerator<ListedObject> {
    validateListPrefix(prefix, this.name);
    // Start at the deepest directory the prefix names completely; filter the rest by string.
    const slash = prefix.lastIndexOf("/");
    const startRel = slash < 0 ? "" : prefix.slice(0, slash);
    yield* this.walk(startRel, prefix, opts?.signal);
  }

  private async *walk(
    relDir: string,
    prefix: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ListedObject> {
    signal?.throwIfAborted();
    const abs = relDir === "" ? this.root : path.join(this.root, ...relDir.split("/"));
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(abs, { withFileTypes: true });
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOENT" || code === "ENOTDIR") return;
      throw mapFsError(err, this.name, `list ${prefix}`);
    }
    for (const e of entries) {
      if (relDir === "" && e.name === RESERVED_KEY_SEGMENT) continue;
      const rel = relDir === "" ? e.name : `${relDir}/${e.name}`;
      if (e.isDirectory()) {
        const asDir = `${rel}/`;
        if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) yield* this.walk(rel, prefix, signal);
      } else if (e.isFile() && rel.startsWith(prefix)) {
        let st: import("node:fs").Stats;
        try {
          st = await fsp.stat(path.join(abs, e.name));
        } catch (err) {
          if (errnoCode(err) === "ENOENT") continue; // deleted while listing
          throw mapFsError(err, this.name, `list ${prefix}`);
        }
        yield { key: rel, sizeBytes: st.size, lastModifiedMs: Math.floor(st.mtimeMs) };
      }
    }
  }

  async test(opts?: OpOptions): Promise<void> {
    try {
      opts?.signal?.throwIfAborted();
      await this.ensureTmpDir();
      await fsp.access(this.tmpDir, fsp.constants.R_OK | fsp.constants.W_OK);
      const st = await fsp.stat(this.root);
      if (!st.isDirectory()) throw new StorageError("InvalidConfig", this.name, "root is not a directory");
    } catch (err) {
      if (errnoCode(err) === "ENOTDIR" || errnoCode(err) === "EEXIST") {
        throw new StorageError("InvalidConfig", this.name, "root is not a directory", { cause: err });
      }
      throw mapFsError(err, this.name, "test");
    }
  }
}
