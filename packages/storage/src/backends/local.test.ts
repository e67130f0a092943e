import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { StorageError } from "../backend.js";
import { runBackendContract } from "../contract/backend-contract.js";
import { RESERVED_KEY_SEGMENT } from "../object-key.js";
import { LocalBackend, type LocalIo } from "./local.js";

const roots: string[] = [];
async function freshRoot(): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "enigma-local-"));
  roots.push(dir);
  return path.join(dir, "data");
}
afterAll(async () => {
  for (const r of roots) await fsp.rm(r, { recursive: true, force: true });
});

runBackendContract(
  "local",
  async () => new LocalBackend({ name: "local-contract", root: await freshRoot() }),
);

async function listKeys(b: LocalBackend, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of b.list(prefix)) keys.push(o.key);
  return keys.sort();
}

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28 });
}

/** Real file handles, except that writes fail with ENOSPC. */
const fullDiskIo: LocalIo = {
  async open(file, flags, mode) {
    const h = await fsp.open(file, flags, mode);
    if (flags === "r") return h;
    return new Proxy(h, {
      get(target, prop, receiver) {
        if (prop === "writeFile" || prop === "write") return async () => Promise.reject(enospc());
        const v = Reflect.get(target, prop, receiver);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  },
};

describe("LocalBackend specifics", () => {
  it("a full disk fails with NoSpace, leaves no temp file and no partial object", async () => {
    const root = await freshRoot();
    const b = new LocalBackend({ name: "full-disk", root, io: fullDiskIo });
    let err: unknown;
    try {
      await b.put("chunks/ab/x", Buffer.alloc(1024, 1));
    } catch (e) {
      err = e;
    }
    expect(StorageError.is(err, "NoSpace")).toBe(true);
    expect((err as StorageError).provider).toBe("full-disk");
    expect(await fsp.readdir(path.join(root, RESERVED_KEY_SEGMENT))).toEqual([]);
    expect(await b.exists("chunks/ab/x")).toBe(false);
  });

  it("a failed overwrite keeps the previous version intact", async () => {
    const root = await freshRoot();
    await new LocalBackend({ name: "l", root }).put("k", Buffer.from("old"));
    const full = new LocalBackend({ name: "l", root, io: fullDiskIo });
    await expect(full.put("k", Buffer.from("new contents"))).rejects.toMatchObject({ code: "NoSpace" });
    expect((await full.get("k")).toString()).toBe("old");
  });

  it("fsyncs the temp file and the directory it renames into (and new parent directories)", async () => {
    const root = await freshRoot();
    const synced: string[] = [];
    const io: LocalIo = {
      async open(file, flags, mode) {
        const h = await fsp.open(file, flags, mode);
        const sync = h.sync.bind(h);
        const datasync = h.datasync.bind(h);
        h.sync = async () => {
          synced.push(path.relative(root, file) || ".");
          return sync();
        };
        h.datasync = async () => {
          synced.push(path.relative(root, file) || ".");
          return datasync();
        };
        return h;
      },
    };
    const b = new LocalBackend({ name: "l", root, io });
    await b.put("chunks/ab/obj", Buffer.from("x"));
    const tmpFileSyncs = synced.filter((s) => s.startsWith(`${RESERVED_KEY_SEGMENT}/`));
    expect(tmpFileSyncs).toHaveLength(1);
    // The rename target's directory and each directory mkdir -p created, plus the root's entry.
    expect(synced).toEqual(expect.arrayContaining(["chunks/ab", "chunks", "."]));
    // The temp file was synced before any directory was.
    expect(synced.indexOf(tmpFileSyncs[0]!)).toBeLessThan(synced.indexOf("chunks/ab"));
    synced.length = 0;
    await b.put("chunks/ab/obj2", Buffer.from("y"));
    expect(synced.filter((s) => !s.startsWith(RESERVED_KEY_SEGMENT))).toEqual(["chunks/ab"]);
  });

  it("a directory removed after a put used it is created again by the next put", async () => {
    const root = await freshRoot();
    const b = new LocalBackend({ name: "l", root });
    await b.put("chunks/cd/one", Buffer.from("1"));
    await b.delete("chunks/cd/one");
    await fsp.rm(path.join(root, "chunks"), { recursive: true });
    await b.put("chunks/cd/two", Buffer.alloc(3 * 1024 * 1024, 7));
    expect((await b.get("chunks/cd/two")).equals(Buffer.alloc(3 * 1024 * 1024, 7))).toBe(true);
    expect(await fsp.readdir(path.join(root, RESERVED_KEY_SEGMENT))).toEqual([]);
  });

  it("never lists leftover temp files (as after a crash mid-put)", async () => {
    const root = await freshRoot();
    const b = new LocalBackend({ name: "l", root });
    await b.put("chunks/aa/real", Buffer.from("x"));
    await fsp.writeFile(path.join(root, RESERVED_KEY_SEGMENT, "crashed.tmp"), "partial");
    expect(await listKeys(b)).toEqual(["chunks/aa/real"]);
    expect(await listKeys(b, ".enigma")).toEqual([]);
  });

  it("keys that escape the root are rejected before touching the disk", async () => {
    const root = await freshRoot();
    const b = new LocalBackend({ name: "l", root });
    await expect(b.put("../escape", Buffer.from("x"))).rejects.toMatchObject({ code: "InvalidKey" });
    await expect(b.put("/etc/passwd", Buffer.from("x"))).rejects.toMatchObject({ code: "InvalidKey" });
    await expect(fsp.access(path.join(path.dirname(root), "escape"))).rejects.toThrow();
  });

  it("a key whose path collides with an existing object fails with InvalidKey, not Internal", async () => {
    const b = new LocalBackend({ name: "l", root: await freshRoot() });
    await b.put("a", Buffer.from("file"));
    await expect(b.put("a/b", Buffer.from("x"))).rejects.toMatchObject({ code: "InvalidKey" });
    expect(await b.exists("a/b")).toBe(false);
    expect(await b.exists("a")).toBe(true);
  });

  it("test() creates the root, and fails naming the provider when the root is a file", async () => {
    const root = await freshRoot();
    await new LocalBackend({ name: "l", root }).test();
    expect((await fsp.stat(root)).isDirectory()).toBe(true);
    const fileRoot = path.join(root, "not-a-dir");
    await fsp.writeFile(fileRoot, "x");
    const err = await new LocalBackend({ name: "bad-root", root: fileRoot }).test().catch((e: unknown) => e);
    expect(StorageError.is(err, "InvalidConfig")).toBe(true);
    expect((err as StorageError).message).toContain("bad-root");
  });

  it("an aborted signal stops a put before it writes", async () => {
    const b = new LocalBackend({ name: "l", root: await freshRoot() });
    const ac = new AbortController();
    ac.abort();
    await expect(b.put("k", Buffer.from("x"), { signal: ac.signal })).rejects.toMatchObject({
      code: "Timeout",
    });
    expect(await b.exists("k")).toBe(false);
  });
});
