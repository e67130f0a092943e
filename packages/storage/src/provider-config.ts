import type { DirectIoMode } from "./backends/local.js";
import type { RetryPolicy } from "./retry.js";

export const providerTypes = ["Local", "S3", "S3Compatible", "Azure", "Gcs"] as const;
export type ProviderType = (typeof providerTypes)[number];

/**
 * One `[[providers]]` entry after the config layer has parsed TOML (snake_case) into camelCase.
 * Secrets (secretKey, connectionString) must never be logged: use `redactProviderConfig`.
 */
export interface ProviderConfig {
  readonly name: string;
  readonly type: ProviderType;
  /** Local: directory. S3/S3Compatible/Gcs: bucket. Azure: container. */
  readonly bucket: string;
  readonly region?: string;
  readonly endpointUrl?: string;
  readonly pathStyle?: boolean;
  /** S3: access key id. Azure: storage account name. */
  readonly accessKey?: string;
  /** S3: secret access key. Azure: account key. */
  readonly secretKey?: string;
  /** Relative share of new chunks under `distribution = "weighted"`; 0 drains. Default 1. */
  readonly weight?: number;
  /** S3: StorageClass (STANDARD, STANDARD_IA, …). Azure: access tier (Hot, Cool, Cold). Gcs: storageClass. */
  readonly storageClass?: string;
  /** S3: object tags. Azure: blob index tags. Gcs: custom object metadata. */
  readonly tags?: Readonly<Record<string, string>>;
  /** Azure: full connection string (alternative to account name/key). */
  readonly connectionString?: string;
  /** Gcs: service-account key file (else Application Default Credentials). */
  readonly keyFile?: string;
  /** Gcs: custom JSON API endpoint (emulators, private endpoints). */
  readonly apiEndpoint?: string;
  readonly projectId?: string;
  /** Objects at least this large use multipart (S3) / block (Azure) / resumable (Gcs) upload. */
  readonly multipartThresholdBytes?: number;
  readonly multipartPartSizeBytes?: number;
  /** Page size of list calls (tests use tiny pages to exercise pagination). */
  readonly listPageSize?: number;
  /** Overrides of the retry/timeout policy for this provider. */
  readonly retry?: Partial<RetryPolicy>;
  /** Local: free space a chunk write must leave on the directory's filesystem (0 = none). */
  readonly minFreeBytes?: number;
  /** Local: O_DIRECT for chunk-sized objects ("auto" by default). */
  readonly directIo?: DirectIoMode;
}

export interface ProviderFieldDoc {
  /** The key as written in `[[providers]]`. */
  readonly toml: string;
  readonly doc: string;
}

export const providerFieldDocs: Readonly<Record<keyof ProviderConfig, ProviderFieldDoc>> = {
  name: {
    toml: "name",
    doc: "unique provider name; recorded in chunk locations, so never rename a provider",
  },
  type: { toml: "type", doc: `one of ${providerTypes.join(", ")}` },
  bucket: {
    toml: "bucket",
    doc: "a directory for Local, a bucket for S3/S3Compatible/Gcs, a container for Azure",
  },
  region: {
    toml: "region",
    doc: "S3 region (default: AWS_REGION / the SDK chain; us-east-1 for S3Compatible)",
  },
  endpointUrl: { toml: "endpoint_url", doc: "S3 endpoint URL, or the Azure blob endpoint (Azurite)" },
  pathStyle: {
    toml: "path_style",
    doc: "address buckets as http://host/bucket (default true for S3Compatible)",
  },
  accessKey: { toml: "access_key", doc: "S3 access key id; Azure storage account name" },
  secretKey: { toml: "secret_key", doc: "S3 secret access key; Azure account key" },
  weight: { toml: "weight", doc: "relative share of new chunks with distribution = weighted; 0 drains" },
  storageClass: { toml: "storage_class", doc: "S3 storage class, Azure access tier, GCS storage class" },
  tags: { toml: "tags", doc: "object tags (S3), blob index tags (Azure), custom metadata (GCS)" },
  connectionString: { toml: "connection_string", doc: "Azure connection string" },
  keyFile: {
    toml: "key_file",
    doc: "GCS service-account key file (else GOOGLE_APPLICATION_CREDENTIALS / ADC)",
  },
  apiEndpoint: { toml: "api_endpoint", doc: "GCS JSON API endpoint (emulators)" },
  projectId: { toml: "project_id", doc: "GCS project id" },
  multipartThresholdBytes: {
    toml: "multipart_threshold_bytes",
    doc: "use multipart upload at or above this size",
  },
  multipartPartSizeBytes: {
    toml: "multipart_part_size_bytes",
    doc: "multipart part size (S3 minimum 5 MiB)",
  },
  listPageSize: { toml: "list_page_size", doc: "objects per list request" },
  minFreeBytes: {
    toml: "min_free_space",
    doc: "Local: refuse chunk writes that would leave less free space than this on the directory's filesystem, keeping room for the Raft log and manifest (default 1 % of the filesystem, at most 1 GiB; 0 = off)",
  },
  directIo: {
    toml: "direct_io",
    doc: 'Local: write and read objects of 256 KiB and more (chunks) with O_DIRECT, bypassing the page cache: "auto" (default) where the filesystem supports it, "on" (an error where not), "off"',
  },
  retry: {
    toml: "retry",
    doc: "max_attempts, base_delay_ms, max_delay_ms, request_timeout_ms, transfer_timeout_ms",
  },
};

