/**
 * Azure Key Vault (secrets) as a key provider. Credentials: DefaultAzureCredential (environment
 * service principal, workload identity, managed identity, Azure CLI, …) unless a TokenCredential is
 * given. Key Vault has no create-if-absent call, so `create` reads first (a race window; DESIGN.md).
 */
import { Agent } from "node:https";
import type { TokenCredential } from "@azure/identity";
import type { SecretClient } from "@azure/keyvault-secrets";
import type { KeyProviderErrorCode, VaultAction } from "./provider-error.js";
import { errorName, isKeyProviderError, networkErrno, vaultError } from "./provider-error.js";
import { loadAzureIdentitySdk, loadAzureSecretsSdk } from "./sdk-loader.js";
import {
  DEFAULT_VAULT_MAX_RETRIES,
  DEFAULT_VAULT_TIMEOUT_MS,
  MAX_LISTED_SECRETS,
  type SecretStore,
  type StoredSecret,
  type VaultClientLimits,
} from "./secret-store.js";
import { DEFAULT_SECRET_PREFIX, VaultKeyProvider } from "./vault-key-provider.js";

export interface AzureKeyVaultProviderOptions extends VaultClientLimits {
  /** `vault_url`, e.g. https://my-vault.vault.azure.net */
  readonly vaultUrl: string;
  /** `secret_prefix`; default "enigma". */
  readonly secretPrefix?: string;
  /** Instead of DefaultAzureCredential (tests pass a static-token credential). */
  readonly credential?: TokenCredential;
  /** Extra trusted CA (PEM) for a private endpoint with its own CA; tests trust the fake's certificate. */
  readonly caCertificatePem?: string;
  /**
   * Skip the check that the token's resource matches the vault's domain. Only for vaults reached
   * through an address outside *.vault.azure.net (a private endpoint by IP; the fake).
   */
  readonly disableChallengeResourceVerification?: boolean;
}

export class AzureKeyVaultProvider extends VaultKeyProvider {
  constructor(opts: AzureKeyVaultProviderOptions) {
    super("azure-keyvault", opts.vaultUrl, opts.secretPrefix ?? DEFAULT_SECRET_PREFIX, () => connect(opts));
  }
}

async function connect(opts: AzureKeyVaultProviderOptions): Promise<SecretStore> {
  const sdk = await loadAzureSecretsSdk();
  const credential = opts.credential ?? new (await loadAzureIdentitySdk()).DefaultAzureCredential();
  const client = new sdk.SecretClient(opts.vaultUrl, credential, {
    retryOptions: { maxRetries: opts.maxRetries ?? DEFAULT_VAULT_MAX_RETRIES, retryDelayInMs: 200 },
    ...(opts.caCertificatePem === undefined
      ? {}
      : { agent: new Agent({ ca: opts.caCertificatePem, keepAlive: true }) }),
    ...(opts.disableChallengeResourceVerification ? { disableChallengeResourceVerification: true } : {}),
  });
  return new AzureSecretStore(client, opts.vaultUrl, opts.timeoutMs ?? DEFAULT_VAULT_TIMEOUT_MS);
}

const CONTENT_TYPE = "application/vnd.enigma-ha.key+json";
const LIST_PAGE = 25;

class AzureSecretStore implements SecretStore {
  constructor(
    private readonly client: SecretClient,
    readonly where: string,
    private readonly timeoutMs: number,
  ) {}

  async create(name: string, value: string): Promise<string> {
    try {
      await this.read(name);
      throw vaultError("azure-keyvault", this.where, "SecretExists", "creating", name, "exists");
    } catch (err) {
      if (!isKeyProviderError(err, "SecretNotFound")) throw err;
    }
    return this.#set(name, value, "creating");
  }

  put(name: string, value: string): Promise<string> {
    return this.#set(name, value, "writing");
  }

  async read(name: string, version?: string): Promise<StoredSecret> {
    const s = await this.call("reading", name, () =>
      this.client.getSecret(name, { ...(version === undefined ? {} : { version }), ...this.#request() }),
    );
    if (s.value === undefined || !s.properties.version)
      throw vaultError("azure-keyvault", this.where, "SecretCorrupt", "reading", name, "no value or version");
    return { value: s.value, version: s.properties.version };
  }

  async list(prefix: string): Promise<string[]> {
    return this.call("listing", undefined, async () => {
      const names: string[] = [];
      for await (const page of this.client
        .listPropertiesOfSecrets(this.#request())
        .byPage({ maxPageSize: LIST_PAGE })) {
        for (const p of page) if (p.name.startsWith(prefix)) names.push(p.name);
        if (names.length >= MAX_LISTED_SECRETS) break;
      }
      return names.slice(0, MAX_LISTED_SECRETS);
    });
  }

  async remove(name: string): Promise<void> {
    await this.call("deleting", name, async () => {
      const poller = await this.client.beginDeleteSecret(name, { intervalInMs: 100, ...this.#request() });
      await poller.pollUntilDone();
    });
    // Purge so the name can be reused at once; needs the purge permission, which cleanup may lack.
    await this.client.purgeDeletedSecret(name, this.#request()).catch(() => undefined);
  }

  async close(): Promise<void> {}

  async #set(name: string, value: string, action: VaultAction): Promise<string> {
    if (action === "writing") await this.read(name); // put() adds a version; it must not create one
    const s = await this.call(action, name, () =>
      this.client.setSecret(name, value, { contentType: CONTENT_TYPE, ...this.#request() }),
    );
    if (!s.properties.version)
      throw vaultError(
        "azure-keyvault",
        this.where,
        "VaultError",
        action,
        name,
        "no version in the response",
      );
    return s.properties.version;
  }

  #request() {
    return { requestOptions: { timeout: this.timeoutMs } };
  }

  private async call<T>(action: VaultAction, name: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isKeyProviderError(err)) throw err;
      const [code, detail] = classifyAzureError(err, action);
      throw vaultError("azure-keyvault", this.where, code, action, name, detail);
    }
  }
}

const CREDENTIAL_ERRORS = new Set([
  "CredentialUnavailableError",
  "AuthenticationError",
  "AggregateAuthenticationError",
]);

/** Maps an SDK error to a code and a detail that is only an error name, code, status or errno. */
export function classifyAzureError(err: unknown, action: VaultAction): [KeyProviderErrorCode, string] {
  const name = errorName(err);
  const errno = networkErrno(err);
  if (errno) return ["VaultUnreachable", errno];
  if (CREDENTIAL_ERRORS.has(name)) return ["PermissionDenied", name];
  const status = (err as { statusCode?: unknown }).statusCode;
  const rawCode = (err as { code?: unknown }).code;
  const code = typeof rawCode === "string" && /^[A-Za-z0-9_]{1,64}$/.test(rawCode) ? rawCode : name;
  const detail = typeof status === "number" ? `${code}, HTTP ${status}` : code;
  if (status === 404) return ["SecretNotFound", detail];
  if (status === 401 || status === 403) return ["PermissionDenied", detail];
  // 409: the name belongs to a deleted-but-recoverable secret (purge or recover it first).
  if (status === 409) return [action === "creating" ? "SecretExists" : "VaultError", detail];
  if (status === 429 || (typeof status === "number" && status >= 500)) return ["VaultUnreachable", detail];
  if (code === "REQUEST_SEND_ERROR" || name === "AbortError" || name === "TimeoutError")
    return ["VaultUnreachable", detail];
  return ["VaultError", detail];
}
