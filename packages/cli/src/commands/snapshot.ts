/**
 * `enigma snapshot create | verify | restore | confirm-gc` (ARCHITECTURE §7): signed node-state
 * snapshots for operators. Thin adapters over the server's snapshot module; SnapshotErrors become
 * one line and a documented exit code (verification failures: 4, bad flags: 2, refusals: 1).
 */
import { existsSync, statSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { decryptCredential, isEncryptedCredential } from "@enigma/crypto";
import { Manifest } from "@enigma/manifest";
import {
  ClusterClient,
  confirmGcAfterRestore,
  createNodeSnapshot,
  describeCreated,
  failureToError,
  formatBytes,
  GC_CONFIRM_ACTION,
  type GcConfirmResult,
  isSnapshotError,
  LocalCommitter,
  loadAgeIdentities,
  loadNodePublicKey,
  loadTrustedKeys,
  RaftNodeError,
  type RestoreMode,
  raftDir,
  readTls,
  restoreSnapshot,
  SNAPSHOT_CREATE_ACTION,
  type SnapshotCreateResult,
  type SnapshotErrorCode,
  type VerifyOptions,
  type VerifyReport,
  verifySnapshot,
} from "@enigma/server";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";

export interface SnapshotCreateFlags {
  /** A file name, or an existing directory (or a path ending in /) for the default name. */
  readonly out?: string;
  readonly signWith?: string;
  readonly ageRecipient?: readonly string[];
  /** A running node's gRPC address: the node creates the snapshot on its own disk (admin API). */
  readonly node?: string;
  readonly timeout?: string;
}

/** Snapshots of large manifests take a while; the admin call waits this long by default. */
const DEFAULT_REMOTE_TIMEOUT_MS = 10 * 60_000;

export interface SnapshotReadFlags {
  readonly trustedKeys?: string;
  readonly ageIdentity?: readonly string[];
}

export interface SnapshotRestoreFlags extends SnapshotReadFlags {
  readonly mode?: string;
  readonly clusterId?: string;
  /** The manifest database to replace; default [enigma] db_path. */
  readonly target?: string;
  readonly allowShrink?: boolean;
  readonly forceUnverified?: boolean;
}

const EXIT_BY_CODE: Record<SnapshotErrorCode, ExitCode> = {
  BadArgument: ExitCode.Usage,
  Encrypted: ExitCode.Usage,
  TarMalformed: ExitCode.Integrity,
  TarUnsafe: ExitCode.Integrity,
  TarUnsupported: ExitCode.Integrity,
  FormatInvalid: ExitCode.Integrity,
  SignatureInvalid: ExitCode.Integrity,
  UntrustedKey: ExitCode.Integrity,
  ArtifactMismatch: ExitCode.Integrity,
  StateMismatch: ExitCode.Integrity,
  DecryptFailed: ExitCode.Integrity,
  Shrink: ExitCode.Failure,
  ClusterMismatch: ExitCode.Failure,
  GcPaused: ExitCode.Failure,
  Exists: ExitCode.Failure,
  Io: ExitCode.Failure,
  Internal: ExitCode.Failure,
};

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isSnapshotError(err)) throw new CliError(EXIT_BY_CODE[err.code], err.message, { cause: err });
    throw err;
  }
}

export async function snapshotCreateCommand(ctx: Context, flags: SnapshotCreateFlags) {
  if (flags.node !== undefined) return snapshotCreateRemote(ctx, flags.node, flags);
  if (flags.timeout !== undefined) throw new CliError(ExitCode.Usage, "--timeout is only for --node");
  const settings = ctx.settings();
  if (!existsSync(settings.dbPath))
    throw new CliError(ExitCode.NotFound, `no manifest at ${settings.dbPath}: run "enigma init" first`);
  const out = resolve(flags.out ?? ".");
  const isDir =
    flags.out === undefined || flags.out.endsWith("/") || (existsSync(out) && statSync(out).isDirectory());
  const recipients = flags.ageRecipient ?? [];
  // A second connection is fine next to a running node (WAL); the admin API of a running node
  // calls createNodeSnapshot on the node's own connection instead.
  const manifest = Manifest.open(settings.dbPath);
  try {
    const s = await mapped(() =>
      createNodeSnapshot({
        manifest,
        nodeId: settings.raft.nodeId,
        dataDir: settings.raft.dataDir,
        ...(flags.signWith ? { signWith: flags.signWith } : {}),
        ...(isDir ? { outDir: out } : { outFile: out }),
        ...(recipients.length ? { ageRecipients: recipients } : {}),
      }),
    );
    printCreated(ctx, describeCreated(s), recipients.length);
  } finally {
    manifest.close();
  }
}

