/** BENCH HELPER: start/stop a real `enigma serve` process on free ports, and read its peak RSS. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI_BIN = join(REPO_ROOT, "packages", "cli", "bin", "enigma.mjs");
export const ACCESS_KEY = "bench-access";
export const SECRET_KEY = "bench-secret-key-0001";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface BenchNode {
  readonly child: ChildProcess;
  readonly s3Port: number;
  readonly opsPort: number;
  stop(): Promise<void>;
}

export async function startNode(dataDir: string, extraEnv: Record<string, string> = {}): Promise<BenchNode> {
  const s3Port = await freePort();
  const opsPort = await freePort();
  // BENCH_NODE_ARGS: extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, CLI_BIN, "serve", "--data-dir", dataDir], {
    env: {
      ...process.env,
      ENIGMA_PASSPHRASE: "bench passphrase",
      ENIGMA_ACCESS_KEY: ACCESS_KEY,
      ENIGMA_SECRET_KEY: SECRET_KEY,
      ENIGMA_S3_PROXY_LISTEN_ADDR: `127.0.0.1:${s3Port}`,
      ENIGMA_OPS_LISTEN_ADDR: `127.0.0.1:${opsPort}`,
      ENIGMA_RAFT_GRPC_ADDR: `127.0.0.1:${await freePort()}`,
      ENIGMA_OPS_LOG_LEVEL: "warn",
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr?.resume();
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`enigma serve exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${opsPort}/readyz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    s3Port,
    opsPort,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

/** VmHWM (peak resident set) of a live process, in bytes. */
export function peakRssBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}
