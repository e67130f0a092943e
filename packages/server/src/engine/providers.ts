/** `[[providers]]` (TOML, snake_case, secrets possibly `enc:` tokens) → live storage backends. */
import { createBackend, type ProviderConfig, type StorageBackend } from "@enigma/storage";
import type { ProviderEntry } from "../config/index.js";

export interface ConfiguredBackend {
  readonly backend: StorageBackend;
  readonly weight: number;
}

export function toProviderConfig(
  p: ProviderEntry,
  secret: (v: string | undefined) => string | undefined,
): ProviderConfig {
  const secretKey = secret(p.secret_key);
  const connectionString = secret(p.connection_string);
  return {
    name: p.name,
    type: p.type,
    bucket: p.bucket,
    ...(p.region !== undefined ? { region: p.region } : {}),
    ...(p.endpoint_url !== undefined ? { endpointUrl: p.endpoint_url } : {}),
    ...(p.path_style !== undefined ? { pathStyle: p.path_style } : {}),
    ...(p.access_key !== undefined ? { accessKey: p.access_key } : {}),
    ...(secretKey !== undefined ? { secretKey } : {}),
    ...(p.weight !== undefined ? { weight: p.weight } : {}),
    ...(p.storage_class !== undefined ? { storageClass: p.storage_class } : {}),
    ...(p.tags !== undefined ? { tags: p.tags } : {}),
    ...(connectionString !== undefined ? { connectionString } : {}),
    ...(p.key_file !== undefined ? { keyFile: p.key_file } : {}),
    ...(p.api_endpoint !== undefined ? { apiEndpoint: p.api_endpoint } : {}),
    ...(p.project_id !== undefined ? { projectId: p.project_id } : {}),
    ...(p.min_free_space !== undefined ? { minFreeBytes: p.min_free_space } : {}),
    ...(p.direct_io !== undefined ? { directIo: p.direct_io } : {}),
  };
}

export async function createBackends(
  providers: readonly ProviderEntry[],
  secret: (v: string | undefined) => string | undefined,
): Promise<ConfiguredBackend[]> {
  const out: ConfiguredBackend[] = [];
  try {
    for (const p of providers) {
      out.push({ backend: await createBackend(toProviderConfig(p, secret)), weight: p.weight ?? 1 });
    }
  } catch (err) {
    for (const b of out) await b.backend.close?.();
    throw err;
  }
  return out;
}
