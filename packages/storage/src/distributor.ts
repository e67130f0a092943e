import {
  CHUNK_KEY_PREFIX,
  chunkObjectKey,
  parseChunkObjectKey,
  type StorageBackend,
  StorageError,
  type StorageErrorCode,
} from "./backend.js";
import { type DistributionMode, rankProviders } from "./placement.js";

export interface DistributorProvider {
  /** Already wrapped with retries/timeouts (createBackend does that). */
  readonly backend: StorageBackend;
  /** Defaults to 1; 0 = drain (no new chunks). Only `weighted` uses the value beyond 0/non-0. */
  readonly weight?: number;
}

export interface DistributorOptions {
  readonly providers: readonly DistributorProvider[];
  readonly distribution?: DistributionMode;
  /** Each chunk is written to this many distinct providers (default 1). */
  readonly replicationFactor?: number;
  /**
   * When a preferred provider fails a put, write that replica to the next provider in the ranking
   * instead (default true). Locations are returned, so reads still find it.
   */
  readonly spillover?: boolean;
  /** A provider that failed with Unavailable/Timeout is tried last for this long (default 30 s). */
  readonly unhealthyCooldownMs?: number;
  readonly nowMs?: () => number;
  readonly onEvent?: (e: DistributorEvent) => void;
}

export type DistributorEvent =
  | {
      readonly type: "put-failed";
      readonly chunkName: string;
      readonly provider: string;
      readonly error: StorageError;
    }
  | {
      readonly type: "read-fallback";
      readonly chunkName: string;
      readonly provider: string;
      readonly reason: "error" | "corrupt" | "unknown-provider";
      readonly error?: StorageError;
    }
  | {
      readonly type: "delete-skipped";
      readonly chunkName: string;
      readonly provider: string;
      readonly reason: "unknown-provider";
    };

/** Returns false or throws when a downloaded blob is not the chunk (e.g. AES-GCM tag mismatch). */
export type VerifyBlob = (blob: Buffer) => boolean | undefined | Promise<boolean | undefined>;

export interface GetChunkOptions {
  /**
   * Read into buffers from `alloc` on backends that can (`StorageBackend.getInto`); the others
   * return a fresh buffer. A buffer whose read was rejected (timeout) must not be reused.
   */
  readonly alloc?: (sizeBytes: number) => Buffer;
}

export interface ChunkListing {
  readonly provider: string;
  readonly key: string;
  /** Null for an object under chunks/ that is not one of ours (left alone by the sweep). */
  readonly chunkName: string | null;
  readonly sizeBytes: number;
  readonly lastModifiedMs: number;
}

export interface ProviderStatus {
  readonly name: string;
  readonly reachable: boolean;
  readonly error?: { readonly code: StorageErrorCode; readonly message: string };
  /** Objects under chunks/ that parse as chunk keys (only when asked to count). */
  readonly chunkCount?: number;
  readonly latencyMs: number;
}

export const DEFAULT_UNHEALTHY_COOLDOWN_MS = 30_000;

function combinedCode(errors: readonly StorageError[]): StorageErrorCode {
  const first = errors[0]?.code ?? "Unavailable";
  return errors.every((e) => e.code === first) ? first : "Unavailable";
}

function describe(errors: readonly StorageError[]): string {
  return errors.map((e) => `${e.provider}: ${e.code} (${e.message})`).join("; ");
}

/**
 * Places sealed chunks on providers and reads them back, each under the key of its chunk object
 * name (`chunkObjectName`: name tag + upload nonce, or a bare name tag from before nonces).
 * Placement is deterministic given the name tag (placement.ts; the nonce does not count); a chunk
 * goes to `replicationFactor` distinct providers; reads try the recorded locations in order and
 * fall back on error or failed verification. It never deletes a replica after a failed put: the
 * sweep removes orphans after the grace period, fenced against a late commit.
 */
export class Distributor {
  readonly replicationFactor: number;
  readonly distribution: DistributionMode;
  private readonly backends = new Map<string, StorageBackend>();
  private readonly placement: { name: string; weight: number }[];
  private readonly spillover: boolean;
  private readonly cooldownMs: number;
  private readonly nowMs: () => number;
  private readonly onEvent: (e: DistributorEvent) => void;
  private readonly unhealthyUntilMs = new Map<string, number>();

