/**
 * Differential tests: the same S3 requests against the in-memory double (the reference for the
 * port contract, packages/s3) and the real engine; every answer must be the same. Covers what the
 * shared suites only touch lightly: listing edge cases (prefix × delimiter × start-after × page
 * size, v1 and v2), multipart upload listings, conditional writes, checksums through copies.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BackendServer,
  memoryBackend,
  startBackendServer,
} from "../../packages/s3/src/testing/harness.js";
import { type EngineTestBackend, engineBackend } from "../support/engine.js";

const MiB = 1024 * 1024;
let memory: BackendServer;
let engine: BackendServer;

beforeAll(async () => {
  [memory, engine] = await Promise.all([
    startBackendServer(memoryBackend()),
    startBackendServer(engineBackend()),
  ]);
});
afterAll(async () => {
  await Promise.all([memory?.close(), engine?.close()]);
});

type Outcome<T> = { ok: T } | { error: string; status: number | undefined };

/** Success (without request ids, ports and other per-server details) or the S3 error. */
async function outcome<T>(p: Promise<T>): Promise<Outcome<"ok">> {
  try {
    await p;
    return { ok: "ok" };
  } catch (err) {
    if (err instanceof S3ServiceException) return { error: err.name, status: err.$metadata.httpStatusCode };
    throw err;
  }
}

/** Runs `step` on both servers (memory first, then engine) and returns both results. */
async function both<T>(step: (t: BackendServer) => Promise<T>): Promise<[T, T]> {
  const a = await step(memory);
  const b = await step(engine);
  return [a, b];
}

/** Runs `step` on both and expects equal results; returns the (common) result. */
async function same<T>(step: (t: BackendServer) => Promise<T>): Promise<T> {
  const [a, b] = await both(step);
  expect(b).toEqual(a);
  return a;
}

const data = (size: number, seed: number) => {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 512) b[i] = (i / 512 + seed) & 0xff;
  return b;
};

describe("listing, engine vs memory", () => {
  const KEYS = [
    "a",
    "a-",
    "a-b",
    "a/",
    "a/b",
    "a/b/",
    "a/b/c",
    "a/b/c/d",
    "a/bc",
    "a0",
    "ab/c",
    "b",
    "b//x",
    "b/x",
    "b/y/z",
    "c-d-e",
    "c-d/e",
    "\u00e9/x",
    "\u00e9",
    "\uFF21/q",
    "\u{1F600}/y",
    "z",
  ];

  beforeAll(async () => {
    await both(async (t) => {
      await t.client.send(new CreateBucketCommand({ Bucket: "diff" }));
      for (const key of KEYS) await t.backend.seed("diff", key, key);
    });
  });

  async function pageV2(
    t: BackendServer,
    q: { Prefix?: string; Delimiter?: string; StartAfter?: string; MaxKeys: number },
  ) {
    const pages: unknown[] = [];
    let token: string | undefined;
    for (let n = 0; n < 50; n++) {
      const page = await t.client.send(
        new ListObjectsV2Command({ Bucket: "diff", ...q, ...(token ? { ContinuationToken: token } : {}) }),
      );
      pages.push({
        keys: page.Contents?.map((c) => [c.Key, c.Size, c.ETag]),
        prefixes: page.CommonPrefixes?.map((p) => p.Prefix),
        count: page.KeyCount,
        truncated: page.IsTruncated,
      });
      token = page.NextContinuationToken;
      if (token === undefined) break;
    }
    return pages;
  }

  async function pageV1(t: BackendServer, q: { Prefix?: string; Delimiter?: string; MaxKeys: number }) {
    const pages: unknown[] = [];
    let marker: string | undefined;
    for (let n = 0; n < 50; n++) {
      const page = await t.client.send(
        new ListObjectsCommand({ Bucket: "diff", ...q, ...(marker ? { Marker: marker } : {}) }),
      );
      pages.push({
        keys: page.Contents?.map((c) => c.Key),
        prefixes: page.CommonPrefixes?.map((p) => p.Prefix),
        truncated: page.IsTruncated,
        next: page.NextMarker,
      });
      if (!page.IsTruncated) break;
      marker = page.NextMarker ?? page.Contents?.at(-1)?.Key;
    }
    return pages;
  }

  const PREFIXES = [undefined, "a", "a/", "a/b", "b/", "c-", "\u00e9", "q"];
  const DELIMITERS = [undefined, "/", "-", "b/"];

  it("ListObjectsV2 pages identically for every prefix × delimiter × page size", async () => {
    for (const prefix of PREFIXES) {
      for (const delimiter of DELIMITERS) {
        for (const maxKeys of [1, 3, 1000]) {
          const q = {
            MaxKeys: maxKeys,
            ...(prefix === undefined ? {} : { Prefix: prefix }),
            ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
          };
          const [a, b] = await both((t) => pageV2(t, q));
          expect({ q, pages: b }).toEqual({ q, pages: a });
        }
      }
    }
  });

  it("ListObjectsV2 honours start-after identically, also inside a common prefix", async () => {
    for (const startAfter of ["a", "a/", "a/b", "a/b/c", "b", "b/x", "c-d", "\u00e9", "zz"]) {
      for (const delimiter of [undefined, "/", "-"]) {
        for (const prefix of [undefined, "a", "b/"]) {
          const q = {
            MaxKeys: 2,
            StartAfter: startAfter,
            ...(prefix === undefined ? {} : { Prefix: prefix }),
            ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
          };
          const [a, b] = await both((t) => pageV2(t, q));
          expect({ q, pages: b }).toEqual({ q, pages: a });
        }
      }
    }
  });

  it("ListObjects v1 pages identically with markers", async () => {
    for (const prefix of PREFIXES) {
      for (const delimiter of [undefined, "/", "-"]) {
        const q = {
          MaxKeys: 2,
          ...(prefix === undefined ? {} : { Prefix: prefix }),
          ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
        };
        const [a, b] = await both((t) => pageV1(t, q));
        expect({ q, pages: b }).toEqual({ q, pages: a });
      }
    }
  });
});

