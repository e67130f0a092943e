/**
 * The node's Prometheus metrics (prom-client, one registry per node, served on the ops port at
 * /metrics). Labels are bounded by construction: S3 operation names (the router's fixed endpoint
 * list), HTTP status codes, provider names from the config, Raft roles. Bucket and object names
 * never become labels.
 *
 * Counters are fed by hooks (S3 request log, object-service write results, storage events, the
 * Raft driver's observer, the committer wrapper); Raft gauges are read from the node's status at
 * scrape time, so they are never stale.
 */
import type { ApplyResult, Command } from "@enigma/manifest";
import type { S3RequestLog } from "@enigma/s3";
import type { DistributorEvent } from "@enigma/storage";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Committer, ProposeOptions } from "../engine/committer.js";

/** What the Raft gauges read at scrape time. */
export interface RaftGaugeSource {
  readonly role: string;
  readonly term: number;
  readonly leaderId: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly lastIndex?: number;
  readonly snapshotIndex?: number;
}

/** Seconds; from a 1 ms metadata commit to a multi-minute large upload. */
const S3_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const PROPOSAL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ROLES = ["leader", "follower", "candidate", "precandidate"] as const;

export class NodeMetrics {
  readonly registry = new Registry();
  #raft: (() => RaftGaugeSource | undefined) | undefined;

  readonly s3Requests = new Counter({
    name: "enigma_s3_requests_total",
    help: "S3 requests answered, by operation and HTTP status.",
    labelNames: ["operation", "status"] as const,
    registers: [this.registry],
  });
  readonly s3Duration = new Histogram({
    name: "enigma_s3_request_duration_seconds",
    help: "S3 request latency, from the request line to the last byte of the answer.",
    labelNames: ["operation"] as const,
    buckets: S3_BUCKETS,
    registers: [this.registry],
  });
  readonly s3InFlight = new Gauge({
    name: "enigma_s3_requests_in_flight",
    help: "S3 requests being handled now.",
    registers: [this.registry],
  });
  readonly s3BytesIn = new Counter({
    name: "enigma_s3_received_bytes_total",
    help: "Request body bytes received on the S3 port.",
    registers: [this.registry],
  });
  readonly s3BytesOut = new Counter({
    name: "enigma_s3_sent_bytes_total",
    help: "Bytes sent on the S3 port (answers, headers included).",
    registers: [this.registry],
  });
  readonly chunksUploaded = new Counter({
    name: "enigma_chunks_uploaded_total",
    help: "Chunks sealed and uploaded to the storage backends by S3 writes.",
    registers: [this.registry],
  });
  readonly chunkBytesUploaded = new Counter({
    name: "enigma_chunk_uploaded_bytes_total",
    help: "Sealed chunk bytes uploaded to the storage backends by S3 writes.",
    registers: [this.registry],
  });
  readonly chunksDeduplicated = new Counter({
    name: "enigma_chunks_deduplicated_total",
    help: "Chunks of S3 writes that were already stored (not uploaded again).",
    registers: [this.registry],
  });
  readonly backendErrors = new Counter({
    name: "enigma_backend_errors_total",
    help: "Storage backend failures by provider (put-failed, read-fallback, delete-skipped).",
    labelNames: ["provider", "event"] as const,
    registers: [this.registry],
  });
  readonly workerExits = new Counter({
    name: "enigma_worker_exits_total",
    help: "Seal and hash worker threads that died while the node ran, by role and whether a replacement started.",
    labelNames: ["role", "replaced"] as const,
    registers: [this.registry],
  });
  readonly leaderChanges = new Counter({
    name: "enigma_raft_leader_changes_total",
    help: "Times this node saw the cluster leader change (including to 'none').",
    registers: [this.registry],
  });
  readonly proposals = new Counter({
    name: "enigma_raft_proposals_total",
    help: "Metadata commands this node proposed, by outcome (ok, refused by the state machine, error).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
  readonly proposalDuration = new Histogram({
    name: "enigma_raft_proposal_duration_seconds",
    help: "Proposal latency: from propose to applied on this node (forwarding to the leader included).",
    buckets: PROPOSAL_BUCKETS,
    registers: [this.registry],
  });
  readonly readBarrierDuration = new Histogram({
    name: "enigma_raft_read_barrier_duration_seconds",
    help: "Linearizable read barrier latency (ReadIndex plus the local apply wait).",
    buckets: PROPOSAL_BUCKETS,
    registers: [this.registry],
  });
  readonly snapshotInstalls = new Counter({
    name: "enigma_raft_snapshot_installs_total",
    help: "State machine restores from a snapshot sent by the leader.",
    registers: [this.registry],
  });
  readonly snapshotsTaken = new Counter({
    name: "enigma_raft_snapshots_taken_total",
    help: "Local snapshots taken (log compactions).",
    registers: [this.registry],
  });
  readonly appliedEntries = new Counter({
    name: "enigma_raft_applied_entries_total",
    help: "Committed log entries applied to the state machine on this node.",
    registers: [this.registry],
  });

  constructor(opts: { readonly nodeId: number; readonly processMetrics?: boolean }) {
    this.registry.setDefaultLabels({ node: String(opts.nodeId) });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const raft = () => this.#raft?.();
    const gauge = (name: string, help: string, read: (st: RaftGaugeSource) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          const st = raft();
          const v = st === undefined ? undefined : read(st);
          if (v === undefined) this.reset();
          else this.set(v);
        },
      });
    gauge("enigma_raft_term", "Current Raft term.", (s) => s.term);
    gauge("enigma_raft_commit_index", "Highest log index known committed.", (s) => s.commitIndex);
    gauge("enigma_raft_applied_index", "Highest log index applied to the manifest.", (s) => s.appliedIndex);
    gauge("enigma_raft_last_log_index", "Last index in the local Raft log.", (s) => s.lastIndex);
    gauge("enigma_raft_snapshot_index", "Index of the latest local snapshot.", (s) => s.snapshotIndex);
    gauge("enigma_raft_leader_id", "Node id of the known leader (0: none).", (s) => s.leaderId);
    gauge("enigma_raft_apply_lag", "Committed entries not yet applied here.", (s) =>
      Math.max(0, s.commitIndex - s.appliedIndex),
    );
    new Gauge({
      name: "enigma_raft_role",
      help: "1 for this node's current Raft role.",
      labelNames: ["role"] as const,
      registers: [this.registry],
      collect() {
        const st = raft();
        this.reset();
        if (st === undefined) return;
        for (const r of ROLES) this.set({ role: r }, st.role.toLowerCase() === r ? 1 : 0);
      },
    });
  }