export interface ProviderTypeInfo {
  readonly description: string;
  /** Fields that must be present. */
  readonly required: readonly (keyof ProviderConfig)[];
  /** Fields that mean something for this type (others are rejected as misplaced). */
  readonly accepted: readonly (keyof ProviderConfig)[];
  /** Credentials, in the order they are tried. */
  readonly credentials: string;
}

const COMMON: readonly (keyof ProviderConfig)[] = [
  "name",
  "type",
  "bucket",
  "weight",
  "retry",
  "listPageSize",
];

export const providerTypeInfo: Readonly<Record<ProviderType, ProviderTypeInfo>> = {
  Local: {
    description: "a directory on this node (bucket = the directory)",
    required: ["name", "type", "bucket"],
    accepted: [...COMMON, "minFreeBytes", "directIo"],
    credentials: "none",
  },
  S3: {
    description: "Amazon S3",
    required: ["name", "type", "bucket"],
    accepted: [
      ...COMMON,
      "region",
      "endpointUrl",
      "pathStyle",
      "accessKey",
      "secretKey",
      "storageClass",
      "tags",
      "multipartThresholdBytes",
      "multipartPartSizeBytes",
    ],
    credentials: "access_key + secret_key, else the AWS default chain (env, profile, SSO, IMDS/ECS)",
  },
  S3Compatible: {
    description: "any S3-compatible server (MinIO, Ceph RGW, Garage, R2, …)",
    required: ["name", "type", "bucket", "endpointUrl"],
    accepted: [
      ...COMMON,
      "region",
      "endpointUrl",
      "pathStyle",
      "accessKey",
      "secretKey",
      "storageClass",
      "tags",
      "multipartThresholdBytes",
      "multipartPartSizeBytes",
    ],
    credentials: "access_key + secret_key, else the AWS default chain",
  },
  Azure: {
    description: "Azure Blob Storage (bucket = container; endpoint_url for Azurite)",
    required: ["name", "type", "bucket"],
    accepted: [
      ...COMMON,
      "endpointUrl",
      "accessKey",
      "secretKey",
      "connectionString",
      "storageClass",
      "tags",
      "multipartThresholdBytes",
      "multipartPartSizeBytes",
    ],
    credentials:
      "connection_string, else access_key (account) + secret_key (key), else AZURE_STORAGE_CONNECTION_STRING, else AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY",
  },
  Gcs: {
    description: "Google Cloud Storage (api_endpoint for emulators)",
    required: ["name", "type", "bucket"],
    accepted: [
      ...COMMON,
      "keyFile",
      "apiEndpoint",
      "projectId",
      "storageClass",
      "tags",
      "multipartThresholdBytes",
      "multipartPartSizeBytes",
    ],
    credentials:
      "key_file, else Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server)",
  },
};