  constructor(opts: DistributorOptions) {
    this.distribution = opts.distribution ?? "round-robin";
    this.replicationFactor = opts.replicationFactor ?? 1;
    this.spillover = opts.spillover ?? true;
    this.cooldownMs = opts.unhealthyCooldownMs ?? DEFAULT_UNHEALTHY_COOLDOWN_MS;
    this.nowMs = opts.nowMs ?? Date.now;
    this.onEvent = opts.onEvent ?? (() => {});
    this.placement = [];
    for (const p of opts.providers) {
      const name = p.backend.name;
      if (this.backends.has(name)) throw new StorageError("InvalidConfig", name, "duplicate provider name");
      const weight = p.weight ?? 1;
      if (!(Number.isFinite(weight) && weight >= 0)) {
        throw new StorageError("InvalidConfig", name, `weight must be a finite number >= 0, got ${weight}`);
      }
      this.backends.set(name, p.backend);
      this.placement.push({ name, weight });
    }
    const eligible = this.placement.filter((p) => p.weight > 0).length;
    if (!Number.isInteger(this.replicationFactor) || this.replicationFactor < 1) {
      throw new StorageError("InvalidConfig", "distributor", "replication_factor must be an integer >= 1");
    }
    if (this.replicationFactor > eligible) {
      throw new StorageError(
        "InvalidConfig",
        "distributor",
        `replication_factor ${this.replicationFactor} needs at least that many providers with weight > 0, have ${eligible}`,
      );
    }
  }

  providerNames(): string[] {
    return [...this.backends.keys()];
  }

  backend(name: string): StorageBackend | undefined {
    return this.backends.get(name);
  }

  /** Every eligible provider, most preferred first, for this chunk. */
  ranking(chunkName: string): string[] {
    return rankProviders(chunkName, this.placement, this.distribution);
  }

  /** The providers a put of this chunk goes to when all are healthy. */
  placementFor(chunkName: string): string[] {
    return this.ranking(chunkName).slice(0, this.replicationFactor);
  }

  /**
   * Writes the sealed chunk to `replicationFactor` distinct providers and returns their names in
   * ranking order (record them in the manifest). Rejects — so the caller commits nothing — unless
   * every replica is durably written; the error names each provider that failed.
   */
  async putChunk(chunkName: string, blob: Uint8Array): Promise<string[]> {
    const key = chunkObjectKey(chunkName);
    const ranking = this.ranking(chunkName);
    const candidates = this.spillover ? ranking : ranking.slice(0, this.replicationFactor);
    let next = 0;
    const written = new Set<string>();
    const failures: StorageError[] = [];
    // One lane per replica; a lane whose provider fails takes the next unused candidate.
    const lane = async (): Promise<void> => {
      while (next < candidates.length) {
        const name = candidates[next++]!;
        try {
          await this.backends.get(name)!.put(key, blob);
          written.add(name);
          return;
        } catch (raw) {
          const error = StorageError.from(raw, name);
          failures.push(error);
          this.noteFailure(name, error);
          this.onEvent({ type: "put-failed", chunkName, provider: name, error });
        }
      }
    };
    await Promise.all(Array.from({ length: this.replicationFactor }, lane));
    if (written.size < this.replicationFactor) {
      const failed = failures.map((f) => f.provider).join(",");
      throw new StorageError(
        combinedCode(failures),
        failed || "distributor",
        `chunk ${chunkName}: stored on ${written.size} of ${this.replicationFactor} required providers; ${describe(failures)}`,
        { cause: new AggregateError(failures) },
      );
    }
    return ranking.filter((n) => written.has(n));
  }

