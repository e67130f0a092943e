/**
 * AWS Secrets Manager as a key provider. Credentials and region come from the SDK's default chain
 * (env, shared config/SSO, web identity, ECS/EC2 metadata) unless given explicitly.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { KeyProviderErrorCode, VaultAction } from "./provider-error.js";
import { errorName, networkErrno, vaultError } from "./provider-error.js";
import { type AwsSdk, loadAwsSdk } from "./sdk-loader.js";
import {
  DEFAULT_VAULT_MAX_RETRIES,
  DEFAULT_VAULT_TIMEOUT_MS,
  MAX_LISTED_SECRETS,
  type SecretStore,
  type StoredSecret,
  type VaultClientLimits,
} from "./secret-store.js";
import { DEFAULT_SECRET_PREFIX, VaultKeyProvider } from "./vault-key-provider.js";

export interface AwsSecretsManagerProviderOptions extends VaultClientLimits {
  /** `aws_region`; when absent the SDK's chain decides (AWS_REGION, profile). */
  readonly region?: string;
  /** `secret_prefix`; default "enigma". */
  readonly secretPrefix?: string;
  /** A non-default endpoint (a VPC endpoint; tests point it at the fake). */
  readonly endpoint?: string;
  /** Static credentials instead of the default chain (tests). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export class AwsSecretsManagerProvider extends VaultKeyProvider {
  constructor(opts: AwsSecretsManagerProviderOptions = {}) {
    const where = `region ${opts.region ?? process.env.AWS_REGION ?? "from the AWS config chain"}`;
    super("aws-secretsmanager", where, opts.secretPrefix ?? DEFAULT_SECRET_PREFIX, () =>
      connect(opts, where),
    );
  }
}

async function connect(opts: AwsSecretsManagerProviderOptions, where: string): Promise<SecretStore> {
  const sdk = await loadAwsSdk();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_VAULT_TIMEOUT_MS;
  const client = new sdk.SecretsManagerClient({
    ...(opts.region === undefined ? {} : { region: opts.region }),
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    ...(opts.credentials === undefined ? {} : { credentials: { ...opts.credentials } }),
    maxAttempts: (opts.maxRetries ?? DEFAULT_VAULT_MAX_RETRIES) + 1,
    requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs },
  });
  return new AwsSecretStore(sdk, client, where);
}

const DESCRIPTION = "Enigma HA key material: written once, never edit (see enigma keys list)";
const LIST_PAGE = 100;

class AwsSecretStore implements SecretStore {
  constructor(
    private readonly sdk: AwsSdk,
    private readonly client: SecretsManagerClient,
    readonly where: string,
  ) {}

  async create(name: string, value: string): Promise<string> {
    const out = await this.call("creating", name, () =>
      this.client.send(
        new this.sdk.CreateSecretCommand({ Name: name, SecretString: value, Description: DESCRIPTION }),
      ),
    );
    return this.version(out.VersionId, "creating", name);
  }

  async put(name: string, value: string): Promise<string> {
    const out = await this.call("writing", name, () =>
      this.client.send(new this.sdk.PutSecretValueCommand({ SecretId: name, SecretString: value })),
    );
    return this.version(out.VersionId, "writing", name);
  }

  async read(name: string, version?: string): Promise<StoredSecret> {
    const out = await this.call("reading", name, () =>
      this.client.send(
        new this.sdk.GetSecretValueCommand({
          SecretId: name,
          ...(version === undefined ? {} : { VersionId: version }),
        }),
      ),
    );
    if (out.SecretString === undefined)
      throw vaultError("aws-secretsmanager", this.where, "SecretCorrupt", "reading", name, "no SecretString");
    return { value: out.SecretString, version: this.version(out.VersionId, "reading", name) };
  }

  async list(prefix: string): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.call("listing", undefined, () =>
        this.client.send(
          new this.sdk.ListSecretsCommand({
            Filters: [{ Key: "name", Values: [prefix] }],
            MaxResults: LIST_PAGE,
            ...(token === undefined ? {} : { NextToken: token }),
          }),
        ),
      );
      for (const s of out.SecretList ?? []) if (s.Name?.startsWith(prefix)) names.push(s.Name);
      token = out.NextToken;
    } while (token && names.length < MAX_LISTED_SECRETS);
    return names.slice(0, MAX_LISTED_SECRETS);
  }

  async remove(name: string): Promise<void> {
    await this.call("deleting", name, () =>
      this.client.send(
        new this.sdk.DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }),
      ),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private version(v: string | undefined, action: VaultAction, name: string): string {
    if (!v) throw vaultError("aws-secretsmanager", this.where, "VaultError", action, name, "no VersionId");
    return v;
  }

  private async call<T>(action: VaultAction, name: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const [code, detail] = classifyAwsError(err, action);
      throw vaultError("aws-secretsmanager", this.where, code, action, name, detail);
    }
  }
}

const DENIED = new Set([
  "AccessDeniedException",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "IncompleteSignature",
  "ExpiredTokenException",
  "MissingAuthenticationToken",
  "CredentialsProviderError",
  // KMS refused to decrypt the secret: a permission problem on the secret's KMS key.
  "DecryptionFailure",
]);

/** Maps an SDK error to a code and a detail that is only an error name, status or errno. */
export function classifyAwsError(err: unknown, action: VaultAction): [KeyProviderErrorCode, string] {
  const name = errorName(err);
  const errno = networkErrno(err);
  if (errno) return ["VaultUnreachable", errno];
  if (name === "ResourceNotFoundException") return ["SecretNotFound", name];
  if (name === "ResourceExistsException") return ["SecretExists", name];
  // A secret scheduled for deletion: it cannot be read, and its name cannot be reused yet.
  if (name === "InvalidRequestException")
    return [action === "creating" ? "SecretExists" : "SecretNotFound", name];
  if (DENIED.has(name)) return ["PermissionDenied", name];
  const status = (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  if (status === 401 || status === 403) return ["PermissionDenied", `${name}, HTTP ${status}`];
  if (name === "TimeoutError" || name === "RequestTimeout" || name === "AbortError")
    return ["VaultUnreachable", name];
  if (typeof status === "number" && status >= 500) return ["VaultUnreachable", `${name}, HTTP ${status}`];
  return ["VaultError", typeof status === "number" ? `${name}, HTTP ${status}` : name];
}
