import { createHash } from "node:crypto";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  type StorageClass,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { ListedObject, OpOptions, StorageBackend } from "../backend.js";
import { StorageError } from "../backend.js";
import { validateListPrefix, validateObjectKey } from "../object-key.js";
import { mapS3Error } from "./s3-errors.js";

export const DEFAULT_S3_MULTIPART_THRESHOLD_BYTES = 32 * 1024 * 1024;
export const DEFAULT_S3_PART_SIZE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_LIST_PAGE_SIZE = 1000;

export interface S3BackendOptions {
  readonly name: string;
  readonly bucket: string;
  readonly region: string;
  readonly endpointUrl?: string;
  readonly pathStyle?: boolean;
  /** Omit for the AWS default credential chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly storageClass?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly multipartThresholdBytes?: number;
  readonly partSizeBytes?: number;
  readonly listPageSize?: number;
}

/** S3 and S3-compatible servers through @aws-sdk/client-s3. */
export class S3Backend implements StorageBackend {
  readonly name: string;
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly storageClass: StorageClass | undefined;
  private readonly tagging: string | undefined;
  private readonly tagSet: { Key: string; Value: string }[];
  private readonly multipartThresholdBytes: number;
  private readonly partSizeBytes: number;
  private readonly listPageSize: number;

  constructor(opts: S3BackendOptions) {
    this.name = opts.name;
    this.bucket = opts.bucket;
    const config: S3ClientConfig = {
      region: opts.region,
      forcePathStyle: opts.pathStyle ?? false,
      // Retries are ours (retry.ts), applied the same way to every provider.
      maxAttempts: 1,
      // The SDK's default (WHEN_SUPPORTED) adds CRC32 trailers and aws-chunked bodies that many
      // third-party S3 servers reject; send checksums only where the API requires them.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
    if (opts.endpointUrl !== undefined) config.endpoint = opts.endpointUrl;
    if (opts.credentials !== undefined) config.credentials = { ...opts.credentials };
    this.client = new S3Client(config);
    this.storageClass = opts.storageClass as StorageClass | undefined;
    // x-amz-tagging is query-encoded, but with %20 for a space: URLSearchParams' "+" is stored
    // literally by some servers (Ceph RGW).
    const tagEntries = Object.entries(opts.tags ?? {});
    this.tagSet = tagEntries.map(([Key, Value]) => ({ Key, Value }));
    this.tagging =
      tagEntries.length > 0
        ? tagEntries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&")
        : undefined;
    this.multipartThresholdBytes = opts.multipartThresholdBytes ?? DEFAULT_S3_MULTIPART_THRESHOLD_BYTES;
    this.partSizeBytes = opts.partSizeBytes ?? DEFAULT_S3_PART_SIZE_BYTES;
    this.listPageSize = opts.listPageSize ?? DEFAULT_LIST_PAGE_SIZE;
  }

  private sendOpts(opts?: OpOptions): { abortSignal?: AbortSignal } {
    return opts?.signal ? { abortSignal: opts.signal } : {};
  }

  async put(key: string, data: Uint8Array, opts?: OpOptions): Promise<void> {
    validateObjectKey(key, this.name);
    const params = {
      Bucket: this.bucket,
      Key: key,
      ContentType: "application/octet-stream",
      ...(this.storageClass !== undefined ? { StorageClass: this.storageClass } : {}),
      ...(this.tagging !== undefined ? { Tagging: this.tagging } : {}),
    };
    try {
      if (data.length < this.multipartThresholdBytes) {
        // Content-MD5 lets the server reject a body damaged in flight (cheap next to the upload).
        const md5 = createHash("md5").update(data).digest("base64");
        await this.client.send(
          new PutObjectCommand({ ...params, Body: data, ContentLength: data.length, ContentMD5: md5 }),
          this.sendOpts(opts),
        );
        return;
      }
      const ac = new AbortController();
      const onAbort = () => ac.abort();
      opts?.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        // Tags go on with PutObjectTagging after completion: some servers (Ceph RGW 16) ignore
        // x-amz-tagging on CreateMultipartUpload.
        const { Tagging: _viaTagSet, ...multipartParams } = params;
        const upload = new Upload({
          client: this.client,
          params: { ...multipartParams, Body: data },
          tags: this.tagSet,
          partSize: this.partSizeBytes,
          queueSize: 2,
          leavePartsOnError: false,
          abortController: ac,
        });
        await upload.done();
      } finally {
        opts?.signal?.removeEventListener("abort", onAbort);
      }
    } catch (err) {
      throw mapS3Error(err, this.name, `put ${key}`);
    }
  }

  async get(key: string, opts?: OpOptions): Promise<Buffer> {
    validateObjectKey(key, this.name);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key }),
        this.sendOpts(opts),
      );
      if (!out.Body) return Buffer.alloc(0);
      const bytes = await out.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      throw mapS3Error(err, this.name, `get ${key}`);
    }
  }

  async exists(key: string, opts?: OpOptions): Promise<boolean> {
    validateObjectKey(key, this.name);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), this.sendOpts(opts));
      return true;
    } catch (err) {
      const mapped = mapS3Error(err, this.name, `exists ${key}`);
      // HEAD has no body, so a missing bucket also shows up as a bare 404: tell them apart only
      // through test(); for a key, 404 means absent.
      if (mapped.code === "NotFound") return false;
      throw mapped;
    }
  }

  async delete(key: string, opts?: OpOptions): Promise<void> {
    validateObjectKey(key, this.name);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), this.sendOpts(opts));
    } catch (err) {
      const mapped = mapS3Error(err, this.name, `delete ${key}`);
      if (mapped.code === "NotFound" && !mapped.message.includes("NoSuchBucket")) return;
      throw mapped;
    }
  }

  async *list(prefix = "", opts?: OpOptions): AsyncGenerator<ListedObject> {
    validateListPrefix(prefix, this.name);
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            ...(prefix !== "" ? { Prefix: prefix } : {}),
            MaxKeys: this.listPageSize,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
          this.sendOpts(opts),
        );
      } catch (err) {
        throw mapS3Error(err, this.name, `list ${prefix}`);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, sizeBytes: o.Size ?? 0, lastModifiedMs: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async test(opts?: OpOptions): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), this.sendOpts(opts));
    } catch (err) {
      const mapped = mapS3Error(err, this.name, "test");
      if (mapped.code === "NotFound") {
        throw new StorageError("NotFound", this.name, `test: bucket ${this.bucket} does not exist`, {
          cause: mapped,
        });
      }
      throw mapped;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
