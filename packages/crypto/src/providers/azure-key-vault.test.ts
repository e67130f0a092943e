import { randomBytes } from "node:crypto";
import type { TokenCredential } from "@azure/identity";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AZURE_FAKE_TLS_CERT,
  AZURE_FAKE_TOKEN,
  AzureKeyVaultFake,
} from "../../../../test/fakes/azure-keyvault-fake.js";
import { closedPort } from "../../../../test/fakes/fake-http-server.js";
import { AzureKeyVaultProvider, type AzureKeyVaultProviderOptions } from "./azure-key-vault.js";
import { describeKeyProviderContract } from "./contract/key-provider-contract.js";
import { describeVaultFakeSuite } from "./contract/vault-fake-suite.js";

let fake: AzureKeyVaultFake;
beforeAll(async () => {
  fake = await AzureKeyVaultFake.start();
});
afterAll(async () => {
  await fake?.close();
});

/** A credential that always returns the same token: what the issue calls a static-token credential. */
function staticToken(token: string): TokenCredential {
  return { getToken: async () => ({ token, expiresOnTimestamp: Date.now() + 3_600_000 }) };
}

function options(
  prefix: string,
  over: Partial<AzureKeyVaultProviderOptions> = {},
): AzureKeyVaultProviderOptions {
  return {
    vaultUrl: fake.vaultUrl,
    secretPrefix: prefix,
    credential: staticToken(AZURE_FAKE_TOKEN),
    caCertificatePem: AZURE_FAKE_TLS_CERT,
    disableChallengeResourceVerification: true,
    maxRetries: 0,
    ...over,
  };
}

describeKeyProviderContract("azure-keyvault (fake)", async () => {
  const prefix = `t${randomBytes(4).toString("hex")}`;
  return { node: () => new AzureKeyVaultProvider(options(prefix)), cleanup: async () => {} };
});

const DENY = { read: "get", create: "setNew", put: "setVersion" } as const;

describeVaultFakeSuite("azure-keyvault (fake)", () => ({
  kind: "azure-keyvault",
  where: fake.vaultUrl,
  provider: (prefix) => new AzureKeyVaultProvider(options(prefix)),
  unreachable: async (prefix) =>
    new AzureKeyVaultProvider(options(prefix, { vaultUrl: `https://127.0.0.1:${await closedPort()}` })),
  wrongCredential: (prefix) =>
    new AzureKeyVaultProvider(options(prefix, { credential: staticToken("wrong-token") })),
  // Key Vault has one "set" operation for a new secret and for a new version; the fake tells them apart.
  deny: (what) => fake.deny([DENY[what]]),
  allow: () => fake.allow(),
  rawWrite: (name, value) => fake.rawSet(name, value),
  rawLatest: (name) => fake.rawLatest(name),
  names: () => fake.names(),
  lastReadVersion: (name) => fake.requests.filter((r) => r.op === "get" && r.name === name).at(-1)?.version,
  deniedDetail: /\(Forbidden, HTTP 403\)$/,
}));

describe("AzureKeyVaultProvider", () => {
  it("does not trust the vault's certificate unless told to", async () => {
    const p = new AzureKeyVaultProvider(
      options(`t${randomBytes(4).toString("hex")}`, { caCertificatePem: undefined as never }),
    );
    try {
      await expect(p.open()).rejects.toMatchObject({
        code: "VaultUnreachable",
        message: expect.stringMatching(/CERT|SIGNED/),
      });
    } finally {
      await p.close();
    }
  });

  it("refuses to create a secret over a deleted-but-recoverable one", async () => {
    const prefix = `t${randomBytes(4).toString("hex")}`;
    fake.rawSet(`${prefix}-1`, "x");
    const { SecretClient } = await import("@azure/keyvault-secrets");
    const { Agent } = await import("node:https");
    const client = new SecretClient(fake.vaultUrl, staticToken(AZURE_FAKE_TOKEN), {
      agent: new Agent({ ca: AZURE_FAKE_TLS_CERT }),
      disableChallengeResourceVerification: true,
    });
    await (await client.beginDeleteSecret(`${prefix}-1`, { intervalInMs: 10 })).pollUntilDone();
    const p = new AzureKeyVaultProvider(options(prefix));
    try {
      await expect(p.create()).rejects.toMatchObject({ code: "SecretExists", secretName: `${prefix}-1` });
    } finally {
      await p.close();
    }
  });
});
