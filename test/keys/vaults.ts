/**
 * The three vault fakes (test/fakes, plain HTTP(S) servers in this process) as the CLI sees them:
 * the `init --key-provider` flags, the `[enigma]` lines, and the environment that points the real
 * SDKs at the fake (the advanced / test-only KEY_PROVIDER_ENV knobs, plus the AWS default chain's
 * own variables). Each test gets a fresh secret prefix, so one fake serves many tests.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KeyProviderKind } from "../../packages/crypto/src/index.js";
import {
  AWS_FAKE_ACCESS_KEY_ID,
  AWS_FAKE_SECRET_ACCESS_KEY,
  AwsSecretsManagerFake,
} from "../fakes/aws-secretsmanager-fake.js";
import { AZURE_FAKE_TLS_CERT, AZURE_FAKE_TOKEN, AzureKeyVaultFake } from "../fakes/azure-keyvault-fake.js";
import { closedPort } from "../fakes/fake-http-server.js";
import { GCP_FAKE_TOKEN, GcpSecretManagerFake } from "../fakes/gcp-secretmanager-fake.js";

export const GCP_PROJECT = "enigma-cli-test";
export const AWS_REGION = "us-east-1";

export interface VaultUnderTest {
  readonly kind: Exclude<KeyProviderKind, "local">;
  /** Environment for every CLI process using this vault. */
  env(): Record<string, string | undefined>;
  /** `enigma init` flags for a key set under `prefix`. */
  initFlags(prefix: string): string[];
  /** `[enigma]` lines selecting this vault (for enigma.toml). */
  toml(prefix: string): string;
  /** Environment that makes the vault unreachable (a closed port). */
  downEnv(): Promise<Record<string, string>>;
  /** Refuse every request with the service's permission error until allow(). */
  denyAll(): void;
  allow(): void;
  /** The current value of a secret, read from the fake directly. */
  raw(name: string): string | undefined;
  close(): Promise<void>;
}

/** Env every CLI child gets: no ambient cloud config or passphrase leaks in from the developer's shell. */
const CLEAN_ENV: Record<string, undefined> = {
  ENIGMA_PASSPHRASE: undefined,
  ENIGMA_CONFIG_DIR: undefined,
  AWS_PROFILE: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_CONFIG_FILE: undefined,
  AWS_SHARED_CREDENTIALS_FILE: undefined,
  GOOGLE_APPLICATION_CREDENTIALS: undefined,
};

export async function startVault(kind: VaultUnderTest["kind"], workDir: string): Promise<VaultUnderTest> {
  switch (kind) {
    case "aws-secretsmanager": {
      const fake = await AwsSecretsManagerFake.start();
      return {
        kind,
        env: () => ({
          ...CLEAN_ENV,
          ENIGMA_AWS_SECRETSMANAGER_ENDPOINT: fake.endpoint,
          AWS_ACCESS_KEY_ID: AWS_FAKE_ACCESS_KEY_ID,
          AWS_SECRET_ACCESS_KEY: AWS_FAKE_SECRET_ACCESS_KEY,
          AWS_REGION: undefined,
        }),
        initFlags: (prefix) => [
          "--key-provider",
          kind,
          "--aws-region",
          AWS_REGION,
          "--secret-prefix",
          prefix,
        ],
        toml: (prefix) =>
          `key_provider = "${kind}"\naws_region = "${AWS_REGION}"\nsecret_prefix = "${prefix}"\n`,
        downEnv: async () => ({
          ENIGMA_AWS_SECRETSMANAGER_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
        }),
        denyAll: () => fake.deny(),
        allow: () => fake.allow(),
        raw: (name) => fake.rawCurrent(name),
        close: () => fake.close(),
      };
    }
    case "azure-keyvault": {
      const fake = await AzureKeyVaultFake.start();
      const caFile = join(workDir, `azure-fake-ca-${randomBytes(4).toString("hex")}.pem`);
      writeFileSync(caFile, AZURE_FAKE_TLS_CERT);
      return {
        kind,
        env: () => ({
          ...CLEAN_ENV,
          ENIGMA_AZURE_KEYVAULT_TOKEN: AZURE_FAKE_TOKEN,
          ENIGMA_AZURE_KEYVAULT_CA_FILE: caFile,
          ENIGMA_AZURE_KEYVAULT_SKIP_RESOURCE_CHECK: "1",
        }),
        initFlags: (prefix) => [
          "--key-provider",
          kind,
          "--vault-url",
          fake.vaultUrl,
          "--secret-prefix",
          prefix,
        ],
        toml: (prefix) =>
          `key_provider = "${kind}"\nvault_url = "${fake.vaultUrl}"\nsecret_prefix = "${prefix}"\n`,
        // vault_url is a config option: its environment variable overrides enigma.toml.
        downEnv: async () => ({ ENIGMA_ENIGMA_VAULT_URL: `https://127.0.0.1:${await closedPort()}` }),
        denyAll: () => fake.deny(),
        allow: () => fake.allow(),
        raw: (name) => fake.rawLatest(name),
        close: () => fake.close(),
      };
    }
    case "gcp-secretmanager": {
      const fake = await GcpSecretManagerFake.start();
      return {
        kind,
        env: () => ({
          ...CLEAN_ENV,
          ENIGMA_GCP_SECRETMANAGER_ENDPOINT: fake.endpoint,
          ENIGMA_GCP_ACCESS_TOKEN: GCP_FAKE_TOKEN,
        }),
        initFlags: (prefix) => [
          "--key-provider",
          kind,
          "--gcp-project-id",
          GCP_PROJECT,
          "--secret-prefix",
          prefix,
        ],
        toml: (prefix) =>
          `key_provider = "${kind}"\ngcp_project_id = "${GCP_PROJECT}"\nsecret_prefix = "${prefix}"\n`,
        downEnv: async () => ({
          ENIGMA_GCP_SECRETMANAGER_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
        }),
        denyAll: () => fake.deny(),
        allow: () => fake.allow(),
        raw: (name) => fake.rawLatest(GCP_PROJECT, name),
        close: () => fake.close(),
      };
    }
  }
}

export const newPrefix = () => `t${randomBytes(4).toString("hex")}`;
