import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
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
  close(): Promise<void>;
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
  server.on("request", handler);
  server.on("checkContinue", handler);
  server.on("checkExpectation", handler);
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // In-flight requests get a short grace, then their sockets are cut.
        setTimeout(() => server.closeAllConnections(), 2_000).unref();
      }),
  };
}
