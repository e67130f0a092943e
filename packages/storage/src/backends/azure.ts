import {
  BlobServiceClient,
  type ContainerClient,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import type { ListedObject, OpOptions, StorageBackend } from "../backend.js";
import { StorageError } from "../backend.js";
import { validateListPrefix, validateObjectKey } from "../object-key.js";
import { mapAzureError } from "./azure-errors.js";

export const DEFAULT_AZURE_SINGLE_SHOT_BYTES = 32 * 1024 * 1024;
export const DEFAULT_AZURE_BLOCK_SIZE_BYTES = 8 * 1024 * 1024;

export type AzureCredentials =
  | { readonly kind: "connectionString"; readonly connectionString: string }
  | { readonly kind: "sharedKey"; readonly accountName: string; readonly accountKey: string };

export interface AzureBackendOptions {
  readonly name: string;
  readonly container: string;
  readonly credentials: AzureCredentials;
  /** Blob service URL, e.g. http://127.0.0.1:10000/devstoreaccount1 for Azurite. */
  readonly endpointUrl?: string;
  readonly tier?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly singleShotMaxBytes?: number;
  readonly blockSizeBytes?: number;
  readonly listPageSize?: number;
}

/** Azure Blob Storage (block blobs) through @azure/storage-blob. */
export class AzureBackend implements StorageBackend {
  readonly name: string;
  private readonly container: ContainerClient;
  private readonly opts: AzureBackendOptions;

  constructor(opts: AzureBackendOptions) {
    this.name = opts.name;
    this.opts = opts;
    // Retries are ours (retry.ts); one try per call here.
    const pipeline: StoragePipelineOptions = { retryOptions: { maxTries: 1 } };
    let service: BlobServiceClient;
    if (opts.credentials.kind === "connectionString") {
      service = BlobServiceClient.fromConnectionString(opts.credentials.connectionString, pipeline);
    } else {
      const { accountName, accountKey } = opts.credentials;
      const url = opts.endpointUrl ?? `https://${accountName}.blob.core.windows.net`;
      service = new BlobServiceClient(url, new StorageSharedKeyCredential(accountName, accountKey), pipeline);
    }
    this.container = service.getContainerClient(opts.container);
  }

  private signal(opts?: OpOptions): { abortSignal?: AbortSignal } {
    return opts?.signal ? { abortSignal: opts.signal } : {};
  }

  async put(key: string, data: Uint8Array, opts?: OpOptions): Promise<void> {
    validateObjectKey(key, this.name);
    const tags = this.opts.tags;
    try {
      await this.container
        .getBlockBlobClient(key)
        .uploadData(Buffer.from(data.buffer, data.byteOffset, data.length), {
          ...this.signal(opts),
          maxSingleShotSize: this.opts.singleShotMaxBytes ?? DEFAULT_AZURE_SINGLE_SHOT_BYTES,
          blockSize: this.opts.blockSizeBytes ?? DEFAULT_AZURE_BLOCK_SIZE_BYTES,
          concurrency: 2,
          blobHTTPHeaders: { blobContentType: "application/octet-stream" },
          ...(this.opts.tier !== undefined ? { tier: this.opts.tier } : {}),
          ...(tags !== undefined && Object.keys(tags).length > 0 ? { tags: { ...tags } } : {}),
        });
    } catch (err) {
      throw mapAzureError(err, this.name, `put ${key}`);
    }
  }

  async get(key: string, opts?: OpOptions): Promise<Buffer> {
    validateObjectKey(key, this.name);
    try {
      const res = await this.container.getBlobClient(key).download(0, undefined, {
        ...this.signal(opts),
        maxRetryRequests: 0,
      });
      const body = res.readableStreamBody;
      if (!body) return Buffer.alloc(0);
      const parts: Buffer[] = [];
      for await (const part of body)
        parts.push(typeof part === "string" ? Buffer.from(part) : (part as Buffer));
      const blob = Buffer.concat(parts);
      if (res.contentLength !== undefined && blob.length !== res.contentLength) {
        throw new StorageError(
          "Unavailable",
          this.name,
          `get ${key}: short read (${blob.length} of ${res.contentLength})`,
        );
      }
      return blob;
    } catch (err) {
      throw mapAzureError(err, this.name, `get ${key}`);
    }
  }

  async exists(key: string, opts?: OpOptions): Promise<boolean> {
    validateObjectKey(key, this.name);
    try {
      return await this.container.getBlobClient(key).exists(this.signal(opts));
    } catch (err) {
      throw mapAzureError(err, this.name, `exists ${key}`);
    }
  }

  async delete(key: string, opts?: OpOptions): Promise<void> {
    validateObjectKey(key, this.name);
    try {
      await this.container.getBlobClient(key).deleteIfExists(this.signal(opts));
    } catch (err) {
      throw mapAzureError(err, this.name, `delete ${key}`);
    }
  }

  async *list(prefix = "", opts?: OpOptions): AsyncGenerator<ListedObject> {
    validateListPrefix(prefix, this.name);
    try {
      const pages = this.container
        .listBlobsFlat({ ...(prefix !== "" ? { prefix } : {}), ...this.signal(opts) })
        .byPage({ maxPageSize: this.opts.listPageSize ?? 1000 });
      for await (const page of pages) {
        for (const b of page.segment.blobItems) {
          yield {
            key: b.name,
            sizeBytes: b.properties.contentLength ?? 0,
            lastModifiedMs: b.properties.lastModified.getTime(),
          };
        }
      }
    } catch (err) {
      throw mapAzureError(err, this.name, `list ${prefix}`);
    }
  }

  async test(opts?: OpOptions): Promise<void> {
    try {
      await this.container.getProperties(this.signal(opts));
    } catch (err) {
      const mapped = mapAzureError(err, this.name, "test");
      if (mapped.code === "NotFound") {
        throw new StorageError(
          "NotFound",
          this.name,
          `test: container ${this.opts.container} does not exist`,
          {
            cause: mapped,
          },
        );
      }
      throw mapped;
    }
  }
}
