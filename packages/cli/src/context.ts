/** What every command gets: loaded config, output mode, and lazy access to the engine. */
import {
  ConfigError,
  type Engine,
  type EnigmaSettings,
  type LoadedConfig,
  loadConfig,
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
  /** Opens keystore, manifest and backends; closed by the runner after the command. */
  engine(): Promise<Engine>;
  passphrase(confirm?: boolean): Promise<string>;
  close(): Promise<void>;
}

export function createContext(globals: GlobalOptions): Context {
  const out = createOutput(Boolean(globals.json));
  let loaded: LoadedConfig | undefined;
  let engine: Engine | undefined;
  let pass: string | undefined;
  const ctx: Context = {
    out,
    globals,
    loaded() {
      loaded ??= loadConfig({
        ...(globals.configDir ? { configDir: globals.configDir } : {}),
        ...(globals.config ? { configFile: globals.config } : {}),
      });
      return loaded;
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
      const { existsSync } = await import("node:fs");
      if (!existsSync(settings.keyfilePath)) {
        throw new CliError(
          ExitCode.Keystore,
          `no keystore at ${settings.keyfilePath}: run "enigma init" (or set --config-dir / ENIGMA_CONFIG_DIR)`,
        );
      }
      engine = await openEngine(settings, { passphrase: await ctx.passphrase() });
      return engine;
    },
    async close() {
      await engine?.close();
      engine = undefined;
    },
  };
  return ctx;
}

export { ConfigError };
