/**
 * `enigma keys rotate --node HOST:PORT` against a 3-node cluster of real `enigma serve` processes
 * (local keystore): the follower called forwards `keys.rotate` to the leader, which rotates; the
 * new data key reaches every node through the manifest, writes through every node seal under it
 * afterwards, every object (before and after) reads back through every node, and `keys list` beside
 * every node shows it as current. Two rotations asked of two nodes at once run one after the other
 * on the leader (or the second is refused while the first runs), never with a duplicate key id.
 */
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Manifest } from "../../packages/manifest/src/index.js";
import { ClusterClient } from "../../packages/raft-node/src/index.js";
import { CLUSTER_SECRET, TestCluster } from "../cluster/harness.js";
import { type RunResult, runEnigma } from "../support/cli.js";
import { TEST_PASSPHRASE } from "../support/engine.js";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const BUCKET = "rot";

interface RotateJson {
  currentKeyId: number;
  keyIds: number[];
  providerKeyRotated: boolean;
  repeated: boolean;
  provider: { kind: string };
  nodeId: number;
}

function explain(args: readonly string[], r: RunResult): string {
  return `enigma ${args.join(" ")} exited ${r.code}${r.signal ? ` (${r.signal})` : ""}\n--- stderr ---\n${r.stderr || "(empty)"}\n--- stdout ---\n${r.stdout.toString() || "(empty)"}`;
}

