import { createHash, randomBytes } from "node:crypto";
import {
  CreateBucketCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AZURITE_ACCOUNT, AZURITE_KEY, Azurite } from "../../../../test/support/azurite.js";
import {
  CephRgw,
  cephUnavailableReason,
  RGW_ACCESS_KEY,
  RGW_SECRET_KEY,
} from "../../../../test/support/ceph-rgw.js";
import { FaultProxy } from "../../../../test/support/fault-proxy.js";
import { GcsFake } from "../../../../test/support/gcs-fake.js";
import { chunkObjectKey, type StorageBackend, StorageError } from "../backend.js";
import { runBackendContract } from "../contract/backend-contract.js";
import { createBackend } from "../create-backend.js";
import { Distributor, type DistributorEvent } from "../distributor.js";
import type { ProviderConfig } from "../provider-config.js";
import type { RetryEvent } from "../retry.js";

// The real-S3 proof: Ceph's RADOS Gateway from Debian's packages, started for this file.
const skipReason = cephUnavailableReason();
if (skipReason !== null) console.warn(`[s3-ceph.test] skipping Ceph RGW tests: ${skipReason}`);

let rgw: CephRgw | undefined;
const BUCKETS = ["contract", "faults", "tagged", "roundtrip"];
beforeAll(async () => {
  if (skipReason !== null) return;
  rgw = await CephRgw.start();
  const admin = new S3Client({
    region: "us-east-1",
    endpoint: rgw.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: RGW_ACCESS_KEY, secretAccessKey: RGW_SECRET_KEY },
  });
  for (const Bucket of BUCKETS) await admin.send(new CreateBucketCommand({ Bucket }));
  admin.destroy();
}, 180_000);
afterAll(async () => {
  await rgw?.stop();
}, 90_000);

const cfg = (bucket: string, extra: Partial<ProviderConfig> = {}): ProviderConfig => ({
  name: `rgw-${bucket}`,
  type: "S3Compatible",
  bucket,
  endpointUrl: rgw!.endpoint,
  accessKey: RGW_ACCESS_KEY,
  secretKey: RGW_SECRET_KEY,
  listPageSize: 3,
  multipartThresholdBytes: 5 * 1024 * 1024,
  multipartPartSizeBytes: 5 * 1024 * 1024,
  ...extra,
});

runBackendContract("s3 (Ceph RGW)", () => createBackend(cfg("contract")), {
  largeObjectBytes: 11 * 1024 * 1024 + 3,
  ...(skipReason !== null ? { skipReason } : {}),
});

describe.skipIf(skipReason !== null)("S3 backend against Ceph RGW", () => {
  it("applies the provider's storage class and object tags", async () => {
    const b = await createBackend(
      cfg("tagged", { storageClass: "STANDARD", tags: { app: "enigma", tier: "a b&c" } }),
    );
    await b.put("t", randomBytes(100));
    const big = randomBytes(6 * 1024 * 1024);
    await b.put("t-multipart", big);
    const c = new S3Client({
      region: "us-east-1",
      endpoint: rgw!.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: RGW_ACCESS_KEY, secretAccessKey: RGW_SECRET_KEY },
    });
    for (const Key of ["t", "t-multipart"]) {
      const tags = await c.send(new GetObjectTaggingCommand({ Bucket: "tagged", Key }));
      const got = Object.fromEntries((tags.TagSet ?? []).map((t) => [t.Key, t.Value]));
      expect(got, Key).toEqual({ app: "enigma", tier: "a b&c" });
    }
    const head = await c.send(new HeadObjectCommand({ Bucket: "tagged", Key: "t-multipart" }));
    // A multipart ETag is "<md5 of part md5s>-<parts>": proof the multipart path ran.
    expect(head.ETag).toMatch(/-2"$/);
    c.destroy();
  });

  it("wrong credentials fail with AuthFailed naming the provider, not retried", async () => {
    const retries: RetryEvent[] = [];
    const b = await createBackend(cfg("faults", { name: "rgw-badauth", secretKey: "wrong-secret" }), {
      retryDeps: { onRetry: (e) => retries.push(e) },
    });
    const err = await b.put("k", Buffer.from("x")).catch((e: unknown) => e);
    expect(StorageError.is(err, "AuthFailed")).toBe(true);
    expect((err as StorageError).provider).toBe("rgw-badauth");
    expect(retries).toEqual([]);
  });

  it("503 twice then success through a proxy in front of RGW: the put succeeds", async () => {
    const proxy = await FaultProxy.start(rgw!.endpoint);
    try {
      const retries: RetryEvent[] = [];
      const b = await createBackend(
        cfg("faults", { endpointUrl: proxy.url, retry: { baseDelayMs: 1, maxDelayMs: 5 } }),
        {
          retryDeps: { onRetry: (e) => retries.push(e) },
        },
      );
      proxy.failNext({ count: 2 });
      const blob = randomBytes(1000);
      await b.put("via-proxy", blob);
      expect(retries.map((r) => r.error.code)).toEqual(["Unavailable", "Unavailable"]);
      expect((await b.get("via-proxy")).equals(blob)).toBe(true);
    } finally {
      await proxy.stop();
    }
  });
});

