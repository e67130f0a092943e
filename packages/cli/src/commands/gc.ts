/**
 * `enigma gc` and `enigma status`.
 *
 * gc: single node without `[raft] peers` runs embedded (opens the manifest and backends itself);
 * with peers, or with `--node HOST:PORT`, it asks the cluster (Admin RPC `gc.run`, run on the
 * leader; default node: this config's `[raft] grpc_addr`, itself 127.0.0.1:9000 by default). The
 * cluster secret comes from the config as for `enigma cluster` (an `enc:` secret is decrypted with
 * the configured key provider). `--status` shows the GC state of the leader instead of running.
 */
import { decryptCredential, isEncryptedCredential } from "@enigma/crypto";
import {
  ClusterClient,
  describeGcPause,
  failureToError,
  formatBytes,
  type GcPauseStatus,
  type GcReport,
  gcPauseStatus,
  parseDurationMs,
  RaftNodeError,
  readTls,
  renderGcReport,
  runGc,
  SWEEP_MIN_GRACE_MS,
} from "@enigma/server";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { table } from "../output.js";

export interface GcFlags {
  readonly dryRun?: boolean;
  readonly grace?: string;
  readonly sweep?: boolean;
  readonly sweepGrace?: string;
  readonly node?: string;
  readonly timeout?: string;
  readonly status?: boolean;
}

/** A GC over a large manifest can take a while; the admin call waits this long by default. */
const DEFAULT_GC_TIMEOUT_MS = 30 * 60_000;

function durationFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = parseDurationMs(v);
  if (ms === undefined) throw new CliError(ExitCode.Usage, `${flag}: not a duration: ${v}`);
  return ms;
}