describe("multipart upload listings, engine vs memory", () => {
  it("lists uploads with prefixes, delimiters and key / upload-id markers identically", async () => {
    const keys = ["u/1", "u/1", "u/2", "u/x/y", "u/x/z", "v", "w/1", "u/1"];
    const ids = await both(async (t) => {
      await t.client.send(new CreateBucketCommand({ Bucket: "uploads" }));
      const out: string[] = [];
      for (const key of keys) {
        const { UploadId } = await t.client.send(
          new CreateMultipartUploadCommand({ Bucket: "uploads", Key: key }),
        );
        out.push(UploadId!);
        // Distinct initiation times: uploads of one key are listed in initiation order.
        await new Promise((r) => setTimeout(r, 3));
      }
      return out;
    });
    // Upload ids differ between the services; compare them by creation order.
    const name = (t: BackendServer, id: string | undefined) =>
      id === undefined ? undefined : `#${ids[t === memory ? 0 : 1].indexOf(id)}`;
    const pageAll = async (
      t: BackendServer,
      q: { Prefix?: string; Delimiter?: string; MaxUploads: number },
    ) => {
      const pages: unknown[] = [];
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      for (let n = 0; n < 30; n++) {
        const page = await t.client.send(
          new ListMultipartUploadsCommand({
            Bucket: "uploads",
            ...q,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(uploadIdMarker === undefined ? {} : { UploadIdMarker: uploadIdMarker }),
          }),
        );
        pages.push({
          uploads: page.Uploads?.map((u) => [u.Key, name(t, u.UploadId)]),
          prefixes: page.CommonPrefixes?.map((p) => p.Prefix),
          truncated: page.IsTruncated,
          nextKey: page.NextKeyMarker,
          nextId: name(t, page.NextUploadIdMarker),
        });
        if (!page.IsTruncated) break;
        keyMarker = page.NextKeyMarker;
        uploadIdMarker = page.NextUploadIdMarker;
      }
      return pages;
    };
    for (const prefix of [undefined, "u/", "u/x"]) {
      for (const delimiter of [undefined, "/"]) {
        for (const maxUploads of [1, 2, 1000]) {
          const q = {
            MaxUploads: maxUploads,
            ...(prefix === undefined ? {} : { Prefix: prefix }),
            ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
          };
          const [a, b] = await both((t) => pageAll(t, q));
          expect({ q, pages: b }).toEqual({ q, pages: a });
        }
      }
    }
    // Resuming from a key marker alone skips every upload of that key.
    await same(async (t) => {
      const page = await t.client.send(
        new ListMultipartUploadsCommand({ Bucket: "uploads", KeyMarker: "u/1" }),
      );
      return page.Uploads?.map((u) => u.Key);
    });
    expect(await same((t) => outcome(t.client.send(new DeleteBucketCommand({ Bucket: "uploads" }))))).toEqual(
      { error: "BucketNotEmpty", status: 409 },
    );
  });
});

