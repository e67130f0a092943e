/**
 * The KeyProvider contract against the real clouds. Each block runs only when its environment
 * variable is set (and the cloud's standard credential chain works); otherwise it is skipped with
 * the reason printed. Every run uses a fresh random secret prefix and deletes its secrets after.
 *
 *   AWS_REGION=eu-west-1                            (AWS default credential chain)
 *   AZURE_KEYVAULT_URL=https://<vault>.vault.azure.net  (DefaultAzureCredential; needs purge permission
 *                                                    for a clean teardown)
 *   GCP_PROJECT_ID=<project>                        (Application Default Credentials)
 */
import { randomBytes } from "node:crypto";
import { describe, it } from "vitest";
import { AwsSecretsManagerProvider } from "./aws-secrets-manager.js";
import { AzureKeyVaultProvider } from "./azure-key-vault.js";
import { describeKeyProviderContract } from "./contract/key-provider-contract.js";
import { GcpSecretManagerProvider } from "./gcp-secret-manager.js";
import type { VaultKeyProvider } from "./vault-key-provider.js";

interface RealCloud {
  readonly name: string;
  readonly env: string;
  make(value: string, prefix: string): VaultKeyProvider;
}

const CLOUDS: readonly RealCloud[] = [
  {
    name: "aws-secretsmanager",
    env: "AWS_REGION",
    make: (region, secretPrefix) => new AwsSecretsManagerProvider({ region, secretPrefix }),
  },
  {
    name: "azure-keyvault",
    env: "AZURE_KEYVAULT_URL",
    make: (vaultUrl, secretPrefix) => new AzureKeyVaultProvider({ vaultUrl, secretPrefix }),
  },
  {
    name: "gcp-secretmanager",
    env: "GCP_PROJECT_ID",
    make: (projectId, secretPrefix) => new GcpSecretManagerProvider({ projectId, secretPrefix }),
  },
];

for (const cloud of CLOUDS) {
  const value = process.env[cloud.env];
  if (!value) {
    const reason = `${cloud.name} real-cloud contract skipped: ${cloud.env} is not set`;
    console.log(reason);
    describe(`real cloud: ${cloud.name}`, () => {
      it.skip(reason, () => {});
    });
    continue;
  }
  describeKeyProviderContract(`${cloud.name} (real cloud)`, async () => {
    const prefix = `enigma-test-${randomBytes(4).toString("hex")}`;
    return {
      node: () => cloud.make(value, prefix),
      cleanup: async () => {
        const p = cloud.make(value, prefix);
        try {
          await p.destroyAllSecrets();
        } finally {
          await p.close();
        }
      },
    };
  });
}