async function adminCall(ctx: Context, flags: GcFlags, action: string, args: unknown): Promise<unknown> {
  const settings = ctx.settings();
  let secret = settings.raft.clusterSecret;
  if (secret !== undefined && isEncryptedCredential(secret)) {
    secret = decryptCredential(await ctx.keyMaterial(), secret);
  }
  const addr = flags.node ?? settings.raft.grpcAddr;
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(addr)) {
    throw new CliError(ExitCode.Usage, `--node must be HOST:PORT, got ${JSON.stringify(addr)}`);
  }
  const timeoutMs = flags.timeout === undefined ? DEFAULT_GC_TIMEOUT_MS : Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new CliError(ExitCode.Usage, "--timeout must be a positive number of milliseconds");
  }
  const tls = settings.raft.tls === undefined ? undefined : readTls(settings.raft.tls);
  const c = new ClusterClient(addr, { secret, tls });
  try {
    const res = await c.admin({ action, argsJson: JSON.stringify(args), onLeader: true, timeoutMs, hops: 0 });
    if (res.failure !== undefined) throw failureToError(res.failure);
    return JSON.parse(res.resultJson) as unknown;
  } catch (err) {
    if (err instanceof RaftNodeError) {
      const code = err.code === "InvalidArgument" ? ExitCode.Usage : ExitCode.Failure;
      throw new CliError(code, `gc: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    c.close();
  }
}

export async function gcCommand(ctx: Context, flags: GcFlags): Promise<void> {
  const settings = ctx.settings();
  const graceMs = durationFlag("--grace", flags.grace) ?? settings.gcGraceMs;
  const sweepGraceMs =
    durationFlag("--sweep-grace", flags.sweepGrace) ?? Math.max(graceMs, SWEEP_MIN_GRACE_MS);
  const remote = flags.node !== undefined || settings.raft.peers.length > 0;
  if (flags.status) {
    if (!remote) throw new CliError(ExitCode.Usage, "gc --status asks a running node: give --node HOST:PORT");
    const st = (await adminCall(ctx, flags, "gc.status", {})) as { pause?: GcPauseStatus };
    ctx.out.result(st, () =>
      [pauseLine(settings.raft.dataDir, st.pause), JSON.stringify(st, null, 2)].join("\n"),
    );
    return;
  }
  let r: GcReport;
  if (remote) {
    r = (await adminCall(ctx, flags, "gc.run", {
      dryRun: Boolean(flags.dryRun),
      graceMs,
      sweep: flags.sweep !== false,
      sweepGraceMs,
    })) as GcReport;
  } else {
    const engine = await ctx.engine();
    try {
      r = await runGc(engine, {
        dryRun: Boolean(flags.dryRun),
        graceMs,
        ...(flags.sweep !== false ? { sweepGraceMs } : {}),
      });
    } catch (err) {
      if (err instanceof Error && err.name === "SnapshotError")
        throw new CliError(ExitCode.Failure, err.message);
      throw err;
    }
  }
  ctx.out.result(r, () => renderGcReport(r));
  const sweepErrors = r.sweep?.errors.length ?? 0;
  if (r.errors.length || sweepErrors) {
    throw new CliError(
      ExitCode.Storage,
      `${r.errors.length + sweepErrors} object(s) could not be deleted; rerun gc`,
    );
  }
}

/** "gc: paused after …" / "gc: not paused" (the marker path is the node's; shown as it reported it). */
function pauseLine(dataDir: string, p: GcPauseStatus | undefined): string {
  if (p === undefined) return "gc:          (pause state not reported)";
  const why = describeGcPause(dataDir, p);
  return why === undefined
    ? "gc:          not paused"
    : `gc:          PAUSED after ${why}: "enigma snapshot confirm-gc" resumes it`;
}

/** "12.3 GiB (reserve 1.0 GiB)", "FULL …" at or under the reserve, "-" without a filesystem. */
function diskFree(p: { availableBytes?: number; reserveBytes?: number }): string {
  if (p.availableBytes === undefined || p.reserveBytes === undefined) return "-";
  const text = `${formatBytes(p.availableBytes)} (reserve ${formatBytes(p.reserveBytes)})`;
  return p.availableBytes <= p.reserveBytes ? `FULL: ${text}` : text;
}

export async function statusCommand(ctx: Context): Promise<void> {
  const settings = ctx.settings();
  const engine = await ctx.engine();
  const stats = engine.manifest.chunkStats();
  const providers = await Promise.all(
    engine.backends.map(async (b) => {
      const space = await b.space?.().catch(() => undefined);
      const free: { availableBytes?: number; reserveBytes?: number; directIo?: boolean | null } =
        space === undefined
          ? {}
          : {
              availableBytes: space.availableBytes,
              reserveBytes: space.reserveBytes,
              ...(space.directIo !== undefined ? { directIo: space.directIo } : {}),
            };
      try {
        await b.test();
        return { name: b.name, reachable: true, error: null as string | null, ...free };
      } catch (err) {
        return { name: b.name, reachable: false, error: (err as Error).message, ...free };
      }
    }),
  );
  const backups = engine.manifest.listBackups();
  const empty = {
    chunks: 0,
    sealedBytes: 0,
    liveChunks: 0,
    liveSealedBytes: 0,
    garbageChunks: 0,
    garbageSealedBytes: 0,
    logicalBytes: 0,
  };
  const status = {
    configDir: settings.configDir,
    manifest: settings.dbPath,
    keystore: settings.keyfilePath,
    dataKeys: engine.keyring.ids(),
    currentKeyId: engine.keyring.current().keyId,
    backups: { total: backups.length, complete: backups.filter((b) => b.state === "complete").length },
    chunks: stats,
    gc: {
      ...gcPauseStatus(settings.raft.dataDir, engine.manifest),
      sweepingNameTags: engine.manifest.sweepingCount(),
    },
    providers: providers.map((p) => ({ ...p, ...(stats.perLocation[p.name] ?? empty) })),
  };
  ctx.out.result(status, () =>
    [
      `config dir:  ${status.configDir}`,
      `data keys:   ${status.dataKeys.join(", ")} (current ${status.currentKeyId})`,
      `backups:     ${status.backups.complete} complete of ${status.backups.total}`,
      `chunks:      ${stats.live} live, ${stats.garbage} garbage, ${stats.deleting} deleting`,
      pauseLine(settings.raft.dataDir, status.gc),
      `stored:      ${formatBytes(stats.storedBytes)} sealed for ${formatBytes(stats.logicalBytes)} logical ` +
        `(${formatBytes(stats.uniqueBytes)} unique, dedup ratio ${stats.dedupRatio.toFixed(2)})`,
      "providers:",
      table(
        ["NAME", "REACHABLE", "LIVE", "GARBAGE", "STORED", "FREEABLE", "LOGICAL", "DISK FREE", "O_DIRECT"],
        status.providers.map((p) => [
          p.name,
          p.reachable ? "yes" : `NO (${p.error})`,
          p.liveChunks,
          p.garbageChunks,
          formatBytes(p.sealedBytes),
          formatBytes(p.garbageSealedBytes),
          formatBytes(p.logicalBytes),
          diskFree(p),
          p.directIo === undefined || p.directIo === null ? "-" : p.directIo ? "yes" : "no",
        ]),
      ),
    ].join("\n"),
  );
  if (providers.some((p) => !p.reachable))
    throw new CliError(ExitCode.Storage, "a storage provider is unreachable");
}
