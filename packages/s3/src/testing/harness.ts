/** Test helper: an S3 server over the in-memory service on 127.0.0.1, and an SDK client for it. */
import { S3Client } from "@aws-sdk/client-s3";
import type { S3HandlerOptions } from "../handler.js";
import { type RunningS3Server, startS3Server } from "../server.js";
import { MemoryObjectService, type MemoryServiceOptions } from "./memory-service.js";

export const TEST_ACCESS_KEY = "AKIAENIGMATEST000001";
export const TEST_SECRET_KEY = "enigma-test-secret-key-0000000000000001";
export const TEST_REGION = "us-east-1";

export interface TestServer {
  server: RunningS3Server;
  service: MemoryObjectService;
  client: S3Client;
  close(): Promise<void>;
}

export async function startTestServer(
  options: {
    memory?: MemoryServiceOptions;
    /** Use this service instead of a fresh one (e.g. a subclass that discards bodies). */
    service?: MemoryObjectService;
    handler?: Partial<S3HandlerOptions>;
    tls?: { certPem: string; keyPem: string };
  } = {},
): Promise<TestServer> {
  const service = options.service ?? new MemoryObjectService(options.memory);
  const server = await startS3Server({
    service,
    credentials: [
      { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      { accessKeyId: "AKIAENIGMATEST000002", secretAccessKey: "second-secret" },
    ],
    region: TEST_REGION,
    ...options.handler,
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  const client = new S3Client({
    endpoint: server.url,
    region: TEST_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
    maxAttempts: 1,
  });
  return {
    server,
    service,
    client,
    async close() {
      client.destroy();
      await server.close();
    },
  };
}
