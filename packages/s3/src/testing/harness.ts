/**
 * Test helper: an S3 server on 127.0.0.1 over a service under test, and an SDK client for it.
 *
 * The SDK / edge / real-client suites (`testing/suites/`) are written against `TestBackend`, so the
 * same suites run over the in-memory double here and over the real engine (`packages/server`,
 * `test/s3-gateway/`): a backend is the port implementation plus the few inspections a suite needs
 * besides HTTP (what is stored, how many chunks a read fetched, how many rows a listing visited).
 */
import { S3Client } from "@aws-sdk/client-s3";
import type { S3HandlerOptions } from "../handler.js";
import type { ObjectInfo, ObjectService } from "../port.js";
import { type RunningS3Server, startS3Server } from "../server.js";
import { MemoryObjectService, type MemoryServiceOptions } from "./memory-service.js";

export const TEST_ACCESS_KEY = "AKIAENIGMATEST000001";
export const TEST_SECRET_KEY = "enigma-test-secret-key-0000000000000001";
export const TEST_REGION = "us-east-1";

/** An object as stored: its info, its bytes and the plaintext sizes of the chunks holding them. */
export interface StoredObjectView {
  info: ObjectInfo;
  data: Buffer;
  chunkSizes: number[];
}

/** What a suite may inspect besides HTTP. Every method reads the stored state, not a cache. */
export interface BackendProbe {
  /** Info of the stored object, or undefined (no data read). */
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** The stored object with its bytes, or undefined. */
  peek(bucket: string, key: string): Promise<StoredObjectView | undefined>;
  objectCount(bucket: string): Promise<number>;
}

/** The service under test plus its probe; suites get one per server from a `BackendFactory`. */
export interface TestBackend extends BackendProbe {
  readonly name: string;
  readonly service: ObjectService;
  /** Test setup without HTTP: stores `data` under `key` (the bucket must exist). */
  seed(bucket: string, key: string, data: Buffer | string): Promise<void>;
  /** Chunks fetched from storage so far (range reads must fetch only overlapping chunks). */
  chunkReads(): number;
  /** Keys / rows listings visited so far (delimiter listings must seek, not scan). */
  listRowsVisited(): number;
  close(): Promise<void>;
}

export type BackendFactory<B extends TestBackend = TestBackend> = () => Promise<B>;

/** The in-memory double as a backend. */
export function memoryBackend(
  options: MemoryServiceOptions = {},
  service?: MemoryObjectService,
): BackendFactory {
  return async () => {
    const memory = service ?? new MemoryObjectService(options);
    return {
      name: "memory",
      service: memory,
      async head(bucket, key) {
        return memory.peek(bucket, key)?.info;
      },
      async peek(bucket, key) {
        return memory.peek(bucket, key);
      },
      async objectCount(bucket) {
        return memory.objectCount(bucket);
      },
      async seed(bucket, key, data) {
        memory.seed(bucket, key, data);
      },
      chunkReads: () => memory.stats.chunkReads,
      listRowsVisited: () => memory.stats.listKeysVisited,
      async close() {},
    };
  };
}

/**
 * Wraps a service so a test can make the next call of one method throw (503 mapping, hidden
 * internal errors) whatever implements the port.
 */
function withFaults(service: ObjectService): {
  service: ObjectService;
  injectFault(operation: keyof ObjectService, error: Error): void;
} {
  const faults = new Map<string | symbol, Error>();
  const wrapped = new Proxy(service, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const fault = faults.get(prop);
        if (fault !== undefined) {
          faults.delete(prop);
          return Promise.reject(fault);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    service: wrapped,
    injectFault: (operation, error) => {
      faults.set(operation, error);
    },
  };
}

export interface ServerOptions {
  handler?: Partial<S3HandlerOptions>;
  tls?: { certPem: string; keyPem: string };
}

export interface BackendServer<B extends TestBackend = TestBackend> {
  server: RunningS3Server;
  backend: B;
  client: S3Client;
  /** The next call of `operation` throws `error`. */
  injectFault(operation: keyof ObjectService, error: Error): void;
  close(): Promise<void>;
}

export async function startBackendServer<B extends TestBackend>(
  factory: BackendFactory<B>,
  options: ServerOptions = {},
): Promise<BackendServer<B>> {
  const backend = await factory();
  const faults = withFaults(backend.service);
  let server: RunningS3Server;
  try {
    server = await startS3Server({
      service: faults.service,
      credentials: [
        { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
        { accessKeyId: "AKIAENIGMATEST000002", secretAccessKey: "second-secret" },
      ],
      region: TEST_REGION,
      ...options.handler,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
  } catch (err) {
    await backend.close();
    throw err;
  }
  const client = new S3Client({
    endpoint: server.url,
    region: TEST_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
    maxAttempts: 1,
  });
  return {
    server,
    backend,
    client,
    injectFault: faults.injectFault,
    async close() {
      client.destroy();
      await server.close();
      await backend.close();
    },
  };
}

export interface TestServer extends BackendServer {
  service: MemoryObjectService;
}

/** A server over the in-memory double (the s3 package's own tests). */
export async function startTestServer(
  options: ServerOptions & {
    memory?: MemoryServiceOptions;
    /** Use this service instead of a fresh one (e.g. a subclass that discards bodies). */
    service?: MemoryObjectService;
  } = {},
): Promise<TestServer> {
  const service = options.service ?? new MemoryObjectService(options.memory);
  const started = await startBackendServer(memoryBackend({}, service), options);
  return { ...started, service };
}
