/**
 * Three real `enigma serve` processes on 127.0.0.1 forming a Raft cluster: read-your-writes across
 * nodes, replicated buckets and data keys (a rotation through the CLI on one node), a full-cluster
 * restart, and the leader SIGKILLed under a stream of PUTs spread over all nodes, with the killed
 * node catching up by snapshot.
 */
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FEATURE_LEVEL, Manifest } from "../../packages/manifest/src/index.js";
import { runEnigma } from "../support/cli.js";
import { TEST_PASSPHRASE } from "../support/engine.js";
import { CLUSTER_SECRET, sleep, TestCluster } from "./harness.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function getBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

describe("a 3-node cluster of enigma serve processes", () => {
  let cluster: TestCluster;
  const clients = new Map<number, S3Client>();
  const written = new Map<string, string>(); // key -> sha256

  beforeAll(async () => {
    cluster = await TestCluster.start();
    for (const id of cluster.ids) clients.set(id, cluster.client(id));
  });

  afterAll(async () => {
    for (const c of clients.values()) c.destroy();
    await cluster?.close();
  });

  it("elects one leader that every node agrees on", async () => {
    const leader = await cluster.leader();
    for (const id of cluster.ids) {
      const st = await cluster.node(id).status();
      expect(st?.leaderId).toBe(leader);
      expect(st?.members.map((m) => m.id)).toEqual([1, 2, 3]);
    }
  });

  it("a bucket created on node 1 is visible on nodes 2 and 3 at once", async () => {
    await clients.get(1)!.send(new CreateBucketCommand({ Bucket: "shared" }));
    for (const id of [2, 3]) {
      await clients.get(id)!.send(new HeadBucketCommand({ Bucket: "shared" }));
      const list = await clients.get(id)!.send(new ListBucketsCommand({}));
      expect(list.Buckets?.map((b) => b.Name)).toContain("shared");
    }
  });

  it("PUT on node 2, GET on node 3 immediately: the same bytes (multi-chunk object)", async () => {
    for (let i = 0; i < 3; i++) {
      const body = randomBytes(200_000 + i * 70_001);
      const key = `rw/${i}`;
      await clients.get(2)!.send(new PutObjectCommand({ Bucket: "shared", Key: key, Body: body }));
      const got = await getBytes(clients.get(3)!, "shared", key);
      expect(sha(got)).toBe(sha(body));
      written.set(key, sha(body));
    }
  });

  it("a key rotation through the CLI on node 1 reaches every node: node 3 seals with it, node 1 reads it", async () => {
    const n1 = cluster.node(1);
    const env = {
      ENIGMA_PASSPHRASE: TEST_PASSPHRASE,
      ENIGMA_RAFT_NODE_ID: "1",
      ENIGMA_RAFT_GRPC_ADDR: `127.0.0.1:${n1.grpcPort}`,
      ENIGMA_RAFT_PEERS: cluster.ids.map((id) => `${id}=127.0.0.1:${cluster.node(id).grpcPort}`).join(","),
      ENIGMA_RAFT_CLUSTER_SECRET: CLUSTER_SECRET,
    };
    const r = await runEnigma(["keys", "rotate", "--config-dir", n1.dir, "--json"], { env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const body = randomBytes(100_000);
    await clients.get(3)!.send(new PutObjectCommand({ Bucket: "shared", Key: "after-rotate", Body: body }));
    expect(sha(await getBytes(clients.get(1)!, "shared", "after-rotate"))).toBe(sha(body));
    written.set("after-rotate", sha(body));
    // The chunk list node 3 proposed names the new key (read from node 1's replica of the manifest).
    const m = Manifest.open(join(n1.dir, "manifest.db"), { integrityCheck: "none" });
    try {
      expect(m.dataKeys().map((k) => k.keyId)).toEqual([1, 2]);
      const obj = m.getObject("shared", "after-rotate");
      expect(obj?.chunks.every((c) => c.keyId === 2)).toBe(true);
    } finally {
      m.close();
    }
  });

  it("raises the feature level on every node once all run this build; a multipart object's parts read from any node", async () => {
    // The leader asks every member what its build implements (every 5 s) and raises the level.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const levels = await Promise.all(
        cluster.ids.map(
          async (id) =>
            ((await cluster.node(id).status()) as { featureLevel?: number } | undefined)?.featureLevel,
        ),
      );
      if (levels.every((l) => l === FEATURE_LEVEL)) break;
      if (Date.now() > deadline) throw new Error(`feature levels stayed at ${JSON.stringify(levels)}`);
      await sleep(250);
    }
    const c1 = clients.get(1)!;
    const { UploadId } = await c1.send(new CreateMultipartUploadCommand({ Bucket: "shared", Key: "mp" }));
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(300_000)];
    const done: { PartNumber: number; ETag: string }[] = [];
    for (const [i, body] of parts.entries()) {
      const r = await c1.send(
        new UploadPartCommand({ Bucket: "shared", Key: "mp", UploadId, PartNumber: i + 1, Body: body }),
      );
      done.push({ PartNumber: i + 1, ETag: r.ETag! });
    }
    await c1.send(
      new CompleteMultipartUploadCommand({
        Bucket: "shared",
        Key: "mp",
        UploadId,
        MultipartUpload: { Parts: done },
      }),
    );
    const part2 = await clients
      .get(3)!
      .send(new GetObjectCommand({ Bucket: "shared", Key: "mp", PartNumber: 2 }));
    expect(part2.PartsCount).toBe(2);
    expect(part2.ContentRange).toBe(
      `bytes ${parts[0]!.length}-${parts[0]!.length + parts[1]!.length - 1}/${parts[0]!.length + parts[1]!.length}`,
    );
    expect(sha(Buffer.from(await part2.Body!.transformToByteArray()))).toBe(sha(parts[1]!));
    written.set("mp", sha(Buffer.concat(parts)));
  });

  it("keeps identical manifests on every node", async () => {
    await cluster.converged();
    const sums = cluster.ids.map((id) => cluster.manifestChecksum(id));
    expect(new Set(sums).size).toBe(1);
  });

  it("a node that lost its majority answers /readyz 503 (?noleader 200) until the majority is back", async () => {
    const readyz = async (query = "") => (await fetch(`${cluster.node(1).opsUrl}/readyz${query}`)).status;
    expect(await readyz()).toBe(200);
    await Promise.all([2, 3].map((id) => cluster.kill(id, "SIGTERM")));
    // Without a majority node 1 loses (or never regains) a leader within an election timeout or two.
    const deadline = Date.now() + 20_000;
    while ((await readyz()) !== 503) {
      if (Date.now() > deadline) throw new Error("node 1 still ready 20 s after losing its majority");
      await sleep(100);
    }
    const body = await (await fetch(`${cluster.node(1).opsUrl}/readyz`)).text();
    expect(body).toMatch(/leader/i);
    // A load balancer that only needs the process up (not a leader) keeps it.
    expect(await readyz("?noleader")).toBe(200);
    await Promise.all([2, 3].map((id) => cluster.restart(id)));
    await cluster.waitReady([1]);
    expect(await readyz()).toBe(200);
  });

  it("after a full-cluster restart all data is still there, on every node", async () => {
    for (const c of clients.values()) c.destroy();
    clients.clear();
    await Promise.all(cluster.ids.map((id) => cluster.kill(id, "SIGTERM")));
    for (const id of cluster.ids) expect(cluster.node(id).running).toBe(false);
    await Promise.all(cluster.ids.map((id) => cluster.restart(id)));
    for (const id of cluster.ids) clients.set(id, cluster.client(id));
    for (const id of cluster.ids) {
      for (const [key, digest] of written)
        expect(sha(await getBytes(clients.get(id)!, "shared", key))).toBe(digest);
    }
    // A write after the restart still goes through.
    await clients.get(1)!.send(new PutObjectCommand({ Bucket: "shared", Key: "post-restart", Body: "ok" }));
    expect((await getBytes(clients.get(2)!, "shared", "post-restart")).toString()).toBe("ok");
  });
});

