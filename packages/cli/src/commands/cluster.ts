/**
 * `enigma cluster status | add-node | remove-node | transfer-leader`: talk to any node's cluster
 * service over gRPC (`--node HOST:PORT`, default this config's `[raft] grpc_addr`, itself
 * 127.0.0.1:9000 by default). The node forwards membership changes and transfers to the leader.
 * The cluster secret and TLS files come from the config (`[raft] cluster_secret`, `tls_*`, or
 * `ENIGMA_RAFT_CLUSTER_SECRET`); an `enc:` secret is decrypted with the keystore.
 */
import { decryptCredential, isEncryptedCredential } from "@enigma/crypto";
import {
  ClusterClient,
  type ClusterStatusResponse,
  failureToError,
  RaftNodeError,
  readTls,
} from "@enigma/server";
import type { Context } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { table } from "../output.js";

export interface ClusterFlags {
  readonly node?: string;
  readonly timeout?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

async function client(
  ctx: Context,
  flags: ClusterFlags,
): Promise<{ c: ClusterClient; timeoutMs: number; connect: (addr: string) => ClusterClient }> {
  const settings = ctx.settings();
  let secret = settings.raft.clusterSecret;
  if (secret !== undefined && isEncryptedCredential(secret)) {
    secret = decryptCredential(await ctx.keyMaterial(), secret); // the configured key provider
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
  const connect = (a: string) => new ClusterClient(a, { secret, tls });
  return { c: connect(addr), timeoutMs, connect };
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
  fn: (c: ClusterClient, timeoutMs: number, connect: (addr: string) => ClusterClient) => Promise<T>,
) {
  const { c, timeoutMs, connect } = await client(ctx, flags);
  try {
    return await fn(c, timeoutMs, connect);
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

/** One member as `cluster status` reports it: its own view (asked directly) plus the leader's. */
export interface MemberReport {
  readonly id: number;
  readonly addr: string;
  /** Configuration role. */
  readonly membership: "voter" | "learner";
  /** Raft role the member reports (leader, follower, candidate, …); "unreachable" if not answering. */
  readonly role: string;
  readonly reachable: boolean;
  readonly term?: number;
  readonly leaderId?: number;
  readonly commitIndex?: number;
  readonly appliedIndex?: number;
  readonly lastIndex?: number;
  readonly snapshotIndex?: number;
  readonly pid?: number;
  /** The leader's replication progress for it (match index, probe/replicate/snapshot). */
  readonly match?: number;
  readonly progressState?: string;
  /** Entries behind the leader's commit index (its applied index, else the leader's match). */
  readonly lag?: number;
  readonly error?: string;
}

export interface ClusterStatusReport extends ClusterStatusResponse {
  /** The address asked first; its answer is the top-level fields (kept for scripts). */
  readonly queried: string;
  readonly nodes: readonly MemberReport[];
}

const MEMBER_STATUS_TIMEOUT_MS = 3_000;

async function clusterReport(
  first: ClusterStatusResponse,
  queried: string,
  connect: (addr: string) => ClusterClient,
  timeoutMs: number,
): Promise<ClusterStatusReport> {
  const each = await Promise.all(
    first.members.map(async (m) => {
      if (m.id === first.nodeId) return { m, st: first, error: undefined };
      if (!m.addr) return { m, st: undefined, error: "address unknown" };
      const c = connect(m.addr);
      try {
        const st = await c.status(Math.min(timeoutMs, MEMBER_STATUS_TIMEOUT_MS));
        if (st.failure !== undefined) return { m, st: undefined, error: st.failure.message };
        return { m, st, error: undefined };
      } catch (err) {
        return { m, st: undefined, error: err instanceof Error ? err.message : String(err) };
      } finally {
        c.close();
      }
    }),
  );
  // The leader's view supplies match indexes and the commit index lag is measured against.
  const leader = each.find((e) => e.st?.role === "leader" && e.st.nodeId === e.m.id)?.st;
  const leaderCommit = leader?.commitIndex ?? Math.max(...each.map((e) => e.st?.commitIndex ?? 0));
  const nodes: MemberReport[] = each.map(({ m, st, error }) => {
    const pr = leader?.members.find((x) => x.id === m.id);
    const progressState = pr?.progressState || undefined;
    const match = progressState !== undefined ? pr?.match : undefined;
    const applied = st?.appliedIndex;
    const lag =
      applied !== undefined
        ? Math.max(0, leaderCommit - applied)
        : match !== undefined
          ? Math.max(0, leaderCommit - match)
          : undefined;
    return {
      id: m.id,
      addr: m.addr,
      membership: m.learner ? "learner" : "voter",
      role: st?.role ?? "unreachable",
      reachable: st !== undefined,
      ...(st === undefined
        ? {}
        : {
            term: st.term,
            leaderId: st.leaderId,
            commitIndex: st.commitIndex,
            appliedIndex: st.appliedIndex,
            lastIndex: st.lastIndex,
            snapshotIndex: st.snapshotIndex,
            pid: st.pid,
          }),
      ...(match === undefined || progressState === undefined ? {} : { match, progressState }),
      ...(lag === undefined ? {} : { lag }),
      ...(error === undefined ? {} : { error }),
    };
  });
  return { ...first, queried, nodes };
}

function renderStatus(r: ClusterStatusReport): string {
  const leader = r.nodes.find((n) => n.role === "leader");
  const lines = [
    `leader ${leader?.id ?? (r.leaderId || "unknown")}, term ${leader?.term ?? r.term}, commit ${leader?.commitIndex ?? r.commitIndex} (asked ${r.queried}: node ${r.nodeId})`,
  ];
  const rows = r.nodes.map((n) => [
    n.id,
    n.addr || "?",
    n.membership,
    n.role,
    n.term ?? "",
    n.commitIndex ?? "",
    n.appliedIndex ?? "",
    n.match ?? "",
    n.lag ?? "",
    n.error ?? "",
  ]);
  lines.push(
    table(["ID", "ADDR", "MEMBER", "ROLE", "TERM", "COMMIT", "APPLIED", "MATCH", "LAG", "ERROR"], rows),
  );
  return lines.join("\n");
}

export async function clusterStatusCommand(ctx: Context, flags: ClusterFlags): Promise<void> {
  await withClient(ctx, flags, async (c, timeoutMs, connect) => {
    const st = await c.status(timeoutMs);
    if (st.failure !== undefined) throw failureToError(st.failure);
    const report = await clusterReport(st, c.addr, connect, timeoutMs);
    ctx.out.result(report, () => renderStatus(report));
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
