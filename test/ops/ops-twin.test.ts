/**
 * The operations scenario of the compose lab, run as processes (no Docker): three `enigma serve`
 * nodes with s3rver chunk backends. Checks /readyz, /metrics (token, names, values that move),
 * `enigma cluster status --json`, `cluster transfer-leader`, one JSON log line per S3 request, a
 * rolling restart (SIGTERM each node in turn) under continuous PUT load through the AWS SDK with
 * its default retries — no failed request, every acknowledged object reads back — and SIGTERM
 * draining (a slow in-flight PUT completes before the process exits 0).
 */
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../cluster/harness.js";
import { metricSum, OPS_SECRET_KEY, OpsCluster } from "./ops-cluster.js";

const BUCKET = "ops-twin";

let cluster: OpsCluster;

beforeAll(async () => {
  cluster = await OpsCluster.start(3);
  const c = cluster.client();
  await c.send(new CreateBucketCommand({ Bucket: BUCKET }));
  c.destroy();
}, 180_000);

afterAll(async () => {
  await cluster?.close();
});

async function getBytes(key: string, endpoint?: string): Promise<Buffer> {
  const c = cluster.client(endpoint);
  try {
    const r = await c.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await r.Body!.transformToByteArray());
  } finally {
    c.destroy();
  }
}

