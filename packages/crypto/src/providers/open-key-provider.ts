/**
 * Config → KeyProvider. Mirrors the `[enigma]` options (key_provider, keyfile_path, aws_region,
 * vault_url, gcp_project_id, secret_prefix). It only constructs: nothing is read and no SDK is
 * loaded until the caller runs open() / create() (ARCHITECTURE §6; open-key-provider.test.ts).
 */
import { readFileSync } from "node:fs";
import type { TokenCredential } from "@azure/identity";
import type { Argon2Params } from "../argon2-params.js";
import { AwsSecretsManagerProvider, type AwsSecretsManagerProviderOptions } from "./aws-secrets-manager.js";
import { AzureKeyVaultProvider, type AzureKeyVaultProviderOptions } from "./azure-key-vault.js";
import { GcpSecretManagerProvider, type GcpSecretManagerProviderOptions } from "./gcp-secret-manager.js";
import { KEY_PROVIDER_KINDS, type KeyProvider, type KeyProviderKind } from "./key-provider.js";
import { LocalKeystoreProvider } from "./local-keystore-provider.js";
import { KeyProviderError } from "./provider-error.js";
import type { VaultClientLimits } from "./secret-store.js";

/** The `[enigma]` options, as the server's settings name them. */
export interface KeyProviderSettings {
  readonly keyProvider: KeyProviderKind;
  /** local: the keystore file (absolute, or as the caller resolved it). */
  readonly keyfilePath?: string;
  /** aws-secretsmanager: optional; the AWS chain decides when absent. */
  readonly awsRegion?: string;
  /** azure-keyvault: required, https://<name>.vault.azure.net */
  readonly vaultUrl?: string;
  /** gcp-secretmanager: required. */
  readonly gcpProjectId?: string;
  /** Vault providers: secrets are `{prefix}-{key id}` and `{prefix}-current`; default "enigma". */
  readonly secretPrefix?: string;
}