describe("SIGKILL of the leader under a stream of PUTs", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // A small snapshot threshold: the killed node comes back behind the leader's compacted log.
    cluster = await TestCluster.start({ snapshotThreshold: 16 });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it("writes resume on the survivors, every acknowledged PUT is readable everywhere, the node catches up", async () => {
    const setup = cluster.client(1);
    await setup.send(new CreateBucketCommand({ Bucket: "stream" }));
    setup.destroy();
    const leader = await cluster.leader();
    const acked = new Map<string, string>();
    const failures: string[] = [];
    let stop = false;
    let killedAt = 0;
    let firstAckAfterKill = 0;
    const writer = async (w: number) => {
      const nodeId = (w % 3) + 1;
      const client = cluster.client(nodeId, { timeoutMs: 8000 });
      for (let seq = 0; !stop; seq++) {
        const key = `w${w}/${seq}`;
        const value = `${key}:${randomBytes(8).toString("hex")}`;
        const started = Date.now();
        try {
          await client.send(new PutObjectCommand({ Bucket: "stream", Key: key, Body: value }));
          acked.set(key, value);
          // A write issued after the kill and acknowledged: the survivors took over.
          if (killedAt > 0 && started > killedAt && firstAckAfterKill === 0) firstAckAfterKill = Date.now();
        } catch (err) {
          failures.push(`${key}@n${nodeId}: ${(err as Error).name}`);
          await sleep(50);
        }
      }
      client.destroy();
    };
    const writers = Array.from({ length: 6 }, (_, w) => writer(w));
    await sleep(1500);
    const ackedBeforeKill = acked.size;
    killedAt = Date.now();
    await cluster.kill(leader, "SIGKILL");
    const survivors = cluster.ids.filter((id) => id !== leader);
    const newLeader = await cluster.leader(survivors);
    expect(newLeader).not.toBe(leader);
    await sleep(2500);
    stop = true;
    await Promise.all(writers);
    expect(ackedBeforeKill).toBeGreaterThan(0);
    expect(firstAckAfterKill).toBeGreaterThan(0); // writes resumed on the survivors
    expect(acked.size).toBeGreaterThan(ackedBeforeKill);

    const killedApplied = (() => {
      const m = Manifest.open(join(cluster.node(leader).dir, "manifest.db"), { integrityCheck: "none" });
      try {
        return m.raftMeta().appliedIndex;
      } finally {
        m.close();
      }
    })();

    for (const id of survivors) {
      const c = cluster.client(id);
      for (const [key, value] of acked) expect((await getBytes(c, "stream", key)).toString()).toBe(value);
      c.destroy();
    }

    // Make the survivors compact past what the killed node has (a slow machine may not have
    // written enough yet): it can then only catch up by snapshot.
    const extra = cluster.client(newLeader);
    for (let i = 0; i < 200; i++) {
      if ((await cluster.node(newLeader).status())!.snapshotIndex > killedApplied) break;
      await extra.send(new PutObjectCommand({ Bucket: "stream", Key: `extra/${i}`, Body: `e${i}` }));
      acked.set(`extra/${i}`, `e${i}`);
    }
    extra.destroy();
    const leaderStatus = await cluster.node(newLeader).status();
    expect(leaderStatus!.snapshotIndex).toBeGreaterThan(killedApplied);
    await cluster.restart(leader);
    await cluster.converged();
    const back = await cluster.node(leader).status();
    expect(back!.snapshotIndex).toBeGreaterThan(killedApplied);
    const c = cluster.client(leader);
    for (const [key, value] of acked) expect((await getBytes(c, "stream", key)).toString()).toBe(value);
    c.destroy();
    const sums = cluster.ids.map((id) => cluster.manifestChecksum(id));
    expect(new Set(sums).size).toBe(1);
    process.stderr.write(
      `leader kill: ${acked.size} PUTs acknowledged (${ackedBeforeKill} before the kill), ${failures.length} failed; ` +
        `first write acknowledged ${firstAckAfterKill - killedAt} ms after SIGKILL\n`,
    );
  });
});
