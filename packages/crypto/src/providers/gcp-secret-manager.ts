/**
 * GCP Secret Manager as a key provider, through the client's HTTP/1.1 REST transport
 * (`fallback: true`): the path the tests exercise against the fake, and no gRPC/HTTP2 to proxy.
 * Credentials: Application Default Credentials unless a static access token is given.
 */
import type { SecretManagerServiceClient } from "@google-cloud/secret-manager";
import type { KeyProviderErrorCode, VaultAction } from "./provider-error.js";
import { errorName, isKeyProviderError, networkErrno, vaultError } from "./provider-error.js";
import { loadGcpSdk } from "./sdk-loader.js";
import {
  DEFAULT_VAULT_MAX_RETRIES,
  DEFAULT_VAULT_TIMEOUT_MS,
  MAX_LISTED_SECRETS,
  type SecretStore,
  type StoredSecret,
  type VaultClientLimits,
} from "./secret-store.js";
import { DEFAULT_SECRET_PREFIX, VaultKeyProvider } from "./vault-key-provider.js";

export interface GcpSecretManagerProviderOptions extends VaultClientLimits {
  /** `gcp_project_id` (id or number). */
  readonly projectId: string;
  /** `secret_prefix`; default "enigma". */
  readonly secretPrefix?: string;
  /** A non-default endpoint, e.g. "http://127.0.0.1:4000" (tests point it at the fake). */
  readonly endpoint?: string;
  /** A bearer token used as is, instead of ADC (tests; short-lived tokens minted elsewhere). */
  readonly accessToken?: string;
}

export class GcpSecretManagerProvider extends VaultKeyProvider {
  constructor(opts: GcpSecretManagerProviderOptions) {
    super("gcp-secretmanager", `project ${opts.projectId}`, opts.secretPrefix ?? DEFAULT_SECRET_PREFIX, () =>
      connect(opts),
    );
  }
}

async function connect(opts: GcpSecretManagerProviderOptions): Promise<SecretStore> {
  const sdk = await loadGcpSdk();
  const endpoint = opts.endpoint === undefined ? undefined : new URL(opts.endpoint);
  const client = new sdk.SecretManagerServiceClient({
    fallback: true,
    projectId: opts.projectId,
    ...(endpoint === undefined
      ? {}
      : {
          apiEndpoint: endpoint.hostname,
          port: Number(endpoint.port || (endpoint.protocol === "http:" ? 80 : 443)),
          protocol: endpoint.protocol.replace(":", ""),
        }),
    ...(opts.accessToken === undefined ? {} : { authClient: staticTokenAuth(opts.accessToken) as never }),
  });
  return new GcpSecretStore(client, opts.projectId, {
    timeout: opts.timeoutMs ?? DEFAULT_VAULT_TIMEOUT_MS,
    maxRetries: opts.maxRetries ?? DEFAULT_VAULT_MAX_RETRIES,
  });
}

/**
 * The two members google-gax's REST transport uses from an auth client: request headers and a
 * fetch that adds them. Lets tests (and callers with a token from elsewhere) skip ADC.
 */
function staticTokenAuth(token: string) {
  const headers = () => new Headers({ authorization: `Bearer ${token}` });
  return {
    universeDomain: "googleapis.com",
    getRequestHeaders: async () => headers(),
    fetch: (url: string | URL, init: RequestInit = {}) => {
      const h = new Headers(init.headers);
      for (const [k, v] of headers()) h.set(k, v);
      return fetch(url, { ...init, headers: h });
    },
  };
}

const LIST_PAGE = 100;

class GcpSecretStore implements SecretStore {
  readonly where: string;

  constructor(
    private readonly client: SecretManagerServiceClient,
    private readonly projectId: string,
    private readonly callOptions: { readonly timeout: number; readonly maxRetries: number },
  ) {
    this.where = `project ${projectId}`;
  }

