import { constants as fsc, renameSync, truncateSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { allocAligned, DIRECT_IO_ALIGN, isAlignedView } from "../aligned.js";
import { StorageError } from "../backend.js";
import { RESERVED_KEY_SEGMENT } from "../object-key.js";
import { STAGING_BYTES } from "./direct-io.js";
import { DIRECT_IO_MIN_BYTES, LocalBackend, type LocalIo } from "./local.js";

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "enigma-direct-"));
  roots.push(dir);
  return path.join(dir, "data");
}
afterAll(async () => {
  for (const r of roots) await fsp.rm(r, { recursive: true, force: true });
});

/** Bytes that differ at every position (a pattern with a period that is no power of two). */
function pattern(bytes: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < bytes; i++) b[i] = (i * 31 + seed + (i >> 12)) % 251;
  return b;
}

/** An aligned copy of `data` (what the gateway's chunk buffers are). */
function alignedCopy(data: Buffer, room = 0): Buffer {
  const b = Buffer.from(allocAligned(data.length + room)).subarray(0, data.length);
  data.copy(b);
  return b;
}

/** Real file handles; records the flags of every open. */
function recordingIo(opened: (string | number)[]): LocalIo {
  return {
    open(file, flags, mode) {
      opened.push(flags);
      return fsp.open(file, flags, mode);
    },
  };
}

/** A filesystem without direct I/O (as older tmpfs and some FUSE mounts): O_DIRECT opens fail. */
const noDirectIo: LocalIo = {
  async open(file, flags, mode) {
    if (typeof flags === "number" && (flags & fsc.O_DIRECT) !== 0) {
      throw Object.assign(new Error(`EINVAL: invalid argument, open '${file}'`), {
        code: "EINVAL",
        errno: -22,
      });
    }
    return fsp.open(file, flags, mode);
  },
};

const isDirect = (f: string | number) => typeof f === "number" && (f & fsc.O_DIRECT) !== 0;

describe("aligned memory", () => {
  it("is page aligned by provenance, zero-filled, and views keep alignment only at block offsets", () => {
    const ab = allocAligned(100_000);
    expect(ab.byteLength).toBeGreaterThanOrEqual(100_000);
    const buf = Buffer.from(ab);
    expect(buf.every((x) => x === 0)).toBe(true);
    expect(isAlignedView(buf)).toBe(true);
    expect(isAlignedView(buf.subarray(DIRECT_IO_ALIGN))).toBe(true);
    expect(isAlignedView(buf.subarray(512))).toBe(false);
    expect(isAlignedView(Buffer.alloc(8192))).toBe(false);
    const shared = allocAligned(10, { shared: true });
    expect(shared).toBeInstanceOf(SharedArrayBuffer);
    expect(isAlignedView(new Uint8Array(shared))).toBe(true);
  });
});

describe("aligned memory when no WebAssembly memory can be had", () => {
  it("falls back to ordinary buffers, which direct I/O then copies through staging", async () => {
    const wasm = (globalThis as unknown as { WebAssembly: { Memory: unknown } }).WebAssembly;
    const real = wasm.Memory;
    wasm.Memory = function refused() {
      throw new RangeError("WebAssembly.Memory(): could not allocate memory");
    };
    let plain: ArrayBuffer;
    let shared: SharedArrayBuffer;
    try {
      plain = allocAligned(300_000);
      shared = allocAligned(300_000, { shared: true });
    } finally {
      wasm.Memory = real;
    }
    expect(plain.byteLength).toBe(300_000);
    expect(isAlignedView(new Uint8Array(plain))).toBe(false);
    expect(shared).toBeInstanceOf(SharedArrayBuffer);
    expect(isAlignedView(new Uint8Array(shared))).toBe(false);
    // Such a buffer still round-trips (the backend's own staging memory is allocated normally).
    const b = new LocalBackend({ name: "d", root: await freshRoot() });
    const data = Buffer.from(plain);
    data.set(pattern(data.length, 8));
    await b.put("k", data);
    expect((await b.getInto("k", () => Buffer.from(shared))).equals(data)).toBe(true);
    expect(b.directIo).toBe(true);
  });
});

