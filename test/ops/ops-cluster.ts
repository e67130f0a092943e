/**
 * The Docker-free twin of the compose lab (deploy/docker-compose.yml): three real `enigma serve`
 * processes on 127.0.0.1 with two s3rver processes-in-this-process as the S3-compatible chunk
 * backends (where the lab has MinIO), one shared keystore, the S3 secret key in the config as an
 * `enc:` token (as `enigma encrypt-cred` makes it), a metrics bearer token, and a ready-aware TCP
 * balancer in front of the S3 ports (the lab's client Service). Every process is stopped by PID.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { createKeystore, encryptCredential, openKeystore } from "../../packages/crypto/src/index.js";
import { ClusterNodeProcess, sleep } from "../cluster/harness.js";
import { runEnigma } from "../support/cli.js";
import { TEST_ARGON2, TEST_PASSPHRASE } from "../support/engine.js";
import { freePort } from "../support/ports.js";
import { S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, S3rverFake } from "../support/s3rver.js";
import { ReadyBalancer } from "./ready-balancer.js";

export const OPS_ACCESS_KEY = "AKIAOPSTWINTEST00001";
export const OPS_SECRET_KEY = "ops-twin-secret-00000000000000000000001";
export const OPS_CLUSTER_SECRET = "ops-twin-cluster-secret-0123456789";
export const OPS_METRICS_TOKEN = "ops-twin-metrics-token-0123456789";
const BUCKET = "enigma-chunks";
const READY_TIMEOUT_MS = 90_000;

export class OpsCluster {
  readonly nodes = new Map<number, ClusterNodeProcess>();
  backends: S3rverFake[] = [];
  balancer: ReadyBalancer | undefined;

  private constructor(readonly root: string) {}

  static async start(size = 3): Promise<OpsCluster> {
    const c = new OpsCluster(mkdtempSync(join(tmpdir(), "enigma-ops-")));
    try {
      await c.#prepare(size);
      for (const id of c.nodes.keys()) c.spawn(id);
      await c.waitReady([...c.nodes.keys()]);
      c.balancer = await ReadyBalancer.start(
        [...c.nodes.values()].map((n) => ({ s3Port: n.s3Port, opsUrl: n.opsUrl })),
      );
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  async #prepare(size: number): Promise<void> {
    this.backends = [await S3rverFake.start([BUCKET]), await S3rverFake.start([BUCKET])];
    const keystorePath = join(this.root, "keystore.enigma");
    await createKeystore(keystorePath, TEST_PASSPHRASE, { argon2: TEST_ARGON2 });
    const keystore = await openKeystore(keystorePath, TEST_PASSPHRASE);
    // What `enigma encrypt-cred` prints: serve must decrypt it with the keystore.
    const encSecret = encryptCredential(keystore, OPS_SECRET_KEY);
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    const ports = new Map<number, { s3: number; ops: number; grpc: number }>();
    for (const id of ids)
      ports.set(id, { s3: await freePort(), ops: await freePort(), grpc: await freePort() });
    const peers = ids.map((id) => `"${id}=127.0.0.1:${ports.get(id)!.grpc}"`).join(", ");
    for (const id of ids) {
      const dir = join(this.root, `n${id}`);
      mkdirSync(dir, { recursive: true });
      copyFileSync(keystorePath, join(dir, "keystore.enigma"));
      const p = ports.get(id)!;
      const providers = this.backends.flatMap((b, i) => [
        "[[providers]]",
        `name = "s3rver-${i + 1}"`,
        'type = "S3Compatible"',
        `bucket = "${BUCKET}"`,
        `endpoint_url = "${b.endpoint}"`,
        'region = "us-east-1"',
        "path_style = true",
        `access_key = "${S3RVER_ACCESS_KEY}"`,
        `secret_key = "${S3RVER_SECRET_KEY}"`,
        "",
      ]);
      writeFileSync(
        join(dir, "enigma.toml"),
        [
          "[enigma]",
          'chunk_size = "64KiB"',
          "workers = 0",
          'distribution = "round-robin"',
          "replication_factor = 1",
          "",
          "[s3_proxy]",
          `listen_addr = "127.0.0.1:${p.s3}"`,
          `access_key = "${OPS_ACCESS_KEY}"`,
          `secret_key = "${encSecret}"`,
          "",
          "[raft]",
          `node_id = ${id}`,
          `grpc_addr = "127.0.0.1:${p.grpc}"`,
          `peers = [${peers}]`,
          "election_timeout_ms = 1000",
          "heartbeat_ms = 100",
          "request_timeout_ms = 15000",
          "",
          "[ops]",
          `listen_addr = "127.0.0.1:${p.ops}"`,
          `metrics_token = "${OPS_METRICS_TOKEN}"`,
          'shutdown_timeout = "20s"',
          "",
          ...providers,
        ].join("\n"),
      );
      this.nodes.set(id, new ClusterNodeProcess(id, dir, p.s3, p.ops, p.grpc));
    }
  }

  node(id: number): ClusterNodeProcess {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  spawn(id: number): void {
    // Passphrase and cluster secret from the environment, as the k8s Secret / compose env give them.
    this.node(id).spawn(
      { ENIGMA_PASSPHRASE: TEST_PASSPHRASE, ENIGMA_RAFT_CLUSTER_SECRET: OPS_CLUSTER_SECRET },
      "info",
    );
  }

  async waitReady(ids: readonly number[], timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const id of ids) {
      const n = this.node(id);
      for (;;) {
        if (!n.running) throw new Error(`node ${id} exited before ready:\n${n.stderr().slice(-4000)}`);
        if (await n.ready()) break;
        if (Date.now() > deadline) throw new Error(`node ${id} not ready:\n${n.stderr().slice(-4000)}`);
        await sleep(100);
      }
    }
  }

  async leader(timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const n of this.nodes.values()) {
        if (!n.running) continue;
        const st = await n.status();
        if (st?.role === "leader") return st.nodeId;
      }
      if (Date.now() > deadline) throw new Error("no leader");
      await sleep(100);
    }
  }

  /** `/metrics` text of node `id` (with the bearer token unless `token` is given). */
  async metrics(id: number, token: string | null = OPS_METRICS_TOKEN): Promise<Response> {
    return fetch(`${this.node(id).opsUrl}/metrics`, {
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(5000),
    });
  }

  /** Runs `enigma` against node `id`'s config (its dir is the config dir), like an operator would. */
  cli(id: number, args: readonly string[]) {
    return runEnigma(["--config-dir", this.node(id).dir, ...args], {
      env: { ENIGMA_PASSPHRASE: TEST_PASSPHRASE, ENIGMA_RAFT_CLUSTER_SECRET: OPS_CLUSTER_SECRET },
    });
  }

  /** An SDK client with its default retry strategy (3 attempts), through the balancer or to one node. */
  client(endpoint = this.balancer!.url, opts: { maxAttempts?: number } = {}): S3Client {
    return new S3Client({
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: OPS_ACCESS_KEY, secretAccessKey: OPS_SECRET_KEY },
      ...(opts.maxAttempts === undefined ? {} : { maxAttempts: opts.maxAttempts }),
    });
  }

  async close(): Promise<void> {
    await this.balancer?.close();
    await Promise.all([...this.nodes.values()].map((n) => n.kill("SIGKILL")));
    for (const b of this.backends) await b.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Sum of every sample of metric `name` (all label sets) in a Prometheus text exposition. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] === name) sum += Number(m[3]);
  }
  return sum;
}