describe("writes, engine vs memory", () => {
  beforeAll(async () => {
    await both((t) => t.client.send(new CreateBucketCommand({ Bucket: "wri" })));
  });

  it("answers conditional writes alike (If-Match on a missing key is NoSuchKey)", async () => {
    const missing = await same((t) =>
      outcome(
        t.client.send(new PutObjectCommand({ Bucket: "wri", Key: "nokey", Body: "x", IfMatch: '"abc"' })),
      ),
    );
    expect(missing).toEqual({ error: "NoSuchKey", status: 404 });
    expect(await same((t) => t.backend.head("wri", "nokey"))).toBeUndefined();
    await same(
      async (t) => (await t.client.send(new PutObjectCommand({ Bucket: "wri", Key: "c", Body: "1" }))).ETag,
    );
    const stale = await same((t) =>
      outcome(t.client.send(new PutObjectCommand({ Bucket: "wri", Key: "c", Body: "2", IfMatch: '"abc"' }))),
    );
    expect(stale).toEqual({ error: "PreconditionFailed", status: 412 });
    await same(async (t) => (await t.backend.peek("wri", "c"))?.data.toString());
  });

  it("keeps checksums and metadata through PUT, HEAD and CopyObject alike", async () => {
    await same(async (t) => {
      const put = await t.client.send(
        new PutObjectCommand({
          Bucket: "wri",
          Key: "sum",
          Body: data(300_000, 1),
          ChecksumAlgorithm: "SHA256",
          ContentType: "application/x-sum",
          Metadata: { k: "v" },
        }),
      );
      return [put.ETag, put.ChecksumSHA256];
    });
    for (const directive of ["COPY", "REPLACE"] as const) {
      const key = `sum-${directive}`;
      await same(async (t) => {
        const copy = await t.client.send(
          new CopyObjectCommand({
            Bucket: "wri",
            Key: key,
            CopySource: "wri/sum",
            MetadataDirective: directive,
            ...(directive === "REPLACE" ? { ContentType: "text/replaced", Metadata: { r: "1" } } : {}),
          }),
        );
        return copy.CopyObjectResult?.ETag;
      });
      await same(async (t) => {
        const head = await t.client.send(
          new HeadObjectCommand({ Bucket: "wri", Key: key, ChecksumMode: "ENABLED" }),
        );
        return [
          head.ContentLength,
          head.ETag,
          head.ContentType,
          head.Metadata,
          head.ChecksumSHA256,
          head.ChecksumType,
        ];
      });
    }
  });

  it("assembles multipart objects from uploaded and copied parts alike, with composite checksums", async () => {
    await both((t) =>
      t.client.send(new PutObjectCommand({ Bucket: "wri", Key: "src", Body: data(6 * MiB, 7) })),
    );
    const ids = await both(async (t) => {
      const { UploadId } = await t.client.send(
        new CreateMultipartUploadCommand({ Bucket: "wri", Key: "mp", ChecksumAlgorithm: "CRC32" }),
      );
      return UploadId!;
    });
    const uploadId = (t: BackendServer) => ids[t === memory ? 0 : 1];
    await same(async (t) => {
      const p1 = await t.client.send(
        new UploadPartCopyCommand({
          Bucket: "wri",
          Key: "mp",
          UploadId: uploadId(t),
          PartNumber: 1,
          CopySource: "wri/src",
          CopySourceRange: "bytes=0-5242879",
        }),
      );
      const p2 = await t.client.send(
        new UploadPartCommand({
          Bucket: "wri",
          Key: "mp",
          UploadId: uploadId(t),
          PartNumber: 2,
          Body: data(100_000, 9),
          ChecksumAlgorithm: "CRC32",
        }),
      );
      return [p1.CopyPartResult?.ETag, p1.CopyPartResult?.ChecksumCRC32, p2.ETag, p2.ChecksumCRC32];
    });
    const parts = await same(async (t) => {
      const listed = await t.client.send(
        new ListPartsCommand({ Bucket: "wri", Key: "mp", UploadId: uploadId(t) }),
      );
      return listed.Parts?.map((p) => ({
        PartNumber: p.PartNumber,
        ETag: p.ETag,
        ChecksumCRC32: p.ChecksumCRC32,
        Size: p.Size,
      }));
    });
    expect(parts?.[0]?.ChecksumCRC32).toBeDefined();
    await same(async (t) => {
      const done = await t.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: "wri",
          Key: "mp",
          UploadId: uploadId(t),
          MultipartUpload: {
            Parts: parts!.map((p) => ({
              PartNumber: p.PartNumber!,
              ETag: p.ETag!,
              ChecksumCRC32: p.ChecksumCRC32!,
            })),
          },
        }),
      );
      return [done.ETag, done.ChecksumCRC32];
    });
    await same(async (t) => {
      const got = await t.client.send(
        new GetObjectCommand({ Bucket: "wri", Key: "mp", ChecksumMode: "ENABLED" }),
      );
      const body = Buffer.from(await got.Body!.transformToByteArray());
      return [
        got.ETag,
        got.ChecksumCRC32,
        got.ChecksumType,
        body.equals(Buffer.concat([data(6 * MiB, 7).subarray(0, 5 * MiB), data(100_000, 9)])),
      ];
    });
    // A multipart object copied with new metadata is still a multipart object.
    await both((t) =>
      t.client.send(
        new CopyObjectCommand({
          Bucket: "wri",
          Key: "mp-copy",
          CopySource: "wri/mp",
          MetadataDirective: "REPLACE",
          Metadata: { n: "1" },
        }),
      ),
    );
    await same(async (t) => {
      const head = await t.client.send(
        new HeadObjectCommand({ Bucket: "wri", Key: "mp-copy", ChecksumMode: "ENABLED" }),
      );
      return [head.ETag, head.ContentLength, head.Metadata, head.ChecksumCRC32];
    });
    await same((t) =>
      outcome(t.client.send(new HeadObjectCommand({ Bucket: "wri", Key: "mp-copy", PartNumber: 1 }))),
    );
  });

  it("refuses completing over an existing key with If-None-Match, and aborted uploads, alike", async () => {
    await both((t) => t.client.send(new PutObjectCommand({ Bucket: "wri", Key: "c", Body: "exists" })));
    const ids = await both(async (t) => {
      const { UploadId } = await t.client.send(new CreateMultipartUploadCommand({ Bucket: "wri", Key: "c" }));
      const part = await t.client.send(
        new UploadPartCommand({ Bucket: "wri", Key: "c", UploadId, PartNumber: 1, Body: "tail" }),
      );
      return { UploadId: UploadId!, ETag: part.ETag! };
    });
    const of = (t: BackendServer) => ids[t === memory ? 0 : 1];
    const complete = (t: BackendServer) =>
      outcome(
        t.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: "wri",
            Key: "c",
            UploadId: of(t).UploadId,
            IfNoneMatch: "*",
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: of(t).ETag }] },
          }),
        ),
      );
    expect(await same(complete)).toEqual({ error: "PreconditionFailed", status: 412 });
    await same((t) =>
      t.client
        .send(new AbortMultipartUploadCommand({ Bucket: "wri", Key: "c", UploadId: of(t).UploadId }))
        .then(() => "aborted"),
    );
    expect(await same(complete)).toEqual({ error: "NoSuchUpload", status: 404 });
    expect(
      await same((t) =>
        outcome(
          t.client.send(
            new UploadPartCommand({
              Bucket: "wri",
              Key: "other",
              UploadId: of(t).UploadId,
              PartNumber: 1,
              Body: "x",
            }),
          ),
        ),
      ),
    ).toEqual({ error: "NoSuchUpload", status: 404 });
  });

  it("keeps shared chunks alive through dedup, overwrites, self-copies and duplicate deletes", async () => {
    const x = data(700_000, 3);
    await same(async (t) => {
      const a = await t.client.send(new PutObjectCommand({ Bucket: "wri", Key: "d/a", Body: x }));
      const b = await t.client.send(new PutObjectCommand({ Bucket: "wri", Key: "d/b", Body: x }));
      const again = await t.client.send(new PutObjectCommand({ Bucket: "wri", Key: "d/a", Body: x }));
      await t.client.send(
        new CopyObjectCommand({
          Bucket: "wri",
          Key: "d/a",
          CopySource: "wri/d/a",
          MetadataDirective: "REPLACE",
          Metadata: { self: "1" },
        }),
      );
      await t.client.send(new CopyObjectCommand({ Bucket: "wri", Key: "d/c", CopySource: "wri/d/a" }));
      const deleted = await t.client.send(
        new DeleteObjectsCommand({
          Bucket: "wri",
          Delete: { Objects: [{ Key: "d/a" }, { Key: "d/a" }, { Key: "d/b" }] },
        }),
      );
      const c = await t.backend.peek("wri", "d/c");
      return [
        a.ETag,
        b.ETag,
        again.ETag,
        deleted.Deleted?.map((d) => d.Key),
        deleted.Errors,
        c?.info.metadata,
      ];
    });
    expect((await engine.backend.peek("wri", "d/c"))?.data.equals(x)).toBe(true);
    expect(await engine.backend.head("wri", "d/a")).toBeUndefined();
    const manifest = (engine.backend as EngineTestBackend).engine.manifest;
    expect(manifest.checkInvariants()).toEqual([]);
    const live = manifest.getObject("wri", "d/c")!.chunks;
    // Only d/c references them now: once per occurrence in its chunk list (repeats dedup in-object).
    const uses = new Map<string, number>();
    for (const chunk of live) uses.set(chunk.hash, (uses.get(chunk.hash) ?? 0) + 1);
    for (const [hash, n] of uses) expect(manifest.getChunk(hash)?.refcount).toBe(n);
  });

  it("reports missing buckets alike on every operation", async () => {
    const ops = [
      (t: BackendServer) => t.client.send(new PutObjectCommand({ Bucket: "nob", Key: "k", Body: "x" })),
      (t: BackendServer) => t.client.send(new GetObjectCommand({ Bucket: "nob", Key: "k" })),
      (t: BackendServer) => t.client.send(new DeleteObjectCommand({ Bucket: "nob", Key: "k" })),
      (t: BackendServer) => t.client.send(new ListObjectsV2Command({ Bucket: "nob" })),
      (t: BackendServer) => t.client.send(new CreateMultipartUploadCommand({ Bucket: "nob", Key: "k" })),
      (t: BackendServer) => t.client.send(new ListMultipartUploadsCommand({ Bucket: "nob" })),
      (t: BackendServer) =>
        t.client.send(new CopyObjectCommand({ Bucket: "nob", Key: "k", CopySource: "wri/c" })),
      (t: BackendServer) =>
        t.client.send(new CopyObjectCommand({ Bucket: "wri", Key: "k", CopySource: "nob/c" })),
    ];
    for (const op of ops) {
      const res = await same((t) => outcome(op(t)));
      expect(res).toEqual({ error: "NoSuchBucket", status: 404 });
    }
  });
});
