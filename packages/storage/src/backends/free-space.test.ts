import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StorageError } from "../backend.js";
import { DEFAULT_RETRY_POLICY, withRetry } from "../retry.js";
import { FreeSpaceGuard, type FsSpace, STATFS_MARGIN_BYTES, STATFS_MAX_AGE_MS } from "./free-space.js";
import { LocalBackend } from "./local.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A filesystem whose free space the test sets, counting statfs calls. */
function fakeFs(space: FsSpace) {
  const fs = { space, calls: 0 };
  return {
    fs,
    statFs: async () => {
      fs.calls++;
      return fs.space;
    },
    /** Admits through `g` and, when admitted, writes the bytes (the free space shrinks). */
    async write(g: FreeSpaceGuard, bytes: number) {
      const short = await g.admit(bytes);
      if (short === null) fs.space = { ...fs.space, availableBytes: fs.space.availableBytes - bytes };
      return short;
    },
  };
}

describe("FreeSpaceGuard", () => {
  it("admits writes while they leave the reserve free, then refuses with the shortfall", async () => {
    const { statFs, write } = fakeFs({ availableBytes: 100 * MiB, totalBytes: 1000 * MiB });
    const g = new FreeSpaceGuard("/x", { minFreeBytes: 40 * MiB, statFs });
    for (let i = 0; i < 6; i++) expect(await write(g, 10 * MiB)).toBeNull();
    // 40 MiB left, and 1 byte more would cut into the reserve.
    expect(await write(g, 1)).toEqual({ availableBytes: 40 * MiB, reserveBytes: 40 * MiB });
  });

  it("reads the filesystem once per interval far from the reserve, and on every write near it", async () => {
    let now = 0;
    const { fs, statFs } = fakeFs({ availableBytes: 10 * GiB, totalBytes: 100 * GiB });
    const g = new FreeSpaceGuard("/x", { minFreeBytes: GiB, statFs, nowMs: () => now });
    for (let i = 0; i < 100; i++) await g.admit(MiB);
    expect(fs.calls).toBe(1);
    now += STATFS_MAX_AGE_MS + 1;
    await g.admit(MiB);
    expect(fs.calls).toBe(2);
    // Within the margin of the reserve every write reads again, so frees are seen at once.
    fs.space = { availableBytes: GiB + STATFS_MARGIN_BYTES / 2, totalBytes: 100 * GiB };
    now += STATFS_MAX_AGE_MS + 1;
    await g.admit(MiB);
    await g.admit(MiB);
    await g.admit(MiB);
    expect(fs.calls).toBe(5);
    fs.space = { availableBytes: GiB, totalBytes: 100 * GiB };
    expect(await g.admit(MiB)).not.toBeNull();
    fs.space = { availableBytes: 2 * GiB, totalBytes: 100 * GiB };
    expect(await g.admit(MiB)).toBeNull();
  });

  it("defaults to 1 % of the filesystem, at most 1 GiB; 0 turns it off", async () => {
    const smallFs = fakeFs({ availableBytes: 11 * MiB, totalBytes: 1000 * MiB });
    const small = new FreeSpaceGuard("/x", { statFs: smallFs.statFs });
    expect(await smallFs.write(small, MiB)).toBeNull();
    expect(await smallFs.write(small, MiB)).toEqual({ availableBytes: 10 * MiB, reserveBytes: 10 * MiB });
    const big = new FreeSpaceGuard("/x", {
      statFs: fakeFs({ availableBytes: 2 * GiB, totalBytes: 1000 * GiB }).statFs,
    });
    expect(await big.admit(GiB + MiB)).toEqual({ availableBytes: 2 * GiB, reserveBytes: GiB });
    const { fs, statFs } = fakeFs({ availableBytes: 0, totalBytes: GiB });
    const off = new FreeSpaceGuard("/x", { minFreeBytes: 0, statFs });
    expect(await off.admit(GiB)).toBeNull();
    expect(fs.calls).toBe(0);
  });
});

describe("LocalBackend free-space reserve", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("refuses a put that would cut into the reserve with NoSpace, writing nothing", async () => {
    root = mkdtempSync(join(tmpdir(), "local-reserve-"));
    const { fs, statFs } = fakeFs({ availableBytes: 64 * MiB + 100, totalBytes: GiB });
    const b = new LocalBackend({ name: "disk", root, minFreeBytes: 64 * MiB, statFs });
    await b.put("a", Buffer.alloc(100));
    fs.space = { availableBytes: 64 * MiB, totalBytes: GiB };
    const err = await b.put("b", Buffer.alloc(1)).catch((e: unknown) => e);
    expect(StorageError.is(err, "NoSpace")).toBe(true);
    expect((err as StorageError).provider).toBe("disk");
    expect((err as Error).message).toMatch(/below its 64\.0 MiB reserve \(min_free_space\)/);
    const keys: string[] = [];
    for await (const o of b.list("")) keys.push(o.key);
    expect(keys).toEqual(["a"]);
    expect(readdirSync(join(root, ".enigma-tmp"))).toEqual([]);
    // Space freed elsewhere is seen by the next put.
    fs.space = { availableBytes: GiB, totalBytes: GiB };
    await b.put("b", Buffer.alloc(1));
    // Status and metrics read it through the retry wrapper too.
    const wrapped = withRetry(b, DEFAULT_RETRY_POLICY);
    expect(await wrapped.space?.()).toMatchObject({
      availableBytes: GiB,
      totalBytes: GiB,
      reserveBytes: 64 * MiB,
    });
  });
});
