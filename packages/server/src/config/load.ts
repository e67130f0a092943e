/**
 * Config = defaults < TOML file < `ENIGMA_*` env < flags, every value validated by the option table.
 * Relative paths resolve against the config directory (which is also the default data directory).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { ConfigError } from "./errors.js";
import { envName, OPTIONS, type OptionSpec, SECTIONS, type Section } from "./options.js";
import { type ProviderEntry, providerSchema } from "./providers.js";

export type ValueSource = "default" | "file" | "env" | "flag";

export interface LoadedConfig {
  readonly configDir: string;
  readonly configFile: string;
  readonly fileExists: boolean;
  /** Validated values by "section.key". Unset optional options are absent. */
  readonly values: ReadonlyMap<string, unknown>;
  readonly sources: ReadonlyMap<string, ValueSource>;
  readonly providers: readonly ProviderEntry[];
}

export interface LoadOptions {
  /** Directory holding enigma.toml (default: $ENIGMA_CONFIG_DIR or ~/.enigma). */
  readonly configDir?: string;
  /** Explicit config file (default: <configDir>/enigma.toml). */
  readonly configFile?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Flag overrides by "section.key". */
  readonly flags?: Readonly<Record<string, unknown>>;
  /** Require the file to exist. */
  readonly requireFile?: boolean;
}

export const CONFIG_FILE_NAME = "enigma.toml";

export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ENIGMA_CONFIG_DIR ? resolve(env.ENIGMA_CONFIG_DIR) : join(homedir(), ".enigma");
}

const optionId = (s: Pick<OptionSpec, "section" | "key">) => `${s.section}.${s.key}`;

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] ?? 0;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] ?? 0;
      dp[j] = Math.min((dp[j] ?? 0) + 1, (dp[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] ?? 0;
}

function coerceEnv(spec: OptionSpec, raw: string): unknown {
  switch (spec.envKind) {
    case "number":
      return raw.trim() !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
    case "boolean":
      return raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : raw;
    case "list":
      return raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

function formatIssue(where: string, issue: { path: PropertyKey[]; message: string }): string {
  const sub = issue.path.length ? `.${issue.path.map(String).join(".")}` : "";
  return `${where}${sub}: ${issue.message}`;
}

/** Parses TOML text into raw sections; throws ConfigError naming unknown sections/keys. */
function readTomlFile(file: string): { raw: Record<string, unknown>; exists: boolean } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { raw: {}, exists: false };
    throw new ConfigError("Unreadable", [`cannot read: ${(err as Error).message}`], file);
  }
  try {
    return { raw: parseToml(text) as Record<string, unknown>, exists: true };
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0] ?? "parse error";
    throw new ConfigError("Invalid", [`not valid TOML: ${msg}`], file);
  }
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const configDir = resolve(opts.configDir ?? defaultConfigDir(env));
  const configFile = opts.configFile ? resolve(opts.configFile) : join(configDir, CONFIG_FILE_NAME);
  const { raw, exists } = readTomlFile(configFile);
  if (opts.requireFile && !exists) {
    throw new ConfigError("Unreadable", [`no config file (run "enigma init" first)`], configFile);
  }
  const issues: string[] = [];
  const values = new Map<string, unknown>();
  const sources = new Map<string, ValueSource>();

  for (const top of Object.keys(raw)) {
    if (top === "providers" || (SECTIONS as readonly string[]).includes(top)) continue;
    const hint = closest(top, [...SECTIONS, "providers"]);
    issues.push(`unknown section [${top}]${hint ? ` (did you mean [${hint}]?)` : ""}`);
  }
  for (const section of SECTIONS) {
    const tbl = raw[section];
    if (tbl === undefined) continue;
    if (typeof tbl !== "object" || tbl === null || Array.isArray(tbl)) {
      issues.push(`[${section}] must be a table`);
      continue;
    }
    const known = OPTIONS.filter((s) => s.section === section).map((s) => s.key);
    for (const key of Object.keys(tbl)) {
      if (!known.includes(key)) {
        const hint = closest(key, known);
        issues.push(`[${section}] unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
      }
    }
  }

  for (const spec of OPTIONS) {
    const id = optionId(spec);
    const fileTbl = raw[spec.section] as Record<string, unknown> | undefined;
    let value: unknown;
    let source: ValueSource | undefined;
    let where = `[${spec.section}] ${spec.key}`;
    if (fileTbl && typeof fileTbl === "object" && spec.key in fileTbl) {
      value = fileTbl[spec.key];
      source = "file";
    }
    const envRaw = env[envName(spec)];
    if (envRaw !== undefined && envRaw !== "") {
      value = coerceEnv(spec, envRaw);
      source = "env";
      where = envName(spec);
    }
    if (opts.flags && opts.flags[id] !== undefined) {
      value = opts.flags[id];
      source = "flag";
      where = `--${spec.key.replaceAll("_", "-")}`;
    }
    if (source === undefined) {
      if (spec.defaultValue === undefined) continue;
      value = spec.defaultValue;
      source = "default";
    }
    const parsed = spec.schema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) issues.push(formatIssue(where, issue));
      continue;
    }
    values.set(id, parsed.data);
    sources.set(id, source);
  }

  const providers: ProviderEntry[] = [];
  const rawProviders = raw.providers;
  if (rawProviders !== undefined) {
    if (!Array.isArray(rawProviders)) {
      issues.push("providers must be an array of tables ([[providers]])");
    } else {
      const names = new Set<string>();
      rawProviders.forEach((p, i) => {
        const parsed = providerSchema.safeParse(p);
        if (!parsed.success) {
          for (const issue of parsed.error.issues) issues.push(formatIssue(`[[providers]] #${i + 1}`, issue));
          return;
        }
        if (names.has(parsed.data.name))
          issues.push(`[[providers]] #${i + 1}: duplicate name "${parsed.data.name}"`);
        names.add(parsed.data.name);
        providers.push(parsed.data);
      });
    }
  }
  const rf = values.get("enigma.replication_factor") as number | undefined;
  if (rf !== undefined && providers.length > 0 && rf > providers.length) {
    issues.push(`[enigma] replication_factor: ${rf} exceeds the ${providers.length} configured provider(s)`);
  }
  if (values.has("s3_proxy.tls_cert") !== values.has("s3_proxy.tls_key")) {
    issues.push("[s3_proxy] tls_cert and tls_key must be set together");
  }
  if (issues.length) throw new ConfigError("Invalid", issues, configFile);
  return { configDir, configFile, fileExists: exists, values, sources, providers };
}

/** Resolves a path option against the config dir. */
export function resolvePath(cfg: LoadedConfig, p: string): string {
  return isAbsolute(p) ? p : join(cfg.configDir, p);
}

export function getOption<T>(cfg: LoadedConfig, section: Section, key: string): T {
  return cfg.values.get(`${section}.${key}`) as T;
}
