/**
 * A tiny HTTP forward proxy for fault injection in tests: it relays requests to a target on
 * 127.0.0.1 unchanged (Host header included, so SigV4 signatures still verify) and can answer
 * the next N requests itself with an error status instead (503 by default).
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface FaultProxyFailure {
  readonly count: number;
  readonly status?: number;
  /** Response body; default an S3-style XML error, which every SDK parses well enough. */
  readonly body?: string;
  readonly contentType?: string;
}

export class FaultProxy {
  /** Requests received, including the ones answered with a fault. */
  requestCount = 0;
  faultsServed = 0;
  private pending: { -readonly [K in keyof FaultProxyFailure]-?: FaultProxyFailure[K] } = {
    count: 0,
    status: 503,
    body: "",
    contentType: "",
  };
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<FaultProxy> {
    const t = new URL(target);
    let proxy: FaultProxy | undefined;
    const server = createServer((req, res) => {
      proxy!.requestCount++;
      const p = proxy!.pending;
      if (p.count > 0) {
        p.count--;
        proxy!.faultsServed++;
        // Drain the request body before answering so the client sees a clean response.
        req.resume();
        req.on("end", () => {
          res.writeHead(p.status, {
            "content-type": p.contentType,
            "content-length": Buffer.byteLength(p.body),
          });
          res.end(p.body);
        });
        return;
      }
      const upstream = request(
        {
          host: t.hostname,
          port: t.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => {
        res.destroy();
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    proxy = new FaultProxy(server, `http://127.0.0.1:${port}${t.pathname === "/" ? "" : t.pathname}`);
    server.on("connection", (s) => {
      proxy!.sockets.add(s);
      s.on("close", () => proxy!.sockets.delete(s));
    });
    return proxy;
  }

  failNext(f: FaultProxyFailure): void {
    const status = f.status ?? 503;
    this.pending = {
      count: f.count,
      status,
      body:
        f.body ??
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected ${status}</Message></Error>`,
      contentType: f.contentType ?? "application/xml",
    };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