export interface OpenKeyProviderOptions {
  /** local: the passphrase, or a function asked once when it is first needed. */
  readonly passphrase?: string | (() => Promise<string>);
  /** local: Argon2id costs for files it writes. */
  readonly argon2?: Partial<Argon2Params>;
  /** Vault providers: per-request timeout and retries. */
  readonly limits?: VaultClientLimits;
  /** Provider-specific extras (endpoints, explicit credentials): tests and private endpoints. */
  readonly aws?: Partial<AwsSecretsManagerProviderOptions>;
  readonly azure?: Partial<AzureKeyVaultProviderOptions>;
  readonly gcp?: Partial<GcpSecretManagerProviderOptions>;
  /**
   * Where the advanced / test-only knobs of KEY_PROVIDER_ENV are read (default process.env).
   * Explicit `aws` / `azure` / `gcp` options win over them.
   */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Advanced and test-only settings that are not config options, read from the environment by the
 * key provider only (README "Key providers"): endpoints of private or fake vaults, and static
 * tokens instead of a cloud's credential chain. Production deployments leave them unset.
 */
export const KEY_PROVIDER_ENV = {
  /** aws-secretsmanager: endpoint URL instead of the regional one (VPC endpoint; test fake). */
  awsEndpoint: "ENIGMA_AWS_SECRETSMANAGER_ENDPOINT",
  /** azure-keyvault: a bearer token used as is instead of DefaultAzureCredential (tests). */
  azureToken: "ENIGMA_AZURE_KEYVAULT_TOKEN",
  /** azure-keyvault: a PEM file of an extra CA to trust (private endpoint with its own CA; fake). */
  azureCaFile: "ENIGMA_AZURE_KEYVAULT_CA_FILE",
  /** azure-keyvault: "1" skips the token-resource check, for a vault outside *.vault.azure.net. */
  azureSkipResourceCheck: "ENIGMA_AZURE_KEYVAULT_SKIP_RESOURCE_CHECK",
  /** gcp-secretmanager: endpoint URL, e.g. http://127.0.0.1:4000 (private endpoint; test fake). */
  gcpEndpoint: "ENIGMA_GCP_SECRETMANAGER_ENDPOINT",
  /** gcp-secretmanager: a bearer token used as is instead of Application Default Credentials. */
  gcpToken: "ENIGMA_GCP_ACCESS_TOKEN",
} as const;

function envOverrides(kind: KeyProviderKind, env: NodeJS.ProcessEnv) {
  const get = (name: string) => {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  switch (kind) {
    case "aws-secretsmanager": {
      const endpoint = get(KEY_PROVIDER_ENV.awsEndpoint);
      return { aws: endpoint === undefined ? {} : { endpoint } };
    }
    case "azure-keyvault": {
      const token = get(KEY_PROVIDER_ENV.azureToken);
      const caFile = get(KEY_PROVIDER_ENV.azureCaFile);
      const credential: TokenCredential | undefined =
        token === undefined
          ? undefined
          : { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
      let caCertificatePem: string | undefined;
      if (caFile !== undefined) {
        try {
          caCertificatePem = readFileSync(caFile, "utf8");
        } catch (err) {
          throw new KeyProviderError(
            kind,
            "BadParams",
            undefined,
            `${KEY_PROVIDER_ENV.azureCaFile}: cannot read ${caFile} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
          );
        }
      }
      return {
        azure: {
          ...(credential === undefined ? {} : { credential }),
          ...(caCertificatePem === undefined ? {} : { caCertificatePem }),
          ...(get(KEY_PROVIDER_ENV.azureSkipResourceCheck) === "1"
            ? { disableChallengeResourceVerification: true }
            : {}),
        },
      };
    }
    case "gcp-secretmanager": {
      const endpoint = get(KEY_PROVIDER_ENV.gcpEndpoint);
      const accessToken = get(KEY_PROVIDER_ENV.gcpToken);
      return {
        gcp: {
          ...(endpoint === undefined ? {} : { endpoint }),
          ...(accessToken === undefined ? {} : { accessToken }),
        },
      };
    }
    default:
      return {};
  }
}

export function openKeyProvider(
  settings: KeyProviderSettings,
  opts: OpenKeyProviderOptions = {},
): KeyProvider {
  const kind = settings.keyProvider;
  const bad = (message: string) =>
    new KeyProviderError(kind, "BadParams", undefined, `key_provider = "${kind}": ${message}`);
  const prefix = settings.secretPrefix === undefined ? {} : { secretPrefix: settings.secretPrefix };
  const limits = opts.limits ?? {};
  const fromEnv: {
    aws?: Partial<AwsSecretsManagerProviderOptions>;
    azure?: Partial<AzureKeyVaultProviderOptions>;
    gcp?: Partial<GcpSecretManagerProviderOptions>;
  } = (KEY_PROVIDER_KINDS as readonly string[]).includes(kind)
    ? envOverrides(kind, opts.env ?? process.env)
    : {};
  switch (kind) {
    case "local": {
      if (!settings.keyfilePath) throw bad("keyfile_path is required");
      if (opts.passphrase === undefined) throw bad("a keystore passphrase is required");
      return new LocalKeystoreProvider({
        path: settings.keyfilePath,
        passphrase: opts.passphrase,
        ...(opts.argon2 === undefined ? {} : { argon2: opts.argon2 }),
      });
    }
    case "aws-secretsmanager":
      return new AwsSecretsManagerProvider({
        ...limits,
        ...prefix,
        ...(settings.awsRegion === undefined ? {} : { region: settings.awsRegion }),
        ...fromEnv.aws,
        ...opts.aws,
      });
    case "azure-keyvault": {
      const vaultUrl = settings.vaultUrl;
      if (!vaultUrl) throw bad("vault_url is required (https://<vault>.vault.azure.net)");
      if (!/^https:\/\/[^/\s]+\/?$/.test(vaultUrl))
        throw bad(`vault_url must be an https:// vault URL, got ${JSON.stringify(vaultUrl)}`);
      return new AzureKeyVaultProvider({ ...limits, ...prefix, ...fromEnv.azure, ...opts.azure, vaultUrl });
    }
    case "gcp-secretmanager": {
      const projectId = settings.gcpProjectId;
      if (!projectId) throw bad("gcp_project_id is required");
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(projectId))
        throw bad(`gcp_project_id is not a project id or number: ${JSON.stringify(projectId)}`);
      return new GcpSecretManagerProvider({ ...limits, ...prefix, ...fromEnv.gcp, ...opts.gcp, projectId });
    }
    default: {
      const never: never = kind;
      throw new KeyProviderError(
        "local",
        "BadParams",
        undefined,
        `key_provider must be one of ${KEY_PROVIDER_KINDS.join(", ")}, got ${JSON.stringify(never)}`,
      );
    }
  }
}
