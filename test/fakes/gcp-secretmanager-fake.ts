/**
 * A FAKE of the GCP Secret Manager v1 REST API, for tests only — not Google's service nor an
 * official emulator. Plain HTTP on 127.0.0.1, in memory, for what @google-cloud/secret-manager's
 * REST transport (`fallback: true`) sends for the key provider: create a secret
 * (POST /v1/projects/{p}/secrets?secretId=), add a version (POST …/secrets/{s}:addVersion), access
 * a version or "latest" (GET …/secrets/{s}/versions/{v}:access), list secrets (GET …/secrets,
 * paged) and delete a secret. Errors use Google's JSON error body ({error: {code, message,
 * status}}). Requests must carry `Authorization: Bearer GCP_FAKE_TOKEN`; `deny()` turns chosen
 * operations into 403 PERMISSION_DENIED.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FakeServer, sendJson, startFakeServer } from "./fake-http-server.js";

export const GCP_FAKE_TOKEN = "gcp-secretmanager-fake-token";
export type GcpFakeOperation = "createSecret" | "addVersion" | "access" | "list" | "delete";
/** What `deny` accepts: an operation, or addVersion narrowed to a secret's first / a later version. */
export type GcpFakeDeniable = GcpFakeOperation | "addFirstVersion" | "addLaterVersion";

const SECRET_ID_RE = /^[A-Za-z0-9_-]{1,255}$/;

interface FakeSecret {
  readonly createTime: string;
  readonly versions: { readonly data: Buffer; readonly createTime: string }[];
}

class GcpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
  ) {
    super(message);
  }
}

export class GcpSecretManagerFake {
  readonly #projects = new Map<string, Map<string, FakeSecret>>();
  #denied: Set<GcpFakeDeniable> | "all" | undefined;
  /** Every authenticated request: operation, secret id, version asked for. */
  readonly requests: { op: GcpFakeOperation; secret?: string; version?: string }[] = [];

  private constructor(private readonly server: FakeServer) {}

  static async start(): Promise<GcpSecretManagerFake> {
    let fake: GcpSecretManagerFake | undefined;
    const server = await startFakeServer((req, body, res) => fake!.handle(req, body, res));
    fake = new GcpSecretManagerFake(server);
    return fake;
  }

  get endpoint(): string {
    return this.server.url;
  }

  deny(ops?: readonly GcpFakeDeniable[]): void {
    this.#denied = ops ? new Set(ops) : "all";
  }

  allow(): void {
    this.#denied = undefined;
  }

  /** Adds a version directly; returns its number. */
  rawAdd(project: string, secret: string, value: string): string {
    const s = this.#secrets(project).get(secret);
    if (!s) throw new Error(`no secret ${secret}`);
    s.versions.push({ data: Buffer.from(value, "utf8"), createTime: new Date().toISOString() });
    return String(s.versions.length);
  }

  rawLatest(project: string, secret: string): string | undefined {
    return this.#secrets(project).get(secret)?.versions.at(-1)?.data.toString("utf8");
  }

