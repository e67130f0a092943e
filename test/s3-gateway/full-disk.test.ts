/**
 * A full disk on a real `enigma serve` process, with its data dir (Raft log, manifest, local
 * chunks) on a 64 MiB tmpfs of its own:
 * - object writes stop at the local provider's free-space reserve with 507 InsufficientStorage
 *   and a message saying what to do; the refused object is not there and nothing else changed;
 * - the reserve leaves room for metadata, so DELETE works on the "full" node, GET keeps working,
 *   and GC frees the space for new writes;
 * - when something else fills the filesystem to the last byte, a commit fails with 507 too, the
 *   node stays up, and it recovers by itself once space returns;
 * - after a restart every acknowledged object is there, intact (`enigma verify --bucket`).
 * Mounting needs root (CAP_SYS_ADMIN); without it the file skips with the reason.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runEnigma } from "../support/cli.js";
import { TEST_PASSPHRASE } from "../support/engine.js";
import { type ServeProcess, s3Failure, serveClient, startServe } from "../support/serve.js";
import { availableBytes, fillToTheByte, mountTmpfs, unmountTmpfs } from "../support/tmpfs.js";

const MiB = 1024 * 1024;
const RESERVE = 12 * MiB;
const OBJECT = 2 * MiB;
const BUCKET = "full";

const dir = mkdtempSync(join(tmpdir(), "enigma-full-disk-"));
const skip = mountTmpfs(dir, 64);
if (skip !== null) {
  console.log(`full-disk gateway test: skipping: ${skip}`);
  rmSync(dir, { recursive: true, force: true });
}

const toml = [
  'gc_grace = "0s"',
  'gc_interval = "1s"',
  "",
  "[[providers]]",
  'name = "local"',
  'type = "Local"',
  'bucket = "chunks"',
  `min_free_space = "${RESERVE / MiB}MiB"`,
].join("\n");

let serve: ServeProcess | undefined;
let client: S3Client;
/** What each acknowledged object holds (SHA-256 hex), by key. */
const stored = new Map<string, string>();

const available = () => availableBytes(dir);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function start(prepared = false): Promise<void> {
  serve = await startServe({ dir, prepared, chunkSize: "256KiB", extraToml: toml });
  client = serveClient(serve);
}

async function put(key: string, bytes = OBJECT): Promise<void> {
  const body = randomBytes(bytes);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  stored.set(key, sha(body));
}

async function getSha(key: string): Promise<string> {
  const r = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return sha(await r.Body!.transformToByteArray());
}

async function keys(): Promise<string[]> {
  const r = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }));
  return (r.Contents ?? []).map((o) => o.Key!).sort();
}

async function eventually(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.skipIf(skip !== null)("a full disk under a real gateway", () => {
  beforeAll(async () => {
    await start();
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  afterAll(async () => {
    client?.destroy();
    await serve?.stop();
    unmountTmpfs(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses writes at the reserve with 507, keeping what was stored", { timeout: 120_000 }, async () => {
    let refused: Awaited<ReturnType<typeof s3Failure>> | undefined;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      const key = `k${String(i).padStart(2, "0")}`;
      try {
        await put(key);
      } catch (err) {
        refused = await s3Failure(Promise.reject(err));
        expect(
          await s3Failure(client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))),
        ).toMatchObject({ status: 404 });
      }
    }
    expect(refused).toMatchObject({ name: "InsufficientStorage", status: 507 });
    expect(refused?.message).toMatch(/free-space reserve/);
    // 64 MiB less the reserve and the metadata hold well over ten 2 MiB objects.
    expect(stored.size).toBeGreaterThan(10);
    // The reserve held: chunk data stopped short of it (metadata may have used a little of it).
    expect(available()).toBeGreaterThan(RESERVE / 2);
    expect(await keys()).toEqual([...stored.keys()].sort());
    expect(await getSha("k01")).toBe(stored.get("k01"));
    // What an operator alerts on: available against the reserve, per Local backend.
    const metrics = await (await fetch(`${serve!.opsUrl}/metrics`)).text();
    const gauge = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*backend="local"[^}]*\\} (\\S+)$`, "m").exec(metrics)?.[1]);
    expect(gauge("enigma_backend_reserve_bytes")).toBe(RESERVE);
    expect(gauge("enigma_backend_available_bytes")).toBeGreaterThan(RESERVE / 2);
    expect(gauge("enigma_backend_available_bytes")).toBeLessThan(RESERVE + OBJECT);
    // Chunks of 256 KiB and more were written: whether tmpfs took O_DIRECT depends on the kernel.
    expect([0, 1]).toContain(gauge("enigma_backend_direct_io"));
  });

  it("deletes on the full node, and GC makes room for new writes", { timeout: 120_000 }, async () => {
    for (const key of ["k00", "k02", "k04"]) {
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      stored.delete(key);
    }
    // GC (every second, no grace) frees the deleted objects' chunks; then a write fits again.
    // The refused PUT's chunks that did reach the disk stay until the sweep (1 h grace), so
    // less than the three objects comes back.
    await eventually("GC to free space", async () => available() > RESERVE + 2 * OBJECT);
    await put("after-gc");
    expect(await getSha("after-gc")).toBe(stored.get("after-gc"));
  });

  it("fails commits with 507 when the filesystem is full to the byte, and recovers", {
    timeout: 120_000,
  }, async () => {
    const junk = fillToTheByte(dir);
    const refused = await s3Failure(client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "k01" })));
    expect(refused.status).toBe(507);
    expect(refused.name).toBe("InsufficientStorage");
    // Reads still work, and the node answers its health checks.
    expect(await getSha("k03")).toBe(stored.get("k03"));
    expect((await fetch(`${serve!.opsUrl}/livez`)).status).toBe(200);
    rmSync(junk);
    await eventually("a delete to commit again", async () => {
      try {
        await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "k01" }));
        return true;
      } catch {
        return false;
      }
    });
    stored.delete("k01");
    expect(await keys()).toEqual([...stored.keys()].sort());
  });

  it("keeps every acknowledged object across a restart", { timeout: 120_000 }, async () => {
    client.destroy();
    const exit = await serve!.stop();
    serve = undefined;
    expect(exit.code).toBe(0);
    await start(true);
    expect(await keys()).toEqual([...stored.keys()].sort());
    for (const [key, digest] of stored) expect(await getSha(key)).toBe(digest);
    client.destroy();
    await serve!.stop();
    serve = undefined;
    const v = await runEnigma(["--config-dir", dir, "verify", "--bucket", BUCKET, "--json"], {
      env: { ENIGMA_PASSPHRASE: TEST_PASSPHRASE },
    });
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout.toString())).toMatchObject({ ok: true, objectsChecked: stored.size });
  });
});
