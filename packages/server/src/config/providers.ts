/** `[[providers]]` entries: the TOML shape of the original config, validated with precise messages. */
import { z } from "zod";
import { sizeBytes } from "./options.js";

export const PROVIDER_TYPES = ["Local", "S3", "S3Compatible", "Azure", "Gcs"] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

export const providerSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "letters, digits, '_', '.', '-' (max 63)"),
    type: z.enum(PROVIDER_TYPES),
    bucket: z.string().min(1, "required (a directory for Local, a container for Azure)"),
    region: z.string().min(1).optional(),
    endpoint_url: z.url().optional(),
    path_style: z.boolean().optional(),
    access_key: z.string().min(1).optional(),
    secret_key: z.string().min(1).optional(),
    weight: z.number().int().min(1).max(1000).optional(),
    storage_class: z.string().min(1).optional(),
    tags: z.record(z.string(), z.string()).optional(),
    connection_string: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    api_endpoint: z.url().optional(),
    project_id: z.string().min(1).optional(),
    min_free_space: sizeBytes.optional(),
    direct_io: z.enum(["auto", "on", "off"]).optional(),
  })
  .strict();

export type ProviderEntry = z.output<typeof providerSchema>;

/** Fields that hold credentials: may be `enc:` tokens; never printed. */
export const PROVIDER_SECRET_FIELDS = ["secret_key", "connection_string"] as const;
