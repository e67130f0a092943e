import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AWS_FAKE_ACCESS_KEY_ID,
  AWS_FAKE_SECRET_ACCESS_KEY,
  AwsSecretsManagerFake,
} from "../../../../test/fakes/aws-secretsmanager-fake.js";
import { closedPort } from "../../../../test/fakes/fake-http-server.js";
import { AwsSecretsManagerProvider, type AwsSecretsManagerProviderOptions } from "./aws-secrets-manager.js";
import { describeKeyProviderContract } from "./contract/key-provider-contract.js";
import { describeVaultFakeSuite } from "./contract/vault-fake-suite.js";

let fake: AwsSecretsManagerFake;
beforeAll(async () => {
  fake = await AwsSecretsManagerFake.start();
});
afterAll(async () => {
  await fake?.close();
});

function options(
  prefix: string,
  over: Partial<AwsSecretsManagerProviderOptions> = {},
): AwsSecretsManagerProviderOptions {
  return {
    region: "us-east-1",
    secretPrefix: prefix,
    endpoint: fake.endpoint,
    credentials: { accessKeyId: AWS_FAKE_ACCESS_KEY_ID, secretAccessKey: AWS_FAKE_SECRET_ACCESS_KEY },
    maxRetries: 0,
    ...over,
  };
}

describeKeyProviderContract("aws-secretsmanager (fake)", async () => {
  const prefix = `t${randomBytes(4).toString("hex")}`;
  return { node: () => new AwsSecretsManagerProvider(options(prefix)), cleanup: async () => {} };
});

const ACTIONS = { read: "GetSecretValue", create: "CreateSecret", put: "PutSecretValue" } as const;

describeVaultFakeSuite("aws-secretsmanager (fake)", () => ({
  kind: "aws-secretsmanager",
  where: "region us-east-1",
  provider: (prefix) => new AwsSecretsManagerProvider(options(prefix)),
  unreachable: async (prefix) =>
    new AwsSecretsManagerProvider(options(prefix, { endpoint: `http://127.0.0.1:${await closedPort()}` })),
  wrongCredential: (prefix) =>
    new AwsSecretsManagerProvider(
      options(prefix, { credentials: { accessKeyId: "AKIAWRONGWRONGWRONG0", secretAccessKey: "x" } }),
    ),
  deny: (what) => fake.deny([ACTIONS[what]]),
  allow: () => fake.allow(),
  rawWrite: (name, value) => fake.rawPut(name, value),
  rawLatest: (name) => fake.rawCurrent(name),
  names: () => fake.names(),
  lastReadVersion: (name) =>
    fake.requests.filter((r) => r.action === "GetSecretValue" && r.secretId === name).at(-1)?.versionId,
  deniedDetail: /\(AccessDeniedException\)$/,
}));

describe("AwsSecretsManagerProvider", () => {
  it("refuses a bad secret prefix before touching the network", () => {
    for (const bad of ["bad_prefix", "ends-", "1starts-with-digit", ""])
      expect(() => new AwsSecretsManagerProvider(options(bad))).toThrow(
        expect.objectContaining({ code: "BadParams" }),
      );
  });
});
