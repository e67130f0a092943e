/**
 * deploy/Dockerfile, checked for structure (no Docker engine here to build it): a builder and a
 * slim runtime stage on the same base (native addons are compiled for it), non-root user, /data
 * volume, ports, /readyz health check, entrypoint, and no secret baked in. The health check script
 * itself is run against a local HTTP server.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/cli.js";
import {
  DEPLOY_DIR,
  DOCKERFILE,
  HEALTHCHECK_SCRIPT,
  type ParsedDockerfile,
  parseDockerfile,
  portOf,
  stageEnv,
} from "./helpers.js";

const text = readFileSync(DOCKERFILE, "utf8");
const parsed: ParsedDockerfile = parseDockerfile(text);
const build = parsed.stages[0];
const runtime = parsed.stages.at(-1);

function ops(stage: typeof build, op: string): string[] {
  return (stage?.instructions ?? []).filter((i) => i.op === op).map((i) => i.args);
}

describe("Dockerfile", () => {
  it("has a node:20-bookworm-slim builder and a runtime stage on the same base", () => {
    expect(parsed.stages.map((s) => s.name)).toEqual(["build", "runtime"]);
    expect(build?.from).toBe("node:20-bookworm-slim");
    expect(runtime?.from).toBe(build?.from);
  });

  it("builds with pnpm 10, the native toolchain, the frozen lockfile, the bundle and a prod deploy", () => {
    const runs = ops(build, "RUN").join("\n");
    expect(runs).toMatch(/apt-get install[^\n]*\bpython3\b[^\n]*\bmake\b[^\n]*\bg\+\+/);
    expect(runs).toContain("npm i -g pnpm@10");
    expect(runs).toMatch(/pnpm install --frozen-lockfile/);
    expect(runs).toContain("node scripts/build.mjs");
    expect(runs).toMatch(/pnpm --filter @enigma\/cli deploy --prod/);
    // The bundle runs from dist, resolving the native addons from the deployed node_modules.
    expect(runs).toMatch(/cp -r packages\/cli\/dist \/out\/dist/);
    expect(ops(runtime, "COPY")).toContainEqual(expect.stringMatching(/^--from=build\b.*\/out \/app$/));
    // No compiler or package installation in the runtime stage.
    expect(ops(runtime, "RUN").join("\n")).not.toMatch(/apt-get|g\+\+|pnpm|npm i/);
  });

  it("ships what the bundle leaves external: a cli dependency, native ones built by pnpm", () => {
    const buildScript = readFileSync(join(REPO_ROOT, "scripts", "build.mjs"), "utf8");
    const external = /external:\s*\[([^\]]*)\]/.exec(buildScript)?.[1];
    expect(external).toBeDefined();
    const externals = [...(external ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
    expect(externals.length).toBeGreaterThan(0);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      pnpm?: { onlyBuiltDependencies?: string[] };
    };
    const cli = JSON.parse(readFileSync(join(REPO_ROOT, "packages", "cli", "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    for (const name of externals) {
      // `pnpm --filter @enigma/cli deploy --prod` copies only the cli's own dependencies.
      expect(Object.keys(cli.dependencies ?? {}), name).toContain(name);
      // A native addon (node-gyp) must be allowed to run its build in the image's install step.
      const native = existsSync(join(REPO_ROOT, "packages", "cli", "node_modules", name, "binding.gyp"));
      if (native) expect(pkg.pnpm?.onlyBuiltDependencies, name).toContain(name);
    }
  });

  it("copies only files that exist", () => {
    const sources: string[] = [];
    for (const c of ops(build, "COPY")) {
      const parts = c.split(/\s+/).filter((p) => !p.startsWith("--"));
      sources.push(...parts.slice(0, -1).filter((p) => p !== "."));
    }
    for (const r of ops(build, "RUN"))
      for (const m of r.matchAll(/\b(deploy\/docker\/[\w.-]+)/g)) sources.push(m[1] as string);
    expect(sources).toContain("deploy/docker/healthcheck.mjs");
    expect(sources).toContain("deploy/docker/statefulset-env.sh");
    for (const s of sources) expect(existsSync(join(REPO_ROOT, s)), s).toBe(true);
  });

  it("runs as the non-root uid 10001 with /data as the volume", () => {
    const users = ops(runtime, "USER");
    expect(users).toEqual(["10001:10001"]);
    // The last USER wins and comes after everything that needs root.
    const order = (runtime?.instructions ?? []).map((i) => i.op);
    expect(order.lastIndexOf("RUN")).toBeLessThan(order.indexOf("USER"));
    expect(ops(runtime, "RUN").join("\n")).toMatch(/useradd[^\n]*--uid 10001/);
    expect(ops(runtime, "RUN").join("\n")).toMatch(/chown 10001:10001 \/data/);
    expect(ops(runtime, "VOLUME")).toEqual(['["/data"]']);
  });

  it("exposes the S3, Raft and ops ports the image's listen addresses use", () => {
    const exposed = ops(runtime, "EXPOSE").flatMap((e) => e.split(/\s+/));
    expect(exposed.sort()).toEqual(["8333", "8433", "9000"]);
    const env = stageEnv(runtime as NonNullable<typeof runtime>);
    expect(env.ENIGMA_S3_PROXY_LISTEN_ADDR).toBe("0.0.0.0:8333");
    expect(env.ENIGMA_OPS_LISTEN_ADDR).toBe("0.0.0.0:8433");
    expect(env.ENIGMA_RAFT_GRPC_ADDR).toBe("0.0.0.0:9000");
    for (const addr of [
      env.ENIGMA_S3_PROXY_LISTEN_ADDR,
      env.ENIGMA_OPS_LISTEN_ADDR,
      env.ENIGMA_RAFT_GRPC_ADDR,
    ])
      expect(exposed).toContain(String(portOf(addr ?? "")));
  });

  it("health-checks /readyz with node, and starts `enigma serve --data-dir /data`", () => {
    const hc = ops(runtime, "HEALTHCHECK");
    expect(hc).toHaveLength(1);
    expect(hc[0]).toMatch(/CMD \["node", "\/app\/bin\/healthcheck\.mjs"\]$/);
    expect(hc[0]).toMatch(/--start-period=\d+s/);
    const script = readFileSync(HEALTHCHECK_SCRIPT, "utf8");
    expect(script).toContain("http://127.0.0.1:");
    expect(script).toContain("/readyz");
    expect(script).toContain('"8433"');
    expect(ops(runtime, "ENTRYPOINT")).toEqual(['["node", "/app/bin/enigma.mjs"]']);
    expect(ops(runtime, "CMD")).toEqual(['["serve", "--data-dir", "/data"]']);
  });

  it("bakes no secret in: no secret-named ENV/ARG, no keystore or passphrase file copied", () => {
    const secretName = /PASSPHRASE|SECRET|PASSWORD|TOKEN|ACCESS_KEY|CREDENTIAL/i;
    for (const stage of parsed.stages) {
      for (const k of Object.keys(stageEnv(stage))) expect(k).not.toMatch(secretName);
      for (const a of ops(stage, "ARG")) expect(a).not.toMatch(secretName);
    }
    for (const k of parsed.args.keys()) expect(k).not.toMatch(secretName);
    expect(text).not.toMatch(/keystore\.enigma|\.passphrase|enc:v1:/);
    // The build context leaves out local state that could hold secrets (data dirs, git history).
    const ignore = readFileSync(join(DEPLOY_DIR, "Dockerfile.dockerignore"), "utf8").split("\n");
    for (const p of ["**/node_modules", "**/dist", "data", "lab", ".git"]) expect(ignore).toContain(p);
  });
});

describe("healthcheck.mjs", () => {
  let status = 200;
  let server: Server;
  let port = 0;
  const paths: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? "");
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 200 ? "ok" : "no leader");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  function runCheck(env: Record<string, string>): Promise<number> {
    return new Promise((resolve) => {
      execFile(process.execPath, [HEALTHCHECK_SCRIPT], { env: { ...env }, timeout: 10_000 }, (err) =>
        resolve(err ? (typeof err.code === "number" ? err.code : 99) : 0),
      );
    });
  }

  it("exits 0 on 200 from /readyz and 1 otherwise, on the ops port from the environment", async () => {
    status = 200;
    expect(await runCheck({ ENIGMA_OPS_LISTEN_ADDR: `0.0.0.0:${port}` })).toBe(0);
    expect(paths.at(-1)).toBe("/readyz");
    status = 503;
    expect(await runCheck({ ENIGMA_OPS_LISTEN_ADDR: `0.0.0.0:${port}` })).toBe(1);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await runCheck({ ENIGMA_OPS_LISTEN_ADDR: `0.0.0.0:${deadPort}` })).toBe(1);
  });
});
