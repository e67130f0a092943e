import { existsSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll } from "vitest";
import { runBackendContract } from "../contract/backend-contract.js";
import { createBackend } from "../create-backend.js";

// The same contract against MinIO and Azurite images via testcontainers, when a Docker engine is
// reachable. Without one (as in the default dev/CI sandbox) the suites skip with the reason.
const MINIO_IMAGE = "minio/minio:RELEASE.2025-04-22T22-12-26Z";
const AZURITE_IMAGE = "mcr.microsoft.com/azure-storage/azurite:3.35.0";
const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

async function dockerUnavailableReason(): Promise<string | null> {
  const sockets = ["/var/run/docker.sock", path.join(homedir(), ".docker/run/docker.sock")];
  if (!process.env.DOCKER_HOST && !sockets.some((s) => existsSync(s))) {
    return `no Docker engine: DOCKER_HOST unset and no socket at ${sockets.join(" or ")}`;
  }
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("no answer in 15 s")), 15_000)),
    ]);
    return null;
  } catch (err) {
    return `Docker engine not reachable: ${err instanceof Error ? err.message : String(err)}`;
  }
}

const reason = await dockerUnavailableReason();
type Started = { getHost(): string; getMappedPort(p: number): number; stop(): Promise<unknown> };
let minio: Started | undefined;
let azurite: Started | undefined;

beforeAll(async () => {
  if (reason !== null) return;
  const { GenericContainer, Wait } = await import("testcontainers");
  [minio, azurite] = await Promise.all([
    new GenericContainer(MINIO_IMAGE)
      .withEnvironment({ MINIO_ROOT_USER: "enigma", MINIO_ROOT_PASSWORD: "enigma-secret" })
      .withCommand(["server", "/data"])
      .withExposedPorts(9000)
      .withWaitStrategy(Wait.forHttp("/minio/health/live", 9000))
      .start(),
    new GenericContainer(AZURITE_IMAGE)
      .withCommand([
        "azurite-blob",
        "--blobHost",
        "0.0.0.0",
        "--loose",
        "--skipApiVersionCheck",
        "--inMemoryPersistence",
      ])
      .withExposedPorts(10000)
      .withWaitStrategy(Wait.forLogMessage(/successfully listens/))
      .start(),
  ]);
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: `http://${minio.getHost()}:${minio.getMappedPort(9000)}`,
    forcePathStyle: true,
    credentials: { accessKeyId: "enigma", secretAccessKey: "enigma-secret" },
  });
  await s3.send(new CreateBucketCommand({ Bucket: "contract" }));
  s3.destroy();
  const blob = `http://${azurite.getHost()}:${azurite.getMappedPort(10000)}/devstoreaccount1`;
  await new BlobServiceClient(
    blob,
    new (await import("@azure/storage-blob")).StorageSharedKeyCredential("devstoreaccount1", AZURITE_KEY),
  )
    .getContainerClient("contract")
    .create();
}, 300_000);
afterAll(async () => {
  await Promise.all([minio?.stop(), azurite?.stop()]);
}, 60_000);

const skip = reason !== null ? { skipReason: `testcontainers: ${reason}` } : {};

runBackendContract(
  "s3 (MinIO container)",
  () =>
    createBackend({
      name: "minio",
      type: "S3Compatible",
      bucket: "contract",
      endpointUrl: `http://${minio!.getHost()}:${minio!.getMappedPort(9000)}`,
      accessKey: "enigma",
      secretKey: "enigma-secret",
      listPageSize: 3,
      multipartThresholdBytes: 5 * 1024 * 1024,
    }),
  { largeObjectBytes: 11 * 1024 * 1024, ...skip },
);

runBackendContract(
  "azure (Azurite container)",
  () =>
    createBackend({
      name: "azurite-container",
      type: "Azure",
      bucket: "contract",
      endpointUrl: `http://${azurite!.getHost()}:${azurite!.getMappedPort(10000)}/devstoreaccount1`,
      accessKey: "devstoreaccount1",
      secretKey: AZURITE_KEY,
      listPageSize: 3,
    }),
  skip,
);
