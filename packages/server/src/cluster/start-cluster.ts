/**
 * Composition of a cluster member: the manifest state machine under a `ClusterNode` (Raft driver,
 * gRPC transport, cluster service), and the `RaftCommitter` the engine uses. Raft files live in
 * `<[raft] data_dir>/raft/` (log database and snapshot images).
 */
import { join } from "node:path";
import type { Command, Manifest } from "@enigma/manifest";
import { ClusterNode, type ClusterNodeStatus, type NodeLogger, readTls } from "@enigma/raft-node";
import type { EnigmaSettings } from "../config/index.js";
import { ManifestStateMachine } from "./manifest-state-machine.js";
import { RaftCommitter } from "./raft-committer.js";

export interface StartClusterOptions {
  /** The cluster secret in clear (an `enc:` config value already decrypted). */
  readonly secret: string | undefined;
  readonly logger: NodeLogger;
  /** The node hit a fatal error (invariant, storage, undecodable entry) and stopped. */
  readonly onFatal: (err: unknown) => void;
  readonly onApplied?: (commands: readonly Command[]) => void;
  readonly onRestored?: () => void;
}

export interface RunningCluster {
  readonly node: ClusterNode;
  readonly committer: RaftCommitter;
  /** Null when ready: a leader is known and this node applied what it knows is committed. */
  readiness(): string | null;
  /** The `/status` document of the ops port. */
  status(): ClusterStatusDoc;
  stop(): Promise<void>;
}

export interface ClusterStatusDoc {
  readonly nodeId: number;
  readonly pid: number;
  readonly role: string;
  readonly term: number;
  readonly leaderId: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly members: ReadonlyArray<{
    readonly id: number;
    readonly addr: string | undefined;
    readonly role: "voter" | "learner";
    readonly match?: number;
    readonly state?: string;
  }>;
}

export function raftDir(settings: EnigmaSettings): string {
  return join(settings.raft.dataDir, "raft");
}

export async function startCluster(
  settings: EnigmaSettings,
  manifest: Manifest,
  opts: StartClusterOptions,
): Promise<RunningCluster> {
  const r = settings.raft;
  const sm = new ManifestStateMachine(manifest, {
    ...(opts.onApplied ? { onApplied: opts.onApplied } : {}),
    ...(opts.onRestored ? { onRestored: opts.onRestored } : {}),
  });
  const node = await ClusterNode.start({
    id: r.nodeId,
    dir: raftDir(settings),
    listenAddr: r.grpcAddr,
    peers: new Map(r.peers.map((p) => [p.id, p.addr])),
    stateMachine: sm,
    electionTimeoutMs: r.electionTimeoutMs,
    heartbeatMs: r.heartbeatMs,
    snapshotThresholdEntries: r.snapshotThreshold,
    requestTimeoutMs: r.requestTimeoutMs,
    secret: opts.secret,
    tls: r.tls === undefined ? undefined : readTls(r.tls),
    logger: opts.logger,
    onFatal: opts.onFatal,
  });
  return {
    node,
    committer: new RaftCommitter(node),
    readiness() {
      const st = node.raft.status();
      if (node.raft.stopped) return "raft node stopped";
      if (st.leader === 0) return "no leader known";
      if (st.applied < st.commit) return `applying: ${st.applied} of ${st.commit}`;
      return null;
    },
    status: () => statusDoc(node.status()),
    stop: () => node.stop(),
  };
}

function statusDoc(st: ClusterNodeStatus): ClusterStatusDoc {
  return {
    nodeId: st.id,
    pid: st.pid,
    role: st.role,
    term: st.term,
    leaderId: st.leader,
    commitIndex: st.commit,
    appliedIndex: st.applied,
    firstIndex: st.firstIndex,
    lastIndex: st.lastIndex,
    snapshotIndex: st.snapshotIndex,
    members: st.members.map((m) => ({
      id: m.id,
      addr: m.addr,
      role: m.role,
      ...(m.progress === undefined ? {} : { match: m.progress.match, state: m.progress.state }),
    })),
  };
}
