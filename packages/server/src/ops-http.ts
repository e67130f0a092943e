/**
 * The ops port: /livez (process up), /readyz (ready to serve; `?noleader` skips the leader and
 * apply checks, for liveness-style probes), /status (JSON), /metrics (Prometheus text, optionally
 * behind a bearer token). Kept apart from the S3 port so probes and scrapes never compete with
 * client traffic or need S3 credentials.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReadinessOptions {
  /** False for `/readyz?noleader`: only the process phase and the Raft driver being up count. */
  readonly requireLeader: boolean;
}

export interface OpsHandlers {
  /** Null when ready, else the reason (returned as 503 text). */
  readiness(opts: ReadinessOptions): string | null;
  status(): unknown;
  /** Prometheus exposition; absent: /metrics answers 404. */
  metrics?(): Promise<{ contentType: string; body: string }>;
  /**
   * The bearer token /metrics requires: undefined = open; null = configured but not usable yet
   * (an `enc:` token before the keystore is open) → 503.
   */
  metricsToken?(): string | undefined | null;
}

/**
 * `enigma serve`'s readiness: the process phase first, then its seal workers (a node whose seal
 * workers all died, and are not back yet, would fail every PUT), then the cluster's own checks.
 * Null when ready, else the reason.
 */
export function nodeReadiness(
  phase: "starting" | "serving" | "stopping",
  sealWorkersAlive: number | null,
  cluster: ((o: ReadinessOptions) => string | null) | undefined,
  opts: ReadinessOptions,
): string | null {
  if (phase !== "serving") return phase;
  if (sealWorkersAlive === 0) return "no live seal worker (restarting; see the error log)";
  return cluster?.(opts) ?? null;
}

export interface RunningOps {
  readonly port: number;
  close(): Promise<void>;
}

/** Constant-time comparison (hashing first makes the time independent of the lengths too). */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

function bearer(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return m?.[1];
}

export async function startOpsServer(host: string, port: number, handlers: OpsHandlers): Promise<RunningOps> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://ops");
    const path = url.pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/livez") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const reason = handlers.readiness({ requireLeader: !url.searchParams.has("noleader") });
      res.writeHead(reason === null ? 200 : 503, { "Content-Type": "text/plain" }).end(`${reason ?? "ok"}\n`);
    } else if (path === "/status") {
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(`${JSON.stringify(handlers.status())}\n`);
    } else if (path === "/metrics" && handlers.metrics !== undefined) {
      const token = handlers.metricsToken?.();
      if (token === null) {
        res.writeHead(503, { "Content-Type": "text/plain" }).end("metrics token not loaded yet\n");
        return;
      }
      if (token !== undefined) {
        const given = bearer(req.headers.authorization);
        if (given === undefined || !tokenMatches(given, token)) {
          res
            .writeHead(401, { "Content-Type": "text/plain", "WWW-Authenticate": 'Bearer realm="metrics"' })
            .end("unauthorized\n");
          return;
        }
      }
      handlers.metrics().then(
        ({ contentType, body }) => res.writeHead(200, { "Content-Type": contentType }).end(body),
        (err: unknown) =>
          res.writeHead(500, { "Content-Type": "text/plain" }).end(`metrics failed: ${String(err)}\n`),
      );
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
    }
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i).replace(/^\[|\]$/g, "");
  return { host, port: Number(addr.slice(i + 1)) };
}
