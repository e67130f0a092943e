import type { S3RequestLog } from "@enigma/s3";
import { describe, expect, it } from "vitest";
import type { LocalCommitter } from "../engine/committer.js";
import { instrumentCommitter, NodeMetrics } from "./metrics.js";

function log(over: Partial<S3RequestLog>): S3RequestLog {
  return {
    requestId: "R",
    endpoint: "PutObject",
    method: "PUT",
    status: 200,
    errorCode: undefined,
    durationMs: 12,
    accessKeyId: "AK",
    bytesIn: 100,
    bytesOut: 300,
    ...over,
  };
}

describe("NodeMetrics", () => {
  it("counts S3 requests by operation and status, bytes, in-flight, chunks and backend errors", async () => {
    const m = new NodeMetrics({ nodeId: 7, processMetrics: false });
    m.onS3Start();
    m.onS3Start();
    let text = (await m.render()).body;
    expect(text).toContain('enigma_s3_requests_in_flight{node="7"} 2');
    m.onS3Done(log({}));
    m.onS3Done(log({ endpoint: undefined, status: 403, bytesIn: 0, bytesOut: 50 }));
    m.onChunksWritten({ uploadedChunks: 3, uploadedBytes: 999, dedupedChunks: 2 });
    m.onStorageEvent({
      type: "read-fallback",
      chunkName: "00",
      provider: "minio-a",
      reason: "error",
    });
    text = (await m.render()).body;
    expect(text).toContain('enigma_s3_requests_in_flight{node="7"} 0');
    expect(text).toContain('enigma_s3_requests_total{operation="PutObject",status="200",node="7"} 1');
    expect(text).toContain('enigma_s3_requests_total{operation="unrouted",status="403",node="7"} 1');
    expect(text).toContain('enigma_s3_received_bytes_total{node="7"} 100');
    expect(text).toContain('enigma_s3_sent_bytes_total{node="7"} 350');
    expect(text).toContain(
      'enigma_s3_request_duration_seconds_bucket{le="0.025",node="7",operation="PutObject"} 1',
    );
    expect(text).toContain('enigma_chunks_uploaded_total{node="7"} 3');
    expect(text).toContain('enigma_chunks_deduplicated_total{node="7"} 2');
    expect(text).toContain(
      'enigma_backend_errors_total{provider="minio-a",event="read-fallback",node="7"} 1',
    );
  });

  it("reads the Raft gauges at scrape time and reports the role", async () => {
    const m = new NodeMetrics({ nodeId: 1, processMetrics: false });
    let applied = 5;
    m.bindRaft(() => ({ role: "follower", term: 3, leaderId: 2, commitIndex: 9, appliedIndex: applied }));
    let text = (await m.render()).body;
    expect(text).toContain('enigma_raft_term{node="1"} 3');
    expect(text).toContain('enigma_raft_apply_lag{node="1"} 4');
    expect(text).toContain('enigma_raft_role{role="follower",node="1"} 1');
    expect(text).toContain('enigma_raft_role{role="leader",node="1"} 0');
    applied = 9;
    text = (await m.render()).body;
    expect(text).toContain('enigma_raft_applied_index{node="1"} 9');
    expect(text).toContain('enigma_raft_apply_lag{node="1"} 0');
    m.raftObserver().snapshotInstalled();
    m.raftObserver().entriesApplied(4);
    text = (await m.render()).body;
    expect(text).toContain('enigma_raft_snapshot_installs_total{node="1"} 1');
    expect(text).toContain('enigma_raft_applied_entries_total{node="1"} 4');
  });

  it("times proposals through the committer wrapper, by outcome", async () => {
    const m = new NodeMetrics({ nodeId: 1, processMetrics: false });
    const failing = instrumentCommitter(
      { propose: () => Promise.reject(new Error("boom")), readBarrier: async () => {} },
      m,
    );
    await expect(
      failing.propose({ type: "CreateBucket", bucket: "b", createdAtMs: 1 } as never),
    ).rejects.toThrow("boom");
    const ok = instrumentCommitter(
      { propose: async () => ({ ok: true }), readBarrier: async () => {} } as unknown as LocalCommitter,
      m,
    );
    await ok.propose({} as never);
    await ok.readBarrier();
    const text = (await m.render()).body;
    expect(text).toContain('enigma_raft_proposals_total{result="error",node="1"} 1');
    expect(text).toContain('enigma_raft_proposals_total{result="ok",node="1"} 1');
    expect(text).toContain('enigma_raft_proposal_duration_seconds_count{node="1"} 2');
    expect(text).toContain('enigma_raft_read_barrier_duration_seconds_count{node="1"} 1');
  });
});
