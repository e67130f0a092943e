import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackendFactory, type BackendServer, startBackendServer } from "../harness.js";

const KEYS = ["a/1", "a/2", "a/b/3", "b", "c/1", "c/2", "d", "e/x/y", "z\u00e9", "z\u{1F600}", "z\uFF21"];

/** ListObjects v1/v2 and DeleteObjects through the AWS SDK, over the backend `factory` makes. */
export function sdkListingSuite(factory: BackendFactory): void {
  let t: BackendServer;

  beforeAll(async () => {
    t = await startBackendServer(factory);
    await t.client.send(new CreateBucketCommand({ Bucket: "list" }));
    for (const key of KEYS)
      await t.client.send(new PutObjectCommand({ Bucket: "list", Key: key, Body: key }));
  });
  afterAll(async () => {
    await t?.close();
  });

  async function pageThroughV2(input: { Prefix?: string; Delimiter?: string; MaxKeys: number }) {
    const pages: ListObjectsV2CommandOutput[] = [];
    let token: string | undefined;
    do {
      const page = await t.client.send(
        new ListObjectsV2Command({
          Bucket: "list",
          ...input,
          ...(token === undefined ? {} : { ContinuationToken: token }),
        }),
      );
      pages.push(page);
      token = page.NextContinuationToken;
      expect(page.IsTruncated).toBe(token !== undefined);
    } while (token !== undefined);
    return pages;
  }

  describe("ListObjectsV2", () => {
    it("lists every key in UTF-8 byte order", async () => {
      const page = await t.client.send(new ListObjectsV2Command({ Bucket: "list" }));
      // U+FF21 (3 UTF-8 bytes, EF BC A1) sorts before U+1F600 (F0 …) in bytes, though not in UTF-16.
      expect(page.Contents?.map((c) => c.Key)).toEqual([
        "a/1",
        "a/2",
        "a/b/3",
        "b",
        "c/1",
        "c/2",
        "d",
        "e/x/y",
        "z\u00e9",
        "z\uFF21",
        "z\u{1F600}",
      ]);
      expect(page.KeyCount).toBe(KEYS.length);
      expect(page.Contents?.[0]?.Size).toBe(3);
      expect(page.Contents?.[0]?.ETag).toMatch(/^"[0-9a-f]{32}"$/);
    });

    it("groups by delimiter and pages through common prefixes without repeating them", async () => {
      const pages = await pageThroughV2({ Delimiter: "/", MaxKeys: 2 });
      const seen = pages.flatMap((p) => [
        ...(p.Contents ?? []).map((c) => `k:${c.Key}`),
        ...(p.CommonPrefixes ?? []).map((c) => `p:${c.Prefix}`),
      ]);
      expect(seen.sort()).toEqual(
        ["k:b", "k:d", "k:z\u00e9", "k:z\u{1F600}", "k:z\uFF21", "p:a/", "p:c/", "p:e/"].sort(),
      );
      for (const page of pages) {
        expect(page.KeyCount).toBe((page.Contents?.length ?? 0) + (page.CommonPrefixes?.length ?? 0));
        expect(page.KeyCount).toBeLessThanOrEqual(2);
      }
    });

    it("lists under a prefix with a delimiter", async () => {
      const page = await t.client.send(
        new ListObjectsV2Command({ Bucket: "list", Prefix: "a/", Delimiter: "/" }),
      );
      expect(page.Contents?.map((c) => c.Key)).toEqual(["a/1", "a/2"]);
      expect(page.CommonPrefixes?.map((c) => c.Prefix)).toEqual(["a/b/"]);
      expect(page.Prefix).toBe("a/");
      expect(page.Delimiter).toBe("/");
    });

    it("honours start-after and max-keys=0", async () => {
      const after = await t.client.send(new ListObjectsV2Command({ Bucket: "list", StartAfter: "c/2" }));
      expect(after.Contents?.[0]?.Key).toBe("d");
      expect(after.StartAfter).toBe("c/2");
      const none = await t.client.send(new ListObjectsV2Command({ Bucket: "list", MaxKeys: 0 }));
      expect(none.KeyCount).toBe(0);
      expect(none.Contents).toBeUndefined();
      expect(none.IsTruncated).toBe(false);
    });

    it("url-encodes keys on request", async () => {
      const page = await t.client.send(
        new ListObjectsV2Command({ Bucket: "list", Prefix: "z", EncodingType: "url" }),
      );
      expect(page.EncodingType).toBe("url");
      expect(page.Contents?.map((c) => c.Key)).toEqual(["z%C3%A9", "z%EF%BC%A1", "z%F0%9F%98%80"]);
    });

    it("rejects forged continuation tokens", async () => {
      for (const token of ["not-a-token!", "AA", Buffer.from([9, 65]).toString("base64url")]) {
        let caught: unknown;
        try {
          await t.client.send(new ListObjectsV2Command({ Bucket: "list", ContinuationToken: token }));
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(S3ServiceException);
        expect((caught as S3ServiceException).name).toBe("InvalidArgument");
      }
    });

    it("seeks past common prefixes instead of scanning them", async () => {
      await t.client.send(new CreateBucketCommand({ Bucket: "wide" }));
      const many = Array.from({ length: 300 }, (_, i) => `big/${String(i).padStart(4, "0")}`);
      for (const key of [...many, "after", "zzz"]) await t.backend.seed("wide", key, key);
      const before = t.backend.listRowsVisited();
      const page = await t.client.send(new ListObjectsV2Command({ Bucket: "wide", Delimiter: "/" }));
      expect(page.CommonPrefixes?.map((c) => c.Prefix)).toEqual(["big/"]);
      expect(page.Contents?.map((c) => c.Key)).toEqual(["after", "zzz"]);
      expect(t.backend.listRowsVisited() - before).toBeLessThan(10);
    });
  });

  describe("ListObjects (v1)", () => {
    it("pages with marker and NextMarker", async () => {
      const first = await t.client.send(
        new ListObjectsCommand({ Bucket: "list", Delimiter: "/", MaxKeys: 3 }),
      );
      expect(first.IsTruncated).toBe(true);
      expect([
        ...(first.Contents ?? []).map((c) => c.Key),
        ...(first.CommonPrefixes ?? []).map((c) => c.Prefix),
      ]).toEqual(["b", "a/", "c/"]);
      expect(first.NextMarker).toBe("c/");
      const second = await t.client.send(
        new ListObjectsCommand({ Bucket: "list", Delimiter: "/", Marker: first.NextMarker }),
      );
      expect(second.Contents?.[0]?.Key).toBe("d");
      expect(second.CommonPrefixes?.map((c) => c.Prefix)).toEqual(["e/"]);
      expect(second.IsTruncated).toBe(false);
      const noDelimiter = await t.client.send(new ListObjectsCommand({ Bucket: "list", MaxKeys: 2 }));
      expect(noDelimiter.NextMarker).toBeUndefined();
      expect(noDelimiter.Contents?.map((c) => c.Key)).toEqual(["a/1", "a/2"]);
      expect(noDelimiter.Contents?.[0]?.Owner?.ID).toBe("enigma");
    });
  });

  describe("DeleteObjects", () => {
    it("deletes a batch and reports per-key errors", async () => {
      await t.client.send(new CreateBucketCommand({ Bucket: "del" }));
      for (const key of ["x", "y"])
        await t.client.send(new PutObjectCommand({ Bucket: "del", Key: key, Body: key }));
      const result = await t.client.send(
        new DeleteObjectsCommand({
          Bucket: "del",
          Delete: { Objects: [{ Key: "x" }, { Key: "y" }, { Key: "missing" }, { Key: "bad/../key" }] },
        }),
      );
      expect(result.Deleted?.map((d) => d.Key)).toEqual(["x", "y", "missing"]);
      expect(result.Errors?.map((e) => [e.Key, e.Code])).toEqual([["bad/../key", "InvalidArgument"]]);
      expect(await t.backend.objectCount("del")).toBe(0);
      const quiet = await t.client.send(
        new DeleteObjectsCommand({ Bucket: "del", Delete: { Quiet: true, Objects: [{ Key: "x" }] } }),
      );
      expect(quiet.Deleted).toBeUndefined();
    });
  });
}
