import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { S3Error } from "./errors.js";
import { ERROR_DRAIN_MAX_BYTES } from "./handler.js";
import { MAX_PUT_OBJECT_BYTES } from "./limits.js";
import type { ObjectService, PutObjectInput, WriteResult } from "./port.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_REGION, TEST_SECRET_KEY } from "./testing/harness.js";
import { MemoryObjectService } from "./testing/memory-service.js";
import { errorCodeOf, rawRequest } from "./testing/raw-client.js";

const opensslAvailable = spawnSync("openssl", ["version"]).status === 0;
if (!opensslAvailable)
  console.log("server.test: skipping the HTTPS test: openssl not found to make a certificate");

describe.skipIf(!opensslAvailable)("HTTPS", () => {
  const dir = mkdtempSync(join(tmpdir(), "enigma-s3-tls-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves S3 over TLS with the configured certificate", async () => {
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    const certPem = readFileSync(join(dir, "cert.pem"), "utf8");
    const t = await startTestServer({ tls: { certPem, keyPem: readFileSync(join(dir, "key.pem"), "utf8") } });
    expect(t.server.url.startsWith("https://")).toBe(true);
    const client = new S3Client({
      endpoint: t.server.url,
      region: TEST_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      requestHandler: { httpsAgent: new Agent({ ca: certPem }) },
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: "secure" }));
      await client.send(new PutObjectCommand({ Bucket: "secure", Key: "k", Body: "over tls" }));
      const got = await client.send(new GetObjectCommand({ Bucket: "secure", Key: "k" }));
      expect(await got.Body?.transformToString()).toBe("over tls");
    } finally {
      client.destroy();
      await t.close();
    }
  });
});

/** Consumes bodies without storing them, recording the peak heap seen while streaming. */
class DiscardingService extends MemoryObjectService implements ObjectService {
  peakHeapBytes = 0;

  override async putObject(input: PutObjectInput): Promise<WriteResult> {
    let sizeBytes = 0;
    let pieces = 0;
    for await (const piece of input.body) {
      sizeBytes += piece.length;
      if (++pieces % 64 === 0)
        this.peakHeapBytes = Math.max(this.peakHeapBytes, process.memoryUsage().heapUsed);
    }
    const digests = input.body.digests();
    return { etag: digests.md5Hex, sizeBytes, lastModifiedMs: Date.now(), checksums: digests.checksums };
  }
}

/** Takes the first piece of a PUT body, then refuses it as a full disk would. */
class FullDiskService extends MemoryObjectService implements ObjectService {
  override async putObject(input: PutObjectInput): Promise<WriteResult> {
    for await (const _ of input.body) break;
    throw new S3Error("InsufficientStorage", "the disk is full");
  }
}

interface Answer {
  status: number;
  connection: string | undefined;
  reusedSocket: boolean;
}

/**
 * A presigned PUT of `total` bytes sent in 64 KiB writes, stopping (without ending the request)
 * after `sendBytes`; resolves with the answer, or rejects with the client's error (ECONNRESET).
 */