  /**
   * Reads a chunk from the first recorded location that returns a blob passing `verify`, trying
   * providers that failed recently last. Every skipped replica is reported through onEvent.
   */
  async getChunk(
    chunkName: string,
    locations: readonly string[],
    verify?: VerifyBlob,
    opts: GetChunkOptions = {},
  ): Promise<Buffer> {
    const key = chunkObjectKey(chunkName);
    const now = this.nowMs();
    const healthy = (n: string) => (this.unhealthyUntilMs.get(n) ?? 0) <= now;
    const ordered = [...locations.filter(healthy), ...locations.filter((n) => !healthy(n))];
    const failures: StorageError[] = [];
    let corrupt = 0;
    for (const name of ordered) {
      const backend = this.backends.get(name);
      if (!backend) {
        const error = new StorageError(
          "InvalidConfig",
          name,
          "location names a provider that is not configured",
        );
        failures.push(error);
        this.onEvent({ type: "read-fallback", chunkName, provider: name, reason: "unknown-provider" });
        continue;
      }
      let blob: Buffer;
      try {
        blob =
          opts.alloc && backend.getInto ? await backend.getInto(key, opts.alloc) : await backend.get(key);
      } catch (raw) {
        const error = StorageError.from(raw, name);
        failures.push(error);
        this.noteFailure(name, error);
        this.onEvent({ type: "read-fallback", chunkName, provider: name, reason: "error", error });
        continue;
      }
      let ok: boolean | undefined;
      let cause: unknown;
      try {
        ok = (await verify?.(blob)) !== false;
      } catch (err) {
        ok = false;
        cause = err;
      }
      if (ok) return blob;
      corrupt++;
      const error = new StorageError("Corrupt", name, `chunk ${chunkName} failed verification`, { cause });
      failures.push(error);
      this.onEvent({ type: "read-fallback", chunkName, provider: name, reason: "corrupt", error });
    }
    const code: StorageErrorCode =
      locations.length === 0 ? "NotFound" : corrupt === failures.length ? "Corrupt" : combinedCode(failures);
    throw new StorageError(
      code,
      locations.join(",") || "distributor",
      `chunk ${chunkName}: no readable replica among [${locations.join(", ")}]; ${describe(failures)}`,
      { cause: new AggregateError(failures) },
    );
  }

  /** Deletes every replica; absent replicas are fine. Throws naming the providers that failed. */
  async deleteChunk(chunkName: string, locations: readonly string[]): Promise<void> {
    const key = chunkObjectKey(chunkName);
    const failures: StorageError[] = [];
    await Promise.all(
      locations.map(async (name) => {
        const backend = this.backends.get(name);
        if (!backend) {
          this.onEvent({ type: "delete-skipped", chunkName, provider: name, reason: "unknown-provider" });
          return;
        }
        try {
          await backend.delete(key);
        } catch (raw) {
          failures.push(StorageError.from(raw, name));
        }
      }),
    );
    if (failures.length > 0) {
      throw new StorageError(
        combinedCode(failures),
        failures.map((f) => f.provider).join(","),
        `delete chunk ${chunkName}: ${describe(failures)}`,
        { cause: new AggregateError(failures) },
      );
    }
  }

  /** Every object under chunks/ on every provider, provider by provider (for the GC sweep). */
  async *listAll(): AsyncGenerator<ChunkListing> {
    for (const [provider, backend] of this.backends) {
      for await (const o of backend.list(CHUNK_KEY_PREFIX)) {
        yield { provider, key: o.key, chunkName: parseChunkObjectKey(o.key), ...size(o) };
      }
    }
  }

  /** Reachability (a `test` call) of every provider, and optionally its chunk count. */
  async status(opts: { countChunks?: boolean } = {}): Promise<ProviderStatus[]> {
    return Promise.all([...this.backends].map(([name, backend]) => probeProvider(name, backend, opts)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.backends.values()].map((b) => b.close?.()));
  }

  private noteFailure(name: string, error: StorageError): void {
    if (error.code === "Unavailable" || error.code === "Timeout") {
      this.unhealthyUntilMs.set(name, this.nowMs() + this.cooldownMs);
    }
  }
}

function size(o: { sizeBytes: number; lastModifiedMs: number }) {
  return { sizeBytes: o.sizeBytes, lastModifiedMs: o.lastModifiedMs };
}

export async function probeProvider(
  name: string,
  backend: StorageBackend,
  opts: { countChunks?: boolean } = {},
): Promise<ProviderStatus> {
  const started = performance.now();
  try {
    await backend.test();
    let chunkCount: number | undefined;
    if (opts.countChunks) {
      chunkCount = 0;
      for await (const o of backend.list(CHUNK_KEY_PREFIX))
        if (parseChunkObjectKey(o.key) !== null) chunkCount++;
    }
    const latencyMs = Math.round(performance.now() - started);
    return chunkCount === undefined
      ? { name, reachable: true, latencyMs }
      : { name, reachable: true, chunkCount, latencyMs };
  } catch (raw) {
    const e = StorageError.from(raw, name);
    return {
      name,
      reachable: false,
      error: { code: e.code, message: e.message },
      latencyMs: Math.round(performance.now() - started),
    };
  }
}
