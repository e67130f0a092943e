import { createHash } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multipartEtag } from "../../checksums/multipart.js";
import { type BackendFactory, type BackendServer, startBackendServer } from "../harness.js";

const MiB = 1024 * 1024;

function md5(data: Buffer): string {
  return createHash("md5").update(data).digest("hex");
}

async function errorName(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof S3ServiceException) return err.name;
    throw err;
  }
  return "no error";
}

function part(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) data[i] = (i / 4096 + seed) & 0xff;
  data.fill(seed & 0xff, 0, 16);
  return data;
}

/** Multipart uploads and copies through the AWS SDK, over the backend `factory` makes. */
export function sdkMultipartSuite(factory: BackendFactory): void {
  let t: BackendServer;

  beforeAll(async () => {
    t = await startBackendServer(factory);
    await t.client.send(new CreateBucketCommand({ Bucket: "mpu" }));
  });
  afterAll(async () => {
    await t?.close();
  });

  describe("multipart uploads", () => {
    it("uploads, lists and completes in the client's order, with the md5-of-md5s ETag", async () => {
      const created = await t.client.send(
        new CreateMultipartUploadCommand({
          Bucket: "mpu",
          Key: "big.bin",
          ContentType: "application/x-test",
          Metadata: { origin: "mp" },
          ChecksumAlgorithm: "CRC32",
        }),
      );
      const uploadId = created.UploadId!;
      const parts = [part(5 * MiB, 1), part(5 * MiB, 2), part(1234, 3)];
      const etags: string[] = [];
      // Upload out of order, and part 2 twice (the second replaces the first).
      for (const n of [3, 1, 2, 2]) {
        const body = n === 2 && etags.length === 2 ? part(5 * MiB, 99) : parts[n - 1]!;
        const res = await t.client.send(
          new UploadPartCommand({
            Bucket: "mpu",
            Key: "big.bin",
            UploadId: uploadId,
            PartNumber: n,
            Body: body,
            ChecksumAlgorithm: "CRC32",
          }),
        );
        etags.push(res.ETag!);
      }
      const listed = await t.client.send(
        new ListPartsCommand({ Bucket: "mpu", Key: "big.bin", UploadId: uploadId }),
      );
      expect(listed.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([
        [1, 5 * MiB],
        [2, 5 * MiB],
        [3, 1234],
      ]);
      expect(listed.Parts?.[1]?.ETag).toBe(`"${md5(parts[1]!)}"`);
      const paged = await t.client.send(
        new ListPartsCommand({
          Bucket: "mpu",
          Key: "big.bin",
          UploadId: uploadId,
          MaxParts: 1,
          PartNumberMarker: "1",
        }),
      );
      expect(paged.Parts?.map((p) => p.PartNumber)).toEqual([2]);
      expect(paged.IsTruncated).toBe(true);
      expect(paged.NextPartNumberMarker).toBe("2");
      const uploads = await t.client.send(new ListMultipartUploadsCommand({ Bucket: "mpu" }));
      expect(uploads.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([["big.bin", uploadId]]);

      const completed = await t.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: "mpu",
          Key: "big.bin",
          UploadId: uploadId,
          MultipartUpload: {
            Parts: listed.Parts!.map((p) => ({
              PartNumber: p.PartNumber!,
              ETag: p.ETag!,
              ChecksumCRC32: p.ChecksumCRC32!,
            })),
          },
        }),
      );
      const expectedEtag = multipartEtag(parts.map(md5));
      expect(completed.ETag).toBe(`"${expectedEtag}"`);
      expect(completed.ChecksumCRC32).toMatch(/-3$/);
      const got = await t.client.send(
        new GetObjectCommand({ Bucket: "mpu", Key: "big.bin", ChecksumMode: "ENABLED" }),
      );
      expect(got.ContentType).toBe("application/x-test");
      expect(got.Metadata).toEqual({ origin: "mp" });
      expect(got.ChecksumCRC32).toBe(completed.ChecksumCRC32);
      const data = Buffer.from(await got.Body!.transformToByteArray());
      expect(data.equals(Buffer.concat(parts))).toBe(true);
      const after = await t.client.send(new ListMultipartUploadsCommand({ Bucket: "mpu" }));
      expect(after.Uploads).toBeUndefined();

      // Reading by part number (what multipart downloaders such as Java's transfer manager do).
      let offset = 0;
      for (const [i, body] of parts.entries()) {
        const byPart = await t.client.send(
          new GetObjectCommand({ Bucket: "mpu", Key: "big.bin", PartNumber: i + 1 }),
        );
        expect(byPart.$metadata.httpStatusCode).toBe(206);
        expect(byPart.PartsCount).toBe(3);
        expect(byPart.ETag).toBe(`"${expectedEtag}"`);
        expect(byPart.ContentRange).toBe(
          `bytes ${offset}-${offset + body.length - 1}/${Buffer.concat(parts).length}`,
        );
        expect(Buffer.from(await byPart.Body!.transformToByteArray()).equals(body)).toBe(true);
        offset += body.length;
      }
      const headPart = await t.client.send(
        new HeadObjectCommand({ Bucket: "mpu", Key: "big.bin", PartNumber: 3 }),
      );
      expect([headPart.ContentLength, headPart.PartsCount]).toEqual([1234, 3]);
      expect(
        await errorName(
          t.client.send(new GetObjectCommand({ Bucket: "mpu", Key: "big.bin", PartNumber: 4 })),
        ),
      ).toBe("InvalidPartNumber");
      expect(
        await errorName(
          t.client.send(
            new GetObjectCommand({ Bucket: "mpu", Key: "big.bin", PartNumber: 1, Range: "bytes=0-9" }),
          ),
        ),
      ).toBe("InvalidRequest");
      // A copy keeps the parts.
      await t.client.send(
        new CopyObjectCommand({ Bucket: "mpu", Key: "big-copy.bin", CopySource: "mpu/big.bin" }),
      );
      const copied = await t.client.send(
        new GetObjectCommand({ Bucket: "mpu", Key: "big-copy.bin", PartNumber: 2 }),
      );
      expect(Buffer.from(await copied.Body!.transformToByteArray()).equals(parts[1]!)).toBe(true);
    });

    it("completes with a subset of the parts and rejects bad part lists", async () => {
      const { UploadId } = await t.client.send(
        new CreateMultipartUploadCommand({ Bucket: "mpu", Key: "subset" }),
      );
      const p1 = await t.client.send(
        new UploadPartCommand({
          Bucket: "mpu",
          Key: "subset",
          UploadId,
          PartNumber: 1,
          Body: part(5 * MiB, 5),
        }),
      );
      const p2 = await t.client.send(
        new UploadPartCommand({ Bucket: "mpu", Key: "subset", UploadId, PartNumber: 2, Body: "tiny" }),
      );
      const p3 = await t.client.send(
        new UploadPartCommand({ Bucket: "mpu", Key: "subset", UploadId, PartNumber: 3, Body: "end" }),
      );
      const complete = (parts: { PartNumber: number; ETag: string }[]) =>
        t.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: "mpu",
            Key: "subset",
            UploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
      expect(
        await errorName(
          complete([
            { PartNumber: 2, ETag: p2.ETag! },
            { PartNumber: 1, ETag: p1.ETag! },
          ]),
        ),
      ).toBe("InvalidPartOrder");
      expect(await errorName(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }]))).toBe(
        "InvalidPart",
      );
      expect(
        await errorName(
          complete([
            { PartNumber: 2, ETag: p2.ETag! },
            { PartNumber: 3, ETag: p3.ETag! },
          ]),
        ),
      ).toBe("EntityTooSmall");
      const done = await complete([
        { PartNumber: 1, ETag: p1.ETag! },
        { PartNumber: 3, ETag: p3.ETag! },
      ]);
      expect(done.ETag).toBe(`"${multipartEtag([p1.ETag!.slice(1, -1), p3.ETag!.slice(1, -1)])}"`);
      const head = await t.client.send(new HeadObjectCommand({ Bucket: "mpu", Key: "subset" }));
      expect(head.ContentLength).toBe(5 * MiB + 3);
      expect(await errorName(complete([{ PartNumber: 1, ETag: p1.ETag! }]))).toBe("NoSuchUpload");
    });

    it("aborts uploads", async () => {
      const { UploadId } = await t.client.send(
        new CreateMultipartUploadCommand({ Bucket: "mpu", Key: "aborted" }),
      );
      await t.client.send(new AbortMultipartUploadCommand({ Bucket: "mpu", Key: "aborted", UploadId }));
      expect(
        await errorName(t.client.send(new ListPartsCommand({ Bucket: "mpu", Key: "aborted", UploadId }))),
      ).toBe("NoSuchUpload");
      expect(
        await errorName(
          t.client.send(
            new UploadPartCommand({ Bucket: "mpu", Key: "aborted", UploadId, PartNumber: 1, Body: "x" }),
          ),
        ),
      ).toBe("NoSuchUpload");
      expect(
        await errorName(
          t.client.send(
            new UploadPartCommand({ Bucket: "mpu", Key: "aborted", UploadId, PartNumber: 10001, Body: "x" }),
          ),
        ),
      ).toBe("InvalidArgument");
    });

    it("copies parts from existing objects, whole or by range", async () => {
      const source = part(6 * MiB, 7);
      await t.client.send(new PutObjectCommand({ Bucket: "mpu", Key: "copy-src", Body: source }));
      const { UploadId } = await t.client.send(
        new CreateMultipartUploadCommand({ Bucket: "mpu", Key: "assembled" }),
      );
      const c1 = await t.client.send(
        new UploadPartCopyCommand({
          Bucket: "mpu",
          Key: "assembled",
          UploadId,
          PartNumber: 1,
          CopySource: "mpu/copy-src",
        }),
      );
      const c2 = await t.client.send(
        new UploadPartCopyCommand({
          Bucket: "mpu",
          Key: "assembled",
          UploadId,
          PartNumber: 2,
          CopySource: "/mpu/copy-src",
          CopySourceRange: "bytes=10-19",
        }),
      );
      expect(c1.CopyPartResult?.ETag).toBe(`"${md5(source)}"`);
      expect(c2.CopyPartResult?.ETag).toBe(`"${md5(source.subarray(10, 20))}"`);
      expect(
        await errorName(
          t.client.send(
            new UploadPartCopyCommand({
              Bucket: "mpu",
              Key: "assembled",
              UploadId,
              PartNumber: 3,
              CopySource: "mpu/copy-src",
              CopySourceRange: `bytes=0-${6 * MiB}`,
            }),
          ),
        ),
      ).toBe("InvalidRange");
      await t.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: "mpu",
          Key: "assembled",
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: c1.CopyPartResult!.ETag! },
              { PartNumber: 2, ETag: c2.CopyPartResult!.ETag! },
            ],
          },
        }),
      );
      expect(
        (await t.backend.peek("mpu", "assembled"))?.data.equals(
          Buffer.concat([source, source.subarray(10, 20)]),
        ),
      ).toBe(true);
    });
  });

  describe("CopyObject", () => {
    it("copies with metadata COPY and REPLACE, sharing the source's chunks", async () => {
      await t.client.send(
        new PutObjectCommand({
          Bucket: "mpu",
          Key: "orig",
          Body: "payload",
          ContentType: "text/a",
          Metadata: { m: "1" },
        }),
      );
      const copied = await t.client.send(
        new CopyObjectCommand({ Bucket: "mpu", Key: "dup", CopySource: "mpu/orig" }),
      );
      expect(copied.CopyObjectResult?.ETag).toBe(`"${md5(Buffer.from("payload"))}"`);
      expect(copied.CopyObjectResult?.LastModified).toBeInstanceOf(Date);
      const dup = await t.client.send(new HeadObjectCommand({ Bucket: "mpu", Key: "dup" }));
      expect(dup.ContentType).toBe("text/a");
      expect(dup.Metadata).toEqual({ m: "1" });
      await t.client.send(
        new CopyObjectCommand({
          Bucket: "mpu",
          Key: "replaced",
          CopySource: "mpu/orig",
          MetadataDirective: "REPLACE",
          ContentType: "text/b",
          Metadata: { n: "2" },
        }),
      );
      const replaced = await t.client.send(new HeadObjectCommand({ Bucket: "mpu", Key: "replaced" }));
      expect(replaced.ContentType).toBe("text/b");
      expect(replaced.Metadata).toEqual({ n: "2" });
      expect((await t.backend.peek("mpu", "replaced"))?.data.toString()).toBe("payload");
    });

    it("enforces copy-source conditions and refuses a no-op self copy", async () => {
      await t.client.send(new PutObjectCommand({ Bucket: "mpu", Key: "csrc", Body: "s" }));
      expect(
        await errorName(
          t.client.send(
            new CopyObjectCommand({
              Bucket: "mpu",
              Key: "c2",
              CopySource: "mpu/csrc",
              CopySourceIfMatch: '"x"',
            }),
          ),
        ),
      ).toBe("PreconditionFailed");
      expect(
        await errorName(
          t.client.send(new CopyObjectCommand({ Bucket: "mpu", Key: "csrc", CopySource: "mpu/csrc" })),
        ),
      ).toBe("InvalidRequest");
      expect(
        await errorName(
          t.client.send(new CopyObjectCommand({ Bucket: "mpu", Key: "c3", CopySource: "mpu/missing" })),
        ),
      ).toBe("NoSuchKey");
      expect(
        await errorName(
          t.client.send(new CopyObjectCommand({ Bucket: "mpu", Key: "c3", CopySource: "mpu" })),
        ),
      ).toBe("InvalidArgument");
    });
  });
}