describe("LocalBackend direct I/O", () => {
  // Around every boundary the code treats differently: the block, the staging step, the minimum.
  const sizes = [
    DIRECT_IO_MIN_BYTES,
    DIRECT_IO_MIN_BYTES + 1,
    DIRECT_IO_MIN_BYTES + DIRECT_IO_ALIGN - 1,
    STAGING_BYTES - 1,
    STAGING_BYTES,
    STAGING_BYTES + 1,
    3 * STAGING_BYTES + 12_345,
  ];

  it("round-trips objects of every size from aligned and unaligned memory, with O_DIRECT", async () => {
    const opened: (string | number)[] = [];
    const b = new LocalBackend({ name: "d", root: await freshRoot(), io: recordingIo(opened) });
    expect(b.directIo).toBeNull();
    for (const [i, size] of sizes.entries()) {
      const data = pattern(size, i);
      // Unaligned: a view at an odd offset of an ordinary buffer.
      const odd = Buffer.alloc(size + 3);
      data.copy(odd, 3);
      await b.put(`chunks/u/${i}`, odd.subarray(3));
      await b.put(`chunks/a/${i}`, alignedCopy(data));
      for (const key of [`chunks/u/${i}`, `chunks/a/${i}`]) {
        expect((await fsp.stat(path.join(b.root, key))).size).toBe(size);
        expect((await b.get(key)).equals(data)).toBe(true);
        // Into an aligned buffer (no copy) and into an ordinary one (through staging).
        const intoAligned = await b.getInto(key, (n) => Buffer.from(allocAligned(n)));
        expect(intoAligned.equals(data)).toBe(true);
        const intoPlain = await b.getInto(key, (n) => Buffer.alloc(n + 7).subarray(7));
        expect(intoPlain.equals(data)).toBe(true);
      }
    }
    expect(b.directIo).toBe(true);
    expect((await b.space()).directIo).toBe(true);
    expect(opened.filter(isDirect)).toHaveLength(sizes.length * 2 + sizes.length * 2 * 2);
    expect(await fsp.readdir(path.join(b.root, RESERVED_KEY_SEGMENT))).toEqual([]);
  });

  it("status knows before the first chunk: a one-block probe says what the filesystem takes", async () => {
    const root = await freshRoot();
    const b = new LocalBackend({ name: "d", root });
    expect(b.directIo).toBeNull();
    // What the test's own O_DIRECT open in the same directory finds (ext4 here: yes).
    let takes = true;
    try {
      await (
        await fsp.open(path.join(path.dirname(root), "probe"), fsc.O_WRONLY | fsc.O_CREAT | fsc.O_DIRECT)
      ).close();
    } catch {
      takes = false;
    }
    expect((await b.space()).directIo).toBe(takes);
    expect(await fsp.readdir(path.join(root, RESERVED_KEY_SEGMENT))).toEqual([]);
    const off = new LocalBackend({ name: "d", root, directIo: "off" });
    expect((await off.space()).directIo).toBe(false);
  });

  it("keeps small objects buffered (the page cache serves their re-reads)", async () => {
    const opened: (string | number)[] = [];
    const b = new LocalBackend({ name: "d", root: await freshRoot(), io: recordingIo(opened) });
    const small = pattern(DIRECT_IO_MIN_BYTES - 1, 9);
    await b.put("k", small);
    expect((await b.getInto("k", (n) => Buffer.alloc(n))).equals(small)).toBe(true);
    expect(opened.some(isDirect)).toBe(false);
    expect(b.directIo).toBeNull();
  });

  it("runs many puts and reads at once through the shared staging buffers", async () => {
    const b = new LocalBackend({ name: "d", root: await freshRoot() });
    const items = Array.from({ length: 12 }, (_, i) => pattern(STAGING_BYTES + 1000 * i + 1, i));
    await Promise.all(items.map((d, i) => b.put(`c/${i}`, d)));
    const back = await Promise.all(items.map((_, i) => b.getInto(`c/${i}`, (n) => Buffer.alloc(n))));
    expect(back.map((got, i) => got.equals(items[i]!))).toEqual(items.map(() => true));
  });

  it("auto: a filesystem that refuses O_DIRECT gets buffered writes and reads, and no stray files", async () => {
    const root = await freshRoot();
    const b = new LocalBackend({ name: "d", root, io: noDirectIo });
    const data = pattern(STAGING_BYTES + 5, 1);
    // Before any chunk, status learns it from a one-block probe, which leaves nothing behind.
    expect((await b.space()).directIo).toBe(false);
    expect(await fsp.readdir(path.join(root, RESERVED_KEY_SEGMENT))).toEqual([]);
    await b.put("chunks/x", data);
    expect(b.directIo).toBe(false);
    expect((await b.space()).directIo).toBe(false);
    expect((await b.getInto("chunks/x", (n) => Buffer.alloc(n))).equals(data)).toBe(true);
    await b.put("chunks/y", data);
    expect(await fsp.readdir(path.join(root, RESERVED_KEY_SEGMENT))).toEqual([]);
  });

  it("on: a refusal is an error that names the setting, and the put leaves nothing behind", async () => {
    const root = await freshRoot();
    const b = new LocalBackend({ name: "d", root, io: noDirectIo, directIo: "on" });
    // The status probe reports the refusal; it does not turn "on" into a quiet fallback.
    expect((await b.space()).directIo).toBe(false);
    const err = await b.put("chunks/x", pattern(DIRECT_IO_MIN_BYTES, 2)).catch((e: unknown) => e);
    expect(StorageError.is(err, "Internal")).toBe(true);
    expect((err as Error).message).toMatch(/direct_io = "on".*refuses O_DIRECT/);
    expect(await b.exists("chunks/x")).toBe(false);
    expect(await fsp.readdir(path.join(root, RESERVED_KEY_SEGMENT))).toEqual([]);
  });

  it("off: never opens with O_DIRECT", async () => {
    const opened: (string | number)[] = [];
    const b = new LocalBackend({
      name: "d",
      root: await freshRoot(),
      io: recordingIo(opened),
      directIo: "off",
    });
    const data = pattern(STAGING_BYTES, 3);
    await b.put("k", data);
    expect((await b.getInto("k", (n) => Buffer.alloc(n))).equals(data)).toBe(true);
    expect(opened.some(isDirect)).toBe(false);
    expect(b.directIo).toBe(false);
  });

  it("a file cut short behind the backend's back is an error, never a short blob", async () => {
    const b = new LocalBackend({ name: "d", root: await freshRoot() });
    const data = pattern(STAGING_BYTES + 100, 4);
    await b.put("k", data);
    // Truncate after getInto's fstat: the alloc callback runs between the two.
    const file = path.join(b.root, "k");
    const err = await b
      .getInto("k", (n) => {
        truncateSync(file, n - 10_000);
        return Buffer.alloc(n);
      })
      .catch((e: unknown) => e);
    expect(StorageError.is(err, "Internal")).toBe(true);
    expect((err as Error).message).toMatch(/file ended at \d+ of \d+ bytes/);
  });

  it("an object replaced between sizing and the direct open is read whole from the sized file", async () => {
    const b = new LocalBackend({ name: "d", root: await freshRoot() });
    const old = pattern(STAGING_BYTES + 100, 5);
    const replacement = pattern(2 * STAGING_BYTES, 6);
    await b.put("k", old);
    await b.put("other", replacement);
    // alloc runs after getInto sized the file and before it opens it again for O_DIRECT.
    const got = await b.getInto("k", (n) => {
      renameSync(path.join(b.root, "other"), path.join(b.root, "k"));
      return Buffer.alloc(n);
    });
    expect(got.equals(old)).toBe(true);
    expect((await b.get("k")).equals(replacement)).toBe(true);
  });

  it("rejects an unknown mode", async () => {
    expect(() => new LocalBackend({ name: "d", root: "/tmp/x", directIo: "always" as never })).toThrow(
      /direct_io/,
    );
  });
});
