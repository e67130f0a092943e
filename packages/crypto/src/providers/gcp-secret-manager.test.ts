import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort } from "../../../../test/fakes/fake-http-server.js";
import { GCP_FAKE_TOKEN, GcpSecretManagerFake } from "../../../../test/fakes/gcp-secretmanager-fake.js";
import { describeKeyProviderContract } from "./contract/key-provider-contract.js";
import { describeVaultFakeSuite } from "./contract/vault-fake-suite.js";
import { GcpSecretManagerProvider, type GcpSecretManagerProviderOptions } from "./gcp-secret-manager.js";

const PROJECT = "enigma-test-project";
let fake: GcpSecretManagerFake;
beforeAll(async () => {
  fake = await GcpSecretManagerFake.start();
});
afterAll(async () => {
  await fake?.close();
});

function options(
  prefix: string,
  over: Partial<GcpSecretManagerProviderOptions> = {},
): GcpSecretManagerProviderOptions {
  return {
    projectId: PROJECT,
    secretPrefix: prefix,
    endpoint: fake.endpoint,
    accessToken: GCP_FAKE_TOKEN,
    maxRetries: 0,
    ...over,
  };
}

describeKeyProviderContract("gcp-secretmanager (fake)", async () => {
  const prefix = `t${randomBytes(4).toString("hex")}`;
  return { node: () => new GcpSecretManagerProvider(options(prefix)), cleanup: async () => {} };
});

// "put" is a new version of an existing secret (the pointer); a new secret's first version is "create".
const DENY = { read: "access", create: "createSecret", put: "addLaterVersion" } as const;

describeVaultFakeSuite("gcp-secretmanager (fake)", () => ({
  kind: "gcp-secretmanager",
  where: `project ${PROJECT}`,
  provider: (prefix) => new GcpSecretManagerProvider(options(prefix)),
  unreachable: async (prefix) =>
    new GcpSecretManagerProvider(options(prefix, { endpoint: `http://127.0.0.1:${await closedPort()}` })),
  wrongCredential: (prefix) => new GcpSecretManagerProvider(options(prefix, { accessToken: "wrong-token" })),
  deny: (what) => fake.deny([DENY[what]]),
  allow: () => fake.allow(),
  rawWrite: (name, value) => fake.rawAdd(PROJECT, name, value),
  rawLatest: (name) => fake.rawLatest(PROJECT, name),
  names: () => fake.names(PROJECT),
  lastReadVersion: (name) =>
    fake.requests.filter((r) => r.op === "access" && r.secret === name).at(-1)?.version,
  deniedDetail: /\(PERMISSION_DENIED\)$/,
}));

describe("GcpSecretManagerProvider", () => {
  it("removes a half-created secret when adding its first version fails", async () => {
    const prefix = `t${randomBytes(4).toString("hex")}`;
    const p = new GcpSecretManagerProvider(options(prefix));
    fake.deny(["addVersion"]);
    try {
      await expect(p.create()).rejects.toMatchObject({ code: "PermissionDenied", secretName: `${prefix}-1` });
    } finally {
      fake.allow();
    }
    expect(fake.names(PROJECT).filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    await p.create();
    await p.close();
  });
});
