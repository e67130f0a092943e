import { type StorageBackend, StorageError } from "./backend.js";
import { LocalBackend } from "./backends/local.js";
import { type ProviderConfig, providerConfigProblems } from "./provider-config.js";
import { DEFAULT_RETRY_POLICY, type RetryDeps, type RetryPolicy, withRetry } from "./retry.js";

export interface CreateBackendOptions {
  /** Environment for credentials (AZURE_STORAGE_*, AWS_REGION); defaults to process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Test hooks and retry observation (metrics, logs). */
  readonly retryDeps?: RetryDeps;
  /** Return the bare backend without the retry/timeout wrapper (default false). */
  readonly raw?: boolean;
}

export function retryPolicyFor(cfg: ProviderConfig): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, ...cfg.retry };
}

/**
 * Builds the backend for one `[[providers]]` entry, wrapped with retries and timeouts. Cloud SDKs
 * are imported only when a provider of that type is configured, so a Local-only node never loads
 * them. Throws StorageError("InvalidConfig") listing every problem with the entry.
 */
export async function createBackend(
  cfg: ProviderConfig,
  opts: CreateBackendOptions = {},
): Promise<StorageBackend> {
  const env = opts.env ?? process.env;
  const problems = providerConfigProblems(cfg, env);
  if (problems.length > 0) throw new StorageError("InvalidConfig", cfg.name ?? "?", problems.join("; "));
  const backend = await construct(cfg, env);
  return opts.raw ? backend : withRetry(backend, retryPolicyFor(cfg), opts.retryDeps);
}

async function construct(
  cfg: ProviderConfig,
  env: Readonly<Record<string, string | undefined>>,
): Promise<StorageBackend> {
  switch (cfg.type) {
    case "Local":
      return new LocalBackend({
        name: cfg.name,
        root: cfg.bucket,
        ...(cfg.minFreeBytes !== undefined ? { minFreeBytes: cfg.minFreeBytes } : {}),
        ...(cfg.directIo !== undefined ? { directIo: cfg.directIo } : {}),
      });
    case "S3":
    case "S3Compatible": {
      const { S3Backend } = await import("./backends/s3.js");
      const region = cfg.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
      return new S3Backend({
        name: cfg.name,
        bucket: cfg.bucket,
        region,
        pathStyle: cfg.pathStyle ?? cfg.type === "S3Compatible",
        ...(cfg.endpointUrl !== undefined ? { endpointUrl: cfg.endpointUrl } : {}),
        ...(cfg.accessKey !== undefined && cfg.secretKey !== undefined
          ? { credentials: { accessKeyId: cfg.accessKey, secretAccessKey: cfg.secretKey } }
          : {}),
        ...(cfg.storageClass !== undefined ? { storageClass: cfg.storageClass } : {}),
        ...(cfg.tags !== undefined ? { tags: cfg.tags } : {}),
        ...(cfg.multipartThresholdBytes !== undefined
          ? { multipartThresholdBytes: cfg.multipartThresholdBytes }
          : {}),
        ...(cfg.multipartPartSizeBytes !== undefined ? { partSizeBytes: cfg.multipartPartSizeBytes } : {}),
        ...(cfg.listPageSize !== undefined ? { listPageSize: cfg.listPageSize } : {}),
      });
    }
    case "Azure": {
      const { AzureBackend } = await import("./backends/azure.js");
      const connectionString =
        cfg.connectionString ??
        (cfg.accessKey === undefined ? env.AZURE_STORAGE_CONNECTION_STRING : undefined);
      const accountName = cfg.accessKey ?? env.AZURE_STORAGE_ACCOUNT;
      const accountKey = cfg.secretKey ?? env.AZURE_STORAGE_KEY;
      const credentials =
        connectionString !== undefined
          ? { kind: "connectionString" as const, connectionString }
          : { kind: "sharedKey" as const, accountName: accountName ?? "", accountKey: accountKey ?? "" };
      return new AzureBackend({
        name: cfg.name,
        container: cfg.bucket,
        credentials,
        ...(cfg.endpointUrl !== undefined ? { endpointUrl: cfg.endpointUrl } : {}),
        ...(cfg.storageClass !== undefined ? { tier: cfg.storageClass } : {}),
        ...(cfg.tags !== undefined ? { tags: cfg.tags } : {}),
        ...(cfg.multipartThresholdBytes !== undefined
          ? { singleShotMaxBytes: cfg.multipartThresholdBytes }
          : {}),
        ...(cfg.multipartPartSizeBytes !== undefined ? { blockSizeBytes: cfg.multipartPartSizeBytes } : {}),
        ...(cfg.listPageSize !== undefined ? { listPageSize: cfg.listPageSize } : {}),
      });
    }
    case "Gcs": {
      const { GcsBackend } = await import("./backends/gcs.js");
      return new GcsBackend({
        name: cfg.name,
        bucket: cfg.bucket,
        ...(cfg.keyFile !== undefined ? { keyFile: cfg.keyFile } : {}),
        ...(cfg.apiEndpoint !== undefined ? { apiEndpoint: cfg.apiEndpoint } : {}),
        ...(cfg.projectId !== undefined ? { projectId: cfg.projectId } : {}),
        ...(cfg.storageClass !== undefined ? { storageClass: cfg.storageClass } : {}),
        ...(cfg.tags !== undefined ? { metadata: cfg.tags } : {}),
        ...(cfg.multipartThresholdBytes !== undefined
          ? { resumableThresholdBytes: cfg.multipartThresholdBytes }
          : {}),
        ...(cfg.listPageSize !== undefined ? { listPageSize: cfg.listPageSize } : {}),
      });
    }
  }
}
