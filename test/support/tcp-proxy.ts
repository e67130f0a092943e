/**
 * A fault-injecting TCP proxy on 127.0.0.1 for cluster tests: put one in front of each directed
 * node-to-node link (node i dials node j through proxy i→j) and cut links at will.
 *
 * - `pass`: bytes flow both ways.
 * - `reset`: every connection is destroyed and new ones are closed at once (a REJECT firewall).
 * - `blackhole`: connections stay open but nothing is delivered either way (a DROP firewall);
 *   calls hang until their deadlines. Returning to `pass` destroys the blackholed connections, so
 *   clients reconnect promptly instead of waiting for keepalives.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export type ProxyMode = "pass" | "reset" | "blackhole";

interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
}

export class TcpProxy {
  readonly port: number;
  #mode: ProxyMode = "pass";
  readonly #pairs = new Set<Pair>();
  /** Connections accepted since start. */
  connections = 0;

  private constructor(
    private readonly server: Server,
    port: number,
    private readonly targetPort: number,
  ) {
    this.port = port;
  }

  static async start(targetPort: number, listenPort = 0): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => proxy!.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(listenPort, "127.0.0.1", () => resolve());
    });
    const addr = server.address();
    const port = typeof addr === "object" && addr !== null ? addr.port : 0;
    proxy = new TcpProxy(server, port, targetPort);
    return proxy;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  setMode(mode: ProxyMode): void {
    const previous = this.#mode;
    this.#mode = mode;
    if (mode === "reset" || (previous === "blackhole" && mode === "pass")) {
      for (const p of this.#pairs) this.#destroy(p);
    }
  }

  #accept(client: Socket): void {
    this.connections++;
    if (this.#mode === "reset") {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined };
    this.#pairs.add(pair);
    client.on("error", () => this.#destroy(pair));
    client.on("close", () => this.#destroy(pair));
    const upstream = createConnection({ host: "127.0.0.1", port: this.targetPort });
    pair.upstream = upstream;
    upstream.on("error", () => this.#destroy(pair));
    upstream.on("close", () => this.#destroy(pair));
    client.on("data", (b: Buffer) => {
      if (this.#mode === "pass" && !upstream.destroyed) upstream.write(b);
    });
    upstream.on("data", (b: Buffer) => {
      if (this.#mode === "pass" && !client.destroyed) client.write(b);
    });
  }

  #destroy(p: Pair): void {
    if (!this.#pairs.delete(p)) return;
    p.client.destroy();
    p.upstream?.destroy();
  }

  async stop(): Promise<void> {
    for (const p of this.#pairs) this.#destroy(p);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
