import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackendFactory, type BackendServer, startBackendServer } from "../harness.js";

/** How many chunks of these plaintext sizes overlap the inclusive byte range. */
function chunksOverlapping(chunkSizes: readonly number[], start: number, endInclusive: number): number {
  let offset = 0;
  let n = 0;
  for (const size of chunkSizes) {
    if (offset <= endInclusive && offset + size > start) n++;
    offset += size;
  }
  return n;
}

async function s3Error(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof S3ServiceException) return { name: err.name, status: err.$metadata.httpStatusCode };
    throw err;
  }
  throw new Error("expected an S3 error");
}

/** Every object and bucket operation through the AWS SDK, over the backend `factory` makes. */
export function sdkObjectsSuite(factory: BackendFactory): void {
  let t: BackendServer;

  beforeAll(async () => {
    t = await startBackendServer(factory);
  });
  afterAll(async () => {
    await t?.close();
  });

  describe("buckets via the SDK", () => {
    it("creates, lists, heads, locates and deletes buckets", async () => {
      await t.client.send(new CreateBucketCommand({ Bucket: "alpha" }));
      await t.client.send(new CreateBucketCommand({ Bucket: "beta" }));
      const list = await t.client.send(new ListBucketsCommand({}));
      expect(list.Buckets?.map((b) => b.Name)).toEqual(["alpha", "beta"]);
      expect(list.Buckets?.[0]?.CreationDate).toBeInstanceOf(Date);
      const head = await t.client.send(new HeadBucketCommand({ Bucket: "alpha" }));
      expect(head.BucketRegion).toBe("us-east-1");
      const location = await t.client.send(new GetBucketLocationCommand({ Bucket: "alpha" }));
      expect(location.LocationConstraint).toBeUndefined();
      expect(await s3Error(t.client.send(new CreateBucketCommand({ Bucket: "alpha" })))).toEqual({
        name: "BucketAlreadyOwnedByYou",
        status: 409,
      });
      await t.client.send(new DeleteBucketCommand({ Bucket: "beta" }));
      expect(await s3Error(t.client.send(new HeadBucketCommand({ Bucket: "beta" })))).toEqual({
        name: "NotFound",
        status: 404,
      });
      expect(await s3Error(t.client.send(new DeleteBucketCommand({ Bucket: "beta" })))).toEqual({
        name: "NoSuchBucket",
        status: 404,
      });
    });

    it("refuses to delete a non-empty bucket and rejects invalid names", async () => {
      await t.client.send(new CreateBucketCommand({ Bucket: "full" }));
      await t.client.send(new PutObjectCommand({ Bucket: "full", Key: "x", Body: "1" }));
      expect(await s3Error(t.client.send(new DeleteBucketCommand({ Bucket: "full" })))).toEqual({
        name: "BucketNotEmpty",
        status: 409,
      });
      expect(await s3Error(t.client.send(new CreateBucketCommand({ Bucket: "Bad_Name" })))).toEqual({
        name: "InvalidBucketName",
        status: 400,
      });
    });
  });

  describe("objects via the SDK", () => {
    beforeAll(async () => {
      await t.client.send(new CreateBucketCommand({ Bucket: "objs" }));
    });

    it("round-trips data, metadata and standard headers", async () => {
      const put = await t.client.send(
        new PutObjectCommand({
          Bucket: "objs",
          Key: "dir/hello world+ü.txt",
          Body: "hello, world",
          ContentType: "text/plain",
          CacheControl: "max-age=60",
          ContentDisposition: 'attachment; filename="h.txt"',
          ContentLanguage: "en",
          Metadata: { color: "blue", "Mixed-Case": "v" },
        }),
      );
      expect(put.ETag).toBe('"e4d7f1b4ed2e42d15898f4b27b019da4"');
      const got = await t.client.send(new GetObjectCommand({ Bucket: "objs", Key: "dir/hello world+ü.txt" }));
      expect(await got.Body?.transformToString()).toBe("hello, world");
      expect(got.ETag).toBe(put.ETag);
      expect(got.ContentType).toBe("text/plain");
      expect(got.CacheControl).toBe("max-age=60");
      expect(got.ContentDisposition).toBe('attachment; filename="h.txt"');
      expect(got.ContentLanguage).toBe("en");
      expect(got.Metadata).toEqual({ color: "blue", "mixed-case": "v" });
      expect(got.LastModified).toBeInstanceOf(Date);
      expect(got.ContentLength).toBe(12);
      const head = await t.client.send(
        new HeadObjectCommand({ Bucket: "objs", Key: "dir/hello world+ü.txt" }),
      );
      expect(head.ContentLength).toBe(12);
      expect(head.ETag).toBe(put.ETag);
      expect(head.Metadata).toEqual({ color: "blue", "mixed-case": "v" });
    });

    it("streams a body of unknown chunks (aws-chunked with a trailing CRC32)", async () => {
      const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
      const put = await t.client.send(
        new PutObjectCommand({
          Bucket: "objs",
          Key: "stream.bin",
          Body: Readable.from([data.subarray(0, 100_000), data.subarray(100_000)]),
          ContentLength: data.length,
        }),
      );
      expect(put.ChecksumCRC32).toBeDefined();
      const stored = await t.backend.peek("objs", "stream.bin");
      expect(stored?.data.equals(data)).toBe(true);
      expect(stored?.info.checksums.CRC32).toBe(put.ChecksumCRC32);
      const got = await t.client.send(
        new GetObjectCommand({ Bucket: "objs", Key: "stream.bin", ChecksumMode: "ENABLED" }),
      );
      expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
      expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    });

    it("serves ranges, reading only the chunks they overlap", async () => {
      const data = Buffer.from(Array.from({ length: 3 * 1024 * 1024 }, (_, i) => i % 251));
      await t.client.send(new PutObjectCommand({ Bucket: "objs", Key: "ranged", Body: data }));
      const before = t.backend.chunkReads();
      const got = await t.client.send(
        new GetObjectCommand({ Bucket: "objs", Key: "ranged", Range: "bytes=1048570-1048580" }),
      );
      expect(got.ContentRange).toBe(`bytes 1048570-1048580/${data.length}`);
      expect(
        Buffer.from(await got.Body!.transformToByteArray()).equals(data.subarray(1048570, 1048581)),
      ).toBe(true);
      const readsDuringRange = t.backend.chunkReads() - before;
      // Exactly the chunks overlapping the range are fetched (the range straddles at most two).
      const { chunkSizes } = (await t.backend.peek("objs", "ranged"))!;
      const overlapping = chunksOverlapping(chunkSizes, 1048570, 1048580);
      expect(overlapping).toBeGreaterThanOrEqual(1);
      expect(overlapping).toBeLessThanOrEqual(2);
      expect(readsDuringRange).toBe(overlapping);
      const suffix = await t.client.send(
        new GetObjectCommand({ Bucket: "objs", Key: "ranged", Range: "bytes=-10" }),
      );
      expect(
        Buffer.from(await suffix.Body!.transformToByteArray()).equals(data.subarray(data.length - 10)),
      ).toBe(true);
      expect(
        await s3Error(
          t.client.send(
            new GetObjectCommand({ Bucket: "objs", Key: "ranged", Range: `bytes=${data.length}-` }),
          ),
        ),
      ).toEqual({ name: "InvalidRange", status: 416 });
    });

    it("evaluates conditional GETs", async () => {
      const put = await t.client.send(new PutObjectCommand({ Bucket: "objs", Key: "cond", Body: "c" }));
      const ok = await t.client.send(
        new GetObjectCommand({ Bucket: "objs", Key: "cond", IfMatch: put.ETag }),
      );
      expect(await ok.Body?.transformToString()).toBe("c");
      expect(
        await s3Error(
          t.client.send(new GetObjectCommand({ Bucket: "objs", Key: "cond", IfMatch: '"nope"' })),
        ),
      ).toEqual({
        name: "PreconditionFailed",
        status: 412,
      });
      const notModified = await s3Error(
        t.client.send(new GetObjectCommand({ Bucket: "objs", Key: "cond", IfNoneMatch: put.ETag })),
      );
      expect(notModified.status).toBe(304);
      const future = new Date(Date.now() + 3600_000);
      expect(
        (
          await s3Error(
            t.client.send(new GetObjectCommand({ Bucket: "objs", Key: "cond", IfModifiedSince: future })),
          )
        ).status,
      ).toBe(304);
      const past = new Date(Date.now() - 3600_000);
      expect(
        await s3Error(
          t.client.send(new GetObjectCommand({ Bucket: "objs", Key: "cond", IfUnmodifiedSince: past })),
        ),
      ).toEqual({ name: "PreconditionFailed", status: 412 });
      // If-Match true wins over a failing If-Unmodified-Since (RFC 7232 §6, as S3).
      const both = await t.client.send(
        new GetObjectCommand({ Bucket: "objs", Key: "cond", IfMatch: put.ETag, IfUnmodifiedSince: past }),
      );
      expect(await both.Body?.transformToString()).toBe("c");
    });

    it("applies response-* overrides", async () => {
      await t.client.send(
        new PutObjectCommand({ Bucket: "objs", Key: "ovr", Body: "o", ContentType: "text/plain" }),
      );
      const got = await t.client.send(
        new GetObjectCommand({
          Bucket: "objs",
          Key: "ovr",
          ResponseContentType: "application/json",
          ResponseContentDisposition: "inline",
          ResponseCacheControl: "no-cache",
        }),
      );
      expect(got.ContentType).toBe("application/json");
      expect(got.ContentDisposition).toBe("inline");
      expect(got.CacheControl).toBe("no-cache");
    });

    it("creates conditionally with If-None-Match: * (state locking)", async () => {
      await t.client.send(
        new PutObjectCommand({ Bucket: "objs", Key: "lock", Body: "first", IfNoneMatch: "*" }),
      );
      expect(
        await s3Error(
          t.client.send(
            new PutObjectCommand({ Bucket: "objs", Key: "lock", Body: "second", IfNoneMatch: "*" }),
          ),
        ),
      ).toEqual({ name: "PreconditionFailed", status: 412 });
      expect((await t.backend.peek("objs", "lock"))?.data.toString()).toBe("first");
    });

    it("lets exactly one of many concurrent If-None-Match: * writers win", async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          t.client.send(
            new PutObjectCommand({ Bucket: "objs", Key: "race", Body: `writer ${i}`, IfNoneMatch: "*" }),
          ),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect(results.filter((r) => r.status === "rejected")).toHaveLength(7);
    });

    it("honours If-Match on writes", async () => {
      const put = await t.client.send(new PutObjectCommand({ Bucket: "objs", Key: "cas", Body: "v1" }));
      await t.client.send(
        new PutObjectCommand({ Bucket: "objs", Key: "cas", Body: "v2", IfMatch: put.ETag }),
      );
      expect(
        await s3Error(
          t.client.send(new PutObjectCommand({ Bucket: "objs", Key: "cas", Body: "v3", IfMatch: put.ETag })),
        ),
      ).toEqual({ name: "PreconditionFailed", status: 412 });
      expect((await t.backend.peek("objs", "cas"))?.data.toString()).toBe("v2");
    });

    it("deletes objects idempotently and reports missing keys and buckets", async () => {
      await t.client.send(new PutObjectCommand({ Bucket: "objs", Key: "gone", Body: "g" }));
      await t.client.send(new DeleteObjectCommand({ Bucket: "objs", Key: "gone" }));
      await t.client.send(new DeleteObjectCommand({ Bucket: "objs", Key: "gone" }));
      expect(await s3Error(t.client.send(new GetObjectCommand({ Bucket: "objs", Key: "gone" })))).toEqual({
        name: "NoSuchKey",
        status: 404,
      });
      expect(await s3Error(t.client.send(new HeadObjectCommand({ Bucket: "objs", Key: "gone" })))).toEqual({
        name: "NotFound",
        status: 404,
      });
      expect(await s3Error(t.client.send(new GetObjectCommand({ Bucket: "nobucket", Key: "k" })))).toEqual({
        name: "NoSuchBucket",
        status: 404,
      });
    });

    it("stores an empty object", async () => {
      const put = await t.client.send(new PutObjectCommand({ Bucket: "objs", Key: "empty", Body: "" }));
      expect(put.ETag).toBe('"d41d8cd98f00b204e9800998ecf8427e"');
      const got = await t.client.send(new GetObjectCommand({ Bucket: "objs", Key: "empty" }));
      expect(await got.Body?.transformToString()).toBe("");
    });
  });
}
