import type { ListedObject, OpOptions, StorageBackend, StorageErrorCode } from "../backend.js";
import { StorageError } from "../backend.js";
import type { BackendOp } from "../retry.js";

/**
 * Wraps a backend and injects failures: the next N calls of an operation fail with a code, the
 * whole provider goes down, or reads return flipped bytes. For distributor and retry tests.
 */
export class FaultBackend implements StorageBackend {
  readonly name: string;
  /** Every operation fails with Unavailable while true. */
  down = false;
  /** `get` returns the object with its first byte flipped while true. */
  corrupt = false;
  /** `get`/`put` never settle while true (until the caller's signal aborts). */
  hang = false;
  readonly calls: Record<BackendOp, number> = { put: 0, get: 0, delete: 0, exists: 0, list: 0, test: 0 };
  private readonly pending = new Map<BackendOp, { count: number; code: StorageErrorCode }>();

  constructor(readonly inner: StorageBackend) {
    this.name = inner.name;
  }

  failNext(op: BackendOp, count: number, code: StorageErrorCode = "Unavailable"): void {
    this.pending.set(op, { count, code });
  }

  private async enter(op: BackendOp, signal?: AbortSignal): Promise<void> {
    this.calls[op]++;
    if (this.down) throw new StorageError("Unavailable", this.name, `${op}: injected outage`);
    const p = this.pending.get(op);
    if (p && p.count > 0) {
      p.count--;
      throw new StorageError(p.code, this.name, `${op}: injected ${p.code}`);
    }
    if (this.hang && (op === "get" || op === "put")) {
      await new Promise<never>((_, reject) => {
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
  }

  async put(key: string, data: Uint8Array, opts?: OpOptions): Promise<void> {
    await this.enter("put", opts?.signal);
    return this.inner.put(key, data, opts);
  }

  async get(key: string, opts?: OpOptions): Promise<Buffer> {
    await this.enter("get", opts?.signal);
    const data = await this.inner.get(key, opts);
    if (this.corrupt && data.length > 0) data[0] = data[0]! ^ 0xff;
    return data;
  }

  async delete(key: string, opts?: OpOptions): Promise<void> {
    await this.enter("delete");
    return this.inner.delete(key, opts);
  }

  async exists(key: string, opts?: OpOptions): Promise<boolean> {
    await this.enter("exists");
    return this.inner.exists(key, opts);
  }

  async *list(prefix?: string, opts?: OpOptions): AsyncGenerator<ListedObject> {
    await this.enter("list");
    yield* this.inner.list(prefix, opts);
  }

  async test(opts?: OpOptions): Promise<void> {
    await this.enter("test");
    return this.inner.test(opts);
  }
}