/**
 * `--node HOST:PORT`: the running node makes the snapshot itself (`snapshot.create` admin action,
 * after a read barrier), on its own disk: `--out` and `--sign-with` are paths there (absolute;
 * `--out DIR/` for the default name; default `<its data dir>/snapshots/`).
 */
async function snapshotCreateRemote(ctx: Context, addr: string, flags: SnapshotCreateFlags) {
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(addr))
    throw new CliError(ExitCode.Usage, `--node must be HOST:PORT, got ${JSON.stringify(addr)}`);
  const timeoutMs = flags.timeout === undefined ? DEFAULT_REMOTE_TIMEOUT_MS : Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new CliError(ExitCode.Usage, "--timeout must be a positive number of milliseconds");
  for (const [flag, p] of [
    ["--out", flags.out],
    ["--sign-with", flags.signWith],
  ] as const) {
    if (p !== undefined && !isAbsolute(p))
      throw new CliError(
        ExitCode.Usage,
        `${flag} with --node is a path on that node: give it absolute, not ${p}`,
      );
  }
  const recipients = flags.ageRecipient ?? [];
  const args = {
    ...(flags.out === undefined
      ? {}
      : flags.out.endsWith("/")
        ? { outDir: flags.out }
        : { outFile: flags.out }),
    ...(flags.signWith ? { signWith: flags.signWith } : {}),
    ...(recipients.length ? { ageRecipients: recipients } : {}),
  };
  const settings = ctx.settings();
  let secret = settings.raft.clusterSecret;
  if (secret !== undefined && isEncryptedCredential(secret))
    secret = decryptCredential(await ctx.keyMaterial(), secret);
  const tls = settings.raft.tls === undefined ? undefined : readTls(settings.raft.tls);
  const client = new ClusterClient(addr, { secret, tls });
  try {
    const res = await client.admin({
      action: SNAPSHOT_CREATE_ACTION,
      argsJson: JSON.stringify(args),
      onLeader: false,
      timeoutMs,
      hops: 0,
    });
    if (res.failure !== undefined) throw failureToError(res.failure);
    printCreated(ctx, JSON.parse(res.resultJson) as SnapshotCreateResult, recipients.length);
  } catch (err) {
    if (err instanceof RaftNodeError)
      throw new CliError(
        err.code === "InvalidArgument" ? ExitCode.Usage : ExitCode.Failure,
        `snapshot create on ${addr}: ${err.message}`,
        { cause: err },
      );
    throw err;
  } finally {
    client.close();
  }
}

function printCreated(ctx: Context, r: SnapshotCreateResult, recipients: number): void {
  ctx.out.result(r, () =>
    [
      `snapshot ${r.file}`,
      `  ${formatBytes(r.bytes)}, sha256 ${r.sha256}${r.encrypted ? `, age-encrypted to ${recipients} recipient(s)` : ""}`,
      `  node ${r.nodeId}, cluster ${r.clusterId ?? "(none)"}, applied index ${r.appliedIndex} (term ${r.appliedTerm}), schema v${r.schemaVersion}`,
      `  signed by ${r.signer.fingerprint} (${r.signer.role} key)`,
    ].join("\n"),
  );
}

export async function snapshotVerifyCommand(ctx: Context, file: string, flags: SnapshotReadFlags) {
  const r = await mapped(async () => verifySnapshot(file, await readOptions(ctx, flags)));
  ctx.out.result(describeReport(r), () =>
    [
      `OK: ${file} verified`,
      `  trust: ${r.trust.source}: ${r.trust.explanation}`,
      `  node ${r.manifest.nodeId}, cluster ${r.manifest.clusterId ?? "(none)"}, applied index ${r.manifest.raft.appliedIndex}, created ${r.manifest.createdAt}`,
      `  ${r.manifest.artifacts.length} artifacts, SHA-256 checked${r.encrypted ? " (decrypted with age)" : ""}`,
      `  schema v${r.schema.snapshot} (this build: v${r.schema.build}${r.schema.migrates ? "; restore migrates it" : ""})`,
      ...r.warnings.map((w) => `  warning: ${w}`),
    ].join("\n"),
  );
}