describe("ops twin: three serve processes with s3rver backends", () => {
  it("answers /livez, /readyz and /readyz?noleader on every node", async () => {
    for (const n of cluster.nodes.values()) {
      expect((await fetch(`${n.opsUrl}/livez`)).status).toBe(200);
      expect((await fetch(`${n.opsUrl}/readyz`)).status).toBe(200);
      expect((await fetch(`${n.opsUrl}/readyz?noleader`)).status).toBe(200);
    }
  });

  it("serves /metrics only with the bearer token, with moving S3, chunk and Raft figures", async () => {
    expect((await cluster.metrics(1, null)).status).toBe(401);
    expect((await cluster.metrics(1, "wrong-token-wrong-token")).status).toBe(401);
    const before = await (await cluster.metrics(1)).text();
    for (const name of [
      "enigma_raft_term",
      "enigma_raft_commit_index",
      "enigma_raft_applied_index",
      "enigma_raft_leader_changes_total",
      "enigma_raft_proposals_total",
      "enigma_raft_proposal_duration_seconds_bucket",
      "enigma_raft_snapshot_installs_total",
      "enigma_s3_requests_total",
      "enigma_s3_request_duration_seconds_bucket",
      "enigma_s3_received_bytes_total",
      "enigma_s3_sent_bytes_total",
      "enigma_chunks_uploaded_total",
      "enigma_chunks_deduplicated_total",
      "enigma_backend_errors_total",
      "enigma_chunks_live",
      "process_resident_memory_bytes",
    ]) {
      expect(before, name).toContain(`# TYPE ${name.replace(/_bucket$/, "")} `);
    }
    const body = randomBytes(150_000);
    const direct = cluster.client(cluster.node(1).s3Url);
    await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: "metrics/a", Body: body }));
    // The same bytes again: every chunk is a duplicate.
    await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: "metrics/b", Body: body }));
    direct.destroy();
    const after = await (await cluster.metrics(1)).text();
    const delta = (name: string) => metricSum(after, name) - metricSum(before, name);
    expect(delta("enigma_s3_requests_total")).toBeGreaterThanOrEqual(2);
    expect(delta("enigma_s3_received_bytes_total")).toBeGreaterThanOrEqual(2 * body.length);
    expect(delta("enigma_chunks_uploaded_total")).toBeGreaterThanOrEqual(1);
    expect(delta("enigma_chunks_deduplicated_total")).toBeGreaterThanOrEqual(1);
    expect(delta("enigma_raft_proposals_total")).toBeGreaterThanOrEqual(2);
    expect(delta("enigma_raft_applied_index")).toBeGreaterThanOrEqual(2);
    expect(after).toMatch(/enigma_s3_requests_total\{operation="PutObject",status="200",node="1"\} \d+/);
    // No bucket or key names as labels.
    expect(after).not.toContain("metrics/a");
    expect(after).not.toContain(`"${BUCKET}"`);
  });

  it("logs one JSON line per S3 request with id, op, status, bytes and ms, and no secrets", async () => {
    const body = randomBytes(1234);
    const direct = cluster.client(cluster.node(2).s3Url);
    const out = await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: "log/one", Body: body }));
    direct.destroy();
    const reqId = out.$metadata.requestId;
    expect(reqId).toBeTruthy();
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 50 && line === undefined; i++) {
      line = cluster
        .node(2)
        .stderr()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.req === reqId);
      if (line === undefined) await sleep(100);
    }
    expect(line).toMatchObject({ msg: "s3", op: "PutObject", method: "PUT", status: 200 });
    expect(line?.bytesIn as number).toBeGreaterThanOrEqual(body.length);
    expect(line?.bytesOut as number).toBeGreaterThan(0);
    expect(typeof line?.ms).toBe("number");
    const all = cluster.node(2).stderr();
    expect(all).not.toContain(OPS_SECRET_KEY);
    expect(all).not.toContain("Signature=");
  });

  it("enigma cluster status --json reports every member with term, commit/applied and lag", async () => {
    const r = await cluster.cli(1, ["cluster", "status", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const st = JSON.parse(r.stdout.toString()) as {
      leaderId: number;
      nodes: Array<{
        id: number;
        role: string;
        reachable: boolean;
        term: number;
        commitIndex: number;
        appliedIndex: number;
        lag: number;
      }>;
    };
    expect(st.nodes.map((n) => n.id).sort()).toEqual([1, 2, 3]);
    expect(st.nodes.every((n) => n.reachable)).toBe(true);
    expect(st.nodes.filter((n) => n.role === "leader")).toHaveLength(1);
    for (const n of st.nodes) {
      expect(n.term).toBeGreaterThan(0);
      expect(n.appliedIndex).toBeGreaterThan(0);
      expect(n.commitIndex).toBeGreaterThanOrEqual(n.appliedIndex);
      expect(n.lag).toBeGreaterThanOrEqual(0);
    }
    const human = await cluster.cli(1, ["cluster", "status"]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout.toString()).toMatch(/LAG/);
  });

  it("enigma cluster transfer-leader moves leadership (asked through a follower)", async () => {
    const leader = await cluster.leader();
    const ids = [...cluster.nodes.keys()];
    const target = ids.find((id) => id !== leader)!;
    const via = ids.find((id) => id !== leader && id !== target) ?? target;
    const r = await cluster.cli(via, [
      "--json",
      "cluster",
      "transfer-leader",
      String(target),
      "--node",
      `127.0.0.1:${cluster.node(via).grpcPort}`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toEqual({ leader: target });
    expect((await cluster.node(target).status())?.role).toBe("leader");
  });

  it("a rolling restart under PUT load fails no request and loses no acknowledged write", async () => {
    const acked = new Map<string, Buffer>();
    const failures: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      const c = cluster.client(); // through the ready-aware balancer, SDK default retries
      try {
        for (let i = 0; !stop; i++) {
          const key = `load/w${w}/${i}`;
          const body = randomBytes(1024 + ((i * 7919) % 30_000));
          try {
            await c.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
            acked.set(key, body);
          } catch (err) {
            failures.push(`${key}: ${(err as Error).name}: ${(err as Error).message}`);
          }
        }
      } finally {
        c.destroy();
      }
    };
    const load = [worker(1), worker(2)];
    const progress: number[] = [];
    try {
      for (const id of [...cluster.nodes.keys()]) {
        const n = cluster.node(id);
        const wasLeader = (await n.status())?.role === "leader";
        const at = acked.size;
        await waitFor(() => acked.size >= at + 5, 30_000, "writes before the restart");
        await n.kill("SIGTERM", 40_000);
        expect(n.proc?.exitCode, n.stderr().slice(-3000)).toBe(0);
        if (wasLeader) expect(n.stderr()).toContain("leadership transferred before shutdown");
        cluster.spawn(id);
        await cluster.waitReady([id]);
        progress.push(acked.size - at);
      }
      const at = acked.size;
      await waitFor(() => acked.size >= at + 5, 30_000, "writes after the restarts");
    } finally {
      stop = true;
      await Promise.all(load);
    }
    console.log(`rolling restart: ${acked.size} acknowledged PUTs (per node phase: ${progress.join(", ")})`);
    expect(failures).toEqual([]);
    expect(acked.size).toBeGreaterThan(20);
    for (const [key, body] of acked) {
      expect((await getBytes(key)).equals(body), key).toBe(true);
    }
  }, 240_000);

  it("SIGTERM drains: a slow in-flight PUT completes before the node exits 0", async () => {
    const id = await cluster.leader(); // the hardest case: it also hands over leadership
    const n = cluster.node(id);
    const parts = 6;
    const part = randomBytes(16 * 1024);
    const body = Buffer.concat(Array.from({ length: parts }, () => part));
    let sent = 0;
    const slow = new Readable({
      read() {
        if (sent === parts) {
          this.push(null);
          return;
        }
        const chunk = part;
        const delay = sent === 0 ? 0 : 400;
        sent++;
        setTimeout(() => this.push(chunk), delay);
      },
    });
    const direct = cluster.client(n.s3Url, { maxAttempts: 1 });
    let putDoneAt = 0;
    const put = direct
      .send(
        new PutObjectCommand({ Bucket: BUCKET, Key: "drain/slow", Body: slow, ContentLength: body.length }),
      )
      .then((r) => {
        putDoneAt = Date.now();
        return r;
      });
    await waitFor(
      async () => metricSum(await (await cluster.metrics(id)).text(), "enigma_s3_requests_in_flight") >= 1,
      20_000,
      "the PUT in flight",
    );
    const exited = new Promise<number>((resolve) => n.proc!.once("exit", () => resolve(Date.now())));
    process.kill(n.pid!, "SIGTERM");
    // New connections are refused while the PUT is still streaming.
    await waitFor(
      async () => {
        try {
          await fetch(`${n.s3Url}/`, { signal: AbortSignal.timeout(1000) });
          return false;
        } catch {
          return true;
        }
      },
      10_000,
      "the S3 port to stop accepting",
    );
    expect(sent).toBeLessThan(parts);
    const res = await put;
    direct.destroy();
    expect(res.$metadata.httpStatusCode).toBe(200);
    const exitAt = await exited;
    expect(n.proc?.exitCode, n.stderr().slice(-3000)).toBe(0);
    expect(putDoneAt).toBeGreaterThan(0);
    expect(putDoneAt).toBeLessThanOrEqual(exitAt);
    expect((await getBytes("drain/slow")).equals(body)).toBe(true);
    cluster.spawn(id);
    await cluster.waitReady([id]);
  }, 120_000);
});

async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
