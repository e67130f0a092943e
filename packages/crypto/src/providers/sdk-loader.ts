/**
 * The only place the cloud SDKs are imported, each with a dynamic `import()` that runs when its
 * provider first talks to the vault: a node on the local keystore never loads them (tested in
 * open-key-provider.test.ts by watching module resolution in a child process).
 */
import type { KeyProviderKind } from "./key-provider.js";
import { KeyProviderError } from "./provider-error.js";

export type AwsSdk = typeof import("@aws-sdk/client-secrets-manager");
export type AzureSecretsSdk = typeof import("@azure/keyvault-secrets");
export type AzureIdentitySdk = typeof import("@azure/identity");
export type GcpSdk = typeof import("@google-cloud/secret-manager");

export function loadAwsSdk(): Promise<AwsSdk> {
  return load(
    "aws-secretsmanager",
    "@aws-sdk/client-secrets-manager",
    () => import("@aws-sdk/client-secrets-manager"),
  );
}

export function loadAzureSecretsSdk(): Promise<AzureSecretsSdk> {
  return load("azure-keyvault", "@azure/keyvault-secrets", () => import("@azure/keyvault-secrets"));
}

export function loadAzureIdentitySdk(): Promise<AzureIdentitySdk> {
  return load("azure-keyvault", "@azure/identity", () => import("@azure/identity"));
}

export function loadGcpSdk(): Promise<GcpSdk> {
  return load(
    "gcp-secretmanager",
    "@google-cloud/secret-manager",
    () => import("@google-cloud/secret-manager"),
  );
}

async function load<T>(provider: KeyProviderKind, pkg: string, importer: () => Promise<T>): Promise<T> {
  try {
    const mod = await importer();
    // A CommonJS SDK imported from a bundle (the CLI's esbuild output) arrives as `default` only.
    const named = Object.keys(mod as object).filter((k) => k !== "default");
    const fallback = (mod as { default?: unknown }).default;
    return named.length === 0 && typeof fallback === "object" && fallback !== null ? (fallback as T) : mod;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new KeyProviderError(
      provider,
      "Unsupported",
      undefined,
      `${provider}: cannot load ${pkg} (${typeof code === "string" ? code : "import failed"}); is it installed?`,
    );
  }
}