export async function snapshotRestoreCommand(ctx: Context, file: string, flags: SnapshotRestoreFlags) {
  const settings = ctx.settings();
  const mode = (flags.mode ?? "reseed") as RestoreMode;
  if (mode !== "reseed" && mode !== "new-cluster")
    throw new CliError(ExitCode.Usage, `--mode must be reseed or new-cluster, not ${flags.mode}`);
  if (flags.clusterId !== undefined && mode !== "new-cluster")
    throw new CliError(ExitCode.Usage, "--cluster-id is only for --mode new-cluster");
  const target = resolve(flags.target ?? settings.dbPath);
  const base = await readOptions(ctx, flags);
  const r = await mapped(() =>
    restoreSnapshot(file, {
      ...base,
      targetDbPath: target,
      mode,
      dataDir: settings.raft.dataDir,
      allowShrink: Boolean(flags.allowShrink),
      forceUnverified: Boolean(flags.forceUnverified),
      ...(flags.clusterId !== undefined ? { newClusterId: flags.clusterId } : {}),
      // Cluster mode: the Raft log is re-seeded to start at the restored state.
      ...(settings.raft.peers.length > 0
        ? {
            raft: {
              dir: raftDir(settings),
              nodeId: settings.raft.nodeId,
              addrs: Object.fromEntries(settings.raft.peers.map((p) => [String(p.id), p.addr])),
            },
          }
        : {}),
    }),
  );
  const result = {
    ...describeReport(r.snapshot),
    mode: r.mode,
    target: r.targetDbPath,
    clusterId: r.clusterId,
    snapshotClusterId: r.snapshotClusterId,
    appliedIndex: r.appliedIndex,
    appliedTerm: r.appliedTerm,
    checksum: r.checksum,
    gcPaused: true,
    gcPause: r.gcPause,
    gcPauseFile: r.gcPauseFile,
    shrunk: r.shrunk,
    raft: r.raft ?? null,
  };
  ctx.out.result(result, () =>
    [
      `restored ${file} into ${r.targetDbPath} (${r.mode}${r.snapshot.verified ? "" : ", UNVERIFIED"})`,
      `  trust: ${r.snapshot.trust.source}: ${r.snapshot.trust.explanation}`,
      `  applied index ${r.appliedIndex} (term ${r.appliedTerm}), cluster ${r.clusterId ?? "(none)"}`,
      ...(r.raft
        ? [
            `  raft log seeded at index ${r.raft.index} (term ${r.raft.term}), voters ${r.raft.conf.voters.join(",")}${r.raft.conf.learners.length ? `, learners ${r.raft.conf.learners.join(",")}` : ""}`,
          ]
        : []),
      r.mode === "new-cluster"
        ? `  new cluster id ${r.clusterId}: start this node as the first member of the new cluster (README: disaster recovery)`
        : r.raft
          ? `  rejoin: "enigma cluster remove-node ${settings.raft.nodeId}" on another member (if not done yet), start this node, then "enigma cluster add-node ${settings.raft.nodeId} ${settings.raft.grpcAddr}": it catches up from the leader`
          : "  start the node",
      r.gcPause === "manifest"
        ? `  GC is paused in the restored manifest (every member of the new cluster sees it) until you run "enigma snapshot confirm-gc"`
        : `  GC is paused on this node until you run "enigma snapshot confirm-gc" here (${r.gcPauseFile})`,
    ].join("\n"),
  );
}

export interface SnapshotConfirmGcFlags {
  /** A running member's gRPC address (default with `[raft] peers`: this node's grpc_addr). */
  readonly node?: string;
  readonly timeout?: string;
}

/** Who confirmed, as recorded in the ResumeGc command. */
function confirmer(): string {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): keep "unknown".
  }
  return `enigma snapshot confirm-gc (${user}@${hostname()})`;
}

/**
 * Lifts GC's pause after a restore. A cluster (`[raft] peers`, or `--node`): the `gc.confirm`
 * admin action on that member proposes ResumeGc through Raft (the replicated pause a new-cluster
 * restore wrote, seen by whichever node leads) and removes that member's own marker (a reseed's).
 * A single node: ResumeGc through the local committer, then the marker is removed.
 */
