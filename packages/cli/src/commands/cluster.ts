/**
 * `enigma cluster status | add-node | remove-node | transfer-leader`: talk to any node's cluster
 * service over gRPC (`--node HOST:PORT`, default this config's `[raft] grpc_addr`, itself
 * 127.0.0.1:9000 by default). The node forwards membership changes and transfers to the leader.
 * The cluster secret and TLS files come from the config (`[raft] cluster_secret`, `tls_*`, or
 * `ENIGMA_RAFT_CLUSTER_SECRET`); an `enc:` secret is decrypted with the keystore.
 */
import { decryptCredential, isEncryptedCredential, openKeystore } from "@enigma/crypto";
import {
  ClusterClient,
  type ClusterStatusResponse,
  failureToError,
  RaftNodeError,
  readTls,
} from "@enigma/server";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";

export interface ClusterFlags {
  readonly node?: string;
  readonly timeout?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

async function client(ctx: Context, flags: ClusterFlags): Promise<{ c: ClusterClient; timeoutMs: number }> {
  const settings = ctx.settings();
  let secret = settings.raft.clusterSecret;
  if (secret !== undefined && isEncryptedCredential(secret)) {
    const keystore = await openKeystore(settings.keyfilePath, await ctx.passphrase());
    secret = decryptCredential(keystore, secret);
  }
  const addr = flags.node ?? settings.raft.grpcAddr;
  if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(addr)) {
    throw new CliError(ExitCode.Usage, `--node must be HOST:PORT, got ${JSON.stringify(addr)}`);
  }
  const timeoutMs = flags.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(flags.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new CliError(ExitCode.Usage, `--timeout must be a positive number of milliseconds`);
  }
  const tls = settings.raft.tls === undefined ? undefined : readTls(settings.raft.tls);
  return { c: new ClusterClient(addr, { secret, tls }), timeoutMs };
}

function nodeId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new CliError(ExitCode.Usage, `node id must be a positive integer`);
  return id;
}

async function withClient<T>(
  ctx: Context,
  flags: ClusterFlags,
  fn: (c: ClusterClient, timeoutMs: number) => Promise<T>,
) {
  const { c, timeoutMs } = await client(ctx, flags);
  try {
    return await fn(c, timeoutMs);
  } catch (err) {
    if (err instanceof RaftNodeError) {
      const code =
        err.code === "InvalidArgument" || err.code === "InvalidConfChange"
          ? ExitCode.Usage
          : ExitCode.Failure;
      throw new CliError(code, `cluster: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    c.close();
  }
}

function renderStatus(st: ClusterStatusResponse): string {
  const lines = [
    `node ${st.nodeId} (pid ${st.pid}): ${st.role}, term ${st.term}, leader ${st.leaderId || "unknown"}`,
    `  commit ${st.commitIndex}, applied ${st.appliedIndex}, log ${st.firstIndex}..${st.lastIndex}, snapshot ${st.snapshotIndex}`,
    "  members:",
  ];
  for (const m of st.members) {
    const progress = m.progressState ? `  match ${m.match} (${m.progressState})` : "";
    const lead = m.id === st.leaderId ? " *leader" : "";
    lines.push(`    ${m.id}  ${m.addr || "?"}  ${m.learner ? "learner" : "voter"}${lead}${progress}`);
  }
  return lines.join("\n");
}

export async function clusterStatusCommand(ctx: Context, flags: ClusterFlags): Promise<void> {
  await withClient(ctx, flags, async (c, timeoutMs) => {
    const st = await c.status(timeoutMs);
    if (st.failure !== undefined) throw failureToError(st.failure);
    ctx.out.result(st, () => renderStatus(st));
  });
}

export async function clusterAddNodeCommand(
  ctx: Context,
  id: string,
  addr: string,
  flags: ClusterFlags & { learner?: boolean },
): Promise<void> {
  const nid = nodeId(id);
  await withClient(ctx, flags, async (c, timeoutMs) => {
    const res = await c.addNode({
      nodeId: nid,
      addr,
      learnerOnly: flags.learner ?? false,
      timeoutMs,
      hops: 0,
    });
    if (res.failure !== undefined) throw failureToError(res.failure);
    ctx.out.result(
      { added: nid, addr, learner: flags.learner ?? false, index: res.index, members: res.members },
      () => `added node ${nid} (${addr}) as ${flags.learner ? "a learner" : "a voter"} at index ${res.index}`,
    );
  });
}

export async function clusterRemoveNodeCommand(ctx: Context, id: string, flags: ClusterFlags): Promise<void> {
  const nid = nodeId(id);
  await withClient(ctx, flags, async (c, timeoutMs) => {
    const res = await c.removeNode({ nodeId: nid, timeoutMs, hops: 0 });
    if (res.failure !== undefined) throw failureToError(res.failure);
    ctx.out.result({ removed: nid, index: res.index, members: res.members }, () =>
      res.index === 0
        ? `node ${nid} is not a member; nothing to do`
        : `removed node ${nid} at index ${res.index}`,
    );
  });
}

export async function clusterTransferLeaderCommand(
  ctx: Context,
  id: string | undefined,
  flags: ClusterFlags,
): Promise<void> {
  const nid = id === undefined ? 0 : nodeId(id);
  await withClient(ctx, flags, async (c, timeoutMs) => {
    const res = await c.transferLeader({ nodeId: nid, timeoutMs, hops: 0 });
    if (res.failure !== undefined) throw failureToError(res.failure);
    ctx.out.result({ leader: res.leaderId }, () => `node ${res.leaderId} is the leader`);
  });
}
