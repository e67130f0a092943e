/**
 * Operator snapshots of a live 3-node cluster of real `enigma serve` processes:
 *
 * 1. `enigma snapshot create --node` (the `snapshot.create` admin action) on a follower under a
 *    continuous S3 write load; the node's own key (created on first start) signs it.
 * 2. Reseed: node 3's own snapshot, node 3 wiped (manifest and Raft log), `snapshot restore --mode
 *    reseed`, restart: it rejoins with its id, catches up from the leader's log and converges
 *    (same manifest checksum), writes made meanwhile included.
 * 3. Disaster recovery: the whole cluster is lost (every process killed, every data dir ignored);
 *    a new cluster is built from the first snapshot — node 1 restored with `--mode new-cluster`
 *    (new cluster id, fresh Raft state, this node the only voter), nodes 2 and 3 started empty and
 *    added with `enigma cluster add-node` (they receive the state by InstallSnapshot) — and every
 *    object acknowledged before the snapshot was requested reads back identically on every node
 *    (the admin action passes a read barrier first, so those writes are at or below its applied
 *    index). Objects acknowledged later may be missing, but never differ. GC's pause is in the
 *    restored manifest, so every member has it (same checksum) and a leader other than node 1
 *    refuses GC; `snapshot confirm-gc --node` through another member lifts it everywhere.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Manifest } from "../../packages/manifest/src/index.js";
import {
  ACCESS_KEY,
  CLUSTER_SECRET,
  ClusterNodeProcess,
  SECRET_KEY,
  sleep,
  TestCluster,
} from "../cluster/harness.js";
import { runEnigma } from "../support/cli.js";
import { TEST_PASSPHRASE } from "../support/engine.js";
import { freePort } from "../support/ports.js";

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

interface Ack {
  readonly sha: string;
  readonly ackedAt: number;
}

interface CreateJson {
  file: string;
  sha256: string;
  nodeId: number;
  appliedIndex: number;
  term: number;
  signer: { fingerprint: string; role: string };
}

async function getBytes(client: S3Client, bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await got.Body!.transformToByteArray());
  } catch (err) {
    if ((err as Error).name === "NoSuchKey") return undefined;
    throw err;
  }
}

/** CLI environment for a node's config dir, as `enigma serve` there sees it. */
function cliEnv(grpcPort: number, id: number, peers: string): Record<string, string> {
  return {
    ENIGMA_PASSPHRASE: TEST_PASSPHRASE,
    ENIGMA_RAFT_NODE_ID: String(id),
    ENIGMA_RAFT_GRPC_ADDR: `127.0.0.1:${grpcPort}`,
    ENIGMA_RAFT_PEERS: peers,
    ENIGMA_RAFT_CLUSTER_SECRET: CLUSTER_SECRET,
  };
}

async function enigma(dir: string, env: Record<string, string>, args: string[]) {
  const r = await runEnigma(["--config-dir", dir, "--json", ...args], { env });
  if (r.code !== 0) throw new Error(`enigma ${args.join(" ")} exited ${r.code}:\n${r.stderr}`);
  return JSON.parse(r.stdout.toString()) as Record<string, unknown>;
}

