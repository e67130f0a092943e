import { existsSync } from "node:fs";
import { encryptCredential, openKeystore } from "@enigma/crypto";
import {
  assertGcNotPaused,
  describeConfig,
  formatBytes,
  loadConfig,
  parseDurationMs,
  proposeOrThrow,
  rotateDataKey,
} from "@enigma/server";
import { runGc, SWEEP_MIN_GRACE_MS } from "../backup/gc.js";
import { resolveBackup } from "../backup/resolve-backup.js";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { table } from "../output.js";

export async function listCommand(ctx: Context) {
  const engine = await ctx.engine();
  const rows = engine.manifest.listBackups().map((b) => ({
    id: b.id,
    name: b.name,
    kind: b.kind,
    state: b.state,
    startedAt: new Date(b.startedAtMs).toISOString(),
    completedAt: b.completedAtMs ? new Date(b.completedAtMs).toISOString() : null,
    files: b.fileCount,
    chunks: b.chunkCount,
    bytes: b.logicalBytes,
  }));
  ctx.out.result(rows, () =>
    rows.length
      ? table(
          ["ID", "NAME", "KIND", "STATE", "STARTED", "FILES", "SIZE"],
          rows.map((r) => [r.id, r.name, r.kind, r.state, r.startedAt, r.files, formatBytes(r.bytes)]),
        )
      : "no backups",
  );
}

export async function statusCommand(ctx: Context) {
  const settings = ctx.settings();
  const engine = await ctx.engine();
  const stats = engine.manifest.chunkStats();
  const providers = await Promise.all(
    engine.backends.map(async (b) => {
      try {
        await b.test();
        return { name: b.name, reachable: true, error: null as string | null };
      } catch (err) {
        return { name: b.name, reachable: false, error: (err as Error).message };
      }
    }),
  );
  const backups = engine.manifest.listBackups();
  const status = {
    configDir: settings.configDir,
    manifest: settings.dbPath,
    keystore: settings.keyfilePath,
    dataKeys: engine.keyring.ids(),
    currentKeyId: engine.keyring.current().keyId,
    backups: { total: backups.length, complete: backups.filter((b) => b.state === "complete").length },
    chunks: stats,
    providers: providers.map((p) => ({ ...p, chunks: stats.perLocation[p.name]?.chunks ?? 0 })),
  };
  ctx.out.result(status, () =>
    [
      `config dir:  ${status.configDir}`,
      `data keys:   ${status.dataKeys.join(", ")} (current ${status.currentKeyId})`,
      `backups:     ${status.backups.complete} complete of ${status.backups.total}`,
      `chunks:      ${stats.live} live, ${stats.garbage} garbage, ${stats.deleting} deleting`,
      `stored:      ${formatBytes(stats.storedBytes)} sealed for ${formatBytes(stats.logicalBytes)} logical (dedup ratio ${stats.dedupRatio.toFixed(2)})`,
      "providers:",
      ...status.providers.map(
        (p) => `  ${p.name}: ${p.reachable ? "reachable" : `UNREACHABLE (${p.error})`}, ${p.chunks} chunks`,
      ),
    ].join("\n"),
  );
  if (providers.some((p) => !p.reachable))
    throw new CliError(ExitCode.Storage, "a storage provider is unreachable");
}

export async function configCommand(ctx: Context, flags: { check?: string }) {
  const loaded = flags.check ? loadConfig({ configFile: flags.check, requireFile: true }) : ctx.loaded();
  const rows = describeConfig(loaded);
  const result = {
    configFile: loaded.configFile,
    exists: loaded.fileExists,
    options: rows,
    providers: loaded.providers.map((p) => ({
      ...p,
      ...(p.secret_key ? { secret_key: "<redacted>" } : {}),
      ...(p.connection_string ? { connection_string: "<redacted>" } : {}),
    })),
  };
  ctx.out.result(result, () =>
    [
      flags.check
        ? `${loaded.configFile}: valid`
        : `# ${loaded.configFile}${loaded.fileExists ? "" : " (absent: defaults)"}`,
      table(
        ["OPTION", "VALUE", "SOURCE"],
        rows.map((r) => [r.option, r.value === undefined ? "" : JSON.stringify(r.value), r.source]),
      ),
      ...(result.providers.length
        ? ["providers:", ...result.providers.map((p) => `  ${JSON.stringify(p)}`)]
        : []),
    ].join("\n"),
  );
}

