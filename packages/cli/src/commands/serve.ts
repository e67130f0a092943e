/**
 * `enigma serve` — for now (before the S3 front end lands in the composition root) it opens the
 * node state on the embedded default and prints what it serves.
 */
import type { Context } from "../context.js";

export async function serveCommand(
  ctx: Context,
  _flags: { dataDir?: string },
  signal: AbortSignal,
): Promise<void> {
  const s = ctx.settings();
  ctx.out.result(
    { dataDir: s.configDir, s3: s.s3.listenAddr, grpc: s.raft.grpcAddr, ops: s.ops.listenAddr },
    () =>
      `enigma: data dir ${s.configDir}; S3 on ${s.s3.listenAddr} (coming), gRPC ${s.raft.grpcAddr}, ops ${s.ops.listenAddr}`,
  );
  if (signal.aborted) return;
}
