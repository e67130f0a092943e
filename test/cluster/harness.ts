/**
 * A cluster of real `enigma serve` processes on 127.0.0.1 for the multi-process tests and the
 * bench: one data dir per node (same keystore file copied into each, created once with cheap
 * Argon2 parameters), one shared Local chunk directory, ports picked free and kept across
 * restarts, optionally a fault-injecting TCP proxy on every directed node-to-node link. Nodes are
 * stopped by PID (SIGTERM or SIGKILL) and everything is torn down in `close()`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { createKeystore } from "../../packages/crypto/src/index.js";
import { Manifest } from "../../packages/manifest/src/index.js";
import { CLI_BIN, REPO_ROOT } from "../support/cli.js";
import { TEST_ARGON2, TEST_PASSPHRASE } from "../support/engine.js";
import { freePort } from "../support/ports.js";
import { type ProxyMode, TcpProxy } from "../support/tcp-proxy.js";

export const ACCESS_KEY = "AKIACLUSTERTEST00001";
export const SECRET_KEY = "cluster-test-secret-000000000000000000001";
export const CLUSTER_SECRET = "cluster-test-shared-secret-0123456789";
const READY_TIMEOUT_MS = 90_000;
const STDERR_KEEP_BYTES = 256 * 1024;

export interface ClusterOptions {
  readonly size?: number;
  /** Put a TCP proxy on every node-to-node link (for partitions). */
  readonly proxied?: boolean;
  readonly electionTimeoutMs?: number;
  readonly heartbeatMs?: number;
  readonly snapshotThreshold?: number;
  readonly requestTimeoutMs?: number;
  readonly logLevel?: string;
  /** Worker threads sealing chunks (0 keeps processes light). */
  readonly workers?: number;
  /**
   * Called for each node's data dir after it is created and before anything is written to it
   * (full-disk tests mount a small tmpfs there), and again with `release` once the cluster is
   * stopped, before the directories are removed.
   */
  readonly nodeDir?: {
    prepare(id: number, dir: string): void;
    release(id: number, dir: string): void;
  };
}

export interface NodeStatus {
  readonly nodeId: number;
  readonly pid: number;
  readonly role: string;
  readonly term: number;
  readonly leaderId: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly snapshotIndex: number;
  readonly members: ReadonlyArray<{ id: number; role: string }>;
}

/** Every server PID spawned by this process: killed on exit even if a test never reached close(). */
const LIVE_PIDS = new Set<number>();
process.on("exit", () => {
  for (const pid of LIVE_PIDS) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
});

export class ClusterNodeProcess {
  proc: ChildProcess | undefined;
  #stderr = "";
  #exited: Promise<void> = Promise.resolve();

  constructor(
    readonly id: number,
    readonly dir: string,
    readonly s3Port: number,
    readonly opsPort: number,
    readonly grpcPort: number,
  ) {}

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get s3Url(): string {
    return `http://127.0.0.1:${this.s3Port}`;
  }

  get opsUrl(): string {
    return `http://127.0.0.1:${this.opsPort}`;
  }

  stderr(): string {
    return this.#stderr;
  }

