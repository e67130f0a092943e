/**
 * Composition of a cluster member: the manifest state machine under a `ClusterNode` (Raft driver,
 * gRPC transport, cluster service), and the `RaftCommitter` the engine uses. Raft files live in
 * `<[raft] data_dir>/raft/` (log database and snapshot images).
 */
import { join } from "node:path";
import type { Command, Manifest } from "@enigma/manifest";
import {
  ClusterNode,
  type ClusterNodeStatus,
  type NodeLogger,
  type RaftNodeObserver,
  readTls,
} from "@enigma/raft-node";
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
  /** Metrics hooks for the Raft driver. */
  readonly observer?: RaftNodeObserver;
}

export interface RunningCluster {
  readonly node: ClusterNode;
  readonly committer: RaftCommitter;
  /**
   * Null when ready: a leader is known and this node applied what it knows is committed. With
   * `requireLeader: false` (`/readyz?noleader`) only a running Raft driver is required.
   */
  readiness(opts?: { requireLeader: boolean }): string | null;
  /** Re-reads the `[raft] tls_*` files and rotates the gRPC certificates (SIGHUP). */
  reloadTls(): void;
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
    ...(opts.observer === undefined ? {} : { observer: opts.observer }),
  });
  return {
    node,
    committer: new RaftCommitter(node),
    readiness(o = { requireLeader: true }) {
      if (node.raft.stopped) return "raft node stopped";
      if (!o.requireLeader) return null;
      const st = node.raft.status();
      if (st.leader === 0) return "no leader known";
      if (st.applied < st.commit) return `applying: ${st.applied} of ${st.commit}`;
      return null;
    },
    status: () => statusDoc(node.status()),
    reloadTls() {
      if (r.tls === undefined) return;
      node.reloadTls(readTls(r.tls));
    },
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