export async function snapshotConfirmGcCommand(ctx: Context, flags: SnapshotConfirmGcFlags = {}) {
  const settings = ctx.settings();
  if (flags.node !== undefined || settings.raft.peers.length > 0) {
    const addr = flags.node ?? settings.raft.grpcAddr;
    const r = await confirmRemote(ctx, addr, flags);
    ctx.out.result(r, () =>
      r.wasPaused
        ? `GC resumed: the restore is confirmed (${[
            r.replicated !== null ? "replicated pause lifted through Raft" : "",
            r.localMarker !== null ? `node ${r.nodeId}'s marker removed` : "",
          ]
            .filter(Boolean)
            .join(", ")})`
        : `GC was not paused (cluster, nor node ${r.nodeId})`,
    );
    return;
  }
  if (flags.timeout !== undefined) throw new CliError(ExitCode.Usage, "--timeout is only for --node");
  let replicated: unknown = null;
  if (existsSync(settings.dbPath)) {
    const manifest = Manifest.open(settings.dbPath);
    try {
      replicated = manifest.gcPause() ?? null;
      if (replicated !== null) {
        const committer = new LocalCommitter(manifest);
        // A command another process applied at the same index is skipped (alreadyApplied): retry.
        for (let attempt = 0; attempt < 5 && manifest.gcPause() !== undefined; attempt++) {
          const res = await committer.propose({ type: "ResumeGc", atMs: Date.now(), by: confirmer() });
          if (!res.ok) throw new CliError(ExitCode.Failure, `confirm-gc: ${res.message}`);
        }
        if (manifest.gcPause() !== undefined)
          throw new CliError(ExitCode.Failure, "confirm-gc: the manifest is still paused; retry");
      }
    } finally {
      manifest.close();
    }
  }
  // The marker last: a failure above leaves GC paused (fail closed).
  const marker = confirmGcAfterRestore(settings.raft.dataDir) ?? null;
  const wasPaused = replicated !== null || marker !== null;
  ctx.out.result({ wasPaused, replicated, localMarker: marker, pause: marker ?? replicated }, () =>
    wasPaused ? "GC resumed: the restore is confirmed" : "GC was not paused",
  );
}

async function confirmRemote(ctx: Context, addr: string, flags: SnapshotConfirmGcFlags) {
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(addr))
    throw new CliError(ExitCode.Usage, `--node must be HOST:PORT, got ${JSON.stringify(addr)}`);
  const timeoutMs = flags.timeout === undefined ? 30_000 : Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
    throw new CliError(ExitCode.Usage, "--timeout must be a positive number of milliseconds");
  const settings = ctx.settings();
  let secret = settings.raft.clusterSecret;
  if (secret !== undefined && isEncryptedCredential(secret))
    secret = decryptCredential(await ctx.keyMaterial(), secret);
  const tls = settings.raft.tls === undefined ? undefined : readTls(settings.raft.tls);
  const client = new ClusterClient(addr, { secret, tls });
  try {
    const res = await client.admin({
      action: GC_CONFIRM_ACTION,
      argsJson: JSON.stringify({ by: confirmer() }),
      onLeader: false,
      timeoutMs,
      hops: 0,
    });
    if (res.failure !== undefined) throw failureToError(res.failure);
    return JSON.parse(res.resultJson) as GcConfirmResult;
  } catch (err) {
    if (err instanceof RaftNodeError)
      throw new CliError(
        err.code === "InvalidArgument" ? ExitCode.Usage : ExitCode.Failure,
        `snapshot confirm-gc on ${addr}: ${err.message}` +
          (err.code === "Unreachable" ? " (start the node: the pause is lifted through the cluster)" : ""),
        { cause: err },
      );
    throw err;
  } finally {
    client.close();
  }
}

async function readOptions(ctx: Context, flags: SnapshotReadFlags): Promise<VerifyOptions> {
  const settings = ctx.settings();
  const localKey = await mapped(() => loadNodePublicKey(settings.raft.dataDir));
  const identities = (flags.ageIdentity ?? []).flatMap((p) => loadOrUsage(() => loadAgeIdentities(p)));
  return {
    ...(flags.trustedKeys
      ? { trustedKeys: loadOrUsage(() => loadTrustedKeys(flags.trustedKeys as string)) }
      : {}),
    ...(localKey ? { localKey } : {}),
    ...(identities.length ? { ageIdentities: identities } : {}),
    onWarning: (w) => ctx.out.warn(w),
  };
}

function loadOrUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (isSnapshotError(err)) throw new CliError(EXIT_BY_CODE[err.code], err.message, { cause: err });
    throw err;
  }
}

function describeReport(r: VerifyReport) {
  const m = r.manifest;
  return {
    file: r.file,
    verified: r.verified,
    trust: r.trust,
    encrypted: r.encrypted,
    fileSha256: r.fileSha256,
    fileBytes: r.fileBytes,
    createdAt: m.createdAt,
    nodeId: m.nodeId,
    clusterId: m.clusterId,
    raft: m.raft,
    schemaVersion: m.schemaVersion,
    schema: r.schema,
    rowCounts: m.rowCounts,
    artifacts: m.artifacts,
    signer: m.signer,
    warnings: r.warnings,
  };
}
