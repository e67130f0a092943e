/**
 * Conditional writes racing on the real engine: 8 concurrent PutObject with `If-None-Match: *`
 * (Terraform/OpenTofu state locking) on one key — exactly one wins, the rest get 412, the stored
 * bytes are the winner's, and the manifest's refcounts stay consistent (the losers' chunks are
 * unreferenced). Bodies span many chunks, so the writers really overlap in the pipeline and the
 * condition is decided at commit, not before the upload.
 */
import { createHash, randomBytes } from "node:crypto";
import { PutObjectCommand, S3ServiceException } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackendServer, startBackendServer } from "../../packages/s3/src/testing/harness.js";
import { type EngineTestBackend, engineBackend } from "../support/engine.js";

const WRITERS = 8;
let t: BackendServer<EngineTestBackend>;

beforeAll(async () => {
  t = await startBackendServer(engineBackend());
  await t.backend.service.createBucket({ bucket: "locks" });
});
afterAll(async () => {
  await t?.close();
});

const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

async function race(key: string, bodies: Buffer[], condition: { IfNoneMatch?: string; IfMatch?: string }) {
  const results = await Promise.allSettled(
    bodies.map((Body) =>
      t.client.send(new PutObjectCommand({ Bucket: "locks", Key: key, Body, ...condition })),
    ),
  );
  const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [{ i, etag: r.value.ETag }] : []));
  const losers = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  return { winners, losers };
}

describe("If-None-Match: * with 8 concurrent writers", () => {
  for (const round of [1, 2, 3]) {
    it(`exactly one writer creates the key (round ${round})`, async () => {
      const key = `terraform/state-${round}.tflock`;
      const bodies = Array.from({ length: WRITERS }, () => randomBytes(512 * 1024 + round));
      const objectsBefore = t.backend.engine.manifest.rowCounts().objects ?? 0;
      const { winners, losers } = await race(key, bodies, { IfNoneMatch: "*" });
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(WRITERS - 1);
      for (const err of losers) {
        expect(err).toBeInstanceOf(S3ServiceException);
        expect([
          (err as S3ServiceException).name,
          (err as S3ServiceException).$metadata.httpStatusCode,
        ]).toEqual(["PreconditionFailed", 412]);
      }
      const winner = bodies[winners[0]!.i]!;
      expect(winners[0]!.etag).toBe(`"${md5(winner)}"`);
      const stored = await t.backend.peek("locks", key);
      expect(stored?.data.equals(winner)).toBe(true);
      expect(t.backend.engine.manifest.rowCounts().objects).toBe(objectsBefore + 1);
      // Refcounts match the objects: the winner's chunks are referenced once (random data, no
      // dedup), the losers' chunks got no row at all (uploaded, never committed: GC's sweep food).
      const manifest = t.backend.engine.manifest;
      expect(manifest.checkInvariants()).toEqual([]);
      const chunks = manifest.getObject("locks", key)!.chunks;
      expect(chunks.length).toBeGreaterThan(1);
      for (const c of chunks) expect(manifest.getChunk(c.hash)?.refcount).toBe(1);
      expect(manifest.chunkStats().garbage).toBe(0);
      // A later conditional create still fails, an unconditional overwrite still works.
      const again = await race(key, [randomBytes(10)], { IfNoneMatch: "*" });
      expect(again.winners).toHaveLength(0);
    });
  }

  it("If-Match compare-and-swap with 8 concurrent writers: exactly one replaces the version they all read", async () => {
    const key = "cas/counter";
    const first = await t.client.send(new PutObjectCommand({ Bucket: "locks", Key: key, Body: "v0" }));
    const bodies = Array.from({ length: WRITERS }, () => randomBytes(300 * 1024));
    const { winners, losers } = await race(key, bodies, { IfMatch: first.ETag! });
    expect(winners).toHaveLength(1);
    expect(losers.map((e) => (e as S3ServiceException).name)).toEqual(
      Array(WRITERS - 1).fill("PreconditionFailed"),
    );
    expect((await t.backend.peek("locks", key))?.data.equals(bodies[winners[0]!.i]!)).toBe(true);
    expect(t.backend.engine.manifest.checkInvariants()).toEqual([]);
  });
});
