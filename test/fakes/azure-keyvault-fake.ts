/**
 * A FAKE of the Azure Key Vault secrets REST API, for tests only — not Microsoft's service nor an
 * official emulator. HTTPS on 127.0.0.1 with the self-signed certificate below (the Key Vault client
 * refuses to send tokens over plain HTTP), in memory. It implements what the key provider uses:
 * PUT /secrets/{name} (a new version each time), GET /secrets/{name}/{version?}, GET /secrets
 * (paged with nextLink), DELETE /secrets/{name}, GET and DELETE (purge) /deletedsecrets/{name}.
 * Authentication follows Key Vault's challenge protocol: a request without a bearer token gets 401
 * with a `WWW-Authenticate: Bearer authorization=…, resource=…` challenge; a request with a token
 * other than AZURE_FAKE_TOKEN gets 401; `deny()` turns chosen operations into 403 Forbidden.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FakeServer, sendJson, startFakeServer } from "./fake-http-server.js";

export const AZURE_FAKE_TOKEN = "azure-keyvault-fake-token";

/** Self-signed, for 127.0.0.1 and localhost, valid until 2126; a test fixture, not a secret. */
export const AZURE_FAKE_TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBuDCCAV+gAwIBAgIUXvajLc/XC+qRhvMiwcbWfdO96W4wCgYIKoZIzj0EAwIw
IzEhMB8GA1UEAwwYYXp1cmUta2V5dmF1bHQtZmFrZS50ZXN0MCAXDTI2MTEyMjE0
MTkyM1oYDzIxMjYxMDI5MTQxOTIzWjAjMSEwHwYDVQQDDBhhenVyZS1rZXl2YXVs
dC1mYWtlLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATpQa77BzJJtDsG
sqU6n+mDd3DD93ntQOYX8X8O3ARWU438ngN94LzuS9rQemZd/Cbi7r1sTl/Wfrjd
WazSFjNFo28wbTAdBgNVHQ4EFgQUCz3i/nYVAV2++HxCUKTluDQTJ0IwHwYDVR0j
BBgwFoAUCz3i/nYVAV2++HxCUKTluDQTJ0IwDwYDVR0TAQH/BAUwAwEB/zAaBgNV
HREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZIzj0EAwIDRwAwRAIgBM/auP9+
wgrnrubAaoamNCOt3jpQ6c7iJUlnmwtkIS8CIGhVmch/RGhF+7SOoX1WP9vJDo1Z
rz1UyS/WBeel3CZf
-----END CERTIFICATE-----
`;

const AZURE_FAKE_TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5bTbjZ+8g1d0F1Ac
KhoI5J8HymgRMHIof5ddPUgobbyhRANCAATpQa77BzJJtDsGsqU6n+mDd3DD93nt
QOYX8X8O3ARWU438ngN94LzuS9rQemZd/Cbi7r1sTl/WfrjdWazSFjNF
-----END PRIVATE KEY-----
`;

const NAME_RE = /^[0-9a-zA-Z-]{1,127}$/;

interface FakeVersion {
  readonly version: string;
  readonly value: string;
  readonly createdSec: number;
}

export type AzureFakeOperation = "set" | "get" | "list" | "delete" | "getDeleted" | "purge";
/** What `deny` accepts: an operation, or "set" narrowed to a new secret / a new version of one. */
export type AzureFakeDeniable = AzureFakeOperation | "setNew" | "setVersion";

class AzureError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class AzureKeyVaultFake {
  readonly #secrets = new Map<string, FakeVersion[]>();
  readonly #deleted = new Map<string, FakeVersion[]>();
  #denied: Set<AzureFakeDeniable> | "all" | undefined;
  /** Every authenticated request: operation, secret name, version asked for. */
  readonly requests: { op: AzureFakeOperation; name?: string; version?: string }[] = [];

  private constructor(private readonly server: FakeServer) {}

  static async start(): Promise<AzureKeyVaultFake> {
    let fake: AzureKeyVaultFake | undefined;
    const server = await startFakeServer((req, body, res) => fake!.handle(req, body, res), {
      cert: AZURE_FAKE_TLS_CERT,
      key: AZURE_FAKE_TLS_KEY,
    });
    fake = new AzureKeyVaultFake(server);
    return fake;
  }

  /** The vault URL, e.g. https://127.0.0.1:40123 */
  get vaultUrl(): string {
    return this.server.url;
  }

  deny(ops?: readonly AzureFakeDeniable[]): void {
    this.#denied = ops ? new Set(ops) : "all";
  }

  allow(): void {
    this.#denied = undefined;
  }

  /** Adds a version directly (an operator editing the secret in the portal); returns it. */
  rawSet(name: string, value: string): string {
    return this.#add(name, value);
  }

  rawLatest(name: string): string | undefined {
    return this.#secrets.get(name)?.at(-1)?.value;
  }

