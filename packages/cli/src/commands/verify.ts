import { formatBytes } from "@enigma/server";
import { verifyBackup } from "../backup/verify.js";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";

export async function verifyCommand(ctx: Context, idOrName: string, flags: { replicas?: boolean } = {}) {
  const engine = await ctx.engine();
  const bar = ctx.out.progress("verify", 0, "bytes");
  const r = await verifyBackup(
    engine,
    idOrName,
    {
      onTotal: (t) => bar.setTotal(t),
      onBytes: (n) => bar.add(n),
    },
    { replicas: flags.replicas === true },
  );
  bar.stop();
  ctx.out.result(r, () =>
    [
      `${r.ok ? "OK" : "FAILED"}: backup ${r.backupId} "${r.name}": ${r.chunksChecked} chunks, ${formatBytes(r.bytesChecked)} checked${flags.replicas ? `, ${r.replicasChecked} replicas read one by one` : ""}, integrity chain ${r.chainOk ? "intact" : "BROKEN"}`,
      ...r.problems.map((p) => `  ${p}`),
      ...(r.problemCount > r.problems.length ? [`  … and ${r.problemCount - r.problems.length} more`] : []),
    ].join("\n"),
  );
  if (!r.ok) throw new CliError(ExitCode.Integrity, `verification failed: ${r.problemCount} problem(s)`);
}