  async create(name: string, value: string): Promise<string> {
    await this.call("creating", name, () =>
      this.client.createSecret(
        { parent: this.#project(), secretId: name, secret: { replication: { automatic: {} } } },
        this.callOptions,
      ),
    );
    try {
      return await this.put(name, value, "creating");
    } catch (err) {
      // Do not leave a secret without versions behind: it would block this name.
      await this.remove(name).catch(() => undefined);
      throw err;
    }
  }

  async put(name: string, value: string, action: VaultAction = "writing"): Promise<string> {
    const [version] = await this.call(action, name, () =>
      this.client.addSecretVersion(
        { parent: this.#secret(name), payload: { data: Buffer.from(value, "utf8") } },
        this.callOptions,
      ),
    );
    return this.#versionOf(version.name, action, name);
  }

  async read(name: string, version?: string): Promise<StoredSecret> {
    const [out] = await this.call("reading", name, () =>
      this.client.accessSecretVersion(
        { name: `${this.#secret(name)}/versions/${version ?? "latest"}` },
        this.callOptions,
      ),
    );
    const data = out.payload?.data;
    if (data === undefined || data === null)
      throw vaultError("gcp-secretmanager", this.where, "SecretCorrupt", "reading", name, "no payload");
    const value = typeof data === "string" ? data : Buffer.from(data).toString("utf8");
    return { value, version: this.#versionOf(out.name, "reading", name) };
  }

  async list(prefix: string): Promise<string[]> {
    return this.call("listing", undefined, async () => {
      const names: string[] = [];
      const iterable = this.client.listSecretsAsync(
        { parent: this.#project(), pageSize: LIST_PAGE },
        this.callOptions,
      );
      for await (const s of iterable) {
        const id = s.name?.split("/").pop();
        if (id?.startsWith(prefix)) names.push(id);
        if (names.length >= MAX_LISTED_SECRETS) break;
      }
      return names;
    });
  }

  async remove(name: string): Promise<void> {
    await this.call("deleting", name, () =>
      this.client.deleteSecret({ name: this.#secret(name) }, this.callOptions),
    );
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  #project(): string {
    return `projects/${this.projectId}`;
  }

  #secret(name: string): string {
    return `${this.#project()}/secrets/${name}`;
  }

  #versionOf(resource: string | null | undefined, action: VaultAction, name: string): string {
    const v = resource?.split("/").pop();
    if (!v || !/^[0-9]+$/.test(v))
      throw vaultError(
        "gcp-secretmanager",
        this.where,
        "VaultError",
        action,
        name,
        "no version in the response",
      );
    return v;
  }

  private async call<T>(action: VaultAction, name: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isKeyProviderError(err)) throw err;
      const [code, detail] = classifyGcpError(err, action);
      throw vaultError("gcp-secretmanager", this.where, code, action, name, detail);
    }
  }
}

/** gRPC status codes, as google-gax reports them for REST calls too. */
const STATUS = {
  4: "DEADLINE_EXCEEDED",
  5: "NOT_FOUND",
  6: "ALREADY_EXISTS",
  7: "PERMISSION_DENIED",
  8: "RESOURCE_EXHAUSTED",
  9: "FAILED_PRECONDITION",
  14: "UNAVAILABLE",
  16: "UNAUTHENTICATED",
} as const;

/** Maps a client error to a code and a detail that is only a status name or errno. */
export function classifyGcpError(err: unknown, _action: VaultAction): [KeyProviderErrorCode, string] {
  const errno = networkErrno(err);
  if (errno) return ["VaultUnreachable", errno];
  const code = (err as { code?: unknown }).code;
  const status = typeof code === "number" ? STATUS[code as keyof typeof STATUS] : undefined;
  switch (status) {
    case "NOT_FOUND":
      return ["SecretNotFound", status];
    // A disabled or destroyed version cannot be read: as good as missing.
    case "FAILED_PRECONDITION":
      return ["SecretNotFound", status];
    case "ALREADY_EXISTS":
      return ["SecretExists", status];
    case "PERMISSION_DENIED":
    case "UNAUTHENTICATED":
      return ["PermissionDenied", status];
    case "UNAVAILABLE":
    case "DEADLINE_EXCEEDED":
    case "RESOURCE_EXHAUSTED":
      return ["VaultUnreachable", status];
  }
  const message = err instanceof Error ? err.message : "";
  if (/default credentials/i.test(message)) return ["PermissionDenied", "no Application Default Credentials"];
  return ["VaultError", typeof code === "number" ? `${errorName(err)}, code ${code}` : errorName(err)];
}
