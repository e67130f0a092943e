import {
  type ListedObject,
  type OpOptions,
  type StorageBackend,
  StorageError,
  type StorageErrorCode,
} from "./backend.js";

export interface RetryPolicy {
  /** Attempts including the first; 1 disables retries. */
  readonly maxAttempts: number;
  /** Backoff cap before jitter for attempt n is min(maxDelayMs, baseDelayMs * 2^(n-1)). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Per-attempt timeout of exists/delete/test and of each list page. */
  readonly requestTimeoutMs: number;
  /** Per-attempt timeout of put/get (a sealed chunk is up to 16 MiB). */
  readonly transferTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 5_000,
  requestTimeoutMs: 30_000,
  transferTimeoutMs: 120_000,
};

/** Codes worth another attempt: the provider may answer differently in a moment. */
const RETRYABLE_CODES: ReadonlySet<StorageErrorCode> = new Set(["Unavailable", "Timeout", "Throttled"]);

export function isRetryable(err: unknown): boolean {
  return err instanceof StorageError && RETRYABLE_CODES.has(err.code);
}

export type BackendOp = "put" | "get" | "delete" | "exists" | "list" | "test";

export interface RetryEvent {
  readonly provider: string;
  readonly op: BackendOp;
  /** The attempt that failed (1-based); the next one is attempt + 1. */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: StorageError;
}

export interface RetryDeps {
  /** Injected for tests; defaults to a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Uniform in [0, 1); defaults to Math.random. */
  readonly random?: () => number;
  readonly onRetry?: (e: RetryEvent) => void;
}

/** "Full jitter" (AWS architecture blog, Exponential Backoff and Jitter): uniform in [0, cap). */
export function backoffDelayMs(failedAttempt: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (failedAttempt - 1));
  return Math.floor(random() * cap);
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` with a fresh AbortSignal that fires after `timeoutMs`. The returned promise settles
 * by then even if `fn` ignores its signal, so a hung SDK call cannot hang the caller.
 */
export async function withTimeout<T>(
  provider: string,
  what: string,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new StorageError("Timeout", provider, `${what} timed out after ${timeoutMs} ms`);
      ac.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(ac.signal), timedOut]);
  } catch (err) {
    if (ac.signal.aborted) throw ac.signal.reason as StorageError;
    throw StorageError.from(err, provider);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Wraps a backend so every operation gets bounded retries (exponential backoff, full jitter) on
 * retryable codes only, a per-attempt timeout, and errors normalized to StorageError naming the
 * provider. Puts are safe to repeat: chunk keys are content-derived and a put replaces whole.
 */
export function withRetry(
  backend: StorageBackend,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  deps: RetryDeps = {},
): StorageBackend {
  if (!(policy.maxAttempts >= 1)) throw new RangeError("maxAttempts must be at least 1");
  const sleep = deps.sleep ?? defaultSleep;
  const random = deps.random ?? Math.random;
  const provider = backend.name;

  async function run<T>(op: BackendOp, what: string, timeoutMs: number, fn: (o: OpOptions) => Promise<T>) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTimeout(provider, what, timeoutMs, (signal) => fn({ signal }));
      } catch (raw) {
        const err = StorageError.from(raw, provider);
        if (!isRetryable(err) || attempt >= policy.maxAttempts) throw err;
        const delayMs = backoffDelayMs(attempt, policy, random);
        deps.onRetry?.({ provider, op, attempt, delayMs, error: err });
        await sleep(delayMs);
      }
    }
  }

  async function* list(prefix?: string): AsyncGenerator<ListedObject> {
    // A listing that fails part-way is restarted from the beginning; keys already yielded are
    // skipped so the caller sees each object once (memory: one Set entry per listed key).
    const seen = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      const ac = new AbortController();
      try {
        const it = backend.list(prefix, { signal: ac.signal })[Symbol.asyncIterator]();
        try {
          for (;;) {
            const r = await withTimeout(provider, `list ${prefix ?? ""}`, policy.requestTimeoutMs, () =>
              it.next(),
            );
            if (r.done) return;
            if (seen.has(r.value.key)) continue;
            seen.add(r.value.key);
            yield r.value;
          }
        } finally {
          ac.abort();
          void it.return?.()?.catch(() => {});
        }
      } catch (raw) {
        const err = StorageError.from(raw, provider);
        if (!isRetryable(err) || attempt >= policy.maxAttempts) throw err;
        const delayMs = backoffDelayMs(attempt, policy, random);
        deps.onRetry?.({ provider, op: "list", attempt, delayMs, error: err });
        await sleep(delayMs);
      }
    }
  }

  const wrapped: StorageBackend = {
    name: provider,
    put: (key, data) => run("put", `put ${key}`, policy.transferTimeoutMs, (o) => backend.put(key, data, o)),
    get: (key) => run("get", `get ${key}`, policy.transferTimeoutMs, (o) => backend.get(key, o)),
    delete: (key) => run("delete", `delete ${key}`, policy.requestTimeoutMs, (o) => backend.delete(key, o)),
    exists: (key) => run("exists", `exists ${key}`, policy.requestTimeoutMs, (o) => backend.exists(key, o)),
    list: (prefix) => list(prefix),
    test: () => run("test", "test", policy.requestTimeoutMs, (o) => backend.test(o)),
  };
  if (backend.getInto) {
    const getInto = backend.getInto.bind(backend);
    // Each attempt asks `alloc` again: a timed-out attempt may still be writing into its buffer.
    wrapped.getInto = (key, alloc) =>
      run("get", `get ${key}`, policy.transferTimeoutMs, (o) => getInto(key, alloc, o));
  }
  // Not retried: a status read, answered from the local filesystem.
  if (backend.space) wrapped.space = backend.space.bind(backend);
  if (backend.close) {
    const close = backend.close.bind(backend);
    return { ...wrapped, close };
  }
  return wrapped;
}
