/**
 * `enigma snapshot create | verify | restore | confirm-gc` (ARCHITECTURE §7): signed node-state
 * snapshots for operators. Thin adapters over the server's snapshot module; SnapshotErrors become
 * one line and a documented exit code (verification failures: 4, bad flags: 2, refusals: 1).
 */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { Manifest } from "@enigma/manifest";
import {
  confirmGcAfterRestore,
  createNodeSnapshot,
  formatBytes,
  isSnapshotError,
  loadAgeIdentities,
  loadNodePublicKey,
  loadTrustedKeys,
  type RestoreMode,
  restoreSnapshot,
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
}

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
    const m = s.manifest;
    const result = {
      file: s.file,
      sha256: s.sha256,
      bytes: s.bytes,
      encrypted: s.encrypted,
      nodeId: m.nodeId,
      clusterId: m.clusterId,
      appliedIndex: m.raft.appliedIndex,
      appliedTerm: m.raft.appliedTerm,
      schemaVersion: m.schemaVersion,
      rowCounts: m.rowCounts,
      signer: { fingerprint: m.signer.fingerprint, role: m.signer.role },
    };
    ctx.out.result(result, () =>
      [
        `snapshot ${s.file}`,
        `  ${formatBytes(s.bytes)}, sha256 ${s.sha256}${s.encrypted ? `, age-encrypted to ${recipients.length} recipient(s)` : ""}`,
        `  node ${m.nodeId}, cluster ${m.clusterId ?? "(none)"}, applied index ${m.raft.appliedIndex} (term ${m.raft.appliedTerm}), schema v${m.schemaVersion}`,
        `  signed by ${m.signer.fingerprint} (${m.signer.role} key)`,
      ].join("\n"),
    );
  } finally {
    manifest.close();
  }
}

export async function snapshotVerifyCommand(ctx: Context, file: string, flags: SnapshotReadFlags) {
  const r = await mapped(async () => verifySnapshot(file, await readOptions(ctx, flags)));
  ctx.out.result(describeReport(r), () =>
    [
      `OK: ${file} verified`,
      `  trust: ${r.trust.source}: ${r.trust.explanation}`,
      `  node ${r.manifest.nodeId}, cluster ${r.manifest.clusterId ?? "(none)"}, applied index ${r.manifest.raft.appliedIndex}, created ${r.manifest.createdAt}`,
      `  ${r.manifest.artifacts.length} artifacts, SHA-256 checked${r.encrypted ? " (decrypted with age)" : ""}`,
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
    gcPauseFile: r.gcPauseFile,
    shrunk: r.shrunk,
  };
  ctx.out.result(result, () =>
    [
      `restored ${file} into ${r.targetDbPath} (${r.mode}${r.snapshot.verified ? "" : ", UNVERIFIED"})`,
      `  trust: ${r.snapshot.trust.source}: ${r.snapshot.trust.explanation}`,
      `  applied index ${r.appliedIndex} (term ${r.appliedTerm}), cluster ${r.clusterId ?? "(none)"}`,
      r.mode === "new-cluster"
        ? `  new cluster id ${r.clusterId}: start this node as the first member of the new cluster (README: disaster recovery)`
        : "  start the node: it rejoins and catches up from the leader",
      `  GC is paused until you run "enigma snapshot confirm-gc" (${r.gcPauseFile})`,
    ].join("\n"),
  );
}

export async function snapshotConfirmGcCommand(ctx: Context) {
  const settings = ctx.settings();
  const info = confirmGcAfterRestore(settings.raft.dataDir);
  ctx.out.result({ wasPaused: info !== undefined, pause: info ?? null }, () =>
    info === undefined ? "GC was not paused" : "GC resumed: the restore is confirmed",
  );
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
    rowCounts: m.rowCounts,
    artifacts: m.artifacts,
    signer: m.signer,
    warnings: r.warnings,
  };
}
