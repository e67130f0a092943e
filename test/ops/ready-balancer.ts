/**
 * A TCP load balancer over the S3 ports of a test cluster that routes only to nodes whose
 * `/readyz` answers 200 — what a Kubernetes Service over ready pods (or a compose-side proxy with
 * health checks) gives clients. Readiness is polled every 100 ms; each new client connection goes
 * to the next ready node (round robin); a refused upstream connect is retried on the next ready
 * node. Bytes are piped untouched. 127.0.0.1 only.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface Upstream {
  readonly s3Port: number;
  readonly opsUrl: string;
}

const POLL_MS = 100;
const CONNECT_ATTEMPTS = 3;

export class ReadyBalancer {
  readonly #upstreams: Upstream[];
  readonly #ready = new Set<number>();
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  port = 0;

  private constructor(upstreams: Upstream[]) {
    this.#upstreams = upstreams;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(upstreams: readonly Upstream[]): Promise<ReadyBalancer> {
    const lb = new ReadyBalancer([...upstreams]);
    await lb.#poll();
    lb.#timer = setInterval(() => void lb.#poll(), POLL_MS);
    await new Promise<void>((resolve) => lb.#server.listen(0, "127.0.0.1", resolve));
    lb.port = (lb.#server.address() as { port: number }).port;
    return lb;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      await Promise.all(
        this.#upstreams.map(async (u, i) => {
          let ok = false;
          try {
            const r = await fetch(`${u.opsUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
            ok = r.status === 200;
            await r.body?.cancel();
          } catch {}
          if (ok) this.#ready.add(i);
          else this.#ready.delete(i);
        }),
      );
    } finally {
      this.#polling = false;
    }
  }

  #pick(exclude: ReadonlySet<number>): number | undefined {
    const n = this.#upstreams.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      if (this.#ready.has(i) && !exclude.has(i)) {
        this.#next = (i + 1) % n;
        return i;
      }
    }
    return undefined;
  }

  #accept(client: Socket): void {
    this.#sockets.add(client);
    client.once("close", () => this.#sockets.delete(client));
    client.on("error", () => client.destroy());
    client.pause();
    const tried = new Set<number>();
    const attempt = () => {
      const i = this.#pick(tried);
      if (i === undefined || tried.size >= CONNECT_ATTEMPTS) {
        client.destroy();
        return;
      }
      tried.add(i);
      const up = createConnection({ host: "127.0.0.1", port: this.#upstreams[i]!.s3Port });
      this.#sockets.add(up);
      up.once("close", () => this.#sockets.delete(up));
      let connected = false;
      up.once("connect", () => {
        connected = true;
        client.pipe(up);
        up.pipe(client);
        client.resume();
        client.once("close", () => up.destroy());
        // end (flush what was piped), never destroy: the answer's last bytes may still be queued.
        up.once("close", () => client.end());
      });
      up.on("error", () => {
        if (!connected) {
          this.#ready.delete(i);
          attempt();
        } else client.destroy();
      });
    };
    attempt();
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
