/** BENCH HELPER: signed PUT/GET over node:http with a keep-alive agent. */
import { Agent, request } from "node:http";
import type { Readable } from "node:stream";
import { signUnsignedPayload } from "./sigv4.js";

export interface Target {
  readonly port: number;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly agent: Agent;
}

export function newAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

function headersFor(t: Target, method: string, path: string): Record<string, string> {
  return signUnsignedPayload({
    method,
    host: `127.0.0.1:${t.port}`,
    path,
    accessKeyId: t.accessKeyId,
    secretAccessKey: t.secretAccessKey,
    region: t.region,
  });
}

/** PUT `body` (a Buffer or a stream of `length` bytes); resolves with the status. */
export function put(t: Target, path: string, body: Buffer | Readable, length: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: t.port,
        method: "PUT",
        path,
        agent: t.agent,
        headers: { ...headersFor(t, "PUT", path), "content-length": String(length) },
      },
      (res) => {
        let body = "";
        res.on("data", (b: Buffer) => {
          if (body.length < 2048) body += b.toString();
        });
        res.on("end", () => {
          if ((res.statusCode ?? 0) >= 300 && process.env.BENCH_DEBUG)
            process.stderr.write(`${path}: ${body}\n`);
          resolve(res.statusCode ?? 0);
        });
      },
    );
    req.on("error", reject);
    if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

/** GET and discard; resolves with the byte count (throws on a non-200). */
export function get(t: Target, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: t.port,
        method: "GET",
        path,
        agent: t.agent,
        headers: headersFor(t, "GET", path),
      },
      (res) => {
        let n = 0;
        res.on("data", (b: Buffer) => {
          n += b.length;
        });
        res.on("end", () =>
          res.statusCode === 200 ? resolve(n) : reject(new Error(`GET ${path}: ${res.statusCode}`)),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

export async function createBucket(t: Target, bucket: string): Promise<void> {
  const status = await put(t, `/${bucket}`, Buffer.alloc(0), 0);
  if (status !== 200 && status !== 409) throw new Error(`CreateBucket ${bucket}: ${status}`);
}
