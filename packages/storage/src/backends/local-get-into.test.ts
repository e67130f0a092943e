import { createHash, randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { chunkObjectKey, type StorageBackend, StorageError } from "../backend.js";
import { Distributor } from "../distributor.js";
import { type RetryPolicy, withRetry } from "../retry.js";
import { LocalBackend } from "./local.js";
import { MemoryBackend } from "./memory.js";

const roots: string[] = [];
async function freshLocal(name = "local"): Promise<LocalBackend> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "enigma-getinto-"));
  roots.push(dir);
  return new LocalBackend({ name, root: path.join(dir, "data") });
}
afterAll(async () => {
  for (const r of roots) await fsp.rm(r, { recursive: true, force: true });
});

/** An allocator that records what it handed out; each buffer is longer than asked and pre-filled. */
function recordingAlloc(extra = 100) {
  const given: Buffer[] = [];
  const sizes: number[] = [];
  const alloc = (n: number) => {
    sizes.push(n);
    const b = Buffer.alloc(n + extra, 0xee);
    given.push(b);
    return b;
  };
  return { alloc, given, sizes };
}

const tag = (i: number) => createHash("sha256").update(`chunk-${i}`).digest("hex");

describe("LocalBackend.getInto", () => {
  it("reads the whole object into the caller's buffer and returns the exact view", async () => {
    const b = await freshLocal();
    for (const size of [0, 1, 70_000, 3 * 1024 * 1024 + 5]) {
      const data = randomBytes(size);
      await b.put(`k/${size}`, data);
      const { alloc, given, sizes } = recordingAlloc();
      const got = await b.getInto(`k/${size}`, alloc);
      expect(sizes).toEqual([size]);
      expect(got.buffer).toBe(given[0]!.buffer);
      expect(got.length).toBe(size);
      expect(got.equals(data)).toBe(true);
      expect(given[0]!.subarray(size).every((x) => x === 0xee)).toBe(true);
    }
  });

  it("a missing key or a directory is NotFound, without asking for a buffer", async () => {
    const b = await freshLocal();
    await b.put("dir/leaf", Buffer.from("x"));
    for (const key of ["absent", "dir"]) {
      const { alloc, sizes } = recordingAlloc();
      await expect(b.getInto(key, alloc)).rejects.toMatchObject({ code: "NotFound", provider: "local" });
      expect(sizes).toEqual([]);
    }
  });

  it("passes an allocator's refusal through unchanged; refuses a too-short buffer", async () => {
    const b = await freshLocal();
    await b.put("big", Buffer.alloc(5000));
    const refusal = new RangeError("too big for me");
    await expect(
      b.getInto("big", () => {
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    await expect(b.getInto("big", () => Buffer.alloc(10))).rejects.toThrow(/alloc returned 10 < 5000/);
  });

  it("an aborted signal is Timeout", async () => {
    const b = await freshLocal();
    await b.put("k", Buffer.from("data"));
    const ac = new AbortController();
    ac.abort();
    await expect(b.getInto("k", recordingAlloc().alloc, { signal: ac.signal })).rejects.toMatchObject({
      code: "Timeout",
    });
  });
});

describe("getInto through withRetry and the distributor", () => {
  const policy: RetryPolicy = {
    maxAttempts: 3,
    baseDelayMs: 1,
    maxDelayMs: 1,
    requestTimeoutMs: 5_000,
    transferTimeoutMs: 5_000,
  };

  it("withRetry passes getInto through, asking for a fresh buffer on every attempt", async () => {
    const local = await freshLocal("flaky");
    await local.put("k", Buffer.from("hello"));
    let calls = 0;
    const flaky: StorageBackend = {
      name: "flaky",
      put: (k, d) => local.put(k, d),
      get: (k) => local.get(k),
      delete: (k) => local.delete(k),
      exists: (k) => local.exists(k),
      list: (p) => local.list(p),
      test: () => local.test(),
      async getInto(k, alloc, o) {
        if (++calls === 1) {
          alloc(5); // a first attempt that took a buffer and then failed
          throw new StorageError("Unavailable", "flaky", "blip");
        }
        return local.getInto(k, alloc, o);
      },
    };
    const wrapped = withRetry(flaky, policy, { sleep: async () => {} });
    const { alloc, given } = recordingAlloc();
    const got = await wrapped.getInto!("k", alloc);
    expect(got.toString()).toBe("hello");
    expect(given.length).toBe(2);
    expect(got.buffer).toBe(given[1]!.buffer);
    expect(withRetry(new MemoryBackend({ name: "m" }), policy).getInto).toBeUndefined();
  });

  it("getChunk reads into alloc'd buffers where it can, falls back to get elsewhere, and on failed verify", async () => {
    const [l1, l2] = [await freshLocal("l1"), await freshLocal("l2")];
    const mem = new MemoryBackend({ name: "mem" });
    const d = new Distributor({
      providers: [l1, l2, mem].map((b) => ({ backend: withRetry(b, policy) })),
    });
    const t = tag(1);
    const blob = randomBytes(4096);
    await l1.put(chunkObjectKey(t), Buffer.from("a corrupt replica"));
    await l2.put(chunkObjectKey(t), blob);
    await mem.put(chunkObjectKey(t), blob);
    const verify = (b: Buffer) => b.equals(blob);

    const a = recordingAlloc();
    const got = await d.getChunk(t, ["l1", "l2"], verify, { alloc: a.alloc });
    expect(got.equals(blob)).toBe(true);
    expect(a.given.length).toBe(2); // l1's (failed verify), then l2's
    expect(got.buffer).toBe(a.given[1]!.buffer);

    const m = recordingAlloc();
    const fromMem = await d.getChunk(t, ["mem"], verify, { alloc: m.alloc });
    expect(fromMem.equals(blob)).toBe(true);
    expect(m.given.length).toBe(0);

    // Without alloc, a backend with getInto is read with get.
    const plain = await d.getChunk(t, ["l2"], verify);
    expect(plain.equals(blob)).toBe(true);
  });
});