  spawn(env: Record<string, string>, logLevel: string): void {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", ...env };
    delete childEnv.ENIGMA_CONFIG_DIR;
    // ENIGMA_TEST_NODE_ARGS: extra node flags for the servers, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
    const nodeArgs = (process.env.ENIGMA_TEST_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const child = spawn(
      process.execPath,
      [...nodeArgs, CLI_BIN, "serve", "--data-dir", this.dir, "--log-level", logLevel],
      {
        cwd: REPO_ROOT,
        env: childEnv,
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    this.proc = child;
    const pid = child.pid;
    if (pid !== undefined) LIVE_PIDS.add(pid);
    child.once("exit", () => {
      if (pid !== undefined) LIVE_PIDS.delete(pid);
    });
    child.stderr?.on("data", (b: Buffer) => {
      this.#stderr += b.toString();
      if (this.#stderr.length > 2 * STDERR_KEEP_BYTES) this.#stderr = this.#stderr.slice(-STDERR_KEEP_BYTES);
    });
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /** Sends `signal` to the process by PID and waits for it to exit (SIGKILL after `graceMs`). */
  async kill(signal: NodeJS.Signals = "SIGKILL", graceMs = 20_000): Promise<void> {
    const pid = this.proc?.pid;
    if (pid === undefined || !this.running) return;
    process.kill(pid, signal);
    const timer = setTimeout(() => {
      if (this.running) process.kill(pid, "SIGKILL");
    }, graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  async status(): Promise<NodeStatus | undefined> {
    try {
      const r = await fetch(`${this.opsUrl}/status`, { signal: AbortSignal.timeout(2000) });
      return r.ok ? ((await r.json()) as NodeStatus) : undefined;
    } catch {
      return undefined;
    }
  }

  async ready(): Promise<boolean> {
    try {
      const r = await fetch(`${this.opsUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      return r.status === 200;
    } catch {
      return false;
    }
  }
}

export class TestCluster {
  readonly root: string;
  readonly chunksDir: string;
  readonly nodes = new Map<number, ClusterNodeProcess>();
  /** `${from}>${to}` → the proxy node `from` dials to reach `to`. */
  readonly proxies = new Map<string, TcpProxy>();
  readonly #o: Required<ClusterOptions>;
  /** Nodes whose dirs `nodeDir.prepare` took (released in close()). */
  readonly #prepared: number[] = [];

  private constructor(o: ClusterOptions) {
    this.#o = {
      size: o.size ?? 3,
      proxied: o.proxied ?? false,
      electionTimeoutMs: o.electionTimeoutMs ?? 400,
      heartbeatMs: o.heartbeatMs ?? 50,
      snapshotThreshold: o.snapshotThreshold ?? 10_000,
      requestTimeoutMs: o.requestTimeoutMs ?? 3000,
      logLevel: o.logLevel ?? "warn",
      workers: o.workers ?? 0,
      nodeDir: o.nodeDir ?? { prepare() {}, release() {} },
    };
    this.root = mkdtempSync(join(tmpdir(), "enigma-cluster-"));
    this.chunksDir = join(this.root, "chunks");
  }

  get ids(): number[] {
    return [...this.nodes.keys()];
  }

  static async start(o: ClusterOptions = {}): Promise<TestCluster> {
    const c = new TestCluster(o);
    try {
      await c.#prepare();
      for (const id of c.ids) c.#spawn(id);
      await c.waitReady();
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  async #prepare(): Promise<void> {
    mkdirSync(this.chunksDir, { recursive: true });
    const keystore = join(this.root, "keystore.enigma");
    await createKeystore(keystore, TEST_PASSPHRASE, { argon2: TEST_ARGON2 });
    for (let id = 1; id <= this.#o.size; id++) {
      const dir = join(this.root, `n${id}`);
      mkdirSync(dir, { recursive: true });
      this.#o.nodeDir.prepare(id, dir);
      this.#prepared.push(id);
      copyFileSync(keystore, join(dir, "keystore.enigma"));
      writeFileSync(
        join(dir, "enigma.toml"),
        [
          "[enigma]",
          'chunk_size = "64KiB"',
          `workers = ${this.#o.workers}`,
          "",
          "[[providers]]",
          'name = "shared"',
          'type = "Local"',
          `bucket = "${this.chunksDir}"`,
          "",
        ].join("\n"),
      );
      const node = new ClusterNodeProcess(id, dir, await freePort(), await freePort(), await freePort());
      this.nodes.set(id, node);
    }
    if (this.#o.proxied) {
      for (const from of this.ids) {
        for (const to of this.ids) {
          if (from !== to) this.proxies.set(`${from}>${to}`, await TcpProxy.start(this.node(to).grpcPort));
        }
      }
    }
  }

  node(id: number): ClusterNodeProcess {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  #peerAddr(from: number, to: number): string {
    const p = this.proxies.get(`${from}>${to}`);
    return `127.0.0.1:${p?.port ?? this.node(to).grpcPort}`;
  }

  #spawn(id: number): void {
    const n = this.node(id);
    const peers = this.ids.map(
      (to) => `${to}=${to === id ? `127.0.0.1:${n.grpcPort}` : this.#peerAddr(id, to)}`,
    );
    n.spawn(
      {
        ENIGMA_PASSPHRASE: TEST_PASSPHRASE,
        ENIGMA_ACCESS_KEY: ACCESS_KEY,
        ENIGMA_SECRET_KEY: SECRET_KEY,
        ENIGMA_S3_PROXY_LISTEN_ADDR: `127.0.0.1:${n.s3Port}`,
        ENIGMA_OPS_LISTEN_ADDR: `127.0.0.1:${n.opsPort}`,
        ENIGMA_RAFT_NODE_ID: String(id),
        ENIGMA_RAFT_GRPC_ADDR: `127.0.0.1:${n.grpcPort}`,
        ENIGMA_RAFT_PEERS: peers.join(","),
        ENIGMA_RAFT_ELECTION_TIMEOUT_MS: String(this.#o.electionTimeoutMs),
        ENIGMA_RAFT_HEARTBEAT_MS: String(this.#o.heartbeatMs),
        ENIGMA_RAFT_SNAPSHOT_THRESHOLD: String(this.#o.snapshotThreshold),
        ENIGMA_RAFT_REQUEST_TIMEOUT_MS: String(this.#o.requestTimeoutMs),
        ENIGMA_RAFT_CLUSTER_SECRET: CLUSTER_SECRET,
      },
      this.#o.logLevel,
    );
  }

  /** Starts a stopped node again (same dir, same ports). */
  async restart(id: number): Promise<void> {
    if (this.node(id).running) throw new Error(`node ${id} is running`);
    this.#spawn(id);
    await this.waitReady([id]);
  }

  async kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.node(id).kill(signal);
  }

  async waitReady(ids: readonly number[] = this.ids, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const id of ids) {
      const n = this.node(id);
      for (;;) {
        if (!n.running) throw new Error(`node ${id} exited before ready:\n${n.stderr()}`);
        if (await n.ready()) break;
        if (Date.now() > deadline)
          throw new Error(`node ${id} not ready after ${timeoutMs} ms:\n${n.stderr()}`);
        await sleep(50);
      }
    }
  }

  /** The leader as the running nodes see it (the highest term claimed by a running node). */
  async leader(among: readonly number[] = this.ids, timeoutMs = 20_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let best: NodeStatus | undefined;
      for (const id of among) {
        if (!this.node(id).running) continue;
        const st = await this.node(id).status();
        if (st?.role === "leader" && (best === undefined || st.term > best.term)) best = st;
      }
      if (best !== undefined) return best.nodeId;
      if (Date.now() > deadline) throw new Error("no leader");
      await sleep(50);
    }
  }

  /** Cuts node `id` off from every other node (both directions), through the proxies. */
  partition(id: number, mode: Exclude<ProxyMode, "pass"> = "reset"): void {
    if (!this.#o.proxied) throw new Error("partition needs a proxied cluster");
    for (const other of this.ids) {
      if (other === id) continue;
      this.proxies.get(`${id}>${other}`)!.setMode(mode);
      this.proxies.get(`${other}>${id}`)!.setMode(mode);
    }
  }

  heal(): void {
    for (const p of this.proxies.values()) p.setMode("pass");
  }

  client(id: number, opts: { timeoutMs?: number } = {}): S3Client {
    return new S3Client({
      endpoint: this.node(id).s3Url,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      maxAttempts: 1,
      requestHandler: { requestTimeout: opts.timeoutMs ?? 15_000 },
    });
  }

  /** Waits until every running node has applied the same index (and no node is behind its commit). */
  async converged(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const sts = await Promise.all(
        this.ids.filter((id) => this.node(id).running).map((id) => this.node(id).status()),
      );
      const applied = sts.map((s) => s?.appliedIndex);
      const leaders = new Set(sts.map((s) => s?.leaderId));
      if (
        sts.every((s) => s !== undefined && s.appliedIndex === s.commitIndex && s.leaderId > 0) &&
        new Set(applied).size === 1 &&
        leaders.size === 1
      ) {
        return applied[0]!;
      }
      if (Date.now() > deadline) throw new Error(`cluster did not converge: ${JSON.stringify(sts)}`);
      await sleep(100);
    }
  }

  /** The manifest checksum of node `id` (every table, canonical order), read beside the live process. */
  manifestChecksum(id: number): string {
    const m = Manifest.open(join(this.node(id).dir, "manifest.db"), { integrityCheck: "none" });
    try {
      return m.checksum();
    } finally {
      m.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill("SIGKILL")));
    for (const p of this.proxies.values()) await p.stop();
    for (const id of this.#prepared) this.#o.nodeDir.release(id, join(this.root, `n${id}`));
    rmSync(this.root, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
