/**
 * The data dir's free-space reserve (`[raft] min_free_space`) on a real `enigma serve`: with a
 * reserve larger than the disk, every write that adds data or objects is refused with 507
 * InsufficientStorage, while reads, deletes and aborts still work — what lets
 * an operator free space on a node whose metadata disk is short. (Remote chunk backends leave the
 * data dir with only the Raft log, manifest and snapshots; the Local provider's own reserve is
 * test/s3-gateway/full-disk.test.ts.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServeProcess, s3Failure, serveClient, startServe } from "../support/serve.js";

let serve: ServeProcess | undefined;
let client: S3Client;
let dir = "";

beforeAll(async () => {
  // Some objects first, then a restart with a reserve no disk can meet.
  dir = mkdtempSync(join(tmpdir(), "enigma-meta-reserve-"));
  const first = await startServe({ dir, chunkSize: "64KiB" });
  const c = serveClient(first);
  await c.send(new CreateBucketCommand({ Bucket: "meta" }));
  for (const key of ["a", "b"])
    await c.send(new PutObjectCommand({ Bucket: "meta", Key: key, Body: `body ${key}` }));
  const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: "meta", Key: "mp" }));
  writeFileSync(join(dir, "upload-id"), UploadId!);
  c.destroy();
  await first.stop();
  const toml = readFileSync(join(dir, "enigma.toml"), "utf8");
  writeFileSync(join(dir, "enigma.toml"), `${toml}\n[raft]\nmin_free_space = "100000GiB"\n`);
  serve = await startServe({ dir, prepared: true });
  client = serveClient(serve);
});

afterAll(async () => {
  client?.destroy();
  await serve?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the data dir's free-space reserve", () => {
  it("refuses writes that add data or objects with 507", async () => {
    for (const write of [
      () => client.send(new PutObjectCommand({ Bucket: "meta", Key: "c", Body: "new" })),
      () => client.send(new CopyObjectCommand({ Bucket: "meta", Key: "a2", CopySource: "meta/a" })),
      () => client.send(new CreateMultipartUploadCommand({ Bucket: "meta", Key: "mp2" })),
      () => client.send(new CreateBucketCommand({ Bucket: "meta2" })),
    ]) {
      const f = await s3Failure(write());
      expect(f).toMatchObject({ name: "InsufficientStorage", status: 507 });
      expect(f.message).toMatch(/free-space reserve/);
    }
  });

  it("still serves reads, deletes and aborts", async () => {
    const got = await client.send(new GetObjectCommand({ Bucket: "meta", Key: "a" }));
    expect(await got.Body!.transformToString()).toBe("body a");
    await client.send(new DeleteObjectCommand({ Bucket: "meta", Key: "b" }));
    expect(await s3Failure(client.send(new GetObjectCommand({ Bucket: "meta", Key: "b" })))).toMatchObject({
      status: 404,
    });
    const UploadId = readFileSync(join(dir, "upload-id"), "utf8");
    await client.send(new AbortMultipartUploadCommand({ Bucket: "meta", Key: "mp", UploadId }));
  });
});
