/** What every command gets: loaded config, output mode, and lazy access to the engine. */
import { existsSync } from "node:fs";
import { isCryptoError, isKeyProviderError, type KeyProvider, type ProviderKeys } from "@enigma/crypto";
import {
  ConfigError,
  type Engine,
  type EnigmaSettings,
  keyProviderFor,
  type LoadedConfig,
  loadConfig,
  needsPassphrase,
  openEngine,
  toSettings,
} from "@enigma/server";
import { CliError, ExitCode } from "./exit-codes.js";
import { createOutput, type Output } from "./output.js";
import { readPassphrase } from "./passphrase.js";

export interface GlobalOptions {
  readonly configDir?: string;
  readonly config?: string;
  readonly passphrase?: string;
  readonly json?: boolean;
}

export interface Context {
  readonly out: Output;
  readonly globals: GlobalOptions;
  loaded(): LoadedConfig;
  settings(): EnigmaSettings;
  /** Forgets the loaded config (after init wrote enigma.toml); `flags` override it from now on. */
  reload(flags?: Readonly<Record<string, unknown>>): void;
  /** Opens key provider, manifest and backends; closed by the runner after the command. */
  engine(): Promise<Engine>;
  /**
   * The configured key provider's key material, without the manifest or backends (encrypt-cred,
   * the cluster secret). Uses the engine's when it is open.
   */
  keyMaterial(): Promise<ProviderKeys>;
  /** Asks (flag, env, prompt). Only the local key provider needs a passphrase. */
  passphrase(confirm?: boolean): Promise<string>;
  close(): Promise<void>;
}

export function createContext(globals: GlobalOptions): Context {
  const out = createOutput(Boolean(globals.json));
  let loaded: LoadedConfig | undefined;
  let engine: Engine | undefined;
  let standalone: KeyProvider | undefined;
  let pass: string | undefined;
  let flags: Readonly<Record<string, unknown>> | undefined;
  const ctx: Context = {
    out,
    globals,
    loaded() {
      loaded ??= loadConfig({
        ...(globals.configDir ? { configDir: globals.configDir } : {}),
        ...(globals.config ? { configFile: globals.config } : {}),
        ...(flags ? { flags } : {}),
      });
      return loaded;
    },
    reload(next) {
      if (engine) throw new Error("reload after the engine was opened");
      loaded = undefined;
      flags = next;
    },
    settings() {
      return toSettings(ctx.loaded());
    },
    async passphrase(confirm = false) {
      pass ??= await readPassphrase({ flag: globals.passphrase, confirm });
      return pass;
    },
    async engine() {
      if (engine) return engine;
      const settings = ctx.settings();
      assertKeystoreExists(settings);
      try {
        engine = await openEngine(settings, passphraseOption(ctx, settings));
      } catch (err) {
        throw keyProviderFailure(err);
      }
      return engine;
    },
    async keyMaterial() {
      if (engine) return engine.keystore;
      const settings = ctx.settings();
      assertKeystoreExists(settings);
      standalone ??= keyProviderFor(settings, passphraseOption(ctx, settings));
      try {
        return await standalone.open();
      } catch (err) {
        throw keyProviderFailure(err);
      }
    },
    async close() {
      await engine?.close();
      engine = undefined;
      await standalone?.close();
      standalone = undefined;
    },
  };
  return ctx;
}

/** The local keystore must exist before anything else is opened; vaults are checked on open. */
function assertKeystoreExists(settings: EnigmaSettings): void {
  if (needsPassphrase(settings.keyProvider.kind) && !existsSync(settings.keyfilePath)) {
    throw new CliError(
      ExitCode.Keystore,
      `no keystore at ${settings.keyfilePath}: run "enigma init" (or set --config-dir / ENIGMA_CONFIG_DIR)`,
    );
  }
}

/** A passphrase only for the local keystore, asked when the file is read. */
export function passphraseOption(
  ctx: Pick<Context, "passphrase">,
  settings: EnigmaSettings,
): { passphrase?: () => Promise<string> } {
  return needsPassphrase(settings.keyProvider.kind) ? { passphrase: () => ctx.passphrase() } : {};
}

/**
 * Key provider failures (vault unreachable, permission denied, no key set, …) exit with the
 * keystore code; their messages name the provider and the secret and never hold a secret value.
 */
export function keyProviderFailure(err: unknown): unknown {
  if (isKeyProviderError(err)) return new CliError(ExitCode.Keystore, err.message);
  // A key file that is already there (init, keys migrate --to local) is refused, never replaced.
  if (isCryptoError(err, "FileExists")) return new CliError(ExitCode.Keystore, err.message);
  return err;
}

export { ConfigError };
