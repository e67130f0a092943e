import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksumBase64 } from "../../checksums/hasher.js";
import { ServiceError } from "../../port.js";
import { type BackendFactory, type BackendServer, startBackendServer } from "../harness.js";
import { errorCodeOf, rawRequest } from "../raw-client.js";

const data = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) & 0xff));

/**
 * Every payload mode and bad input with a raw signer, over the backend `factory` makes: what is
 * refused must leave nothing stored.
 */
export function httpEdgeSuite(factory: BackendFactory): void {
  let t: BackendServer;
  const internalErrors: unknown[] = [];

  beforeAll(async () => {
    t = await startBackendServer(factory, {
      handler: { virtualHostRoots: ["s3.enigma.test"], onInternalError: (err) => internalErrors.push(err) },
    });
    await rawRequest(t.server.url, { method: "PUT", path: "/edge" });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe("payload modes", () => {
    it("accepts a signed hex payload hash and UNSIGNED-PAYLOAD", async () => {
      expect((await rawRequest(t.server.url, { method: "PUT", path: "/edge/hex", body: data })).status).toBe(
        200,
      );
      expect(
        (
          await rawRequest(t.server.url, {
            method: "PUT",
            path: "/edge/unsigned",
            body: data,
            payloadHash: "UNSIGNED-PAYLOAD",
          })
        ).status,
      ).toBe(200);
      expect((await t.backend.peek("edge", "hex"))?.data.equals(data)).toBe(true);
      expect((await t.backend.peek("edge", "unsigned"))?.data.equals(data)).toBe(true);
    });

    it("rejects a body that does not match its signed hash, storing nothing", async () => {
      const res = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/hex-bad",
        body: data,
        payloadHash: createHash("sha256").update("something else").digest("hex"),
      });
      expect([res.status, errorCodeOf(res)]).toEqual([400, "XAmzContentSHA256Mismatch"]);
      expect(await t.backend.peek("edge", "hex-bad")).toBeUndefined();
    });

    it.each(["signed", "signed-trailer", "unsigned-trailer"] as const)(
      "decodes STREAMING %s uploads",
      async (mode) => {
        const key = `stream-${mode}`;
        const res = await rawRequest(t.server.url, {
          method: "PUT",
          path: `/edge/${key}`,
          body: data,
          streaming: {
            mode,
            chunkBytes: 65536,
            ...(mode === "signed" ? {} : { trailerAlgorithm: "CRC32C" }),
          },
        });
        expect(res.status).toBe(200);
        expect((await t.backend.peek("edge", key))?.data.equals(data)).toBe(true);
        if (mode !== "signed") {
          expect(res.headers["x-amz-checksum-crc32c"]).toBe(checksumBase64("CRC32C", data));
        }
      },
    );

    it("detects streaming from x-amz-content-sha256 alone (no Content-Encoding, as minio-go sends)", async () => {
      const res = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/minio-style",
        body: data,
        streaming: { mode: "signed", chunkBytes: 8192, omitContentEncoding: true },
      });
      expect(res.status).toBe(200);
      expect((await t.backend.peek("edge", "minio-style"))?.data.equals(data)).toBe(true);
      expect((await t.backend.peek("edge", "minio-style"))?.info.metadata.contentEncoding).toBeUndefined();
    });

    it.each(["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const)(
      "verifies, stores and returns a trailing %s",
      async (algorithm) => {
        const key = `trailer-${algorithm}`;
        const ok = await rawRequest(t.server.url, {
          method: "PUT",
          path: `/edge/${key}`,
          body: data,
          streaming: { mode: "signed-trailer", chunkBytes: 65536, trailerAlgorithm: algorithm },
        });
        expect(ok.status).toBe(200);
        const got = await rawRequest(t.server.url, {
          method: "GET",
          path: `/edge/${key}`,
          headers: { "x-amz-checksum-mode": "ENABLED" },
        });
        expect(got.headers[`x-amz-checksum-${algorithm.toLowerCase()}`]).toBe(
          checksumBase64(algorithm, data),
        );
        expect(got.headers["x-amz-checksum-type"]).toBe("FULL_OBJECT");
        const plain = await rawRequest(t.server.url, { method: "HEAD", path: `/edge/${key}` });
        expect(plain.headers[`x-amz-checksum-${algorithm.toLowerCase()}`]).toBeUndefined();
      },
    );

    it("rejects a bad trailing checksum or a tampered chunk signature, storing nothing", async () => {
      const wrong = checksumBase64("CRC32", Buffer.from("other"));
      for (const mode of ["signed-trailer", "unsigned-trailer"] as const) {
        const res = await rawRequest(t.server.url, {
          method: "PUT",
          path: "/edge/bad-trailer",
          body: data,
          streaming: { mode, chunkBytes: 65536, trailerAlgorithm: "CRC32", trailerValue: wrong },
        });
        expect([res.status, errorCodeOf(res)]).toEqual([400, "BadDigest"]);
      }
      const tampered = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/bad-chunk",
        body: data,
        streaming: { mode: "signed", chunkBytes: 65536, tamperChunk: 1 },
      });
      expect([tampered.status, errorCodeOf(tampered)]).toEqual([403, "SignatureDoesNotMatch"]);
      expect(await t.backend.peek("edge", "bad-trailer")).toBeUndefined();
      expect(await t.backend.peek("edge", "bad-chunk")).toBeUndefined();
    });

    it("checks Content-MD5 and x-amz-checksum-* headers", async () => {
      const md5 = createHash("md5").update(data).digest("base64");
      const good = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/md5",
        body: data,
        headers: { "content-md5": md5 },
      });
      expect(good.status).toBe(200);
      const bad = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/md5-bad",
        body: data,
        headers: { "content-md5": createHash("md5").update("x").digest("base64") },
      });
      expect([bad.status, errorCodeOf(bad)]).toEqual([400, "BadDigest"]);
      const invalid = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/md5-bad",
        body: data,
        headers: { "content-md5": "abc" },
      });
      expect([invalid.status, errorCodeOf(invalid)]).toEqual([400, "InvalidDigest"]);
      const crc = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/crc-bad",
        body: data,
        headers: { "x-amz-checksum-crc64nvme": checksumBase64("CRC64NVME", Buffer.from("nope")) },
      });
      expect([crc.status, errorCodeOf(crc)]).toEqual([400, "BadDigest"]);
      expect(await t.backend.peek("edge", "md5-bad")).toBeUndefined();
      expect(await t.backend.peek("edge", "crc-bad")).toBeUndefined();
    });
  });

  describe("authentication failures", () => {
    it("rejects a wrong secret, an unknown key, anonymous requests and skewed clocks", async () => {
      const wrong = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/w",
        body: "x",
        secretAccessKey: "wrong",
      });
      expect([wrong.status, errorCodeOf(wrong)]).toEqual([403, "SignatureDoesNotMatch"]);
      const unknown = await rawRequest(t.server.url, {
        method: "GET",
        path: "/edge/w",
        accessKeyId: "AKIANOBODY",
      });
      expect([unknown.status, errorCodeOf(unknown)]).toEqual([403, "InvalidAccessKeyId"]);
      const anonymous = await rawRequest(t.server.url, { method: "GET", path: "/edge/w", anonymous: true });
      expect([anonymous.status, errorCodeOf(anonymous)]).toEqual([403, "AccessDenied"]);
      const skewed = await rawRequest(t.server.url, {
        method: "GET",
        path: "/",
        dateMs: Date.now() - 16 * 60_000,
      });
      expect([skewed.status, errorCodeOf(skewed)]).toEqual([403, "RequestTimeTooSkewed"]);
      expect(await t.backend.peek("edge", "w")).toBeUndefined();
    });

    it("accepts a second configured access key", async () => {
      const res = await rawRequest(t.server.url, {
        method: "GET",
        path: "/",
        accessKeyId: "AKIAENIGMATEST000002",
        secretAccessKey: "second-secret",
      });
      expect(res.status).toBe(200);
    });

    it("serves presigned GET and PUT and enforces expiry", async () => {
      const put = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/presigned",
        body: "signed-url",
        presign: { expiresSeconds: 60 },
      });
      expect(put.status).toBe(200);
      const get = await rawRequest(t.server.url, {
        method: "GET",
        path: "/edge/presigned",
        presign: { expiresSeconds: 60 },
      });
      expect([get.status, get.body]).toEqual([200, "signed-url"]);
      const expired = await rawRequest(t.server.url, {
        method: "GET",
        path: "/edge/presigned",
        presign: { expiresSeconds: 60 },
        dateMs: Date.now() - 120_000,
      });
      expect([expired.status, errorCodeOf(expired)]).toEqual([403, "AccessDenied"]);
      expect(expired.body).toContain("Request has expired");
    });

    it("sends 100 Continue only after the headers authenticated", async () => {
      const ok = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/expect",
        body: "e",
        headers: { expect: "100-continue" },
      });
      expect([ok.status, ok.continued]).toEqual([200, true]);
      const denied = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/expect-denied",
        body: "e",
        headers: { expect: "100-continue" },
        secretAccessKey: "wrong",
      });
      expect([denied.status, denied.continued]).toEqual([403, false]);
      expect(await t.backend.peek("edge", "expect-denied")).toBeUndefined();
    });

    it("does not answer unusual Expect values with 417", async () => {
      const res = await rawRequest(t.server.url, {
        method: "GET",
        path: "/",
        headers: { expect: "something-else" },
      });
      expect(res.status).toBe(200);
    });
  });

  describe("bad input", () => {
    it("rejects '..', '.', NUL and over-long keys without storing anything", async () => {
      const countBefore = await t.backend.objectCount("edge");
      for (const path of ["/edge/a/../b", "/edge/./x", "/edge/..", "/edge/nul\u0000key"]) {
        const res = await rawRequest(t.server.url, { method: "PUT", path, body: "x" });
        expect([path, res.status, errorCodeOf(res)]).toEqual([path, 400, "InvalidArgument"]);
      }
      const long = await rawRequest(t.server.url, {
        method: "PUT",
        path: `/edge/${"k".repeat(1025)}`,
        body: "x",
      });
      expect([long.status, errorCodeOf(long)]).toEqual([400, "KeyTooLongError"]);
      const badEscape = await rawRequest(t.server.url, {
        method: "GET",
        path: "/edge/x",
        rawPath: "/edge/%E0%A4%A",
      });
      expect(badEscape.status).toBe(400);
      expect(await t.backend.objectCount("edge")).toBe(countBefore);
    });

    it("rejects malformed and oversized XML bodies", async () => {
      const body = "<Delete><Object><Key>x</Key></Object>";
      const md5 = createHash("md5").update(body).digest("base64");
      const malformed = await rawRequest(t.server.url, {
        method: "POST",
        path: "/edge",
        query: [["delete", ""]],
        body,
        headers: { "content-md5": md5 },
      });
      expect([malformed.status, errorCodeOf(malformed)]).toEqual([400, "MalformedXML"]);
      const noMd5 = await rawRequest(t.server.url, {
        method: "POST",
        path: "/edge",
        query: [["delete", ""]],
        body: "<Delete><Object><Key>x</Key></Object></Delete>",
      });
      expect([noMd5.status, errorCodeOf(noMd5)]).toEqual([400, "InvalidRequest"]);
      const huge = Buffer.alloc(1024 * 1024 + 1, " ");
      const tooBig = await rawRequest(t.server.url, {
        method: "POST",
        path: "/edge",
        query: [["delete", ""]],
        body: huge,
        headers: { "content-md5": createHash("md5").update(huge).digest("base64") },
      });
      expect([tooBig.status, errorCodeOf(tooBig)]).toEqual([400, "MaxMessageLengthExceeded"]);
      const complete = await rawRequest(t.server.url, {
        method: "POST",
        path: "/edge/k",
        query: [["uploadId", "x"]],
        body: "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>",
      });
      expect([complete.status, errorCodeOf(complete)]).toEqual([400, "MalformedXML"]);
    });

    it("rejects oversized headers with an S3 error, at both limits", async () => {
      const big = await rawRequest(t.server.url, {
        method: "GET",
        path: "/",
        headers: { "x-amz-meta-pad": "p".repeat(20_000) },
      });
      expect([big.status, errorCodeOf(big)]).toEqual([400, "RequestHeaderSectionTooLarge"]);
      const huge = await rawRequest(t.server.url, {
        method: "GET",
        path: "/",
        headers: { "x-pad": "p".repeat(70_000) },
      });
      expect([huge.status, errorCodeOf(huge)]).toEqual([400, "RequestHeaderSectionTooLarge"]);
    });

    it("limits user metadata and refuses unsupported subresources", async () => {
      const meta = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/meta",
        body: "m",
        headers: { "x-amz-meta-big": "v".repeat(3000) },
      });
      expect([meta.status, errorCodeOf(meta)]).toEqual([400, "MetadataTooLarge"]);
      const tagging = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/meta",
        query: [["tagging", ""]],
        body: "<Tagging/>",
      });
      expect([tagging.status, errorCodeOf(tagging)]).toEqual([501, "NotImplemented"]);
      const sseC = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/edge/meta",
        body: "m",
        headers: { "x-amz-server-side-encryption-customer-algorithm": "AES256" },
      });
      expect([sseC.status, errorCodeOf(sseC)]).toEqual([501, "NotImplemented"]);
      expect(await t.backend.peek("edge", "meta")).toBeUndefined();
    });

    it("addresses buckets by virtual host under the configured root only", async () => {
      await rawRequest(t.server.url, { method: "PUT", path: "/edge/vhost-key", body: "virtual" });
      const vh = await rawRequest(t.server.url, {
        method: "GET",
        path: "/vhost-key",
        headers: { host: "edge.s3.enigma.test:9000" },
      });
      expect([vh.status, vh.body]).toEqual([200, "virtual"]);
      // Not under the root: path style, so "vhost-key" is taken as a bucket name.
      const other = await rawRequest(t.server.url, {
        method: "GET",
        path: "/vhost-key",
        headers: { host: "edge.elsewhere.test" },
      });
      expect(errorCodeOf(other)).toBe("NoSuchBucket");
    });
  });

  describe("backend failures", () => {
    it("maps Unavailable and SlowDown to 503 and hides internal errors", async () => {
      t.injectFault("headObject", new ServiceError("Unavailable", "no leader at 10.0.0.7"));
      const head = await rawRequest(t.server.url, { method: "HEAD", path: "/edge/hex" });
      expect([head.status, head.body]).toEqual([503, ""]);
      t.injectFault("getObject", new ServiceError("SlowDown"));
      const slow = await rawRequest(t.server.url, { method: "GET", path: "/edge/hex" });
      expect([slow.status, errorCodeOf(slow)]).toEqual([503, "SlowDown"]);
      t.injectFault("getObject", new ServiceError("Unavailable", "no leader at 10.0.0.7"));
      const noLeader = await rawRequest(t.server.url, { method: "GET", path: "/edge/hex" });
      expect([noLeader.status, errorCodeOf(noLeader)]).toEqual([503, "ServiceUnavailable"]);
      expect(noLeader.body).not.toContain("10.0.0.7");
      t.injectFault("getObject", new Error("sqlite: disk I/O error at /var/lib/enigma"));
      const crash = await rawRequest(t.server.url, { method: "GET", path: "/edge/hex" });
      expect([crash.status, errorCodeOf(crash)]).toEqual([500, "InternalError"]);
      expect(crash.body).not.toContain("sqlite");
      expect(crash.body).toMatch(/<RequestId>[0-9A-F]{16}<\/RequestId>/);
      expect(crash.headers["x-amz-request-id"]).toMatch(/^[0-9A-F]{16}$/);
      expect(internalErrors.some((e) => e instanceof Error && e.message.includes("sqlite"))).toBe(true);
    });
  });
}
