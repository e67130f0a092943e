import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AZURITE_ACCOUNT, AZURITE_KEY, Azurite } from "../../../../test/support/azurite.js";
import { FaultProxy } from "../../../../test/support/fault-proxy.js";
import { type StorageBackend, StorageError } from "../backend.js";
import { runBackendContract } from "../contract/backend-contract.js";
import { createBackend } from "../create-backend.js";
import type { ProviderConfig } from "../provider-config.js";
import type { RetryEvent } from "../retry.js";

let azurite: Azurite;
beforeAll(async () => {
  azurite = await Azurite.start();
  const svc = BlobServiceClient.fromConnectionString(azurite.connectionString);
  for (const c of ["contract", "faults", "tagged"]) await svc.getContainerClient(c).create();
});
afterAll(async () => {
  await azurite?.stop();
});

const cfg = (container: string, extra: Partial<ProviderConfig> = {}): ProviderConfig => ({
  name: `azure-${container}`,
  type: "Azure",
  bucket: container,
  endpointUrl: azurite.blobEndpoint,
  accessKey: AZURITE_ACCOUNT,
  secretKey: AZURITE_KEY,
  listPageSize: 3,
  multipartThresholdBytes: 1024 * 1024,
  multipartPartSizeBytes: 512 * 1024,
  ...extra,
});

runBackendContract("azure (Azurite)", () => createBackend(cfg("contract")), {
  largeObjectBytes: 2 * 1024 * 1024 + 5,
});

describe("Azure backend against Azurite", () => {
  it("connects with a connection string too", async () => {
    const b = await createBackend({
      name: "azure-cs",
      type: "Azure",
      bucket: "contract",
      connectionString: azurite.connectionString,
    });
    await b.put("via-cs", Buffer.from("x"));
    expect((await b.get("via-cs")).toString()).toBe("x");
  });

  it("takes the account from AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_KEY", async () => {
    const b = await createBackend(
      { name: "azure-env", type: "Azure", bucket: "contract", endpointUrl: azurite.blobEndpoint },
      { env: { AZURE_STORAGE_ACCOUNT: AZURITE_ACCOUNT, AZURE_STORAGE_KEY: AZURITE_KEY } },
    );
    await b.test();
  });

  it("writes blob index tags from the provider's tags", async () => {
    const b = await createBackend(cfg("tagged", { tags: { app: "enigma", kind: "chunk" } }));
    await b.put("t", Buffer.from("x"));
    const svc = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const tags = await svc.getContainerClient("tagged").getBlobClient("t").getTags();
    expect(tags.tags).toEqual({ app: "enigma", kind: "chunk" });
  });

  it("a wrong account key fails with AuthFailed and the key appears nowhere in the error", async () => {
    const wrongKey = Buffer.alloc(64, 7).toString("base64");
    const b = await createBackend(
      cfg("contract", { name: "azure-badkey", secretKey: wrongKey, retry: { maxAttempts: 1 } }),
    );
    const err = await b.put("k", Buffer.from("x")).catch((e: unknown) => e);
    expect(StorageError.is(err, "AuthFailed")).toBe(true);
    expect((err as StorageError).provider).toBe("azure-badkey");
    const { inspect } = await import("node:util");
    expect(inspect(err, { depth: 8 })).not.toContain(wrongKey);
  });

  it("a missing container fails test() with NotFound", async () => {
    const b = await createBackend(cfg("nope"));
    await expect(b.test()).rejects.toMatchObject({ code: "NotFound", provider: "azure-nope" });
  });

  describe("through a fault-injecting proxy", () => {
    let proxy: FaultProxy;
    let b: StorageBackend;
    const retries: RetryEvent[] = [];
    beforeAll(async () => {
      proxy = await FaultProxy.start(azurite.blobEndpoint);
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

    it("503 twice then success: put and get succeed", async () => {
      proxy.failNext({ count: 2, status: 503, body: "", contentType: "text/plain" });
      await b.put("k", Buffer.from("value"));
      expect(proxy.faultsServed).toBe(2);
      expect(retries.map((r) => [r.op, r.error.code])).toEqual([
        ["put", "Unavailable"],
        ["put", "Unavailable"],
      ]);
      proxy.failNext({ count: 2, status: 503, body: "", contentType: "text/plain" });
      expect((await b.get("k")).toString()).toBe("value");
    });

    it("a provider that stays down fails with Unavailable naming it, after bounded attempts", async () => {
      const before = proxy.requestCount;
      proxy.failNext({ count: 100, status: 503, body: "", contentType: "text/plain" });
      const err = await b.get("k").catch((e: unknown) => e);
      proxy.failNext({ count: 0 });
      expect(StorageError.is(err, "Unavailable")).toBe(true);
      expect((err as StorageError).provider).toBe("azure-faults");
      expect(proxy.requestCount - before).toBe(4);
    });
  });
});