  /** Where the Raft gauges read from (cluster status, or the single node's manifest). */
  bindRaft(source: () => RaftGaugeSource | undefined): void {
    this.#raft = source;
  }

  onS3Start(): void {
    this.s3InFlight.inc();
  }

  onS3Done(log: S3RequestLog): void {
    this.s3InFlight.dec();
    const operation = log.endpoint ?? "unrouted";
    this.s3Requests.inc({ operation, status: String(log.status) });
    this.s3Duration.observe({ operation }, log.durationMs / 1000);
    if (log.bytesIn > 0) this.s3BytesIn.inc(log.bytesIn);
    if (log.bytesOut > 0) this.s3BytesOut.inc(log.bytesOut);
  }

  onChunksWritten(w: { uploadedChunks: number; uploadedBytes: number; dedupedChunks: number }): void {
    if (w.uploadedChunks > 0) this.chunksUploaded.inc(w.uploadedChunks);
    if (w.uploadedBytes > 0) this.chunkBytesUploaded.inc(w.uploadedBytes);
    if (w.dedupedChunks > 0) this.chunksDeduplicated.inc(w.dedupedChunks);
  }

  onStorageEvent(e: DistributorEvent): void {
    this.backendErrors.inc({ provider: e.provider, event: e.type });
  }

  /** The Raft driver's observer hooks (packages/raft-node `RaftNodeObserver`). */
  raftObserver() {
    return {
      snapshotInstalled: () => this.snapshotInstalls.inc(),
      snapshotTaken: () => this.snapshotsTaken.inc(),
      entriesApplied: (n: number) => this.appliedEntries.inc(n),
    };
  }

  /** Prometheus text exposition of everything registered (the GC figures included). */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Wraps a committer so proposals and read barriers are counted and timed. */
export function instrumentCommitter(inner: Committer, m: NodeMetrics): Committer {
  return {
    async propose(command: Command, opts?: ProposeOptions): Promise<ApplyResult> {
      const end = m.proposalDuration.startTimer();
      try {
        const r = await inner.propose(command, opts);
        m.proposals.inc({ result: r.ok ? "ok" : "refused" });
        return r;
      } catch (err) {
        m.proposals.inc({ result: "error" });
        throw err;
      } finally {
        end();
      }
    },
    async readBarrier(): Promise<void> {
      const end = m.readBarrierDuration.startTimer();
      try {
        await inner.readBarrier();
      } finally {
        end();
      }
    },
  };
}
