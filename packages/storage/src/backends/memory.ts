import { type ListedObject, type OpOptions, type StorageBackend, StorageError } from "../backend.js";
import { validateListPrefix, validateObjectKey } from "../object-key.js";

export interface MemoryBackendOptions {
  readonly name: string;
  /** Clock for `lastModifiedMs`; injected so sweep tests can age objects. */
  readonly nowMs?: () => number;
}

/**
 * An in-process backend for tests of code above the storage layer (distributor, pipeline, CLI).
 * It passes the same contract suite as the real backends, so tests using it exercise real paths.
 */
export class MemoryBackend implements StorageBackend {
  readonly name: string;
  private readonly objects = new Map<string, { data: Buffer; lastModifiedMs: number }>();
  private readonly nowMs: () => number;

  constructor(opts: MemoryBackendOptions) {
    this.name = opts.name;
    this.nowMs = opts.nowMs ?? Date.now;
  }

  get size(): number {
    return this.objects.size;
  }

  async put(key: string, data: Uint8Array, opts?: OpOptions): Promise<void> {
    validateObjectKey(key, this.name);
    opts?.signal?.throwIfAborted();
    this.objects.set(key, { data: Buffer.from(data), lastModifiedMs: this.nowMs() });
  }

  async get(key: string): Promise<Buffer> {
    validateObjectKey(key, this.name);
    const o = this.objects.get(key);
    if (!o) throw new StorageError("NotFound", this.name, `get ${key}: no such object`);
    return Buffer.from(o.data);
  }

  async delete(key: string): Promise<void> {
    validateObjectKey(key, this.name);
    this.objects.delete(key);
  }

  async exists(key: string): Promise<boolean> {
    validateObjectKey(key, this.name);
    return this.objects.has(key);
  }

  async *list(prefix = ""): AsyncGenerator<ListedObject> {
    validateListPrefix(prefix, this.name);
    for (const [key, o] of [...this.objects]) {
      if (key.startsWith(prefix)) yield { key, sizeBytes: o.data.length, lastModifiedMs: o.lastModifiedMs };
    }
  }

  async test(): Promise<void> {}
}
