import { type Bucket, type File as GcsFile, Storage, type StorageOptions } from "@google-cloud/storage";
import type { ListedObject, OpOptions, StorageBackend } from "../backend.js";
import { StorageError } from "../backend.js";
import { validateListPrefix, validateObjectKey } from "../object-key.js";
import { mapGcsError } from "./gcs-errors.js";

export const DEFAULT_GCS_RESUMABLE_THRESHOLD_BYTES = 32 * 1024 * 1024;

export interface GcsBackendOptions {
  readonly name: string;
  readonly bucket: string;
  /** Service-account key file; omit for Application Default Credentials. */
  readonly keyFile?: string;
  /** JSON API endpoint, e.g. http://127.0.0.1:4443 for an emulator (no auth unless keyFile). */
  readonly apiEndpoint?: string;
  readonly projectId?: string;
  readonly storageClass?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly resumableThresholdBytes?: number;
  readonly listPageSize?: number;
}

/**
 * Google Cloud Storage through @google-cloud/storage. The SDK takes no AbortSignal for these
 * calls; the retry wrapper's timeout still bounds each operation (the request may finish late).
 */
export class GcsBackend implements StorageBackend {
  readonly name: string;
  private readonly bucket: Bucket;
  private readonly opts: GcsBackendOptions;

  constructor(opts: GcsBackendOptions) {
    this.name = opts.name;
    this.opts = opts;
    const so: StorageOptions = {
      // Retries are ours (retry.ts), applied the same way to every provider.
      retryOptions: { autoRetry: false, maxRetries: 1 },
    };
    if (opts.apiEndpoint !== undefined) {
      so.apiEndpoint = opts.apiEndpoint;
      // Emulators take no credentials; a private endpoint with a key file does.
      so.useAuthWithCustomEndpoint = opts.keyFile !== undefined;
    }
    if (opts.keyFile !== undefined) so.keyFilename = opts.keyFile;
    if (opts.projectId !== undefined) so.projectId = opts.projectId;
    this.bucket = new Storage(so).bucket(opts.bucket);
  }

  async put(key: string, data: Uint8Array, opts?: OpOptions): Promise<void> {
    validateObjectKey(key, this.name);
    opts?.signal?.throwIfAborted();
    const meta = this.opts.metadata;
    try {
      await this.bucket.file(key).save(Buffer.from(data.buffer, data.byteOffset, data.length), {
        resumable:
          data.length >= (this.opts.resumableThresholdBytes ?? DEFAULT_GCS_RESUMABLE_THRESHOLD_BYTES),
        contentType: "application/octet-stream",
        metadata: {
          contentType: "application/octet-stream",
          ...(this.opts.storageClass !== undefined ? { storageClass: this.opts.storageClass } : {}),
          ...(meta !== undefined && Object.keys(meta).length > 0 ? { metadata: { ...meta } } : {}),
        },
      });
    } catch (err) {
      throw mapGcsError(err, this.name, `put ${key}`);
    }
  }

  async get(key: string, opts?: OpOptions): Promise<Buffer> {
    validateObjectKey(key, this.name);
    opts?.signal?.throwIfAborted();
    try {
      const [data] = await this.bucket.file(key).download();
      return data;
    } catch (err) {
      throw mapGcsError(err, this.name, `get ${key}`);
    }
  }

  async exists(key: string, opts?: OpOptions): Promise<boolean> {
    validateObjectKey(key, this.name);
    opts?.signal?.throwIfAborted();
    try {
      const [found] = await this.bucket.file(key).exists();
      return found;
    } catch (err) {
      throw mapGcsError(err, this.name, `exists ${key}`);
    }
  }

  async delete(key: string, opts?: OpOptions): Promise<void> {
    validateObjectKey(key, this.name);
    opts?.signal?.throwIfAborted();
    try {
      await this.bucket.file(key).delete({ ignoreNotFound: true });
    } catch (err) {
      throw mapGcsError(err, this.name, `delete ${key}`);
    }
  }

  async *list(prefix = "", opts?: OpOptions): AsyncGenerator<ListedObject> {
    validateListPrefix(prefix, this.name);
    let pageToken: string | undefined;
    do {
      opts?.signal?.throwIfAborted();
      let files: GcsFile[];
      let next: { pageToken?: string } | null | undefined;
      try {
        const res = await this.bucket.getFiles({
          autoPaginate: false,
          maxResults: this.opts.listPageSize ?? 1000,
          ...(prefix !== "" ? { prefix } : {}),
          ...(pageToken !== undefined ? { pageToken } : {}),
        });
        files = res[0];
        next = res[1] as { pageToken?: string } | null | undefined;
      } catch (err) {
        throw mapGcsError(err, this.name, `list ${prefix}`);
      }
      for (const f of files) {
        const updated = f.metadata.updated ?? f.metadata.timeCreated;
        yield {
          key: f.name,
          sizeBytes: Number(f.metadata.size ?? 0),
          lastModifiedMs: updated !== undefined ? Date.parse(updated) : 0,
        };
      }
      pageToken = next?.pageToken;
    } while (pageToken !== undefined);
  }

  async test(opts?: OpOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    try {
      await this.bucket.getMetadata();
    } catch (err) {
      const mapped = mapGcsError(err, this.name, "test");
      if (mapped.code === "NotFound") {
        throw new StorageError("NotFound", this.name, `test: bucket ${this.bucket.name} does not exist`, {
          cause: mapped,
        });
      }
      throw mapped;
    }
  }
}
