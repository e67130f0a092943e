/** The typed view of a loaded config that the rest of the product consumes. */
import { join } from "node:path";
import type { KeyProviderKind } from "@enigma/crypto";
import { ConfigError } from "./errors.js";
import { getOption, type LoadedConfig, resolvePath } from "./load.js";
import { OPTIONS, type Section } from "./options.js";
import type { ProviderEntry } from "./providers.js";

export interface PeerSpec {
  readonly id: number;
  readonly addr: string;
}

export interface EnigmaSettings {
  readonly configDir: string;
  readonly configFile: string;
  readonly dbPath: string;
  readonly keyfilePath: string;
  readonly chunking: { readonly strategy: "fastcdc" | "fixed"; readonly avgBytes: number };
  /** zstd level, or undefined when compression is off. */
  readonly compressionLevel: number | undefined;
  readonly distribution: "round-robin" | "weighted";
  readonly replicationFactor: number;
  readonly workers: number;
  readonly uploadConcurrency: number;
  /** Chunk fetches in flight per read (GET, restore, verify). */
  readonly downloadConcurrency: number;
  readonly gcGraceMs: number;
  /** Scheduled GC on the leader; 0 = off. */
  readonly gcIntervalMs: number;
  readonly keyProvider: {
    readonly kind: KeyProviderKind;
    readonly awsRegion: string | undefined;
    readonly vaultUrl: string | undefined;
    readonly gcpProjectId: string | undefined;
    readonly secretPrefix: string;
  };
  /** Configured providers; when none, one Local provider under <configDir>/chunks. */
  readonly providers: readonly ProviderEntry[];
  readonly s3: {
    readonly listenAddr: string;
    readonly accessKey: string;
    readonly secretKey: string;
    readonly region: string;
    readonly rootDomain: string | undefined;
    readonly tlsCert: string | undefined;
    readonly tlsKey: string | undefined;
  };
  readonly raft: {
    readonly nodeId: number;
    readonly dataDir: string;
    readonly grpcAddr: string;
    readonly peers: readonly PeerSpec[];
    readonly electionTimeoutMs: number;
    readonly heartbeatMs: number;
    readonly snapshotThreshold: number;
    readonly clusterSecret: string | undefined;
    readonly requestTimeoutMs: number;
    /** Free space object writes leave on the data dir's filesystem (undefined: the default). */
    readonly minFreeBytes: number | undefined;
    /** Mutual TLS between nodes: all three set, or none. */
    readonly tls:
      | { readonly certPath: string; readonly keyPath: string; readonly caPath: string }
      | undefined;
  };
  readonly ops: {
    readonly listenAddr: string;
    readonly logLevel: string;
    /** Bearer token for /metrics (may be an `enc:` token). */
    readonly metricsToken: string | undefined;
    readonly shutdownTimeoutMs: number;
  };
}

export const DEFAULT_LOCAL_PROVIDER_DIR = "chunks";