describe("keys rotate --node on a 3-node cluster", () => {
  let cluster: TestCluster;
  const clients = new Map<number, S3Client>();
  const written = new Map<string, string>(); // key -> sha256
  let peers: string;

  /** The CLI beside node `id`, as `enigma serve` there is configured. */
  const enigma = (id: number, args: string[]) =>
    runEnigma(["--config-dir", cluster.node(id).dir, ...args], {
      env: {
        ENIGMA_PASSPHRASE: TEST_PASSPHRASE,
        ENIGMA_RAFT_NODE_ID: String(id),
        ENIGMA_RAFT_GRPC_ADDR: `127.0.0.1:${cluster.node(id).grpcPort}`,
        ENIGMA_RAFT_PEERS: peers,
        ENIGMA_RAFT_CLUSTER_SECRET: CLUSTER_SECRET,
        ENIGMA_DEBUG: "1",
      },
    });
  const ok = async (id: number, args: string[]) => {
    const r = await enigma(id, args);
    if (r.code !== 0) throw new Error(explain(args, r));
    return JSON.parse(r.stdout.toString()) as unknown;
  };

  /** Data key ids of the chunks of `key`, read from node `id`'s replica of the manifest. */
  const chunkKeyIds = (id: number, key: string) => {
    const m = Manifest.open(join(cluster.node(id).dir, "manifest.db"), { integrityCheck: "none" });
    try {
      const obj = m.getObject(BUCKET, key);
      if (!obj) throw new Error(`node ${id} has no object ${key}`);
      return new Set(obj.chunks.map((c) => c.keyId));
    } finally {
      m.close();
    }
  };
  const dataKeyIds = (id: number) => {
    const m = Manifest.open(join(cluster.node(id).dir, "manifest.db"), { integrityCheck: "none" });
    try {
      return m.dataKeys().map((k) => k.keyId);
    } finally {
      m.close();
    }
  };

  const putVia = async (id: number, key: string) => {
    const body = randomBytes(150_000 + id * 10_001);
    await clients.get(id)!.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    written.set(key, sha(body));
  };

  beforeAll(async () => {
    cluster = await TestCluster.start({ size: 3 });
    peers = cluster.ids.map((id) => `${id}=127.0.0.1:${cluster.node(id).grpcPort}`).join(",");
    for (const id of cluster.ids) clients.set(id, cluster.client(id));
    await clients.get(1)!.send(new CreateBucketCommand({ Bucket: BUCKET }));
  }, 120_000);

  afterAll(async () => {
    for (const c of clients.values()) c.destroy();
    await cluster?.close();
  });

  it("rotates on the leader when asked of a follower; every node writes and reads with the new key", async () => {
    for (const id of cluster.ids) await putVia(id, `before/${id}`);
    for (const id of cluster.ids) expect(chunkKeyIds(id, "before/1")).toEqual(new Set([1]));

    const leader = await cluster.leader();
    const follower = cluster.ids.find((id) => id !== leader)!;
    const args = ["keys", "rotate", "--node", `127.0.0.1:${cluster.node(follower).grpcPort}`, "--json"];
    const rot = (await ok(follower, args)) as RotateJson;
    expect(rot).toMatchObject({ currentKeyId: 2, keyIds: [1, 2], providerKeyRotated: false, nodeId: leader });
    expect(rot.provider.kind).toBe("local");

    // The data key reached every node through the manifest (AddDataKey applied everywhere).
    await cluster.converged();
    for (const id of cluster.ids) expect(dataKeyIds(id)).toEqual([1, 2]);

    // Writes through every node now seal under data key 2.
    for (const id of cluster.ids) await putVia(id, `after/${id}`);
    await cluster.converged();
    for (const id of cluster.ids) expect(chunkKeyIds(leader, `after/${id}`)).toEqual(new Set([2]));

    // Every object, old key and new, reads back through every node.
    for (const id of cluster.ids) {
      for (const [key, digest] of written) {
        const got = await clients.get(id)!.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
        expect(sha(Buffer.from(await got.Body!.transformToByteArray())), `${key} via node ${id}`).toBe(
          digest,
        );
      }
    }

    // `keys list` beside every node: data key 2 is current there.
    for (const id of cluster.ids) {
      const list = (await ok(id, ["keys", "list", "--json"])) as {
        currentDataKeyId: number;
        dataKeys: { keyId: number; current: boolean }[];
      };
      expect(list.currentDataKeyId).toBe(2);
      expect(list.dataKeys.map((k) => [k.keyId, k.current])).toEqual([
        [1, false],
        [2, true],
      ]);
    }
  }, 120_000);

  it("two rotations asked of two nodes at once run one at a time on the leader", async () => {
    const [a, b] = cluster.ids.slice(0, 2) as [number, number];
    const argsFor = (id: number) => [
      "keys",
      "rotate",
      "--node",
      `127.0.0.1:${cluster.node(id).grpcPort}`,
      "--json",
    ];
    const results = await Promise.all([enigma(a, argsFor(a)), enigma(b, argsFor(b))]);
    const done: number[] = [];
    for (const [i, r] of results.entries()) {
      if (r.code === 0) done.push((JSON.parse(r.stdout.toString()) as RotateJson).currentKeyId);
      // The only acceptable failure: the leader refused because the other rotation was running.
      else expect(r.stderr, explain(argsFor([a, b][i]!), r)).toMatch(/rotation is running on the leader/);
    }
    expect(done.length).toBeGreaterThan(0);
    expect(new Set(done).size).toBe(done.length);
    await cluster.converged();
    const expected = Array.from({ length: 2 + done.length }, (_, i) => i + 1);
    for (const id of cluster.ids) expect(dataKeyIds(id)).toEqual(expected);
    for (const id of done) expect(expected).toContain(id);
  }, 120_000);

  it("a retried call (same request id, any node) reports the rotation it already did instead of rotating again", async () => {
    const before = dataKeyIds(1);
    const call = async (id: number, argsJson: string) => {
      const client = new ClusterClient(`127.0.0.1:${cluster.node(id).grpcPort}`, { secret: CLUSTER_SECRET });
      try {
        return await client.admin({
          action: "keys.rotate",
          argsJson,
          onLeader: true,
          timeoutMs: 30_000,
          hops: 0,
        });
      } finally {
        client.close();
      }
    };
    const requestId = "retry-test-0123456789";
    const first = await call(cluster.ids[0]!, JSON.stringify({ requestId }));
    expect(first.failure).toBeUndefined();
    const r1 = JSON.parse(first.resultJson) as RotateJson;
    expect(r1).toMatchObject({ currentKeyId: before.length + 1, repeated: false });
    // The response was "lost": the caller retries, through another node.
    const second = await call(cluster.ids[2]!, JSON.stringify({ requestId }));
    expect(second.failure).toBeUndefined();
    const r2 = JSON.parse(second.resultJson) as RotateJson;
    expect(r2).toMatchObject({ currentKeyId: r1.currentKeyId, repeated: true, providerKeyRotated: false });
    await cluster.converged();
    for (const id of cluster.ids) expect(dataKeyIds(id)).toEqual([...before, before.length + 1]);
    // A new request id rotates again; a malformed one is refused.
    const third = JSON.parse(
      (await call(cluster.ids[1]!, JSON.stringify({ requestId: "another-request-id" }))).resultJson,
    );
    expect(third).toMatchObject({ currentKeyId: before.length + 2, repeated: false });
    const bad = await call(cluster.ids[1]!, JSON.stringify({ requestId: "x" }));
    expect(bad.failure?.code).toBe("Rejected");
    expect(bad.failure?.message).toMatch(/requestId/);
  }, 120_000);

  it("refuses a malformed --node without contacting anything", async () => {
    const r = await enigma(1, ["keys", "rotate", "--node", "not-an-address"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--node must be HOST:PORT/);
  });
});
