/**
 * The ops port: /livez (process up), /readyz (ready to serve), /status (JSON). Kept apart from the
 * S3 port so probes and scrapes never compete with client traffic or need S3 credentials.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface OpsHandlers {
  /** Null when ready, else the reason (returned as 503 text). */
  readiness(): string | null;
  status(): unknown;
}

export interface RunningOps {
  readonly port: number;
  close(): Promise<void>;
}

export async function startOpsServer(host: string, port: number, handlers: OpsHandlers): Promise<RunningOps> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/livez") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
    } else if (path === "/readyz") {
      const reason = handlers.readiness();
      res.writeHead(reason === null ? 200 : 503, { "Content-Type": "text/plain" }).end(`${reason ?? "ok"}\n`);
    } else if (path === "/status") {
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(`${JSON.stringify(handlers.status())}\n`);
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
