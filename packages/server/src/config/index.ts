export { ConfigError, type ConfigErrorCode } from "./errors.js";
export {
  CONFIG_FILE_NAME,
  defaultConfigDir,
  getOption,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  resolvePath,
  type ValueSource,
} from "./load.js";
export { envName, OPTIONS, type OptionSpec, SECTIONS, type Section } from "./options.js";
export {
  PROVIDER_SECRET_FIELDS,
  PROVIDER_TYPES,
  type ProviderEntry,
  type ProviderType,
} from "./providers.js";
export {
  describeConfig,
  type EnigmaSettings,
  type PeerSpec,
  renderDefaultConfig,
  toSettings,
} from "./settings.js";
export { formatBytes, parseDurationMs, parseSizeBytes } from "./units.js";