const PROVIDER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function field(k: keyof ProviderConfig): string {
  return `${providerFieldDocs[k].toml} (${providerFieldDocs[k].doc})`;
}

/**
 * Everything wrong with one provider entry, as messages that name the TOML keys. Empty = valid.
 * `env` is consulted for credentials that may come from the environment (Azure).
 */
export function providerConfigProblems(
  cfg: ProviderConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const where = `providers[${JSON.stringify(cfg.name ?? "?")}]`;
  const problems: string[] = [];
  if (typeof cfg.name !== "string" || !PROVIDER_NAME_RE.test(cfg.name)) {
    problems.push(`${where}: name must be 1-63 characters of letters, digits, '.', '_' or '-'`);
  }
  if (!providerTypes.includes(cfg.type)) {
    problems.push(
      `${where}: type must be one of ${providerTypes.join(", ")}, got ${JSON.stringify(cfg.type)}`,
    );
    return problems;
  }
  const info = providerTypeInfo[cfg.type];
  for (const k of info.required) {
    const v = cfg[k];
    if (v === undefined || v === "") problems.push(`${where}: type ${cfg.type} requires ${field(k)}`);
  }
  for (const k of Object.keys(cfg) as (keyof ProviderConfig)[]) {
    if (cfg[k] !== undefined && !info.accepted.includes(k) && !info.required.includes(k)) {
      const known = k in providerFieldDocs;
      problems.push(
        known
          ? `${where}: ${providerFieldDocs[k].toml} does not apply to type ${cfg.type}`
          : `${where}: unknown field ${String(k)}`,
      );
    }
  }
  if (cfg.weight !== undefined && !(Number.isFinite(cfg.weight) && cfg.weight >= 0)) {
    problems.push(`${where}: weight must be a number >= 0`);
  }
  if (cfg.endpointUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(cfg.endpointUrl)) {
    problems.push(`${where}: endpoint_url must be an http(s) URL`);
  }
  if (cfg.apiEndpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(cfg.apiEndpoint)) {
    problems.push(`${where}: api_endpoint must be an http(s) URL`);
  }
  if (cfg.type === "S3" || cfg.type === "S3Compatible") {
    if ((cfg.accessKey === undefined) !== (cfg.secretKey === undefined)) {
      problems.push(
        `${where}: access_key and secret_key go together (or omit both for the AWS default chain)`,
      );
    }
    if (cfg.multipartPartSizeBytes !== undefined && cfg.multipartPartSizeBytes < 5 * 1024 * 1024) {
      problems.push(`${where}: multipart_part_size_bytes must be at least 5 MiB for S3`);
    }
  }
  if (cfg.type === "Azure") {
    const hasPair = cfg.accessKey !== undefined && cfg.secretKey !== undefined;
    const hasEnv =
      env.AZURE_STORAGE_CONNECTION_STRING !== undefined ||
      (env.AZURE_STORAGE_ACCOUNT !== undefined && env.AZURE_STORAGE_KEY !== undefined);
    if (cfg.connectionString === undefined && !hasPair && !hasEnv) {
      problems.push(`${where}: type Azure needs credentials: ${info.credentials}`);
    }
    if ((cfg.accessKey === undefined) !== (cfg.secretKey === undefined)) {
      problems.push(`${where}: access_key (account name) and secret_key (account key) go together`);
    }
  }
  for (const k of ["multipartThresholdBytes", "multipartPartSizeBytes", "listPageSize"] as const) {
    const v = cfg[k];
    if (v !== undefined && !(Number.isInteger(v) && v > 0))
      problems.push(`${where}: ${providerFieldDocs[k].toml} must be a positive integer`);
  }
  return problems;
}

const SECRET_FIELDS: readonly (keyof ProviderConfig)[] = ["secretKey", "connectionString"];

/** A copy safe to log: secrets replaced by "<redacted>". */
export function redactProviderConfig(cfg: ProviderConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...cfg };
  for (const k of SECRET_FIELDS) if (out[k] !== undefined) out[k] = "<redacted>";
  return out;
}
