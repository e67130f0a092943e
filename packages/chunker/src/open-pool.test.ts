/**
 * SealWorkerPool.openSealed: openSealedInto on a worker, in place in a SharedArrayBuffer. Same
 * bytes, same error codes and messages as on the calling thread, and a clear error (never a hang)
 * when the pool is closed or a worker dies — which the pool then replaces, within a budget.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { ChunkerError } from "./errors.js";
import { openSealedInto } from "./open-into.js";
import { chunkNameTag, FLAG_COMPRESSED, sealChunk } from "./seal-api.js";
import { SealWorkerPool, WORKER_RESTARTS_PER_WINDOW, type WorkerExit } from "./seal-pool.js";
import { pseudoRandomBytes } from "./test-bytes.js";
import { zstd } from "./zstd.js";

const KEY_ID = 5;
const key = randomBytes(32);
const nameKey = randomBytes(32);
const keyFor = (id: number) => (id === KEY_ID ? key : undefined);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest();

function seal(plain: Buffer, opts: { compressed?: boolean; nameOf?: Buffer; keyId?: number } = {}) {
  let payload: Buffer = plain;
  if (opts.compressed) {
    const out = Buffer.alloc(zstd.compressBound(plain.length));
    payload = out.subarray(0, new zstd.CCtx().compress(out, plain, 1));
  }
  const hash = sha(plain);
  const blob = sealChunk({
    keyId: opts.keyId ?? KEY_ID,
    key,
    nameTag: chunkNameTag(nameKey, opts.nameOf ? sha(opts.nameOf) : hash),
    payload,
    flags: opts.compressed ? FLAG_COMPRESSED : 0,
  });
  return { hash, blob, prefix: hash.toString("hex", 0, 8) };
}

/** `bytes` in a SharedArrayBuffer, at an offset (a pooled buffer is larger than its blob). */
function shared(bytes: Uint8Array, at = 16): Buffer {
  const buf = Buffer.from(new SharedArrayBuffer(at + bytes.length + 64), at, bytes.length);
  buf.fill(bytes);
  return buf;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return null;
}

const pool = new SealWorkerPool(1);
afterAll(() => pool.close());

/** The pool's live worker of a role (white-box: the tests kill it as a crash would). */
function workerOf(p: SealWorkerPool, role: "seal" | "hash"): Worker {
  const slots = (p as unknown as { slots: { role: string; worker: Worker }[] }).slots;
  const slot = slots.find((s) => s.role === role);
  if (slot === undefined) throw new Error(`no ${role} worker`);
  return slot.worker;
}

