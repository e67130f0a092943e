/**
 * The one option table. It drives TOML parsing, `ENIGMA_*` environment overrides, validation
 * messages and `enigma config` output, so a new option is added in exactly one place.
 *
 * Sections keep the meaning they have in the original Enigma config: `[enigma]`, `[s3_proxy]`,
 * `[raft]`, plus `[ops]` for the ops HTTP port. `[[providers]]` is a table array (providers.ts).
 */
import { availableParallelism } from "node:os";
import { DEFAULT_SECRET_PREFIX, KEY_PROVIDER_KINDS, secretPrefixProblem } from "@enigma/crypto";
import { z } from "zod";
import { parseDurationMs, parseSizeBytes } from "./units.js";

export type Section = "enigma" | "s3_proxy" | "raft" | "ops";
export const SECTIONS: readonly Section[] = ["enigma", "s3_proxy", "raft", "ops"];

export interface OptionSpec {
  readonly section: Section;
  readonly key: string;
  readonly doc: string;
  /** Validates and normalizes a value from TOML or (already coerced) env. */
  readonly schema: z.ZodType;
  /** Default when absent from file, env and flags; undefined = unset. */
  readonly defaultValue?: unknown;
  /** Value is a secret: may be an `enc:` token, redacted in `enigma config`. */
  readonly secret?: boolean;
  /** How an env string becomes a typed value before validation. */
  readonly envKind: "string" | "number" | "boolean" | "list";
}

export const sizeBytes = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseSizeBytes(v);
  if (n === undefined) {
    ctx.addIssue({ code: "custom", message: `not a size: ${JSON.stringify(v)} (use bytes or e.g. "4MiB")` });
    return z.NEVER;
  }
  return n;
});
const durationMs = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseDurationMs(v);
  if (n === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `not a duration: ${JSON.stringify(v)} (use ms or e.g. "24h", "90s")`,
    });
    return z.NEVER;
  }
  return n;
});
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be "HOST:PORT", e.g. "127.0.0.1:8333"');
const compression = z
  .union([z.boolean(), z.enum(["none", "zstd"])])
  .transform((v) => (v === true || v === "zstd" ? "zstd" : "none"));
const int = (min: number, max: number) => z.number().int().min(min).max(max);

const o = (spec: OptionSpec): OptionSpec => spec;