  names(project: string): string[] {
    return [...this.#secrets(project).keys()];
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    try {
      if (req.headers.authorization !== `Bearer ${GCP_FAKE_TOKEN}`)
        throw new GcpError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
      const url = new URL(req.url ?? "/", this.endpoint);
      const route = this.#route(req.method ?? "GET", decodeURIComponent(url.pathname));
      this.requests.push({
        op: route.op,
        ...(route.secret === undefined ? {} : { secret: route.secret }),
        ...(route.version === undefined ? {} : { version: route.version }),
      });
      const hasVersions = (this.#secrets(route.project).get(route.secret ?? "")?.versions.length ?? 0) > 0;
      const narrowed =
        route.op === "addVersion" ? (hasVersions ? "addLaterVersion" : "addFirstVersion") : route.op;
      if (this.#denied === "all" || this.#denied?.has(route.op) || this.#denied?.has(narrowed))
        throw new GcpError(
          403,
          "PERMISSION_DENIED",
          `Permission denied on resource project ${route.project}.`,
        );
      sendJson(res, 200, this.#dispatch(route, url, body));
    } catch (err) {
      const e = err instanceof GcpError ? err : new GcpError(500, "INTERNAL", String(err));
      sendJson(res, e.httpStatus, { error: { code: e.httpStatus, message: e.message, status: e.status } });
    }
  }

  #route(
    method: string,
    path: string,
  ): { op: GcpFakeOperation; project: string; secret?: string; version?: string } {
    let m = /^\/v1\/projects\/([^/]+)\/secrets$/.exec(path);
    if (m && method === "POST") return { op: "createSecret", project: m[1]! };
    if (m && method === "GET") return { op: "list", project: m[1]! };
    m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/:]+):addVersion$/.exec(path);
    if (m && method === "POST") return { op: "addVersion", project: m[1]!, secret: m[2]! };
    m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/:]+)\/versions\/([^/:]+):access$/.exec(path);
    if (m && method === "GET") return { op: "access", project: m[1]!, secret: m[2]!, version: m[3]! };
    m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/:]+)$/.exec(path);
    if (m && method === "DELETE") return { op: "delete", project: m[1]!, secret: m[2]! };
    throw new GcpError(404, "NOT_FOUND", `the fake does not implement ${method} ${path}`);
  }

  #dispatch(
    route: { op: GcpFakeOperation; project: string; secret?: string; version?: string },
    url: URL,
    body: Buffer,
  ): unknown {
    const secrets = this.#secrets(route.project);
    const prefix = `projects/${route.project}/secrets`;
    switch (route.op) {
      case "createSecret": {
        const id = url.searchParams.get("secretId") ?? "";
        if (!SECRET_ID_RE.test(id)) throw new GcpError(400, "INVALID_ARGUMENT", "invalid secret id");
        if (secrets.has(id))
          throw new GcpError(409, "ALREADY_EXISTS", `Secret [${prefix}/${id}] already exists.`);
        const input = JSON.parse(body.toString("utf8") || "{}") as { replication?: unknown };
        if (!input.replication) throw new GcpError(400, "INVALID_ARGUMENT", "replication is required");
        const createTime = new Date().toISOString();
        secrets.set(id, { createTime, versions: [] });
        return { name: `${prefix}/${id}`, replication: input.replication, createTime };
      }
      case "addVersion": {
        const s = this.#find(secrets, prefix, route.secret!);
        const input = JSON.parse(body.toString("utf8") || "{}") as { payload?: { data?: unknown } };
        if (typeof input.payload?.data !== "string")
          throw new GcpError(400, "INVALID_ARGUMENT", "payload.data is required");
        const createTime = new Date().toISOString();
        s.versions.push({ data: Buffer.from(input.payload.data, "base64"), createTime });
        return { name: `${prefix}/${route.secret}/versions/${s.versions.length}`, createTime, state: 1 };
      }
      case "access": {
        const s = this.#find(secrets, prefix, route.secret!);
        const n = route.version === "latest" ? s.versions.length : Number(route.version);
        const v = Number.isInteger(n) && n >= 1 ? s.versions[n - 1] : undefined;
        if (!v)
          throw new GcpError(
            404,
            "NOT_FOUND",
            `Secret Version [${prefix}/${route.secret}/versions/${route.version}] not found.`,
          );
        return {
          name: `${prefix}/${route.secret}/versions/${n}`,
          payload: { data: v.data.toString("base64") },
        };
      }
      case "list": {
        const size = Number(url.searchParams.get("pageSize") ?? "25");
        const start = Number(url.searchParams.get("pageToken") || "0");
        const all = [...secrets.keys()].sort();
        const page = all.slice(start, start + size);
        return {
          secrets: page.map((id) => ({ name: `${prefix}/${id}`, createTime: secrets.get(id)!.createTime })),
          ...(start + size < all.length ? { nextPageToken: String(start + size) } : {}),
          totalSize: all.length,
        };
      }
      case "delete": {
        this.#find(secrets, prefix, route.secret!);
        secrets.delete(route.secret!);
        return {};
      }
    }
  }

  #find(secrets: Map<string, FakeSecret>, prefix: string, id: string): FakeSecret {
    const s = secrets.get(id);
    if (!s) throw new GcpError(404, "NOT_FOUND", `Secret [${prefix}/${id}] not found.`);
    return s;
  }

  #secrets(project: string): Map<string, FakeSecret> {
    let m = this.#projects.get(project);
    if (!m) {
      m = new Map();
      this.#projects.set(project, m);
    }
    return m;
  }
}