describe("SealWorkerPool.openSealed", () => {
  it("opens in place byte for byte (uncompressed, compressed, empty), several at once", async () => {
    const cases = [
      pseudoRandomBytes(3 * 256 * 1024 + 17, 1), // several slices, a partial last one
      Buffer.from("compressible ".repeat(30_000)),
      Buffer.alloc(0),
      pseudoRandomBytes(1, 2),
    ];
    const sealed = cases.map((p, i) => ({ plain: p, ...seal(p, { compressed: i === 1 }) }));
    const blobs = sealed.map((s) => shared(s.blob));
    const opened = await Promise.all(
      sealed.map((s, i) => pool.openSealed(blobs[i]!, keyFor, s.hash, nameKey)),
    );
    for (const [i, s] of sealed.entries()) {
      expect(opened[i]!.equals(s.plain), `case ${i}`).toBe(true);
      // Uncompressed: the plaintext is the blob's own memory (decrypted in place).
      if (i !== 1) expect(opened[i]!.buffer, `case ${i}`).toBe(blobs[i]!.buffer);
    }
    expect(pool.outstanding).toBe(0);
  });

  it("fails with the same code and message as on the calling thread", async () => {
    const plain = pseudoRandomBytes(300_000, 3);
    const good = seal(plain);
    const flipped = Buffer.from(good.blob);
    flipped[flipped.length - 1000]! ^= 1;
    const compressible = Buffer.from("z".repeat(50_000));
    const cases: [string, Buffer, Buffer, string, number?][] = [
      ["tampered ciphertext", flipped, good.hash, "Corrupt"],
      ["truncated", good.blob.subarray(0, 20), good.hash, "Corrupt"],
      ["another chunk's name", seal(plain, { nameOf: Buffer.from("x") }).blob, good.hash, "Mismatch"],
      ["unknown key id", seal(plain, { keyId: 99 }).blob, good.hash, "UnknownKey"],
      ["blob above the bound", good.blob, good.hash, "TooLarge", 1000],
      [
        "decompresses beyond maxBytes",
        seal(compressible, { compressed: true }).blob,
        sha(compressible),
        "TooLarge",
        10_000,
      ],
    ];
    // Wrong hash: the name tag matches (sealed under the wrong hash's name), the SHA-256 does not.
    const other = pseudoRandomBytes(1000, 4);
    const lying = sealChunk({
      keyId: KEY_ID,
      key,
      nameTag: chunkNameTag(nameKey, sha(other)),
      payload: plain,
      flags: 0,
    });
    cases.push(["plaintext hash differs", lying, sha(other), "Mismatch"]);
    for (const [what, blob, hash, code, maxBytes] of cases) {
      const opts = maxBytes === undefined ? {} : { maxBytes };
      const local = thrown(() => openSealedInto(Buffer.from(blob), keyFor, hash, nameKey, opts));
      const remote = await pool.openSealed(shared(blob), keyFor, hash, nameKey, opts).then(
        () => null,
        (e: unknown) => e,
      );
      expect(remote, what).toBeInstanceOf(ChunkerError);
      expect((remote as ChunkerError).code, what).toBe(code);
      expect((local as ChunkerError).code, what).toBe(code);
      expect((remote as Error).message, what).toBe((local as Error).message);
      expect((remote as Error).message, what).toContain(hash.toString("hex", 0, 8));
    }
    // The pool is still healthy after all that.
    const again = shared(good.blob);
    expect((await pool.openSealed(again, keyFor, good.hash, nameKey)).equals(plain)).toBe(true);
  });

  it("needs a SharedArrayBuffer blob", async () => {
    const { blob, hash } = seal(pseudoRandomBytes(100, 5));
    await expect(pool.openSealed(Buffer.from(blob), keyFor, hash, nameKey)).rejects.toMatchObject({
      code: "InvalidOptions",
    });
  });

  it("a worker that dies mid-job fails that job with WorkerFailed and is replaced; a closed pool refuses", async () => {
    const exits: WorkerExit[] = [];
    const own = new SealWorkerPool(1, { onWorkerExit: (e) => exits.push(e) });
    const { blob, hash, prefix } = seal(pseudoRandomBytes(4 << 20, 6));
    const job = own.openSealed(shared(blob), keyFor, hash, nameKey);
    await workerOf(own, "seal").terminate();
    const err = await job.then(
      () => null,
      (e: unknown) => e,
    );
    // The job may have finished before the worker died; if not, it failed clearly.
    if (err !== null) expect(err).toMatchObject({ code: "WorkerFailed" });
    expect(exits).toEqual([expect.objectContaining({ role: "seal", replaced: true })]);
    expect(exits[0]!.error).toMatchObject({ code: "WorkerFailed" });
    expect(own.liveWorkers).toEqual({ seal: 1, hash: 0 });
    // The replacement opens the same blob.
    const opened = await own.openSealed(shared(blob), keyFor, hash, nameKey);
    expect(sha(opened).equals(hash)).toBe(true);
    await own.close();
    await expect(own.openSealed(shared(blob), keyFor, hash, nameKey)).rejects.toThrow(/seal pool is closed/);
    // Refusals decided on the calling thread still name the chunk with their own code.
    const unknown = seal(pseudoRandomBytes(10, 7), { keyId: 42 });
    await expect(own.openSealed(shared(unknown.blob), keyFor, unknown.hash, nameKey)).rejects.toMatchObject({
      code: "UnknownKey",
      message: expect.stringContaining(unknown.prefix),
    });
    expect(prefix).toHaveLength(16);
  });

  it(`stops replacing after ${WORKER_RESTARTS_PER_WINDOW} deaths within the window, then starts again`, async () => {
    const exits: WorkerExit[] = [];
    // Wide enough that six kills (tens of ms) fall inside one window even on a loaded machine.
    const windowMs = 3000;
    const own = new SealWorkerPool(1, { onWorkerExit: (e) => exits.push(e), restartWindowMs: windowMs });
    try {
      const { blob, hash } = seal(pseudoRandomBytes(1000, 8));
      for (let i = 0; i <= WORKER_RESTARTS_PER_WINDOW; i++) {
        const dead = workerOf(own, "seal");
        const exited = new Promise((r) => dead.once("exit", r));
        await dead.terminate();
        await exited;
      }
      expect(exits.map((e) => e.replaced)).toEqual([
        ...Array.from({ length: WORKER_RESTARTS_PER_WINDOW }, () => true),
        false,
      ]);
      expect(own.liveWorkers.seal).toBe(0);
      await expect(own.openSealed(shared(blob), keyFor, hash, nameKey)).rejects.toMatchObject({
        code: "WorkerFailed",
        message: expect.stringMatching(
          new RegExp(
            `no live seal worker \\(${WORKER_RESTARTS_PER_WINDOW} restarts within 3 s; the next when that window ends\\); last failure: .*exited with code`,
          ),
        ),
      });
      // Once the window has passed the pool starts the missing worker by itself.
      const deadline = Date.now() + windowMs + 10_000;
      while (own.liveWorkers.seal === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(own.liveWorkers.seal).toBe(1);
      const opened = await own.openSealed(shared(blob), keyFor, hash, nameKey);
      expect(sha(opened).equals(hash)).toBe(true);
    } finally {
      await own.close();
    }
  });

  it("a dead hash worker fails its lane; the next lane gets a new hash worker and hashes correctly", async () => {
    const exits: WorkerExit[] = [];
    const own = new SealWorkerPool(1, { onWorkerExit: (e) => exits.push(e) });
    try {
      const data = pseudoRandomBytes(300_000, 9);
      const plain = shared(data, 0);
      const lost = own.openMd5();
      expect(lost.role).toBe("hash");
      await own.feedMd5(lost, plain.buffer as SharedArrayBuffer, 0, 1000);
      const dead = workerOf(own, "hash");
      const exited = new Promise((r) => dead.once("exit", r));
      await dead.terminate();
      await exited;
      await expect(own.feedMd5(lost, plain.buffer as SharedArrayBuffer, 1000, 1000)).rejects.toMatchObject({
        code: "WorkerFailed",
      });
      await expect(own.endMd5(lost, true)).rejects.toMatchObject({ code: "WorkerFailed" });
      expect(exits).toEqual([expect.objectContaining({ role: "hash", replaced: false })]);

      const lane = own.openMd5();
      expect(lane.role).toBe("hash");
      expect(own.liveWorkers).toEqual({ seal: 1, hash: 1 });
      await own.feedMd5(lane, plain.buffer as SharedArrayBuffer, 0, 100_000);
      await own.feedMd5(lane, plain.buffer as SharedArrayBuffer, 100_000, 200_000);
      const digest = await own.endMd5(lane, true);
      expect(digest.toString("hex")).toBe(createHash("md5").update(data).digest("hex"));
    } finally {
      await own.close();
    }
  });
});
