import { tuneHeapForStreaming } from "@enigma/chunker";
import { formatBytes } from "@enigma/server";
import { backupDirectory } from "../backup/backup-dir.js";
import { backupStream } from "../backup/backup-stream.js";
import { readFd } from "../backup/fd-reader.js";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";

export interface BackupFlags {
  readonly stdin?: boolean;
  readonly name?: string;
}

export async function backupCommand(
  ctx: Context,
  path: string | undefined,
  flags: BackupFlags,
  signal: AbortSignal,
) {
  tuneHeapForStreaming();
  const engine = await ctx.engine();
  if (flags.stdin) {
    if (path) throw new CliError(ExitCode.Usage, "give either PATH or --stdin, not both");
    if (!flags.name) throw new CliError(ExitCode.Usage, "--stdin needs --name NAME");
    const bar = ctx.out.progress("backup", 0, "bytes");
    try {
      const s = await backupStream(engine, readFd(0), flags.name, { signal, onBytes: (n) => bar.add(n) });
      bar.stop();
      ctx.out.result(s, () =>
        [
          `backup ${s.backupId} "${s.name}" complete${s.resumed ? ` (resumed; ${s.verifiedPrefixChunks} stored chunks re-verified)` : ""}`,
          `  ${formatBytes(s.bytes)} in ${s.chunks} chunks; uploaded ${s.uploadedChunks} (${formatBytes(s.uploadedBytes)}), deduplicated ${s.dedupedChunks}`,
          `  ${(s.bytes / 1e6 / Math.max(s.seconds, 1e-3)).toFixed(1)} MB/s`,
        ].join("\n"),
      );
    } finally {
      bar.stop();
    }
    return;
  }
  if (!path) throw new CliError(ExitCode.Usage, "backup needs PATH (or --stdin --name NAME)");
  const { stat } = await import("node:fs/promises");
  const st = await stat(path).catch(() => undefined);
  if (!st?.isDirectory()) throw new CliError(ExitCode.Usage, `not a directory: ${path}`);
  const bar = ctx.out.progress("backup", 0, "bytes");
  try {
    const s = await backupDirectory(engine, path, flags.name, {
      signal,
      onTotal: (t) => bar.setTotal(t),
      onBytes: (n) => bar.add(n),
    });
    bar.stop();
    for (const p of s.skipped) ctx.out.warn(`skipped special file ${p}`);
    ctx.out.result(s, () =>
      [
        `backup ${s.backupId} "${s.name}" complete${s.resumed ? " (resumed)" : ""}`,
        `  ${s.files} files, ${s.dirs} dirs, ${s.symlinks} symlinks, ${formatBytes(s.bytes)} in ${s.chunks} chunks`,
        `  uploaded ${s.uploadedChunks} chunks (${formatBytes(s.uploadedBytes)}), deduplicated ${s.dedupedChunks}`,
        `  ${(s.bytes / 1e6 / Math.max(s.seconds, 1e-3)).toFixed(1)} MB/s`,
      ].join("\n"),
    );
  } finally {
    bar.stop();
  }
}
