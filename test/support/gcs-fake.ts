/**
 * A FAKE of the Google Cloud Storage JSON API, for tests only. It is not Google's service nor an
 * official emulator: it implements just what @google-cloud/storage uses for objects — bucket get
 * and insert, object insert (uploadType=media, multipart and resumable), metadata and media
 * download, delete, and list with prefix / maxResults / pageToken — in memory, on 127.0.0.1,
 * without authentication. It computes md5 and crc32c like GCS, so the client's end-to-end
 * checksum validation runs against it, and it can inject failures (`failNext`).
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

interface FakeObject {
  readonly data: Buffer;
  readonly generation: string;
  readonly contentType: string;
  readonly storageClass: string;
  readonly metadata: Record<string, string> | undefined;
  readonly updated: string;
}

interface ResumableSession {
  readonly bucket: string;
  readonly name: string;
  readonly meta: Record<string, unknown>;
  chunks: Buffer[];
  received: number;
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as GCS reports it: big-endian, base64. */
export function crc32cBase64(data: Buffer): string {
  let c = 0xffffffff;
  for (const byte of data) c = CRC32C_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}

const md5Base64 = (data: Buffer) => createHash("md5").update(data).digest("base64");

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface GcsFakeOptions {
  /** Buckets that exist from the start. */
  readonly buckets?: readonly string[];
}