describe("operator snapshots of a live cluster", () => {
  let source: TestCluster;
  let peers: string;
  const acked = new Map<string, Ack>();
  let snapshot: CreateJson;
  let requestedAt = 0;
  let trustedKeys: string;
  const extra: ClusterNodeProcess[] = [];

  beforeAll(async () => {
    source = await TestCluster.start({ size: 3 });
    peers = source.ids.map((id) => `${id}=127.0.0.1:${source.node(id).grpcPort}`).join(",");
    const c = source.client(1);
    await c.send(new CreateBucketCommand({ Bucket: "data" }));
    c.destroy();
  });

  afterAll(async () => {
    await Promise.all(extra.map((n) => n.kill("SIGKILL")));
    await source?.close();
  });

  const envOf = (id: number) => cliEnv(source.node(id).grpcPort, id, peers);

  async function put(client: S3Client, key: string): Promise<void> {
    const body = randomBytes(1000 + Math.floor(Math.random() * 90_000));
    await client.send(new PutObjectCommand({ Bucket: "data", Key: key, Body: body }));
    acked.set(key, { sha: sha(body), ackedAt: Date.now() });
  }

  it("snapshot.create over the admin API on a follower, under continuous writes to every node", async () => {
    let stop = false;
    const failures: string[] = [];
    const writer = async (w: number) => {
      const client = source.client((w % 3) + 1);
      for (let seq = 0; !stop; seq++) {
        try {
          await put(client, `load/w${w}/${seq}`);
        } catch (err) {
          failures.push(`${w}/${seq}: ${(err as Error).name}`);
          await sleep(50);
        }
      }
      client.destroy();
    };
    const writers = Array.from({ length: 4 }, (_, w) => writer(w));
    try {
      const deadline = Date.now() + 60_000;
      while (acked.size < 20 && Date.now() < deadline) await sleep(50);
      const leader = await source.leader();
      const target = source.ids.find((id) => id !== leader)!;
      const outDir = join(source.root, "snapshots");
      const before = acked.size;
      requestedAt = Date.now();
      snapshot = (await enigma(source.node(target).dir, envOf(target), [
        "snapshot",
        "create",
        "--node",
        `127.0.0.1:${source.node(target).grpcPort}`,
        "--out",
        `${outDir}/`,
      ])) as unknown as CreateJson;
      // Keep writing a little after the snapshot, so some writes are certainly not in it.
      const after = acked.size;
      while (acked.size < after + 10 && Date.now() < deadline) await sleep(50);
      expect(before).toBeGreaterThanOrEqual(20);
      expect(snapshot.nodeId).toBe(target);
      expect(
        snapshot.file.startsWith(`${outDir}/enigma-snapshot-n${target}-i${snapshot.appliedIndex}-`),
      ).toBe(true);
      expect(existsSync(snapshot.file)).toBe(true);
      expect(snapshot.signer.role).toBe("node");
      expect(snapshot.term).toBeGreaterThan(0);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    expect(failures).toEqual([]);
    // Bad requests: a relative path is refused by the CLI, a missing key file by the node; both
    // say why and write nothing.
    const n1 = source.node(1);
    const files = () => readdirSync(join(source.root, "snapshots")).sort();
    const listed = files();
    const rel = await runEnigma(
      [
        "--config-dir",
        n1.dir,
        "snapshot",
        "create",
        "--node",
        `127.0.0.1:${n1.grpcPort}`,
        "--out",
        "rel/x.tar",
      ],
      { env: envOf(1) },
    );
    expect(rel.code).toBe(2);
    expect(rel.stderr).toMatch(/--out with --node is a path on that node: give it absolute/);
    const badKey = await runEnigma(
      [
        "--config-dir",
        n1.dir,
        "snapshot",
        "create",
        "--node",
        `127.0.0.1:${n1.grpcPort}`,
        "--out",
        `${join(source.root, "snapshots")}/`,
        "--sign-with",
        join(source.root, "no-such-key.pem"),
      ],
      { env: envOf(1) },
    );
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/snapshot\.create: --sign-with .*no-such-key\.pem/);
    expect(files()).toEqual(listed);
    // The node created its signing key on first start; the snapshot verifies against it alone.
    const pub = join(source.node(snapshot.nodeId).dir, "node-signing.key.pub");
    expect(existsSync(pub)).toBe(true);
    trustedKeys = join(source.root, "trusted-keys.json");
    writeFileSync(trustedKeys, JSON.stringify([readFileSync(pub, "utf8")]));
    const v = await enigma(source.node(1).dir, envOf(1), [
      "snapshot",
      "verify",
      snapshot.file,
      "--trusted-keys",
      trustedKeys,
    ]);
    expect(v.verified).toBe(true);
    expect((v.trust as { source: string }).source).toBe("trusted-keys");
  });

  it("reseed: node 3 wiped, restored from its own snapshot and restarted converges with the others", async () => {
    const n3 = source.node(3);
    const own = (await enigma(n3.dir, envOf(3), [
      "snapshot",
      "create",
      "--node",
      `127.0.0.1:${n3.grpcPort}`,
    ])) as unknown as CreateJson;
    expect(own.file.startsWith(join(n3.dir, "snapshots"))).toBe(true);
    const writer = source.client(1);
    for (let i = 0; i < 10; i++) await put(writer, `reseed/before-kill/${i}`);
    await source.kill(3, "SIGKILL");
    for (let i = 0; i < 10; i++) await put(writer, `reseed/while-down/${i}`);
    // The leader still counts node 3's old acknowledgements; it forgets them with the removal, and
    // node 3 comes back as a learner, promoted once caught up (README: reseed one node).
    const addr3 = `127.0.0.1:${n3.grpcPort}`;
    await enigma(source.node(1).dir, envOf(1), [
      "cluster",
      "remove-node",
      "3",
      "--node",
      `127.0.0.1:${source.node(1).grpcPort}`,
    ]);
    // Lose node 3's state: manifest and Raft log (config, keystore and signing key stay).
    for (const f of ["manifest.db", "manifest.db-wal", "manifest.db-shm"])
      rmSync(join(n3.dir, f), { force: true });
    rmSync(join(n3.dir, "raft"), { recursive: true, force: true });
    const r = await enigma(n3.dir, envOf(3), ["snapshot", "restore", own.file, "--mode", "reseed"]);
    expect(r.mode).toBe("reseed");
    expect(r.appliedIndex).toBe(own.appliedIndex);
    expect((r.raft as { index: number; conf: { voters: number[] } }).index).toBe(own.appliedIndex);
    expect((r.raft as { conf: { voters: number[] } }).conf.voters).toEqual([1, 2, 3]);
    expect(existsSync(join(n3.dir, "gc-paused.json"))).toBe(true);
    n3.spawn(
      {
        ...envOf(3),
        ENIGMA_ACCESS_KEY: ACCESS_KEY,
        ENIGMA_SECRET_KEY: SECRET_KEY,
        ENIGMA_S3_PROXY_LISTEN_ADDR: `127.0.0.1:${n3.s3Port}`,
        ENIGMA_OPS_LISTEN_ADDR: `127.0.0.1:${n3.opsPort}`,
        ENIGMA_RAFT_ELECTION_TIMEOUT_MS: "400",
        ENIGMA_RAFT_HEARTBEAT_MS: "50",
        ENIGMA_RAFT_REQUEST_TIMEOUT_MS: "3000",
      },
      "warn",
    );
    await enigma(source.node(1).dir, envOf(1), [
      "cluster",
      "add-node",
      "3",
      addr3,
      "--node",
      `127.0.0.1:${source.node(1).grpcPort}`,
    ]);
    await source.waitReady([3]);
    for (let i = 0; i < 5; i++) await put(writer, `reseed/after-restart/${i}`);
    writer.destroy();
    await source.converged(60_000);
    const sums = source.ids.map((id) => source.manifestChecksum(id));
    expect(new Set(sums).size).toBe(1);
    const st = await n3.status();
    expect(st?.nodeId).toBe(3);
    expect(st?.members.map((m) => m.id)).toEqual([1, 2, 3]);
    const c3 = source.client(3);
    for (const [key, a] of acked) {
      if (!key.startsWith("reseed/")) continue;
      const got = await getBytes(c3, "data", key);
      expect(got && sha(got), key).toBe(a.sha);
    }
    c3.destroy();
  });

  it("disaster recovery: a new 3-node cluster from the snapshot holds every write acknowledged before it", async () => {
    // The old cluster is gone: stop every process. Only the snapshot, the keystore and the chunk
    // store (the storage backend) survive.
    await Promise.all(source.ids.map((id) => source.kill(id, "SIGKILL")));
    const root = join(source.root, "dr");
    const nodes = new Map<number, ClusterNodeProcess>();
    for (const id of [1, 2, 3]) {
      const dir = join(root, `n${id}`);
      mkdirSync(dir, { recursive: true });
      copyFileSync(join(source.root, "keystore.enigma"), join(dir, "keystore.enigma"));
      writeFileSync(
        join(dir, "enigma.toml"),
        `[enigma]\nchunk_size = "64KiB"\nworkers = 0\n\n[[providers]]\nname = "shared"\ntype = "Local"\nbucket = "${source.chunksDir}"\n`,
      );
      const n = new ClusterNodeProcess(id, dir, await freePort(), await freePort(), await freePort());
      nodes.set(id, n);
      extra.push(n);
    }
    const addr = (id: number) => `127.0.0.1:${nodes.get(id)!.grpcPort}`;
    const allPeers = [1, 2, 3].map((id) => `${id}=${addr(id)}`).join(",");
    // Node 1 knows the whole new cluster; nodes 2 and 3 name only node 1 until they are added
    // (a fresh node in its own peer list would bootstrap a cluster of its own).
    const peersOf = (id: number) => (id === 1 ? allPeers : `1=${addr(1)}`);
    const env = (id: number) => cliEnv(nodes.get(id)!.grpcPort, id, peersOf(id));
    const spawn = (id: number) => {
      const n = nodes.get(id)!;
      n.spawn(
        {
          ...env(id),
          ENIGMA_ACCESS_KEY: ACCESS_KEY,
          ENIGMA_SECRET_KEY: SECRET_KEY,
          ENIGMA_S3_PROXY_LISTEN_ADDR: `127.0.0.1:${n.s3Port}`,
          ENIGMA_OPS_LISTEN_ADDR: `127.0.0.1:${n.opsPort}`,
          ENIGMA_RAFT_ELECTION_TIMEOUT_MS: "400",
          ENIGMA_RAFT_HEARTBEAT_MS: "50",
          ENIGMA_RAFT_REQUEST_TIMEOUT_MS: "3000",
        },
        "warn",
      );
    };

    const r = await enigma(nodes.get(1)!.dir, env(1), [
      "snapshot",
      "restore",
      snapshot.file,
      "--mode",
      "new-cluster",
      "--trusted-keys",
      trustedKeys,
    ]);
    expect(r.verified).toBe(true);
    const clusterId = r.clusterId as string;
    expect(clusterId).toMatch(/^[0-9a-f-]{36}$/);
    expect((r.raft as { conf: { voters: number[] } }).conf.voters).toEqual([1]);
    spawn(1);
    await waitFor(async () => (await nodes.get(1)!.ready()) || failIfExited(nodes.get(1)!), "node 1 ready");
    spawn(2);
    spawn(3);
    for (const id of [2, 3]) {
      // Started first (its Raft service answering), then added.
      const n = nodes.get(id)!;
      await waitFor(
        async () => (await n.status())?.role !== undefined || failIfExited(n),
        `node ${id} raft up`,
      );
      try {
        await enigma(nodes.get(1)!.dir, env(1), [
          "cluster",
          "add-node",
          String(id),
          addr(id),
          "--node",
          addr(1),
        ]);
      } catch (err) {
        const logs = [1, id].map((i) => `node ${i}:\n${nodes.get(i)!.stderr().slice(-20_000)}`).join("\n");
        throw new Error(`${(err as Error).message}\n${logs}`);
      }
    }
    for (const id of [1, 2, 3])
      await waitFor(
        async () => (await nodes.get(id)!.ready()) || failIfExited(nodes.get(id)!),
        `node ${id} ready`,
      );
    // Every node applied the same index and holds the same manifest, with the new cluster id.
    await waitFor(async () => {
      const sts = await Promise.all([1, 2, 3].map((id) => nodes.get(id)!.status()));
      return sts.every(
        (s) => s !== undefined && s.appliedIndex === sts[0]!.appliedIndex && s.members.length === 3,
      );
    }, "new cluster converged");
    const sums = [1, 2, 3].map((id) => {
      const m = Manifest.open(join(nodes.get(id)!.dir, "manifest.db"), { integrityCheck: "none" });
      try {
        expect(m.raftMeta().clusterId).toBe(clusterId);
        // GC's pause is replicated state: the joiners received it with the snapshot.
        expect(m.gcPause(), `node ${id}`).toMatchObject({ mode: "new-cluster", clusterId });
        return m.checksum();
      } finally {
        m.close();
      }
    });
    expect(new Set(sums).size).toBe(1);

    let before = 0;
    let afterPresent = 0;
    for (const id of [1, 2, 3]) {
      const n = nodes.get(id)!;
      const client = clientFor(n);
      for (const [key, a] of acked) {
        if (key.startsWith("reseed/")) continue; // written after the snapshot
        const got = await getBytes(client, "data", key);
        if (a.ackedAt < requestedAt) {
          expect(got && sha(got), `${key} on node ${id}`).toBe(a.sha);
          if (id === 1) before++;
        } else if (got !== undefined) {
          expect(sha(got), `${key} on node ${id}`).toBe(a.sha);
          if (id === 1) afterPresent++;
        }
      }
      client.destroy();
    }
    expect(before).toBeGreaterThanOrEqual(20);
    // GC stays paused cluster-wide until confirmed: in the manifest, not a marker on node 1, so a
    // leader that joined empty (node 2 after a transfer) refuses too.
    expect(existsSync(join(nodes.get(1)!.dir, "gc-paused.json"))).toBe(false);
    await enigma(nodes.get(1)!.dir, env(1), ["cluster", "transfer-leader", "2", "--node", addr(1)]);
    await waitFor(async () => (await nodes.get(2)!.status())?.role === "leader", "node 2 leads");
    const gcArgs = ["--config-dir", nodes.get(2)!.dir, "gc", "--node", addr(2), "--grace", "0s"];
    const refused = await runEnigma(gcArgs, { env: env(2) });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/GC is paused after a new-cluster restore \(replicated in the manifest/);
    // Confirmed through a member that was never restored; the ResumeGc commits through Raft.
    const confirmed = await enigma(nodes.get(3)!.dir, env(3), ["snapshot", "confirm-gc", "--node", addr(3)]);
    expect(confirmed).toMatchObject({
      wasPaused: true,
      replicated: { mode: "new-cluster" },
      localMarker: null,
    });
    await waitFor(async () => {
      const sts = await Promise.all([1, 2, 3].map((id) => nodes.get(id)!.status()));
      return sts.every((st) => st !== undefined && st.appliedIndex === sts[0]!.appliedIndex);
    }, "confirmation applied everywhere");
    const after = [1, 2, 3].map((id) => {
      const m = Manifest.open(join(nodes.get(id)!.dir, "manifest.db"), { integrityCheck: "none" });
      try {
        expect(m.gcPause(), `node ${id}`).toBeUndefined();
        return m.checksum();
      } finally {
        m.close();
      }
    });
    expect(new Set(after).size).toBe(1);
    const ran = await runEnigma([...gcArgs.slice(0, -2), "--grace", "1h", "--json"], { env: env(2) });
    expect(ran.code, ran.stderr).toBe(0);
    process.stderr.write(
      `snapshot at index ${snapshot.appliedIndex}: ${before} objects acknowledged before it restored identically on 3 nodes; ` +
        `${afterPresent} acknowledged later are present too\n`,
    );
  });
});

function clientFor(n: ClusterNodeProcess): S3Client {
  return new S3Client({
    endpoint: n.s3Url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
  });
}

function failIfExited(n: ClusterNodeProcess): false {
  if (!n.running) throw new Error(`node ${n.id} exited:\n${n.stderr()}`);
  return false;
}

async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
