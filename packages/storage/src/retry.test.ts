import { describe, expect, it } from "vitest";
import { StorageError } from "./backend.js";
import { MemoryBackend } from "./backends/memory.js";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  type RetryEvent,
  type RetryPolicy,
  withRetry,
} from "./retry.js";
import { FaultBackend } from "./testing/fault-backend.js";

const policy: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  requestTimeoutMs: 5_000,
  transferTimeoutMs: 5_000,
};

function harness(p: RetryPolicy = policy) {
  const inner = new FaultBackend(new MemoryBackend({ name: "flaky" }));
  const sleeps: number[] = [];
  const events: RetryEvent[] = [];
  const b = withRetry(inner, p, {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onRetry: (e) => events.push(e),
  });
  return { inner, b, sleeps, events };
}

describe("backoffDelayMs (full jitter)", () => {
  it("draws uniformly below an exponentially growing, capped ceiling", () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, policy, () => 0.999999))).toEqual([
      99, 199, 399, 799, 999,
    ]);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(30, policy, () => 0.5)).toBe(500);
  });
});

describe("withRetry", () => {
  it("retries Unavailable twice, then succeeds, with growing jittered sleeps", async () => {
    const { inner, b, sleeps, events } = harness();
    inner.failNext("put", 2, "Unavailable");
    await b.put("k", Buffer.from("v"));
    expect(inner.calls.put).toBe(3);
    expect(sleeps).toEqual([50, 100]);
    expect(events.map((e) => [e.op, e.attempt, e.error.code])).toEqual([
      ["put", 1, "Unavailable"],
      ["put", 2, "Unavailable"],
    ]);
    expect((await b.get("k")).toString()).toBe("v");
  });

  it("retries Throttled and Timeout too", async () => {
    const { inner, b } = harness();
    inner.failNext("get", 1, "Throttled");
    await b.put("k", Buffer.from("v"));
    await b.get("k");
    inner.failNext("exists", 1, "Timeout");
    expect(await b.exists("k")).toBe(true);
    expect(inner.calls.get).toBe(2);
    expect(inner.calls.exists).toBe(2);
  });

  it("gives up after maxAttempts with the last error, naming the provider", async () => {
    const { inner, b, sleeps } = harness();
    inner.down = true;
    const err = await b.get("k").catch((e: unknown) => e);
    expect(StorageError.is(err, "Unavailable")).toBe(true);
    expect((err as StorageError).provider).toBe("flaky");
    expect(inner.calls.get).toBe(4);
    expect(sleeps).toHaveLength(3);
  });

  it.each(["NotFound", "AuthFailed", "PreconditionFailed", "NoSpace", "InvalidKey", "Internal"] as const)(
    "does not retry %s",
    async (code) => {
      const { inner, b, sleeps } = harness();
      inner.failNext("put", 1, code);
      await expect(b.put("k", Buffer.from("v"))).rejects.toMatchObject({ code });
      expect(inner.calls.put).toBe(1);
      expect(sleeps).toEqual([]);
    },
  );

  it("times out an attempt that hangs, aborts it, and retries", async () => {
    const { inner, b, events } = harness({ ...policy, maxAttempts: 2, transferTimeoutMs: 30 });
    inner.hang = true;
    const err = await b.put("k", Buffer.from("v")).catch((e: unknown) => e);
    expect(StorageError.is(err, "Timeout")).toBe(true);
    expect((err as StorageError).message).toContain("timed out after 30 ms");
    expect(inner.calls.put).toBe(2);
    expect(events).toHaveLength(1);
    expect(await inner.inner.exists("k")).toBe(false);
  });

  it("bounds an attempt even when the backend ignores its signal", async () => {
    const ignoring = new MemoryBackend({ name: "deaf" });
    ignoring.get = () => new Promise<Buffer>(() => {});
    const b = withRetry(ignoring, { ...policy, maxAttempts: 1, transferTimeoutMs: 20 });
    await expect(b.get("k")).rejects.toMatchObject({ code: "Timeout", provider: "deaf" });
  });

  it("restarts a listing that failed part-way without yielding any key twice", async () => {
    const mem = new MemoryBackend({ name: "lister" });
    for (let i = 0; i < 6; i++) await mem.put(`p/${i}`, Buffer.from([i]));
    let listCalls = 0;
    const flaky = Object.create(mem) as MemoryBackend;
    flaky.list = async function* (prefix?: string) {
      listCalls++;
      let n = 0;
      for await (const o of mem.list(prefix)) {
        if (listCalls === 1 && n === 3) throw new StorageError("Unavailable", "lister", "connection reset");
        n++;
        yield o;
      }
    };
    const b = withRetry(flaky, policy, { sleep: async () => {} });
    const keys: string[] = [];
    for await (const o of b.list("p/")) keys.push(o.key);
    expect(listCalls).toBe(2);
    expect(keys.sort()).toEqual(["p/0", "p/1", "p/2", "p/3", "p/4", "p/5"]);
  });

  it("normalizes a foreign error into StorageError(Internal) naming the provider", async () => {
    const mem = new MemoryBackend({ name: "weird" });
    mem.test = async () => {
      throw new TypeError("boom");
    };
    const err = await withRetry(mem, DEFAULT_RETRY_POLICY)
      .test()
      .catch((e: unknown) => e);
    expect(StorageError.is(err, "Internal")).toBe(true);
    expect((err as StorageError).message).toBe("[weird] boom");
  });
});