export function toSettings(cfg: LoadedConfig): EnigmaSettings {
  const g = <T>(s: Section, k: string) => getOption<T>(cfg, s, k);
  const compression = g<string>("enigma", "compression");
  const providers = cfg.providers.length
    ? cfg.providers.map((p) => (p.type === "Local" ? { ...p, bucket: resolvePath(cfg, p.bucket) } : p))
    : [{ name: "local", type: "Local" as const, bucket: join(cfg.configDir, DEFAULT_LOCAL_PROVIDER_DIR) }];
  return {
    configDir: cfg.configDir,
    configFile: cfg.configFile,
    dbPath: resolvePath(cfg, g("enigma", "db_path")),
    keyfilePath: resolvePath(cfg, g("enigma", "keyfile_path")),
    chunking: { strategy: g("enigma", "chunk_strategy"), avgBytes: g("enigma", "chunk_size") },
    compressionLevel: compression === "zstd" ? g<number>("enigma", "compression_level") : undefined,
    distribution: g("enigma", "distribution"),
    replicationFactor: g("enigma", "replication_factor"),
    workers: g("enigma", "workers"),
    uploadConcurrency: g("enigma", "upload_concurrency"),
    downloadConcurrency: g("enigma", "download_concurrency"),
    gcGraceMs: g("enigma", "gc_grace"),
    gcIntervalMs: g("enigma", "gc_interval"),
    keyProvider: {
      kind: g("enigma", "key_provider"),
      awsRegion: g<string | undefined>("enigma", "aws_region"),
      vaultUrl: g<string | undefined>("enigma", "vault_url"),
      gcpProjectId: g<string | undefined>("enigma", "gcp_project_id"),
      secretPrefix: g("enigma", "secret_prefix"),
    },
    providers,
    s3: {
      listenAddr: g("s3_proxy", "listen_addr"),
      accessKey: g("s3_proxy", "access_key"),
      secretKey: g("s3_proxy", "secret_key"),
      region: g("s3_proxy", "region"),
      rootDomain: g("s3_proxy", "root_domain"),
      tlsCert: g<string | undefined>("s3_proxy", "tls_cert"),
      tlsKey: g<string | undefined>("s3_proxy", "tls_key"),
    },
    raft: {
      nodeId: g("raft", "node_id"),
      dataDir: resolvePath(cfg, g<string | undefined>("raft", "data_dir") ?? "."),
      grpcAddr: g("raft", "grpc_addr"),
      peers: g<string[]>("raft", "peers").map((p) => {
        const eq = p.indexOf("=");
        return { id: Number(p.slice(0, eq)), addr: p.slice(eq + 1) };
      }),
      electionTimeoutMs: g("raft", "election_timeout_ms"),
      heartbeatMs: g("raft", "heartbeat_ms"),
      snapshotThreshold: g("raft", "snapshot_threshold"),
      clusterSecret: g("raft", "cluster_secret"),
      requestTimeoutMs: g("raft", "request_timeout_ms"),
      minFreeBytes: g<number | undefined>("raft", "min_free_space"),
      tls: raftTls(cfg),
    },
    ops: {
      listenAddr: g("ops", "listen_addr"),
      logLevel: g("ops", "log_level"),
      metricsToken: g<string | undefined>("ops", "metrics_token"),
      shutdownTimeoutMs: g("ops", "shutdown_timeout"),
    },
  };
}

function raftTls(cfg: LoadedConfig): EnigmaSettings["raft"]["tls"] {
  const cert = getOption<string | undefined>(cfg, "raft", "tls_cert");
  const key = getOption<string | undefined>(cfg, "raft", "tls_key");
  const ca = getOption<string | undefined>(cfg, "raft", "tls_ca");
  if (cert === undefined && key === undefined && ca === undefined) return undefined;
  if (cert === undefined || key === undefined || ca === undefined) {
    throw new ConfigError(
      "Invalid",
      ["[raft] tls_cert, tls_key and tls_ca must be set together"],
      cfg.configFile,
    );
  }
  return { certPath: resolvePath(cfg, cert), keyPath: resolvePath(cfg, key), caPath: resolvePath(cfg, ca) };
}

/** Rows for `enigma config`: every option with its effective value and where it came from. */
export function describeConfig(
  cfg: LoadedConfig,
): { option: string; value: unknown; source: string; doc: string }[] {
  return OPTIONS.map((spec) => {
    const id = `${spec.section}.${spec.key}`;
    const value = cfg.values.get(id);
    return {
      option: id,
      value: spec.secret && value !== undefined ? "<redacted>" : value,
      source: cfg.sources.get(id) ?? "unset",
      doc: spec.doc,
    };
  });
}

/** The enigma.toml `init` writes when none exists: every default spelled out, commented. */
export function renderDefaultConfig(): string {
  const lines = ["# Enigma HA configuration. Every key is optional; defaults shown.", ""];
  for (const section of ["enigma", "s3_proxy", "raft", "ops"] as const) {
    lines.push(`[${section}]`);
    for (const spec of OPTIONS.filter((s) => s.section === section)) {
      lines.push(`# ${spec.doc}`);
      const v = spec.defaultValue;
      if (v === undefined || spec.key === "workers") lines.push(`# ${spec.key} = ...`);
      else if (spec.secret) lines.push(`# ${spec.key} = "enc:..."  (see enigma encrypt-cred)`);
      else lines.push(`# ${spec.key} = ${JSON.stringify(v)}`);
    }
    lines.push("");
  }
  lines.push(
    "# Storage providers; without any, chunks go to a Local provider under <config dir>/chunks.",
    "# [[providers]]",
    '# name = "local"',
    '# type = "Local"            # Local | S3 | S3Compatible | Azure | Gcs',
    '# bucket = "chunks"          # a directory for Local, a container for Azure',
    '# min_free_space = "1GiB"    # Local: free space chunk writes leave (default 1 % of the disk, at most 1 GiB)',
    '# direct_io = "auto"         # Local: write and read chunks with O_DIRECT where the filesystem allows ("on" | "off")',
    "",
  );
  return lines.join("\n");
}