export async function gcCommand(
  ctx: Context,
  flags: { dryRun?: boolean; grace?: string; sweep?: boolean; sweepGrace?: string },
) {
  const settings = ctx.settings();
  const duration = (flag: string, v: string | undefined, fallback: number) => {
    if (v === undefined) return fallback;
    const ms = parseDurationMs(v);
    if (ms === undefined) throw new CliError(ExitCode.Usage, `${flag}: not a duration: ${v}`);
    return ms;
  };
  const graceMs = duration("--grace", flags.grace, settings.gcGraceMs);
  const sweepGraceMs = duration("--sweep-grace", flags.sweepGrace, Math.max(graceMs, SWEEP_MIN_GRACE_MS));
  // After a node-state restore, chunks newer than the restored manifest would look orphaned.
  if (!flags.dryRun) assertGcNotPaused(settings.raft.dataDir);
  const engine = await ctx.engine();
  const r = await runGc(engine, {
    dryRun: Boolean(flags.dryRun),
    graceMs,
    ...(flags.sweep !== false ? { sweepGraceMs } : {}),
  });
  const sweepLine = r.sweep
    ? `sweep: ${r.sweep.scannedObjects} backend objects scanned, ${r.sweep.orphanObjects} unknown older than ${r.sweep.graceMs / 1000}s ` +
      `(${formatBytes(r.sweep.orphanBytes)})${r.dryRun ? " would be" : ""} removed`
    : "sweep: skipped";
  ctx.out.result(r, () =>
    [
      r.dryRun
        ? `dry run: ${r.candidates} unreferenced chunks older than the grace period would be deleted (${formatBytes(r.freedBytes)})`
        : `gc: ${r.marked} chunks marked, ${r.deletedBlobs} blobs deleted, ${r.forgotten} forgotten, ${formatBytes(r.freedBytes)} freed`,
      sweepLine,
      ...r.errors.map((e) => `  error: ${e}`),
      ...(r.sweep?.errors ?? []).map((e) => `  sweep error: [${e.provider}] ${e.key ?? ""} ${e.message}`),
    ].join("\n"),
  );
  const sweepErrors = r.sweep?.errors.length ?? 0;
  if (r.errors.length || sweepErrors) {
    throw new CliError(
      ExitCode.Storage,
      `${r.errors.length + sweepErrors} object(s) could not be deleted; rerun gc`,
    );
  }
}

export async function encryptCredCommand(ctx: Context, value: string) {
  const settings = ctx.settings();
  if (!existsSync(settings.keyfilePath))
    throw new CliError(ExitCode.Keystore, `no keystore at ${settings.keyfilePath}`);
  const keystore = await openKeystore(settings.keyfilePath, await ctx.passphrase());
  const token = encryptCredential(keystore, value);
  ctx.out.result({ token }, () => token);
}

export async function keysRotateCommand(ctx: Context) {
  const engine = await ctx.engine();
  const keyId = await rotateDataKey(engine.keystore, engine.manifest, engine.committer, Date.now());
  engine.keyring.refresh();
  ctx.out.result(
    { currentKeyId: keyId, keyIds: engine.keyring.ids() },
    () => `new current data key ${keyId}`,
  );
}

export async function keysListCommand(ctx: Context) {
  const engine = await ctx.engine();
  const rows = engine.manifest
    .dataKeys()
    .map((k) => ({ keyId: k.keyId, createdAt: new Date(k.createdAtMs).toISOString() }));
  const current = engine.keyring.current().keyId;
  ctx.out.result({ current, keys: rows }, () =>
    table(
      ["KEY ID", "CREATED", ""],
      rows.map((r) => [r.keyId, r.createdAt, r.keyId === current ? "current" : ""]),
    ),
  );
}

export async function deleteCommand(ctx: Context, idOrName: string) {
  const engine = await ctx.engine();
  const backup = resolveBackup(engine.manifest, idOrName, { allowIncomplete: true });
  await proposeOrThrow(engine.committer, { type: "DeleteBackup", backupId: backup.id, atMs: Date.now() });
  ctx.out.result(
    { deleted: backup.id },
    () => `deleted backup ${backup.id} "${backup.name}"; run enigma gc to free its chunks`,
  );
}
