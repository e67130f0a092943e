import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./testing/harness.js";
import { type RawRequest, rawRequest } from "./testing/raw-client.js";

/**
 * Golden XML: response bodies compared byte for byte with packages/s3/testdata/golden/*.xml.
 * `UPDATE_GOLDEN=1 npx vitest run packages/s3/src/golden.test.ts` rewrites them (review the diff!).
 */
const GOLDEN_DIR = new URL("../testdata/golden/", import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const FIXED_MS = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

let t: TestServer;
let uploadId = "";

function normalize(body: string): string {
  return body
    .replace(/<RequestId>[0-9A-F]+<\/RequestId>/g, "<RequestId>REQUEST_ID</RequestId>")
    .replaceAll(uploadId === "" ? "\u0000" : uploadId, "UPLOAD_ID")
    .replace(/127\.0\.0\.1:\d+/g, "HOST");
}

function golden(name: string, body: string): void {
  const file = new URL(`${name}.xml`, GOLDEN_DIR);
  const actual = normalize(body);
  if (UPDATE) {
    writeFileSync(file, actual);
    return;
  }
  expect(actual).toBe(readFileSync(file, "utf8"));
}

async function send(r: RawRequest) {
  return rawRequest(t.server.url, r);
}

function md5b64(text: string): string {
  return createHash("md5").update(text).digest("base64");
}

beforeAll(async () => {
  let tick = 0;
  t = await startTestServer({ memory: { clock: () => FIXED_MS + tick++ * 1000, minPartSizeBytes: 1 } });
  await send({ method: "PUT", path: "/golden" });
  for (const key of ["a/1", "a/2", "b&<c>", "d e+f", "z/\u00e9"])
    await send({ method: "PUT", path: `/golden/${key}`, body: key });
});
afterAll(async () => {
  await t.close();
});

describe("golden XML responses", () => {
  it("ListBuckets", async () => {
    golden("list-buckets", (await send({ method: "GET", path: "/" })).body);
  });

  it("GetBucketLocation", async () => {
    golden(
      "get-bucket-location",
      (await send({ method: "GET", path: "/golden", query: [["location", ""]] })).body,
    );
  });

  it("ListObjectsV2 with delimiter, max-keys and url encoding", async () => {
    const first = await send({
      method: "GET",
      path: "/golden",
      query: [
        ["list-type", "2"],
        ["delimiter", "/"],
        ["max-keys", "2"],
        ["encoding-type", "url"],
      ],
    });
    golden("list-objects-v2-page1", first.body);
    const token = /<NextContinuationToken>([^<]+)</.exec(first.body)?.[1];
    expect(token).toBeDefined();
    const second = await send({
      method: "GET",
      path: "/golden",
      query: [
        ["list-type", "2"],
        ["delimiter", "/"],
        ["continuation-token", token!],
        ["fetch-owner", "true"],
      ],
    });
    golden("list-objects-v2-page2", second.body);
  });

  it("ListObjects v1 with marker", async () => {
    const res = await send({
      method: "GET",
      path: "/golden",
      query: [
        ["delimiter", "/"],
        ["marker", "a/"],
        ["max-keys", "2"],
      ],
    });
    golden("list-objects-v1", res.body);
  });

  it("multipart: initiate, list parts, list uploads, complete", async () => {
    const init = await send({ method: "POST", path: "/golden/mp key", query: [["uploads", ""]] });
    uploadId = /<UploadId>([^<]+)</.exec(init.body)![1]!;
    golden("initiate-multipart-upload", init.body);
    const p1 = await send({
      method: "PUT",
      path: "/golden/mp key",
      query: [
        ["partNumber", "1"],
        ["uploadId", uploadId],
      ],
      body: "part-1",
    });
    const p2 = await send({
      method: "PUT",
      path: "/golden/mp key",
      query: [
        ["partNumber", "2"],
        ["uploadId", uploadId],
      ],
      body: "part-2",
    });
    golden(
      "list-parts",
      (await send({ method: "GET", path: "/golden/mp key", query: [["uploadId", uploadId]] })).body,
    );
    golden(
      "list-multipart-uploads",
      (await send({ method: "GET", path: "/golden", query: [["uploads", ""]] })).body,
    );
    const complete = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${p1.headers.etag}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>${p2.headers.etag}</ETag></Part></CompleteMultipartUpload>`;
    golden(
      "complete-multipart-upload",
      (
        await send({
          method: "POST",
          path: "/golden/mp key",
          query: [["uploadId", uploadId]],
          body: complete,
        })
      ).body,
    );
  });

  it("CopyObject", async () => {
    const res = await send({
      method: "PUT",
      path: "/golden/copy",
      headers: { "x-amz-copy-source": "/golden/a/1" },
    });
    golden("copy-object", res.body);
  });

  it("DeleteObjects", async () => {
    const body =
      "<Delete><Object><Key>a/2</Key></Object><Object><Key>no/such</Key></Object><Object><Key>x/../y</Key></Object></Delete>";
    const res = await send({
      method: "POST",
      path: "/golden",
      query: [["delete", ""]],
      body,
      headers: { "content-md5": md5b64(body) },
    });
    golden("delete-objects", res.body);
  });

  it("errors", async () => {
    golden("error-no-such-key", (await send({ method: "GET", path: "/golden/missing & <key>" })).body);
    golden("error-no-such-bucket", (await send({ method: "GET", path: "/nonexistent/k" })).body);
    golden(
      "error-signature",
      (await send({ method: "GET", path: "/golden/a/1", secretAccessKey: "bad" })).body,
    );
    golden(
      "error-invalid-range",
      (await send({ method: "GET", path: "/golden/a/1", headers: { range: "bytes=100-" } })).body,
    );
  });
});