describe.skipIf(skipReason !== null)(
  "Distributor round trip over Ceph RGW + Azurite + GCS fake, replication 2",
  () => {
    let azurite: Azurite;
    let gcs: GcsFake;
    let d: Distributor;
    const backends: StorageBackend[] = [];
    const events: DistributorEvent[] = [];
    const blobs = new Map<string, { blob: Buffer; locations: string[] }>();
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

    beforeAll(async () => {
      azurite = await Azurite.start();
      await BlobServiceClient.fromConnectionString(azurite.connectionString)
        .getContainerClient("roundtrip")
        .create();
      gcs = await GcsFake.start({ buckets: ["roundtrip"] });
      const fast = {
        maxAttempts: 3,
        baseDelayMs: 5,
        maxDelayMs: 50,
        requestTimeoutMs: 5_000,
        transferTimeoutMs: 10_000,
      };
      backends.push(await createBackend({ ...cfg("roundtrip"), name: "ceph", retry: fast }));
      backends.push(
        await createBackend({
          name: "azure",
          type: "Azure",
          bucket: "roundtrip",
          endpointUrl: azurite.blobEndpoint,
          accessKey: AZURITE_ACCOUNT,
          secretKey: AZURITE_KEY,
          retry: fast,
        }),
      );
      backends.push(
        await createBackend({
          name: "gcs",
          type: "Gcs",
          bucket: "roundtrip",
          apiEndpoint: gcs.endpoint,
          retry: fast,
        }),
      );
      d = new Distributor({
        providers: backends.map((backend) => ({ backend })),
        distribution: "round-robin",
        replicationFactor: 2,
        onEvent: (e) => events.push(e),
      });
    }, 60_000);
    afterAll(async () => {
      await d?.close();
      await azurite?.stop();
      await gcs?.stop().catch(() => {});
    });

    it("writes 60 chunks, each to exactly two distinct providers, spread over all three", async () => {
      const perProvider = new Map<string, number>();
      const items = Array.from({ length: 60 }, (_, i) => randomBytes(1024 + ((i * 7919) % 200_000)));
      await Promise.all(
        items.map(async (blob) => {
          const tag = createHash("sha256").update("name-key").update(blob).digest("hex");
          const locations = await d.putChunk(tag, blob);
          expect(new Set(locations).size).toBe(2);
          blobs.set(tag, { blob, locations });
          for (const l of locations) perProvider.set(l, (perProvider.get(l) ?? 0) + 1);
        }),
      );
      for (const name of ["ceph", "azure", "gcs"]) expect(perProvider.get(name) ?? 0).toBeGreaterThan(20);
      // Each replica really is where the distributor says it is.
      for (const [tag, { locations }] of [...blobs].slice(0, 10)) {
        for (const b of backends)
          expect(await b.exists(chunkObjectKey(tag))).toBe(locations.includes(b.name));
      }
      const status = await d.status({ countChunks: true });
      expect(status.map((s) => [s.name, s.reachable, s.chunkCount])).toEqual(
        ["ceph", "azure", "gcs"].map((n) => [n, true, perProvider.get(n)]),
      );
    });

    it("Azurite is killed mid-restore: every chunk still reads back, from the replicas", async () => {
      expect(blobs.size).toBe(60);
      events.length = 0;
      const entries = [...blobs];
      const verify = (tag: string) => (b: Buffer) => sha(b) === sha(blobs.get(tag)!.blob);
      let restored = 0;
      // First third with all providers up, then SIGKILL Azurite and restore the rest, 6 at a time.
      for (const [tag, { blob, locations }] of entries.slice(0, 20)) {
        expect((await d.getChunk(tag, locations, verify(tag))).equals(blob)).toBe(true);
        restored++;
      }
      expect(events).toEqual([]);
      await azurite.kill();
      const rest = entries.slice(20);
      for (let i = 0; i < rest.length; i += 6) {
        await Promise.all(
          rest.slice(i, i + 6).map(async ([tag, { blob, locations }]) => {
            expect((await d.getChunk(tag, locations, verify(tag))).equals(blob)).toBe(true);
            restored++;
          }),
        );
      }
      expect(restored).toBe(60);
      const fallbacks = events.filter((e) => e.type === "read-fallback");
      expect(fallbacks.length).toBeGreaterThan(0);
      expect(new Set(fallbacks.map((e) => e.provider))).toEqual(new Set(["azure"]));
      const st = await d.status();
      expect(st.find((s) => s.name === "azure")).toMatchObject({
        reachable: false,
        error: { code: "Unavailable" },
      });
    });

    it("with Azurite down, a put whose placement needs it fails naming it (no spillover) or spills over", async () => {
      const strict = new Distributor({
        providers: backends.map((backend) => ({ backend })),
        replicationFactor: 2,
        spillover: false,
      });
      let tag = "";
      for (let i = 0; !strict.placementFor(tag || "0".repeat(64)).includes("azure") || tag === ""; i++) {
        tag = createHash("sha256").update(`needs-azure-${i}`).digest("hex");
      }
      const err = await strict.putChunk(tag, Buffer.from("x")).catch((e: unknown) => e);
      expect(StorageError.is(err, "Unavailable")).toBe(true);
      expect((err as StorageError).provider).toBe("azure");
      expect((err as StorageError).message).toMatch(
        /stored on 1 of 2 required providers; azure: Unavailable/,
      );
      // The default distributor writes the second replica to the remaining provider instead.
      expect((await d.putChunk(tag, Buffer.from("x"))).sort()).toEqual(["ceph", "gcs"]);
    });
  },
);
