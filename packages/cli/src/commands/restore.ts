import { tuneHeapForStreaming } from "@enigma/chunker";
import { formatBytes } from "@enigma/server";
import { listBackupFiles, restoreDirectory, restoreStream } from "../backup/restore.js";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { table } from "../output.js";

export interface RestoreFlags {
  readonly path?: string;
  readonly glob?: string;
  readonly list?: boolean;
}

export async function restoreCommand(
  ctx: Context,
  idOrName: string,
  dest: string | undefined,
  flags: RestoreFlags,
  signal: AbortSignal,
) {
  tuneHeapForStreaming();
  const engine = await ctx.engine();
  const select = {
    ...(flags.path ? { pathPrefix: flags.path } : {}),
    ...(flags.glob ? { glob: flags.glob } : {}),
  };
  if (flags.list) {
    const files = listBackupFiles(engine, idOrName, select);
    ctx.out.result(files, () =>
      table(
        ["MODE", "SIZE", "MTIME", "KIND", "PATH"],
        files.map((f) => [f.mode, f.size, f.mtime, f.kind, f.path]),
      ),
    );
    return;
  }
  if (!dest) throw new CliError(ExitCode.Usage, "restore needs DEST (a directory, a file, or - for stdout)");
  if (dest === "-") {
    await restoreStream(engine, idOrName, process.stdout, { signal });
    return;
  }
  const bar = ctx.out.progress("restore", 0, "bytes");
  try {
    const s = await restoreDirectory(engine, idOrName, dest, {
      ...select,
      signal,
      onTotal: (t) => bar.setTotal(t),
      onBytes: (n) => bar.add(n),
    });
    bar.stop();
    ctx.out.result(
      s,
      () =>
        `restored backup ${s.backupId} to ${dest}: ${s.files} files, ${s.dirs} dirs, ${s.symlinks} symlinks, ${formatBytes(s.bytes)}`,
    );
  } finally {
    bar.stop();
  }
}