export const OPTIONS: readonly OptionSpec[] = [
  // [enigma]
  o({
    section: "enigma",
    key: "db_path",
    envKind: "string",
    schema: z.string().min(1),
    defaultValue: "manifest.db",
    doc: "Manifest database (SQLite); relative paths are under the config/data dir.",
  }),
  o({
    section: "enigma",
    key: "keyfile_path",
    envKind: "string",
    schema: z.string().min(1),
    defaultValue: "keystore.enigma",
    doc: "Passphrase-protected keystore file.",
  }),
  o({
    section: "enigma",
    key: "chunk_strategy",
    envKind: "string",
    schema: z.enum(["fastcdc", "fixed"]),
    defaultValue: "fastcdc",
    doc: "Content-defined (fastcdc) or fixed-size chunking.",
  }),
  o({
    section: "enigma",
    key: "chunk_size",
    envKind: "string",
    schema: sizeBytes.pipe(
      z
        .number()
        .int()
        .min(4096)
        .max(16 * 1024 * 1024),
    ),
    defaultValue: 4 * 1024 * 1024,
    doc: "Average chunk size (FastCDC: min = avg/4, max = avg*4).",
  }),
  o({
    section: "enigma",
    key: "compression",
    envKind: "string",
    schema: compression,
    defaultValue: "none",
    doc: 'Chunk compression: "none" or "zstd" (true/false accepted).',
  }),
  o({
    section: "enigma",
    key: "compression_level",
    envKind: "number",
    schema: int(1, 22),
    defaultValue: 3,
    doc: "zstd level (1-22).",
  }),
  o({
    section: "enigma",
    key: "distribution",
    envKind: "string",
    schema: z.enum(["round-robin", "weighted"]),
    defaultValue: "round-robin",
    doc: "How chunks are placed across providers.",
  }),
  o({
    section: "enigma",
    key: "replication_factor",
    envKind: "number",
    schema: int(1, 16),
    defaultValue: 1,
    doc: "Providers each chunk is written to.",
  }),
  o({
    section: "enigma",
    key: "key_provider",
    envKind: "string",
    schema: z.enum(KEY_PROVIDER_KINDS),
    defaultValue: "local",
    doc: "Where key material lives: local (passphrase keystore), aws-secretsmanager, azure-keyvault, gcp-secretmanager.",
  }),
  o({
    section: "enigma",
    key: "aws_region",
    envKind: "string",
    schema: z.string().min(1),
    doc: "aws-secretsmanager: the region (credentials from the AWS default chain).",
  }),
  o({
    section: "enigma",
    key: "vault_url",
    envKind: "string",
    schema: z.string().url(),
    doc: "azure-keyvault: the vault URL, e.g. https://NAME.vault.azure.net (DefaultAzureCredential).",
  }),
  o({
    section: "enigma",
    key: "gcp_project_id",
    envKind: "string",
    schema: z.string().min(1),
    doc: "gcp-secretmanager: the project (Application Default Credentials).",
  }),
  o({
    section: "enigma",
    key: "secret_prefix",
    envKind: "string",
    schema: z.string().superRefine((v, ctx) => {
      const problem = secretPrefixProblem(v);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    }),
    defaultValue: DEFAULT_SECRET_PREFIX,
    doc: "Vault providers: secrets are named {prefix}-{key id} and {prefix}-current.",
  }),
  o({
    section: "enigma",
    key: "workers",
    envKind: "number",
    schema: int(0, 64),
    // The main thread cuts chunks (FastCDC); workers hash, compress and seal. One worker per spare
    // core: more only add isolates (memory) competing for the same cores.
    defaultValue: Math.max(1, Math.min(4, availableParallelism() - 1)),
    doc: "Worker threads sealing chunks (0 = main thread).",
  }),
  o({
    section: "enigma",
    key: "upload_concurrency",
    envKind: "number",
    schema: int(1, 256),
    defaultValue: 4,
    doc: "Chunk uploads in flight per backup/PUT (each holds one sealed chunk in memory).",
  }),
  o({
    section: "enigma",
    key: "download_concurrency",
    envKind: "number",
    schema: int(1, 64),
    // Cold local disks read ~250 MB/s with one request and ~590 with eight; remote backends are
    // latency-bound. Each chunk in flight holds a chunk-sized buffer, per request. Since chunk
    // files bypass the page cache (direct_io), every GET reads the disk: 1 GiB GETs measured
    // 684–775 MB/s at 3 and 757–894 at 6, alternated, 3 rounds each.
    defaultValue: 6,
    doc: "Chunk downloads in flight per GET/restore/verify (each holds one chunk in memory); raise it for remote backends.",
  }),
  o({
    section: "enigma",
    key: "gc_grace",
    envKind: "string",
    schema: durationMs,
    defaultValue: 24 * 3_600_000,
    doc: "Unreferenced chunks younger than this are kept by GC.",
  }),
  o({
    section: "enigma",
    key: "gc_interval",
    envKind: "string",
    schema: durationMs,
    defaultValue: 6 * 3_600_000,
    doc: "How often the leader runs GC on its own (0 = only when asked).",
  }),
  // [s3_proxy]
  o({
    section: "s3_proxy",
    key: "listen_addr",
    envKind: "string",
    schema: hostPort,
    defaultValue: "127.0.0.1:8333",
    doc: "S3 API listen address.",
  }),
  o({
    section: "s3_proxy",
    key: "access_key",
    envKind: "string",
    schema: z.string().min(3).max(128),
    defaultValue: "enigma-admin",
    doc: "S3 access key id.",
  }),
  o({
    section: "s3_proxy",
    key: "secret_key",
    envKind: "string",
    schema: z.string().min(8).max(256),
    defaultValue: "enigma-secret",
    secret: true,
    doc: "S3 secret key (may be an enc: token).",
  }),
  o({
    section: "s3_proxy",
    key: "region",
    envKind: "string",
    schema: z.string().min(1),
    defaultValue: "us-east-1",
    doc: "Region reported and signed for.",
  }),
  o({
    section: "s3_proxy",
    key: "root_domain",
    envKind: "string",
    schema: z.string().min(1),
    doc: "Enables virtual-host style for hosts under this domain.",
  }),
  o({
    section: "s3_proxy",
    key: "tls_cert",
    envKind: "string",
    schema: z.string().min(1),
    doc: "PEM certificate: serve HTTPS.",
  }),
  o({
    section: "s3_proxy",
    key: "tls_key",
    envKind: "string",
    schema: z.string().min(1),
    doc: "PEM private key for tls_cert.",
  }),
  // [raft]
  o({
    section: "raft",
    key: "node_id",
    envKind: "number",
    schema: int(1, 2 ** 31),
    defaultValue: 1,
    doc: "This node's id (k8s: pod ordinal + 1).",
  }),
  o({
    section: "raft",
    key: "data_dir",
    envKind: "string",
    schema: z.string().min(1),
    doc: "Raft log and hard state directory (default: the data dir).",
  }),
  o({
    section: "raft",
    key: "grpc_addr",
    envKind: "string",
    schema: hostPort,
    defaultValue: "127.0.0.1:9000",
    doc: "gRPC listen address for Raft and the cluster service.",
  }),
  o({
    section: "raft",
    key: "peers",
    envKind: "list",
    schema: z.array(z.string().regex(/^\d+=.+:\d+$/, 'peers are "ID=HOST:PORT"')),
    defaultValue: [],
    doc: 'Initial members, "ID=HOST:PORT" each (empty: single node).',
  }),
  o({
    section: "raft",
    key: "election_timeout_ms",
    envKind: "number",
    schema: int(50, 60_000),
    defaultValue: 1000,
    doc: "Base election timeout.",
  }),
  o({
    section: "raft",
    key: "heartbeat_ms",
    envKind: "number",
    schema: int(10, 10_000),
    defaultValue: 100,
    doc: "Leader heartbeat interval.",
  }),
  o({
    section: "raft",
    key: "snapshot_threshold",
    envKind: "number",
    schema: int(16, 10_000_000),
    defaultValue: 10_000,
    doc: "Applied entries between log compactions.",
  }),
  o({
    section: "raft",
    key: "min_free_space",
    envKind: "string",
    schema: sizeBytes,
    doc: "Object writes are refused (507) while the data dir's filesystem has less free space than this, keeping room for the Raft log, manifest and snapshots: deletes and GC still work (default 1 % of the filesystem, at most 1 GiB; 0 = off).",
  }),
  o({
    section: "raft",
    key: "cluster_secret",
    envKind: "string",
    schema: z.string().min(16),
    secret: true,
    doc: "Shared secret authenticating nodes to each other.",
  }),
  o({
    section: "raft",
    key: "request_timeout_ms",
    envKind: "number",
    schema: int(100, 600_000),
    defaultValue: 10_000,
    doc: "Deadline for a metadata commit or linearizable read through the cluster.",
  }),
  o({
    section: "raft",
    key: "tls_cert",
    envKind: "string",
    schema: z.string().min(1),
    doc: "PEM certificate this node presents to its peers (mutual TLS with tls_key, tls_ca).",
  }),
  o({
    section: "raft",
    key: "tls_key",
    envKind: "string",
    schema: z.string().min(1),
    doc: "PEM private key for raft tls_cert.",
  }),
  o({
    section: "raft",
    key: "tls_ca",
    envKind: "string",
    schema: z.string().min(1),
    doc: "PEM CA bundle that peer certificates must chain to.",
  }),
  // [ops]
  o({
    section: "ops",
    key: "listen_addr",
    envKind: "string",
    schema: hostPort,
    defaultValue: "127.0.0.1:8433",
    doc: "Ops HTTP port: /livez, /readyz, /metrics.",
  }),
  o({
    section: "ops",
    key: "log_level",
    envKind: "string",
    schema: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
    defaultValue: "info",
    doc: "Log level.",
  }),
  o({
    section: "ops",
    key: "metrics_token",
    envKind: "string",
    schema: z.string().min(16, "must be at least 16 characters"),
    secret: true,
    doc: "Bearer token required on /metrics (unset: /metrics is open on the ops port).",
  }),
  o({
    section: "ops",
    key: "shutdown_timeout",
    envKind: "string",
    schema: durationMs,
    defaultValue: 30_000,
    doc: "On SIGTERM: how long in-flight S3 requests may take to finish before the node exits.",
  }),
];

/** `ENIGMA_S3_PROXY_LISTEN_ADDR` for s3_proxy.listen_addr. */
export function envName(spec: Pick<OptionSpec, "section" | "key">): string {
  return `ENIGMA_${spec.section}_${spec.key}`.toUpperCase();
}