export class GcsFake {
  private readonly buckets = new Map<string, Map<string, FakeObject>>();
  private readonly sessions = new Map<string, ResumableSession>();
  private readonly sockets = new Set<Socket>();
  private failures: { count: number; status: number } = { count: 0, status: 503 };
  private generation = 1_700_000_000_000_000;
  /** Requests served (including injected failures), for tests that count retries. */
  requestCount = 0;
  /** uploadType of each object insert, in order (media | multipart | resumable). */
  readonly uploadTypes: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(opts: GcsFakeOptions = {}): Promise<GcsFake> {
    let fake: GcsFake | undefined;
    const server = createServer((req, res) => {
      void fake!.handle(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    fake = new GcsFake(server, `http://127.0.0.1:${port}`);
    server.on("connection", (s) => {
      fake!.sockets.add(s);
      s.on("close", () => fake!.sockets.delete(s));
    });
    for (const b of opts.buckets ?? []) fake.createBucket(b);
    return fake;
  }

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  /** The next `count` requests fail with `status` (503 by default) and a GCS error body. */
  failNext(count: number, status = 503): void {
    this.failures = { count, status };
  }

  objectCount(bucket: string): number {
    return this.buckets.get(bucket)?.size ?? 0;
  }

  /** Stops listening and drops open connections: the provider is down. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requestCount++;
    try {
      const body = await readBody(req);
      if (this.failures.count > 0) {
        this.failures.count--;
        const s = this.failures.status;
        throw new HttpError(s, s === 429 ? "rateLimitExceeded" : "backendError", `injected failure ${s}`);
      }
      this.route(req, res, body);
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, "backendError", String(err));
      sendJson(res, e.status, {
        error: {
          code: e.status,
          message: e.message,
          errors: [{ domain: "global", reason: e.reason, message: e.message }],
        },
      });
    }
  }

  private route(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? "/", this.endpoint);
    // Object names arrive percent-encoded in one path segment ("a%2Fb"); split before decoding.
    const parts = url.pathname.split("/").filter((p) => p !== "");
    const method = req.method ?? "GET";
    const q = url.searchParams;
    // /upload/storage/v1/b/{bucket}/o
    if (
      parts[0] === "upload" &&
      parts[1] === "storage" &&
      parts[3] === "b" &&
      parts[5] === "o" &&
      parts.length === 6
    ) {
      const bucket = decodeURIComponent(parts[4]!);
      if (method === "PUT" || q.has("upload_id")) {
        this.resumableChunk(req, res, q.get("upload_id") ?? "", body);
        return;
      }
      if (method === "POST") {
        this.insert(req, res, bucket, q, body);
        return;
      }
    }
    let rest = parts;
    if (parts[0] === "download") rest = parts.slice(1);
    if (rest[0] !== "storage" || rest[1] !== "v1" || rest[2] !== "b")
      throw new HttpError(404, "notFound", "no route");
    if (rest.length === 3 && method === "POST") {
      const { name } = JSON.parse(body.toString() || "{}") as { name?: string };
      if (!name) throw new HttpError(400, "invalid", "bucket name required");
      this.createBucket(name);
      sendJson(res, 200, this.bucketResource(name));
      return;
    }
    const bucket = decodeURIComponent(rest[3] ?? "");
    const objects = this.buckets.get(bucket);
    if (!objects) throw new HttpError(404, "notFound", `bucket ${bucket} not found`);
    if (rest.length === 4 && method === "GET") {
      sendJson(res, 200, this.bucketResource(bucket));
      return;
    }
    if (rest[4] !== "o") throw new HttpError(404, "notFound", "no route");
    if (rest.length === 5 && method === "GET") {
      this.list(res, bucket, objects, q);
      return;
    }
    if (rest.length !== 6) throw new HttpError(404, "notFound", "no route");
    const name = decodeURIComponent(rest[5]!);
    const obj = objects.get(name);
    if (method === "DELETE") {
      if (!obj) throw new HttpError(404, "notFound", `No such object: ${bucket}/${name}`);
      objects.delete(name);
      res.writeHead(204).end();
      return;
    }
    if (method === "GET") {
      if (!obj) throw new HttpError(404, "notFound", `No such object: ${bucket}/${name}`);
      if (q.get("alt") === "media") {
        res.writeHead(200, {
          "content-type": obj.contentType,
          "content-length": obj.data.length,
          "x-goog-hash": `crc32c=${crc32cBase64(obj.data)},md5=${md5Base64(obj.data)}`,
          "x-goog-generation": obj.generation,
          "x-goog-stored-content-length": obj.data.length,
          "x-goog-stored-content-encoding": "identity",
        });
        res.end(obj.data);
        return;
      }
      sendJson(res, 200, this.objectResource(bucket, name, obj));
      return;
    }
    throw new HttpError(405, "notImplemented", `${method} not supported by the fake`);
  }

  private insert(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    q: URLSearchParams,
    body: Buffer,
  ): void {
    if (!this.buckets.has(bucket)) throw new HttpError(404, "notFound", `bucket ${bucket} not found`);
    const uploadType = q.get("uploadType") ?? "media";
    this.uploadTypes.push(uploadType);
    if (uploadType === "media") {
      const name = q.get("name");
      if (!name) throw new HttpError(400, "required", "name is required");
      sendJson(res, 200, this.store(bucket, name, body, { contentType: req.headers["content-type"] }));
      return;
    }
    if (uploadType === "multipart") {
      const [metaPart, mediaPart] = parseMultipartRelated(req.headers["content-type"] ?? "", body) as [
        Buffer,
        Buffer,
      ];
      const meta = JSON.parse(metaPart.toString() || "{}") as Record<string, unknown>;
      const name = (q.get("name") ?? meta.name) as string | undefined;
      if (!name) throw new HttpError(400, "required", "name is required");
      checkHashes(meta, mediaPart);
      sendJson(res, 200, this.store(bucket, name, mediaPart, meta));
      return;
    }
    if (uploadType === "resumable") {
      const meta = JSON.parse(body.toString() || "{}") as Record<string, unknown>;
      const name = (q.get("name") ?? meta.name) as string | undefined;
      if (!name) throw new HttpError(400, "required", "name is required");
      const id = randomUUID();
      this.sessions.set(id, { bucket, name, meta, chunks: [], received: 0 });
      const location = `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}`;
      res.writeHead(200, { location, "content-length": 0 }).end();
      return;
    }
    throw new HttpError(400, "invalid", `uploadType ${uploadType} not supported by the fake`);
  }

  /** PUT to a resumable session: Content-Range "bytes a-b/total", "bytes a-*\/total" or "bytes *\/total". */
  private resumableChunk(req: IncomingMessage, res: ServerResponse, id: string, body: Buffer): void {
    const s = this.sessions.get(id);
    if (!s) throw new HttpError(404, "notFound", "no such upload session");
    const range = String(req.headers["content-range"] ?? `bytes 0-${body.length - 1}/${body.length}`);
    const m = /^bytes (\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(range);
    if (!m) throw new HttpError(400, "invalid", `bad Content-Range ${range}`);
    const total = m[4] === "*" ? undefined : Number(m[4]);
    if (m[1] !== "*") {
      const start = Number(m[2]);
      if (start !== s.received)
        throw new HttpError(400, "invalid", `chunk starts at ${start}, have ${s.received}`);
      s.chunks.push(body);
      s.received += body.length;
    }
    // "a-*" streams the rest of the object in this request: its end is the object's end.
    const complete = (total !== undefined && s.received === total) || m[3] === "*";
    if (!complete) {
      const headers: Record<string, string | number> = { "content-length": 0 };
      if (s.received > 0) headers.range = `bytes=0-${s.received - 1}`;
      res.writeHead(308, headers).end();
      return;
    }
    const data = Buffer.concat(s.chunks);
    this.sessions.delete(id);
    checkGoogHash(req.headers["x-goog-hash"], data);
    checkHashes(s.meta, data);
    sendJson(res, 200, this.store(s.bucket, s.name, data, s.meta));
  }

  private store(
    bucket: string,
    name: string,
    data: Buffer,
    meta: Record<string, unknown>,
  ): Record<string, unknown> {
    const obj: FakeObject = {
      data,
      generation: String(this.generation++),
      contentType: typeof meta.contentType === "string" ? meta.contentType : "application/octet-stream",
      storageClass: typeof meta.storageClass === "string" ? meta.storageClass : "STANDARD",
      metadata: (meta.metadata as Record<string, string> | undefined) ?? undefined,
      updated: new Date().toISOString(),
    };
    this.buckets.get(bucket)!.set(name, obj);
    return this.objectResource(bucket, name, obj);
  }

  private list(
    res: ServerResponse,
    bucket: string,
    objects: Map<string, FakeObject>,
    q: URLSearchParams,
  ): void {
    const prefix = q.get("prefix") ?? "";
    const max = Math.min(Number(q.get("maxResults") ?? 1000) || 1000, 1000);
    const after = q.get("pageToken") ? Buffer.from(q.get("pageToken")!, "base64url").toString() : undefined;
    const names = [...objects.keys()]
      .filter((n) => n.startsWith(prefix) && (after === undefined || n > after))
      .sort();
    const page = names.slice(0, max);
    const out: Record<string, unknown> = {
      kind: "storage#objects",
      items: page.map((n) => this.objectResource(bucket, n, objects.get(n)!)),
    };
    if (names.length > max) out.nextPageToken = Buffer.from(page[page.length - 1]!).toString("base64url");
    sendJson(res, 200, out);
  }

  private bucketResource(name: string): Record<string, unknown> {
    return { kind: "storage#bucket", id: name, name, location: "US", storageClass: "STANDARD" };
  }

  private objectResource(bucket: string, name: string, o: FakeObject): Record<string, unknown> {
    return {
      kind: "storage#object",
      id: `${bucket}/${name}/${o.generation}`,
      name,
      bucket,
      generation: o.generation,
      metageneration: "1",
      contentType: o.contentType,
      storageClass: o.storageClass,
      size: String(o.data.length),
      md5Hash: md5Base64(o.data),
      crc32c: crc32cBase64(o.data),
      timeCreated: o.updated,
      updated: o.updated,
      ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
    };
  }
}

function checkHashes(meta: Record<string, unknown>, data: Buffer): void {
  if (typeof meta.md5Hash === "string" && meta.md5Hash !== md5Base64(data)) {
    throw new HttpError(400, "invalid", "Provided MD5 hash doesn't match calculated MD5 hash");
  }
  if (typeof meta.crc32c === "string" && meta.crc32c !== crc32cBase64(data)) {
    throw new HttpError(400, "invalid", "Provided CRC32C doesn't match calculated CRC32C");
  }
}

function checkGoogHash(header: string | string[] | undefined, data: Buffer): void {
  for (const part of String(header ?? "").split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const [k, v] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (k === "crc32c" && v !== crc32cBase64(data))
      throw new HttpError(400, "invalid", "x-goog-hash crc32c mismatch");
    if (k === "md5" && v !== md5Base64(data)) throw new HttpError(400, "invalid", "x-goog-hash md5 mismatch");
  }
}

/** The parts of a multipart/related body (RFC 2387), headers stripped. */
function parseMultipartRelated(contentType: string, body: Buffer): Buffer[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new HttpError(400, "invalid", "multipart upload without a boundary");
  const delimiter = Buffer.from(`--${m[1]}`);
  const parts: Buffer[] = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    const start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === "--") break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    let part = body.subarray(start, next);
    if (part.subarray(0, 2).toString() === "\r\n") part = part.subarray(2);
    const headerEnd = part.indexOf("\r\n\r\n");
    let content = headerEnd >= 0 ? part.subarray(headerEnd + 4) : part;
    if (content.subarray(content.length - 2).toString() === "\r\n")
      content = content.subarray(0, content.length - 2);
    parts.push(content);
    pos = next;
  }
  if (parts.length < 2)
    throw new HttpError(400, "invalid", "multipart upload needs metadata and media parts");
  return parts;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}
