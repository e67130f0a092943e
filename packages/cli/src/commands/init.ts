/**
 * `enigma init`: creates the config dir, enigma.toml (kept if present), the key material (kept if
 * present) and the manifest with a first data key. Only what is missing is added.
 *
 * Key material goes where `key_provider` says: the local keystore file (passphrase), or a cloud
 * vault (`--key-provider aws-secretsmanager | azure-keyvault | gcp-secretmanager`, no passphrase).
 * A vault that already holds a key set under the prefix is used as it is (the next node of a
 * cluster runs the same init), never replaced.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createKeystore, isKeyProviderError, type KeyProvider } from "@enigma/crypto";
import { keyProviderFor, needsPassphrase, renderDefaultConfig } from "@enigma/server";
import { type Context, keyProviderFailure } from "../context.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { type KeyProviderFlags, parseKeyProviderKind } from "./keys.js";

export interface InitFlags extends KeyProviderFlags {
  readonly keyProvider?: string;
}

/** Config option ids the key-provider flags set. */
const FLAG_OPTIONS = {
  keyProvider: "enigma.key_provider",
  awsRegion: "enigma.aws_region",
  vaultUrl: "enigma.vault_url",
  gcpProjectId: "enigma.gcp_project_id",
  secretPrefix: "enigma.secret_prefix",
} as const;

export async function initCommand(ctx: Context, flags: InitFlags = {}): Promise<void> {
  const overrides = keyProviderOverrides(flags);
  if (Object.keys(overrides).length > 0) {
    ctx.reload(overrides);
    ctx.settings(); // invalid flag values fail here (exit 2), before anything is written
  }
  const loaded = ctx.loaded();
  mkdirSync(loaded.configDir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  if (!loaded.fileExists) {
    writeFileSync(loaded.configFile, withKeyProvider(renderDefaultConfig(), overrides), {
      mode: 0o600,
      flag: "wx",
    });
    created.push(loaded.configFile);
    ctx.reload();
  } else if (Object.keys(overrides).length > 0) {
    // Later commands read enigma.toml, not these flags: they must already agree with it.
    const wanted = ctx.settings().keyProvider;
    ctx.reload();
    const have = ctx.settings().keyProvider;
    if (JSON.stringify(wanted) !== JSON.stringify(have))
      throw new CliError(
        ExitCode.Usage,
        `${loaded.configFile} exists and selects key_provider = "${have.kind}"` +
          `${have.kind === "local" ? "" : ` (${JSON.stringify(have)})`}; put the key-provider options in ` +
          "its [enigma] section (or remove the file) and rerun init",
      );
  }
  const settings = ctx.settings();
  const kind = settings.keyProvider.kind;
  let keyMaterial: { description: string; created: boolean };
  if (needsPassphrase(kind)) {
    const description = `local keystore ${settings.keyfilePath}`;
    if (!existsSync(settings.keyfilePath)) {
      const pass = await ctx.passphrase(true);
      mkdirSync(dirname(settings.keyfilePath), { recursive: true, mode: 0o700 });
      await createKeystore(settings.keyfilePath, pass);
      created.push(settings.keyfilePath);
      keyMaterial = { description, created: true };
    } else keyMaterial = { description, created: false };
  } else keyMaterial = await ensureVaultKeySet(ctx);
  const hadDb = existsSync(settings.dbPath);
  const engine = await ctx.engine(); // runs migrations, creates the first data key
  if (!hadDb) created.push(settings.dbPath);
  const summary = {
    configDir: loaded.configDir,
    configFile: loaded.configFile,
    keyProvider: { kind, ...keyMaterial, keystoreId: engine.keystore.keystoreId },
    keystore: needsPassphrase(kind) ? settings.keyfilePath : null,
    manifest: settings.dbPath,
    providers: settings.providers.map((p) => ({ name: p.name, type: p.type, bucket: p.bucket })),
    dataKeys: engine.keyring.ids(),
    created,
  };
  ctx.out.result(summary, () =>
    [
      created.length || keyMaterial.created
        ? `initialized ${loaded.configDir}`
        : `${loaded.configDir} already initialized; nothing to add`,
      ...created.map((c) => `  created ${c}`),
      `  keys: ${keyMaterial.description}${keyMaterial.created ? " (new key set)" : needsPassphrase(kind) ? "" : " (existing key set)"}`,
      `  storage: ${summary.providers.map((p) => `${p.name} (${p.type}: ${p.bucket})`).join(", ")}`,
    ].join("\n"),
  );
}

/** Creates the vault's key set, or uses the one already there (another node ran init first). */
async function ensureVaultKeySet(ctx: Context): Promise<{ description: string; created: boolean }> {
  let provider: KeyProvider | undefined;
  try {
    provider = keyProviderFor(ctx.settings());
    try {
      await provider.create();
      return { description: provider.description, created: true };
    } catch (err) {
      if (!isKeyProviderError(err, "SecretExists")) throw err;
      await provider.open(); // fails unless the existing key set is complete and valid
      return { description: provider.description, created: false };
    }
  } catch (err) {
    throw keyProviderFailure(err);
  } finally {
    await provider?.close();
  }
}

function keyProviderOverrides(flags: InitFlags): Record<string, string> {
  const out: Record<string, string> = {};
  if (flags.keyProvider !== undefined)
    out[FLAG_OPTIONS.keyProvider] = parseKeyProviderKind(flags.keyProvider, "--key-provider");
  for (const k of ["awsRegion", "vaultUrl", "gcpProjectId", "secretPrefix"] as const) {
    const v = flags[k];
    if (v !== undefined) out[FLAG_OPTIONS[k]] = v;
  }
  if (Object.keys(out).length > 0 && out[FLAG_OPTIONS.keyProvider] === undefined)
    throw new CliError(
      ExitCode.Usage,
      "--aws-region, --vault-url, --gcp-project-id and --secret-prefix need --key-provider",
    );
  return out;
}

/** The default config with the chosen key-provider options set at the top of [enigma]. */
function withKeyProvider(toml: string, overrides: Record<string, string>): string {
  const lines = Object.entries(overrides).map(
    ([id, v]) => `${id.slice("enigma.".length)} = ${JSON.stringify(v)}`,
  );
  if (lines.length === 0) return toml;
  if (!toml.includes("[enigma]\n")) throw new Error("default config has no [enigma] section");
  return toml.replace("[enigma]\n", `[enigma]\n${lines.join("\n")}\n`);
}
