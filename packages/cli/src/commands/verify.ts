import { formatBytes } from "@enigma/server";
import { verifyBackup } from "../backup/verify.js";
import { verifyObjects } from "../backup/verify-objects.js";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";

export interface VerifyFlags {
  readonly replicas?: boolean;
  readonly bucket?: string;
  readonly prefix?: string;
}

function problemLines(r: { problems: readonly string[]; problemCount: number }): string[] {
  return [
    ...r.problems.map((p) => `  ${p}`),
    ...(r.problemCount > r.problems.length ? [`  … and ${r.problemCount - r.problems.length} more`] : []),
  ];
}

export async function verifyCommand(ctx: Context, idOrName: string | undefined, flags: VerifyFlags = {}) {
  if ((idOrName === undefined) === (flags.bucket === undefined))
    throw new CliError(ExitCode.Usage, "verify takes a backup id or name, or --bucket NAME (not both)");
  if (flags.prefix !== undefined && flags.bucket === undefined)
    throw new CliError(ExitCode.Usage, "--prefix goes with --bucket");
  const engine = await ctx.engine();
  const replicas = flags.replicas === true;
  const bar = ctx.out.progress("verify", 0, "bytes");
  const hooks = { onTotal: (t: number) => bar.setTotal(t), onBytes: (n: number) => bar.add(n) };
  const replicaNote = (n: number) => (replicas ? `, ${n} replicas read one by one` : "");
  let ok: boolean;
  let problemCount: number;
  if (flags.bucket !== undefined) {
    const r = await verifyObjects(
      engine,
      flags.bucket,
      { replicas, ...(flags.prefix ? { prefix: flags.prefix } : {}) },
      hooks,
    );
    bar.stop();
    ctx.out.result(r, () =>
      [
        `${r.ok ? "OK" : "FAILED"}: bucket ${r.bucket}${r.prefix ? ` prefix "${r.prefix}"` : ""}: ${r.objectsChecked} objects, ${r.chunksChecked} chunks, ${formatBytes(r.bytesChecked)} checked${replicaNote(r.replicasChecked)}; ETag recomputed from the content of ${r.etagsChecked} (${r.multipartObjects} multipart without recorded parts: chunks and size only)`,
        ...problemLines(r),
      ].join("\n"),
    );
    ({ ok, problemCount } = r);
  } else {
    const r = await verifyBackup(engine, idOrName as string, hooks, { replicas });
    bar.stop();
    ctx.out.result(r, () =>
      [
        `${r.ok ? "OK" : "FAILED"}: backup ${r.backupId} "${r.name}": ${r.chunksChecked} chunks, ${formatBytes(r.bytesChecked)} checked${replicaNote(r.replicasChecked)}, integrity chain ${r.chainOk ? "intact" : "BROKEN"}`,
        ...problemLines(r),
      ].join("\n"),
    );
    ({ ok, problemCount } = r);
  }
  if (!ok) throw new CliError(ExitCode.Integrity, `verification failed: ${problemCount} problem(s)`);
}