function putStream(baseUrl: string, path: string, total: number, sendBytes: number, agent?: HttpAgent) {
  return new Promise<Answer>((resolve, reject) => {
    const url = new URL(baseUrl);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      method: "PUT",
      path,
      headers: { "content-length": String(total) },
      ...(agent ? { agent } : {}),
    });
    req.on("error", reject);
    req.on("response", (r) => {
      r.resume();
      r.on("end", () =>
        resolve({
          status: r.statusCode ?? 0,
          connection: r.headers.connection,
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    const block = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const pump = () => {
      while (sent < sendBytes) {
        const n = Math.min(block.length, sendBytes - sent);
        sent += n;
        if (!req.write(block.subarray(0, n))) {
          req.once("drain", pump);
          return;
        }
      }
      if (sent >= total) req.end();
    };
    pump();
  });
}

/**
 * A server whose every PUT is refused after its first body piece (a full disk), with bucket "full";
 * `put(key, total, sendBytes)` sends a presigned PUT of `total` bytes, stopping after `sendBytes`.
 */
async function withFullDisk(
  fn: (
    put: (key: string, total: number, sendBytes: number, agent?: HttpAgent) => Promise<Answer>,
  ) => Promise<void>,
): Promise<void> {
  const service = new FullDiskService();
  const s = await startTestServer({ service });
  try {
    await service.createBucket({ bucket: "full" });
    await fn(async (key, total, sendBytes, agent) =>
      putStream(s.server.url, await presignPut(s.server.url, `/full/${key}`), total, sendBytes, agent),
    );
  } finally {
    await s.close();
  }
}

describe("an error answered while the body is still coming", () => {
  it("reaches the client (no reset), and the connection serves the next request", async () => {
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    try {
      await withFullDisk(async (put) => {
        const total = 6 * 1024 * 1024;
        const first = await put("a", total, total, agent);
        expect(first).toMatchObject({ status: 507, reusedSocket: false });
        expect(first.connection).not.toBe("close");
        const second = await put("b", total, total, agent);
        expect(second).toEqual({ status: 507, connection: "keep-alive", reusedSocket: true });
      });
    } finally {
      agent.destroy();
    }
  });

  it("past the drain limit, answers with Connection: close", async () => {
    await withFullDisk(async (put) => {
      // The client stops after a little more than the limit and waits for the answer.
      const answer = await put("big", 64 * 1024 * 1024, ERROR_DRAIN_MAX_BYTES + 2 * 1024 * 1024);
      expect(answer).toMatchObject({ status: 507, connection: "close" });
    });
  });

  it("a client that stalls mid-body gets the answer with Connection: close after the drain time", async () => {
    await withFullDisk(async (put) => {
      const answer = await put("slow", 4 * 1024 * 1024, 1024 * 1024);
      expect(answer).toMatchObject({ status: 507, connection: "close" });
    });
  });
});

describe("streaming and limits", () => {
  it("streams a large PUT in bounded memory, with the plaintext MD5 as ETag", async () => {
    const service = new DiscardingService();
    const s = await startTestServer({ service });
    try {
      await service.createBucket({ bucket: "big" });
      const totalBytes = 256 * 1024 * 1024;
      const block = Buffer.alloc(1024 * 1024, 0x5a);
      const md5 = createHash("md5");
      for (let i = 0; i < totalBytes / block.length; i++) md5.update(block);
      const before = process.memoryUsage().heapUsed;
      // A presigned URL, so the body can be generated while it is sent (UNSIGNED-PAYLOAD).
      const presignedPath = await presignPut(s.server.url, "/big/huge");
      const streamed = await new Promise<{ status: number; etag: string | undefined }>((resolve, reject) => {
        const url = new URL(s.server.url);
        const req = httpRequest({
          host: url.hostname,
          port: url.port,
          method: "PUT",
          path: presignedPath,
          headers: { "content-length": String(totalBytes) },
        });
        req.on("error", reject);
        req.on("response", (r) => {
          r.resume();
          r.on("end", () => resolve({ status: r.statusCode ?? 0, etag: r.headers.etag }));
        });
        let sent = 0;
        const pump = () => {
          while (sent < totalBytes) {
            sent += block.length;
            if (!req.write(block)) {
              req.once("drain", pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      expect(streamed).toEqual({ status: 200, etag: `"${md5.digest("hex")}"` });
      // 256 MiB went through; the heap grew by far less (bounded by socket buffers, not the body).
      expect(service.peakHeapBytes - before).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await s.close();
    }
  });

  it("refuses a declared size above the single-PUT limit before reading the body", async () => {
    const t = await startTestServer();
    try {
      await rawRequest(t.server.url, { method: "PUT", path: "/limits" });
      const res = await rawRequest(t.server.url, {
        method: "PUT",
        path: "/limits/too-big",
        payloadHash: "UNSIGNED-PAYLOAD",
        headers: { "content-length": String(MAX_PUT_OBJECT_BYTES + 1), expect: "100-continue" },
      });
      expect([res.status, errorCodeOf(res), res.continued]).toEqual([400, "EntityTooLarge", false]);
    } finally {
      await t.close();
    }
  });
});

/** A presigned PUT path (query included) for streaming tests. */
async function presignPut(baseUrl: string, path: string): Promise<string> {
  const { canonicalQuery, canonicalRequest, canonicalUri, credentialScope, stringToSign } = await import(
    "./sigv4/canonical.js"
  );
  const { hmacSha256 } = await import("./sigv4/crypto-utils.js");
  const { deriveSigningKey } = await import("./sigv4/signing-key.js");
  const host = new URL(baseUrl).host;
  const date = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const scope = credentialScope(date.slice(0, 8), TEST_REGION, "s3");
  const query: [string, string][] = [
    ["X-Amz-Algorithm", "AWS4-HMAC-SHA256"],
    ["X-Amz-Credential", `${TEST_ACCESS_KEY}/${scope}`],
    ["X-Amz-Date", date],
    ["X-Amz-Expires", "300"],
    ["X-Amz-SignedHeaders", "host"],
  ];
  const canonical = canonicalRequest({
    method: "PUT",
    canonicalUri: canonicalUri(path),
    canonicalQuery: canonicalQuery(query),
    headers: new Map([["host", [host]]]),
    signedHeaders: ["host"],
    payloadHash: "UNSIGNED-PAYLOAD",
  })!;
  const key = deriveSigningKey(TEST_SECRET_KEY, date.slice(0, 8), TEST_REGION, "s3");
  query.push(["X-Amz-Signature", hmacSha256(key, stringToSign(date, scope, canonical)).toString("hex")]);
  return `${canonicalUri(path)}?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}`;
}
