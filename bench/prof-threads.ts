/**
 * Per-thread CPU of one node during 1 GiB PUTs and GETs (what `pnpm bench` cannot show): starts a
 * node, PUTs and GETs ROUNDS (default 3) unique objects, and prints for each the throughput, the
 * server's CPU seconds per thread (from /proc/<pid>/task/<tid>/stat; the lowest tid is the main
 * thread) and the client's. Run: `node scripts/build.mjs && tsx bench/prof-threads.ts`.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UniqueBody } from "./support/data.js";
import { createBucket, get, newAgent, put, type Target } from "./support/http.js";
import { ACCESS_KEY, SECRET_KEY, startNode } from "./support/node-process.js";

const MiB = 1024 * 1024;
function threads(pid: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const name = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"));
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(f[11]) + Number(f[12]);
      m.set(`${name}#${t}`, ticks);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return m;
}
function self(): number {
  const f = readFileSync("/proc/self/stat", "utf8");
  const x = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(x[11]) + Number(x[12]);
}
const dir = mkdtempSync(join(tmpdir(), "enigma-prof-"));
const node = await startNode(dir);
const gw: Target = {
  port: node.s3Port,
  accessKeyId: ACCESS_KEY,
  secretAccessKey: SECRET_KEY,
  region: "us-east-1",
  agent: newAgent(4),
};
await createBucket(gw, "bench");
const bytes = 1024 * MiB;
for (let round = 0; round < Number(process.env.ROUNDS ?? 3); round++) {
  const a = threads(node.child.pid!);
  const s0 = self();
  const t0 = performance.now();
  await put(gw, "/bench/big", new UniqueBody(bytes, 100 + round), bytes);
  const secs = (performance.now() - t0) / 1000;
  const b = threads(node.child.pid!);
  const s1 = self();
  const rows: string[] = [];
  let total = 0;
  const agg = new Map<string, number>();
  for (const [k, v] of b) {
    const d = (v - (a.get(k) ?? 0)) / 100;
    total += d;
    const name = k;
    agg.set(name, (agg.get(name) ?? 0) + d);
  }
  for (const [k, v] of [...agg].sort((x, y) => y[1] - x[1])) if (v > 0.01) rows.push(`${k}=${v.toFixed(2)}`);
  const a2 = threads(node.child.pid!);
  const g0 = performance.now();
  await get(gw, "/bench/big");
  const gs = (performance.now() - g0) / 1000;
  const b2 = threads(node.child.pid!);
  let gtot = 0;
  const grows: string[] = [];
  for (const [k, v] of b2) {
    const d = (v - (a2.get(k) ?? 0)) / 100;
    gtot += d;
    if (d > 0.02) grows.push(`${k}=${d.toFixed(2)}`);
  }
  const st = readFileSync(`/proc/${node.child.pid}/status`, "utf8");
  const kb = (f: string) => Math.round(Number(new RegExp(`${f}:\\s+(\\d+)`).exec(st)?.[1] ?? 0) / 1024);
  console.log(
    `GET ${(bytes / 1e6 / gs).toFixed(0)} MB/s server CPU ${gtot.toFixed(2)} s ${grows.join(" ")}; RSS ${kb("VmRSS")} MiB, peak ${kb("VmHWM")} MiB`,
  );
  console.log(
    `PUT ${(bytes / 1e6 / secs).toFixed(0)} MB/s wall ${secs.toFixed(2)} s; server CPU ${total.toFixed(2)} s; client ${((s1 - s0) / 100).toFixed(2)} s; ${rows.join(" ")}`,
  );
}
await node.stop();
