import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GcsFake } from "../../../../test/support/gcs-fake.js";
import { type StorageBackend, StorageError } from "../backend.js";
import { runBackendContract } from "../contract/backend-contract.js";
import { createBackend } from "../create-backend.js";
import type { ProviderConfig } from "../provider-config.js";
import type { RetryEvent } from "../retry.js";

let fake: GcsFake;
beforeAll(async () => {
  fake = await GcsFake.start({ buckets: ["contract", "faults"] });
});
afterAll(async () => {
  await fake?.stop();
});

const cfg = (bucket: string, extra: Partial<ProviderConfig> = {}): ProviderConfig => ({
  name: `gcs-${bucket}`,
  type: "Gcs",
  bucket,
  apiEndpoint: fake.endpoint,
  projectId: "test-project",
  listPageSize: 3,
  multipartThresholdBytes: 1024 * 1024,
  ...extra,
});

// The fake is started by the file's beforeAll, which runs before the suite's.
runBackendContract("gcs (JSON API fake)", () => createBackend(cfg("contract")), {
  largeObjectBytes: 2 * 1024 * 1024 + 17,
});

describe("GCS backend against the fake", () => {
  let b: StorageBackend;
  const retries: RetryEvent[] = [];
  beforeAll(async () => {
    b = await createBackend(cfg("faults", { retry: { baseDelayMs: 1, maxDelayMs: 5 } }), {
      retryDeps: { onRetry: (e) => retries.push(e) },
    });
  });

  it("uses multipart upload for small objects and resumable above the threshold", async () => {
    fake.uploadTypes.length = 0;
    await b.put("small", randomBytes(1000));
    await b.put("big", randomBytes(1024 * 1024 + 1));
    expect(fake.uploadTypes).toEqual(["multipart", "resumable"]);
  });

  it("a 503 twice then success: the operation succeeds after two retries", async () => {
    retries.length = 0;
    await b.put("retried", Buffer.from("v"));
    fake.failNext(2, 503);
    expect((await b.get("retried")).toString()).toBe("v");
    expect(retries.map((r) => [r.op, r.error.code])).toEqual([
      ["get", "Unavailable"],
      ["get", "Unavailable"],
    ]);
  });

  it("429 maps to Throttled and is retried", async () => {
    retries.length = 0;
    fake.failNext(1, 429);
    await b.put("throttled", Buffer.from("v"));
    expect(retries.map((r) => r.error.code)).toEqual(["Throttled"]);
  });

  it("a missing bucket fails test() with NotFound naming provider and bucket", async () => {
    const nb = await createBackend(cfg("no-such-bucket"));
    const err = await nb.test().catch((e: unknown) => e);
    expect(StorageError.is(err, "NotFound")).toBe(true);
    expect((err as StorageError).message).toMatch(/\[gcs-no-such-bucket\].*no-such-bucket does not exist/);
  });

  it("a stopped server gives Unavailable naming the provider", async () => {
    const other = await GcsFake.start({ buckets: ["x"] });
    const ob = await createBackend(
      {
        ...cfg("x"),
        name: "gcs-down",
        apiEndpoint: other.endpoint,
        retry: { maxAttempts: 2, baseDelayMs: 1 },
      },
      {},
    );
    await ob.put("k", Buffer.from("v"));
    await other.stop();
    const err = await ob.get("k").catch((e: unknown) => e);
    expect(StorageError.is(err, "Unavailable")).toBe(true);
    expect((err as StorageError).provider).toBe("gcs-down");
  });
});
