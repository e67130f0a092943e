import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultProxy } from "../../../../test/support/fault-proxy.js";
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, S3rverFake } from "../../../../test/support/s3rver.js";
import { type StorageBackend, StorageError } from "../backend.js";
import { runBackendContract } from "../contract/backend-contract.js";
import { createBackend } from "../create-backend.js";
import type { ProviderConfig } from "../provider-config.js";
import type { RetryEvent } from "../retry.js";

// Quick unit runs against the npm fake `s3rver`; the proof against a real S3 server (Ceph RGW)
// is s3-ceph.test.ts.
let s3rver: S3rverFake;
beforeAll(async () => {
  s3rver = await S3rverFake.start(["contract", "faults"]);
});
afterAll(async () => {
  await s3rver?.stop();
});

const cfg = (bucket: string, extra: Partial<ProviderConfig> = {}): ProviderConfig => ({
  name: `s3rver-${bucket}`,
  type: "S3Compatible",
  bucket,
  endpointUrl: s3rver.endpoint,
  accessKey: S3RVER_ACCESS_KEY,
  secretKey: S3RVER_SECRET_KEY,
  // s3rver makes ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3 lacks (500
  // InternalError on any truncated listing); pagination is proven against Ceph RGW instead.
  listPageSize: 1000,
  multipartThresholdBytes: 5 * 1024 * 1024,
  multipartPartSizeBytes: 5 * 1024 * 1024,
  ...extra,
});

runBackendContract("s3 (s3rver fake)", () => createBackend(cfg("contract")), {
  largeObjectBytes: 11 * 1024 * 1024,
  knownGaps: {
    concurrentOverwrite: "s3rver writes objects in place, so racing PUTs can interleave (Ceph RGW passes)",
  },
});

describe("S3 backend against s3rver", () => {
  it("a missing bucket fails test() with NotFound naming the provider", async () => {
    const b = await createBackend(cfg("no-such-bucket"));
    const err = await b.test().catch((e: unknown) => e);
    expect(StorageError.is(err, "NotFound")).toBe(true);
    expect((err as StorageError).message).toContain("[s3rver-no-such-bucket]");
  });

  it("a server that is down fails with Unavailable naming the provider, after bounded attempts", async () => {
    const gone = await S3rverFake.start(["x"]);
    const endpointUrl = gone.endpoint;
    await gone.stop();
    const retries: RetryEvent[] = [];
    const b = await createBackend(
      cfg("x", { name: "s3-down", endpointUrl, retry: { baseDelayMs: 1, maxAttempts: 3 } }),
      {
        retryDeps: { onRetry: (e) => retries.push(e) },
      },
    );
    const err = await b.put("k", Buffer.from("v")).catch((e: unknown) => e);
    expect(StorageError.is(err, "Unavailable")).toBe(true);
    expect((err as StorageError).provider).toBe("s3-down");
    expect(retries).toHaveLength(2);
  });

  it("the secret key never appears in an error, however deeply inspected", async () => {
    const secret = "very-secret-key-0123456789abcdefghijklmn";
    const gone = await S3rverFake.start(["x"]);
    const endpointUrl = gone.endpoint;
    await gone.stop();
    const b = await createBackend(cfg("x", { endpointUrl, secretKey: secret, retry: { maxAttempts: 1 } }));
    const err = await b.get("k").catch((e: unknown) => e);
    expect(StorageError.is(err)).toBe(true);
    expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(secret);
    expect(JSON.stringify(err)).not.toContain(secret);
  });

  describe("through a fault-injecting proxy", () => {
    let proxy: FaultProxy;
    let b: StorageBackend;
    const retries: RetryEvent[] = [];
    beforeAll(async () => {
      proxy = await FaultProxy.start(s3rver.endpoint);
      b = await createBackend(
        cfg("faults", { endpointUrl: proxy.url, retry: { baseDelayMs: 1, maxDelayMs: 5 } }),
        {
          retryDeps: { onRetry: (e) => retries.push(e) },
        },
      );
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it("503 twice then success: put, get and list all succeed", async () => {
      proxy.failNext({ count: 2 });
      await b.put("k", Buffer.from("value"));
      proxy.failNext({ count: 2 });
      expect((await b.get("k")).toString()).toBe("value");
      proxy.failNext({ count: 2 });
      const keys: string[] = [];
      for await (const o of b.list("")) keys.push(o.key);
      expect(keys).toEqual(["k"]);
      expect(proxy.faultsServed).toBe(6);
      expect(retries.map((r) => `${r.op}:${r.error.code}`)).toEqual([
        "put:Unavailable",
        "put:Unavailable",
        "get:Unavailable",
        "get:Unavailable",
        "list:Unavailable",
        "list:Unavailable",
      ]);
    });

    it("SlowDown maps to Throttled and is retried", async () => {
      retries.length = 0;
      proxy.failNext({
        count: 1,
        status: 503,
        body: "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
      });
      expect((await b.get("k")).toString()).toBe("value");
      expect(retries.map((r) => r.error.code)).toEqual(["Throttled"]);
    });

    it("a 503 on HEAD (no body to parse) still maps to a retryable code", async () => {
      retries.length = 0;
      proxy.failNext({ count: 1, status: 503 });
      expect(await b.exists("k")).toBe(true);
      expect(retries.map((r) => r.error.code)).toEqual(["Unavailable"]);
    });

    it("403 AccessDenied is not retried and maps to AuthFailed", async () => {
      retries.length = 0;
      proxy.failNext({
        count: 1,
        status: 403,
        body: "<Error><Code>AccessDenied</Code><Message>no</Message></Error>",
      });
      await expect(b.get("k")).rejects.toMatchObject({ code: "AuthFailed", provider: "s3rver-faults" });
      expect(retries).toEqual([]);
    });
  });
});