  names(): string[] {
    return [...this.#secrets.keys()];
  }

  close(): Promise<void> {
    return this.server.close();
  }

  private handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    try {
      const url = new URL(req.url ?? "/", this.vaultUrl);
      if (!url.searchParams.get("api-version"))
        throw new AzureError(400, "BadParameter", "api-version is required");
      const auth = String(req.headers.authorization ?? "");
      if (!auth) {
        const challenge =
          'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", ' +
          'resource="https://vault.azure.net"';
        sendJson(
          res,
          401,
          { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer token." } },
          {
            "www-authenticate": challenge,
          },
        );
        return;
      }
      if (auth !== `Bearer ${AZURE_FAKE_TOKEN}`)
        throw new AzureError(401, "Unauthorized", "AKV10032: Invalid issuer.");
      const [, collection, name, version] = url.pathname.split("/");
      const op = this.#operation(req.method ?? "GET", collection, name);
      this.requests.push({ op, ...(name ? { name } : {}), ...(version ? { version } : {}) });
      const narrowed = op === "set" ? (this.#secrets.has(name ?? "") ? "setVersion" : "setNew") : op;
      if (this.#denied === "all" || this.#denied?.has(op) || this.#denied?.has(narrowed))
        throw new AzureError(
          403,
          "Forbidden",
          "The user, group or application does not have secrets permission.",
        );
      const [status, out] = this.#dispatch(op, url, name ?? "", version ?? "", body);
      if (out === undefined) {
        res.writeHead(status).end();
        return;
      }
      sendJson(res, status, out);
    } catch (err) {
      const e = err instanceof AzureError ? err : new AzureError(500, "InternalServerError", String(err));
      sendJson(res, e.status, { error: { code: e.code, message: e.message } });
    }
  }

  #operation(method: string, collection: string | undefined, name: string | undefined): AzureFakeOperation {
    if (collection === "secrets" && !name && method === "GET") return "list";
    if (collection === "secrets" && method === "PUT") return "set";
    if (collection === "secrets" && method === "GET") return "get";
    if (collection === "secrets" && method === "DELETE") return "delete";
    if (collection === "deletedsecrets" && method === "GET") return "getDeleted";
    if (collection === "deletedsecrets" && method === "DELETE") return "purge";
    throw new AzureError(400, "BadParameter", `the fake does not implement ${method} /${collection ?? ""}`);
  }

  #dispatch(
    op: AzureFakeOperation,
    url: URL,
    name: string,
    version: string,
    body: Buffer,
  ): [number, unknown] {
    switch (op) {
      case "set": {
        if (!NAME_RE.test(name)) throw new AzureError(400, "BadParameter", "invalid secret name");
        if (this.#deleted.has(name))
          throw new AzureError(
            409,
            "Conflict",
            `Secret ${name} is currently in a deleted but recoverable state.`,
          );
        const input = JSON.parse(body.toString("utf8")) as { value?: unknown };
        if (typeof input.value !== "string") throw new AzureError(400, "BadParameter", "value is required");
        this.#add(name, input.value);
        return [200, this.#bundle(name, this.#secrets.get(name)!.at(-1)!)];
      }
      case "get": {
        const versions = this.#secrets.get(name);
        const v = version ? versions?.find((x) => x.version === version) : versions?.at(-1);
        if (!v)
          throw new AzureError(
            404,
            "SecretNotFound",
            `A secret with (name/id) ${name} was not found in this key vault.`,
          );
        return [200, this.#bundle(name, v)];
      }
      case "list": {
        const max = Number(url.searchParams.get("maxresults") ?? "25");
        const skip = Number(url.searchParams.get("$skiptoken") ?? "0");
        const all = [...this.#secrets.keys()].sort();
        const page = all.slice(skip, skip + max);
        const next =
          skip + max < all.length
            ? `${this.vaultUrl}/secrets?api-version=${url.searchParams.get("api-version")}&maxresults=${max}&$skiptoken=${skip + max}`
            : null;
        return [
          200,
          {
            value: page.map((n) => ({
              id: `${this.vaultUrl}/secrets/${n}`,
              attributes: this.#attributes(this.#secrets.get(n)!.at(-1)!),
            })),
            nextLink: next,
          },
        ];
      }
      case "delete": {
        const versions = this.#secrets.get(name);
        if (!versions)
          throw new AzureError(404, "SecretNotFound", `A secret with (name/id) ${name} was not found.`);
        this.#secrets.delete(name);
        this.#deleted.set(name, versions);
        return [200, this.#deletedBundle(name, versions.at(-1)!)];
      }
      case "getDeleted": {
        const versions = this.#deleted.get(name);
        if (!versions) throw new AzureError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
        return [200, this.#deletedBundle(name, versions.at(-1)!)];
      }
      case "purge": {
        if (!this.#deleted.delete(name))
          throw new AzureError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
        return [204, undefined];
      }
    }
  }

  #add(name: string, value: string): string {
    const version = randomBytes(16).toString("hex");
    const list = this.#secrets.get(name) ?? [];
    list.push({ version, value, createdSec: Math.floor(Date.now() / 1000) });
    this.#secrets.set(name, list);
    return version;
  }

  #attributes(v: FakeVersion) {
    return {
      enabled: true,
      created: v.createdSec,
      updated: v.createdSec,
      recoveryLevel: "Recoverable+Purgeable",
      recoverableDays: 90,
    };
  }

  #bundle(name: string, v: FakeVersion) {
    return {
      value: v.value,
      id: `${this.vaultUrl}/secrets/${name}/${v.version}`,
      attributes: this.#attributes(v),
    };
  }

  #deletedBundle(name: string, v: FakeVersion) {
    const now = Math.floor(Date.now() / 1000);
    return {
      ...this.#bundle(name, v),
      recoveryId: `${this.vaultUrl}/deletedsecrets/${name}`,
      deletedDate: now,
      scheduledPurgeDate: now + 90 * 86400,
    };
  }
}
