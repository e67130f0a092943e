import { encryptCredential } from "@enigma/crypto";
import { describeConfig, formatBytes, loadConfig, proposeOrThrow } from "@enigma/server";
import { resolveBackup } from "../backup/resolve-backup.js";
import type { Context } from "../context.js";
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

// statusCommand moved to ./gc.ts (chunk statistics per backend).

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

// gcCommand moved to ./gc.ts (GC runs in the server; --node uses the Admin RPC).

export async function encryptCredCommand(ctx: Context, value: string) {
  // The configured key provider's credKey: the local keystore or a vault (no passphrase then).
  const token = encryptCredential(await ctx.keyMaterial(), value);
  ctx.out.result({ token }, () => token);
}

// `keys list / rotate / show-current / migrate` live in keys.ts.

export async function deleteCommand(ctx: Context, idOrName: string) {
  const engine = await ctx.engine();
  const backup = resolveBackup(engine.manifest, idOrName, { allowIncomplete: true });
  await proposeOrThrow(engine.committer, { type: "DeleteBackup", backupId: backup.id, atMs: Date.now() });
  ctx.out.result(
    { deleted: backup.id },
    () => `deleted backup ${backup.id} "${backup.name}"; run enigma gc to free its chunks`,
  );
}
