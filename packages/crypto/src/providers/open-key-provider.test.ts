import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsSecretsManagerProvider } from "./aws-secrets-manager.js";
import { AzureKeyVaultProvider } from "./azure-key-vault.js";
import { GcpSecretManagerProvider } from "./gcp-secret-manager.js";
import { LocalKeystoreProvider } from "./local-keystore-provider.js";
import { openKeyProvider } from "./open-key-provider.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../../..");

describe("openKeyProvider", () => {
  it("builds the provider named by key_provider, with its [enigma] options", () => {
    expect(openKeyProvider({ keyProvider: "local", keyfilePath: "/k" }, { passphrase: "p" })).toBeInstanceOf(
      LocalKeystoreProvider,
    );
    const aws = openKeyProvider({
      keyProvider: "aws-secretsmanager",
      awsRegion: "eu-west-1",
      secretPrefix: "prod-enigma",
    });
    expect(aws).toBeInstanceOf(AwsSecretsManagerProvider);
    expect(aws.description).toBe('aws-secretsmanager (region eu-west-1, secrets "prod-enigma-*")');
    expect(
      openKeyProvider({ keyProvider: "azure-keyvault", vaultUrl: "https://v.vault.azure.net" }).description,
    ).toBe('azure-keyvault (https://v.vault.azure.net, secrets "enigma-*")');
    expect(
      openKeyProvider({ keyProvider: "azure-keyvault", vaultUrl: "https://v.vault.azure.net" }),
    ).toBeInstanceOf(AzureKeyVaultProvider);
    expect(openKeyProvider({ keyProvider: "gcp-secretmanager", gcpProjectId: "my-proj" })).toBeInstanceOf(
      GcpSecretManagerProvider,
    );
  });

  it("names the missing or invalid option", () => {
    const cases: [Parameters<typeof openKeyProvider>[0], RegExp][] = [
      [{ keyProvider: "azure-keyvault" }, /vault_url is required/],
      [{ keyProvider: "azure-keyvault", vaultUrl: "http://v.vault.azure.net" }, /https/],
      [{ keyProvider: "gcp-secretmanager" }, /gcp_project_id is required/],
      [{ keyProvider: "gcp-secretmanager", gcpProjectId: "Bad Id" }, /gcp_project_id/],
      [{ keyProvider: "aws-secretsmanager", secretPrefix: "has_underscore" }, /secret_prefix/],
      [{ keyProvider: "local" }, /keyfile_path/],
      [{ keyProvider: "nope" as never }, /key_provider must be one of local, aws-secretsmanager/],
    ];
    for (const [settings, message] of cases)
      expect(() => openKeyProvider(settings, { passphrase: "p" })).toThrow(
        expect.objectContaining({ code: "BadParams", message: expect.stringMatching(message) }),
      );
    expect(() => openKeyProvider({ keyProvider: "local", keyfilePath: "/k" })).toThrow(/passphrase/);
  });
});

describe("SDK loading", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "enigma-sdk-load-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("a local-only node never loads a cloud SDK; a vault provider loads only its own, on first use", async () => {
    // A child process, so this process's module cache (which other tests fill) cannot hide a load.
    // A resolve hook, registered after tsx, logs every cloud-SDK specifier the process imports.
    const log = join(dir, "resolved.log");
    await writeFile(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function resolve(specifier, context, next) {
  if (/^@(aws-sdk|azure|google-cloud)\\//.test(specifier)) appendFileSync(${JSON.stringify(log)}, specifier + "\\n");
  return next(specifier, context);
}
`,
    );
    await writeFile(
      join(dir, "register.mjs"),
      `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});\n`,
    );
    await writeFile(
      join(dir, "main.mts"),
      `import { appendFileSync } from "node:fs";
import { openKeyProvider } from ${JSON.stringify(pathToFileURL(join(repoRoot, "packages/crypto/src/index.ts")).href)};
const log = ${JSON.stringify(log)};
const fast = { memoryKiB: 8192, iterations: 1 };
const local = openKeyProvider({ keyProvider: "local", keyfilePath: ${JSON.stringify(join(dir, "ks"))} }, { passphrase: "p", argon2: fast });
const keys = await local.create();
await local.list();
keys.newDataKey(1);
await local.close();
// Constructing vault providers (as config parsing does) must not load anything either.
const limits = { maxRetries: 0, timeoutMs: 2000 };
const aws = openKeyProvider({ keyProvider: "aws-secretsmanager", awsRegion: "us-east-1" }, { limits, aws: { endpoint: "http://127.0.0.1:9", credentials: { accessKeyId: "a", secretAccessKey: "b" } } });
openKeyProvider({ keyProvider: "azure-keyvault", vaultUrl: "https://v.vault.azure.net" }, { limits });
openKeyProvider({ keyProvider: "gcp-secretmanager", gcpProjectId: "p" }, { limits });
appendFileSync(log, "MARK local-done\\n");
const err = await aws.open().catch((e) => e);
appendFileSync(log, "MARK aws-done " + err.code + "\\n");
await aws.close();
`,
    );
    await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--import", pathToFileURL(join(dir, "register.mjs")).href, join(dir, "main.mts")],
      {
        cwd: repoRoot,
        timeout: 60_000,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      },
    );
    const lines = (await readFile(log, "utf8")).trim().split("\n");
    const mark = lines.indexOf("MARK local-done");
    expect(mark).toBeGreaterThanOrEqual(0);
    expect(lines.slice(0, mark)).toEqual([]);
    const afterAws = lines.slice(mark + 1);
    expect(afterAws).toContain("@aws-sdk/client-secrets-manager");
    expect(afterAws.at(-1)).toBe("MARK aws-done VaultUnreachable");
    expect(afterAws.some((l) => l.startsWith("@azure/") || l.startsWith("@google-cloud/"))).toBe(false);
  });
});
