/**
 * Bad input against the real gateway (S3 front end over `EngineObjectService` on a real `Engine`):
 * each request gets its S3 error and commits NOTHING — the manifest's content checksum and applied
 * index are unchanged, so no object, part or chunk row appeared and no command was even applied.
 * A body that fails verification only at its end has had its chunks uploaded by then: they stay
 * unreferenced in the chunk store, GC's sweep finds exactly those as orphans, and removing them
 * harms no stored object.
 */
import { createHash, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksumBase64 } from "../../packages/s3/src/index.js";
import {
  type BackendServer,
  startBackendServer,
  TEST_ACCESS_KEY,
  TEST_REGION,
  TEST_SECRET_KEY,
} from "../../packages/s3/src/testing/harness.js";
import { errorCodeOf, type RawRequest, rawRequest } from "../../packages/s3/src/testing/raw-client.js";
import { runGc } from "../../packages/server/src/index.js";
import { findOrphans } from "../../packages/storage/src/index.js";
import { type EngineTestBackend, engineBackend } from "../support/engine.js";
import { presignedPath } from "../support/presign.js";

let t: BackendServer<EngineTestBackend>;
const body = randomBytes(1024 * 1024);
const BUCKET = "bad";

beforeAll(async () => {
  t = await startBackendServer(engineBackend());
  expect((await rawRequest(t.server.url, { method: "PUT", path: `/${BUCKET}` })).status).toBe(200);
  expect((await rawRequest(t.server.url, { method: "PUT", path: `/${BUCKET}/kept`, body })).status).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

/** Everything the state machine holds, and how far it applied. */
function manifestState() {
  const m = t.backend.engine.manifest;
  return { checksum: m.checksum(), appliedIndex: m.raftMeta().appliedIndex, rows: m.rowCounts() };
}

/** Chunk-store objects no manifest row references (what GC's sweep would delete). */
async function orphans() {
  const report = await findOrphans({
    backends: t.backend.engine.backends,
    isKnown: (tag) => t.backend.engine.manifest.hasNameTag(tag),
    graceMs: 0,
    nowMs: Date.now() + 60_000,
  });
  expect(report.errors).toEqual([]);
  return report;
}

/** GC's fenced sweep with no grace period: removes every unknown chunk-store object. */
async function sweepNow() {
  const r = await runGc(t.backend.engine, {
    dryRun: false,
    graceMs: 24 * 3_600_000,
    sweepGraceMs: 0,
    nowMs: Date.now() + 60_000,
  });
  expect(r.sweep?.errors).toEqual([]);
  return r.sweep!;
}

const wrongCrc = checksumBase64("CRC32", Buffer.from("not the body"));

const CASES: { name: string; req: RawRequest; status: number; code: string }[] = [
  {
    name: "wrong secret",
    req: { method: "PUT", path: `/${BUCKET}/w`, body, secretAccessKey: "wrong" },
    status: 403,
    code: "SignatureDoesNotMatch",
  },
  {
    name: "unknown access key",
    req: { method: "PUT", path: `/${BUCKET}/w`, body, accessKeyId: "AKIANOBODY" },
    status: 403,
    code: "InvalidAccessKeyId",
  },
  {
    name: "tampered streaming chunk signature",
    req: {
      method: "PUT",
      path: `/${BUCKET}/w`,
      body,
      streaming: { mode: "signed", chunkBytes: 65536, tamperChunk: 3 },
    },
    status: 403,
    code: "SignatureDoesNotMatch",
  },
  {
    name: "tampered last streaming chunk signature",
    req: {
      method: "PUT",
      path: `/${BUCKET}/w`,
      body,
      streaming: { mode: "signed", chunkBytes: 65536, tamperChunk: 16 },
    },
    status: 403,
    code: "SignatureDoesNotMatch",
  },
  {
    name: "bad trailer checksum (signed trailer)",
    req: {
      method: "PUT",
      path: `/${BUCKET}/w`,
      body,
      streaming: {
        mode: "signed-trailer",
        chunkBytes: 65536,
        trailerAlgorithm: "CRC32",
        trailerValue: wrongCrc,
      },
    },
    status: 400,
    code: "BadDigest",
  },
  {
    name: "bad trailer checksum (unsigned trailer)",
    req: {
      method: "PUT",
      path: `/${BUCKET}/w`,
      body,
      streaming: {
        mode: "unsigned-trailer",
        chunkBytes: 65536,
        trailerAlgorithm: "CRC32",
        trailerValue: wrongCrc,
      },
    },
    status: 400,
    code: "BadDigest",
  },
  {
    name: "payload hash mismatch",
    req: {
      method: "PUT",
      path: `/${BUCKET}/w`,
      body,
      payloadHash: createHash("sha256").update("x").digest("hex"),
    },
    status: 400,
    code: "XAmzContentSHA256Mismatch",
  },
  {
    name: "Content-MD5 mismatch",
    req: {
      method: "PUT",
      path: `/${BUCKET}/w`,
      body,
      headers: { "content-md5": createHash("md5").update("x").digest("base64") },
    },
    status: 400,
    code: "BadDigest",
  },
  {
    name: "'..' segment",
    req: { method: "PUT", path: `/${BUCKET}/a/../w`, body: "x" },
    status: 400,
    code: "InvalidArgument",
  },
  {
    name: "'..' key",
    req: { method: "PUT", path: `/${BUCKET}/..`, body: "x" },
    status: 400,
    code: "InvalidArgument",
  },
  {
    name: "'.' segment",
    req: { method: "PUT", path: `/${BUCKET}/./w`, body: "x" },
    status: 400,
    code: "InvalidArgument",
  },
  {
    name: "NUL in key",
    req: { method: "PUT", path: `/${BUCKET}/nul\u0000w`, body: "x" },
    status: 400,
    code: "InvalidArgument",
  },
  {
    name: "'..' in a multipart upload key",
    req: { method: "POST", path: `/${BUCKET}/x/../../w`, query: [["uploads", ""]] },
    status: 400,
    code: "InvalidArgument",
  },
  {
    name: "'..' as a copy destination",
    req: { method: "PUT", path: `/${BUCKET}/../w`, headers: { "x-amz-copy-source": `/${BUCKET}/kept` } },
    status: 400,
    code: "InvalidArgument",
  },
];

describe("bad input commits nothing", () => {
  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      const before = manifestState();
      const res = await rawRequest(t.server.url, c.req);
      expect([res.status, errorCodeOf(res)]).toEqual([c.status, c.code]);
      expect(manifestState()).toEqual(before);
      expect(await t.backend.head(BUCKET, "w")).toBeUndefined();
    });
  }

  it("a body that fails verification at its end leaves only orphan chunks, which the sweep removes safely", async () => {
    await sweepNow(); // remove what earlier cases left, so the count below is this PUT's
    const before = manifestState();
    const fresh = randomBytes(1024 * 1024);
    const res = await rawRequest(t.server.url, {
      method: "PUT",
      path: `/${BUCKET}/late-failure`,
      body: fresh,
      payloadHash: createHash("sha256").update("something else").digest("hex"),
    });
    expect([res.status, errorCodeOf(res)]).toEqual([400, "XAmzContentSHA256Mismatch"]);
    expect(manifestState()).toEqual(before);
    expect(await t.backend.head(BUCKET, "late-failure")).toBeUndefined();
    // The 1 MiB was chunked (64 KiB average) and uploaded before the hash could be checked.
    const found = await orphans();
    expect(found.orphanObjects).toBeGreaterThan(4);
    expect(found.keptReferenced).toBeGreaterThan(4);
    const swept = await sweepNow();
    expect(swept.deletedObjects).toBe(found.orphanObjects);
    expect((await orphans()).orphanObjects).toBe(0);
    expect((await t.backend.peek(BUCKET, "kept"))?.data.equals(body)).toBe(true);
  });

  it("a client that disconnects mid-body stores nothing, and the gateway keeps serving", async () => {
    const url = new URL(t.server.url);
    // An authenticated PUT (presigned, UNSIGNED-PAYLOAD) whose declared length is never reached.
    const presign = (key: string) =>
      presignedPath({
        baseUrl: t.server.url,
        method: "PUT",
        path: `/${BUCKET}/${key}`,
        accessKeyId: TEST_ACCESS_KEY,
        secretAccessKey: TEST_SECRET_KEY,
        region: TEST_REGION,
      });
    // The same kind of request, completed, is accepted (so the cut one is refused for being cut).
    const whole = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, method: "PUT", path: presign("whole") });
      req.on("error", reject);
      req.on("response", (r) => {
        r.resume();
        r.on("end", () => resolve(r.statusCode ?? 0));
      });
      req.end(Buffer.from("complete"));
    });
    expect(whole).toBe(200);
    expect((await t.backend.peek(BUCKET, "whole"))?.data.toString()).toBe("complete");
    const before = manifestState();
    const path = presign("cut");
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: url.hostname,
        port: url.port,
        method: "PUT",
        path,
        headers: { "content-length": String(4 * 1024 * 1024) },
      });
      req.on("error", () => resolve());
      req.on("response", (r) => {
        r.resume();
        r.on("end", () => resolve());
      });
      req.write(randomBytes(300_000), () => setTimeout(() => req.destroy(), 100));
      req.on("close", () => resolve());
    });
    // The server notices the closed socket; give it a moment, then nothing must have been committed.
    await new Promise((r) => setTimeout(r, 300));
    expect(manifestState()).toEqual(before);
    const ok = await rawRequest(t.server.url, { method: "GET", path: `/${BUCKET}/kept` });
    expect(ok.status).toBe(200);
  });

  it("keeps the manifest consistent", () => {
    expect(t.backend.engine.manifest.checkInvariants()).toEqual([]);
    expect(manifestState().rows.objects).toBe(2);
  });
});
