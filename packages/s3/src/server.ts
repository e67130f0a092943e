import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { createSecureContext } from "node:tls";
import { S3Error } from "./errors.js";
import { createS3Handler, type S3HandlerOptions } from "./handler.js";
import { renderErrorXml } from "./http/error-body.js";
import {
  HEADERS_TIMEOUT_MS,
  KEEP_ALIVE_TIMEOUT_MS,
  NODE_MAX_HEADER_BYTES,
  REQUEST_TIMEOUT_MS,
  SOCKET_IDLE_TIMEOUT_MS,
} from "./limits.js";

export interface S3ServerOptions extends S3HandlerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** PEM certificate chain and key: HTTPS when both are given (config `tls_cert` / `tls_key`). */
  tls?: { certPem: string | Buffer; keyPem: string | Buffer };
}

export interface RunningS3Server {
  port: number;
  /** `http(s)://host:port` */
  url: string;
  /**
   * Stops accepting connections and lets in-flight requests finish: idle keep-alive connections
   * are closed at once and every connection as soon as its request is answered (later responses
   * carry `Connection: close`). After `graceMs` (default 2 s) the remaining sockets are cut.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
  /**
   * HTTPS only: new handshakes use this certificate and key (certificate rotation); open
   * connections keep the old one. Throws, changing nothing, if the PEM is unusable.
   */
  reloadTls(tls: { certPem: string | Buffer; keyPem: string | Buffer }): void;
}

/** Answer for requests Node's parser rejected before any handler ran (e.g. headers over its limit). */
function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const code = err.code === "HPE_HEADER_OVERFLOW" ? "RequestHeaderSectionTooLarge" : "InvalidRequest";
  const error = new S3Error(
    code,
    code === "InvalidRequest" ? "The HTTP request could not be parsed." : undefined,
  );
  const body = renderErrorXml(error, "/", "");
  socket.end(
    `HTTP/1.1 ${error.status} Bad Request\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export async function startS3Server(options: S3ServerOptions): Promise<RunningS3Server> {
  const handler = createS3Handler(options);
  const serverOptions = {
    maxHeaderSize: NODE_MAX_HEADER_BYTES,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  };
  const server: Server =
    options.tls === undefined
      ? createHttpServer(serverOptions)
      : createHttpsServer({ ...serverOptions, cert: options.tls.certPem, key: options.tls.keyPem });
  let closing = false;
  // While draining, every answer closes its connection, so clients reconnect elsewhere.
  const serve: typeof handler = (req, res) => {
    if (closing) res.shouldKeepAlive = false;
    handler(req, res);
  };
  server.on("request", serve);
  server.on("checkContinue", serve);
  server.on("checkExpectation", serve);
  server.on("clientError", onClientError);
  server.setTimeout(SOCKET_IDLE_TIMEOUT_MS);
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = options.tls === undefined ? "http" : "https";
  return {
    port,
    url: `${scheme}://${host}:${port}`,
    close: (opts = {}) =>
      new Promise<void>((resolve) => {
        closing = true;
        const graceMs = opts.graceMs ?? 2_000;
        // Connections whose request was answered become idle: close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        // In-flight requests get the grace, then their sockets are cut.
        const cut = setTimeout(() => server.closeAllConnections(), graceMs);
        cut.unref();
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      }),
    reloadTls(tls) {
      if (options.tls === undefined)
        throw new Error("the S3 port runs without TLS: enabling it needs a restart");
      // createSecureContext validates (key matches certificate) before the server switches.
      createSecureContext({ cert: tls.certPem, key: tls.keyPem });
      (server as unknown as { setSecureContext(o: object): void }).setSecureContext({
        cert: tls.certPem,
        key: tls.keyPem,
      });
    },
  };
}
