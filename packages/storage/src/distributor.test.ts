import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chunkObjectKey, StorageError } from "./backend.js";
import { MemoryBackend } from "./backends/memory.js";
import { Distributor, type DistributorEvent } from "./distributor.js";
import { withRetry } from "./retry.js";
import { FaultBackend } from "./testing/fault-backend.js";

const tag = (i: number) => createHash("sha256").update(`chunk-${i}`).digest("hex");

function setup(names: string[], opts: { rf?: number; weights?: number[]; spillover?: boolean } = {}) {
  const faults = names.map((n) => new FaultBackend(new MemoryBackend({ name: n })));
  const events: DistributorEvent[] = [];
  const d = new Distributor({
    providers: faults.map((backend, i) => ({ backend, weight: opts.weights?.[i] ?? 1 })),
    distribution: opts.weights ? "weighted" : "round-robin",
    replicationFactor: opts.rf ?? 1,
    ...(opts.spillover !== undefined ? { spillover: opts.spillover } : {}),
    onEvent: (e) => events.push(e),
  });
  const byName = new Map(faults.map((f) => [f.name, f]));
  return { d, faults, byName, events };
}

describe("Distributor placement", () => {
  it("writes each chunk to N distinct providers: the deterministic placement", async () => {
    const { d, byName } = setup(["p1", "p2", "p3"], { rf: 2 });
    for (let i = 0; i < 30; i++) {
      const locs = await d.putChunk(tag(i), Buffer.from(`blob ${i}`));
      expect(locs).toEqual(d.placementFor(tag(i)));
      expect(new Set(locs).size).toBe(2);
      for (const n of ["p1", "p2", "p3"]) {
        expect(await byName.get(n)!.inner.exists(chunkObjectKey(tag(i)))).toBe(locs.includes(n));
      }
    }
  });

  it("a retried put lands on the same providers", async () => {
    const { d } = setup(["p1", "p2", "p3", "p4"], { rf: 2, weights: [1, 2, 3, 4] });
    for (let i = 0; i < 20; i++) {
      expect(await d.putChunk(tag(i), Buffer.from("x"))).toEqual(await d.putChunk(tag(i), Buffer.from("x")));
    }
  });

  it("rejects replication_factor larger than the providers with weight > 0", () => {
    expect(() => setup(["a", "b"], { rf: 3 })).toThrow(/replication_factor 3/);
    expect(() => setup(["a", "b"], { rf: 2, weights: [1, 0] })).toThrow(/replication_factor 2/);
  });

  it("rejects duplicate provider names", () => {
    const m = new MemoryBackend({ name: "same" });
    expect(
      () =>
        new Distributor({ providers: [{ backend: m }, { backend: new MemoryBackend({ name: "same" }) }] }),
    ).toThrow(/duplicate/);
  });
});

describe("Distributor put failures", () => {
  it("spills a replica over to the next provider when a preferred one is down", async () => {
    const { d, byName, events } = setup(["p1", "p2", "p3"], { rf: 2 });
    const t = tag(7);
    const [first, second] = d.placementFor(t);
    byName.get(first!)!.down = true;
    const locs = await d.putChunk(t, Buffer.from("data"));
    expect(locs).not.toContain(first);
    expect(locs).toContain(second);
    expect(locs).toHaveLength(2);
    expect(events).toEqual([expect.objectContaining({ type: "put-failed", provider: first })]);
    expect((await d.getChunk(t, locs)).toString()).toBe("data");
  });

  it("fails naming the down provider when N providers cannot be written, so nothing is committed", async () => {
    const { d, byName } = setup(["up", "down"], { rf: 2 });
    byName.get("down")!.down = true;
    const committed: string[][] = [];
    const err = await d
      .putChunk(tag(1), Buffer.from("x"))
      .then((locs) => committed.push(locs))
      .catch((e: unknown) => e);
    expect(committed).toEqual([]);
    expect(StorageError.is(err, "Unavailable")).toBe(true);
    expect((err as StorageError).provider).toBe("down");
    expect((err as StorageError).message).toMatch(/stored on 1 of 2 required providers; down: Unavailable/);
  });

  it("without spillover, any failing preferred provider fails the put", async () => {
    const { d, byName } = setup(["p1", "p2", "p3"], { rf: 1, spillover: false });
    const t = tag(3);
    byName.get(d.placementFor(t)[0]!)!.down = true;
    await expect(d.putChunk(t, Buffer.from("x"))).rejects.toMatchObject({ code: "Unavailable" });
  });
});

describe("Distributor reads", () => {
  it("falls back to the next replica when one errors, and reports it", async () => {
    const { d, byName, events } = setup(["p1", "p2", "p3"], { rf: 2 });
    const t = tag(11);
    const locs = await d.putChunk(t, Buffer.from("payload"));
    byName.get(locs[0]!)!.down = true;
    expect((await d.getChunk(t, locs)).toString()).toBe("payload");
    expect(events).toEqual([
      expect.objectContaining({ type: "read-fallback", provider: locs[0], reason: "error" }),
    ]);
  });

  it("falls back when a replica returns corrupt data (verify false or throws)", async () => {
    const { d, byName, events } = setup(["p1", "p2", "p3"], { rf: 3 });
    const t = tag(12);
    const blob = randomBytes(100);
    const locs = await d.putChunk(t, blob);
    byName.get(locs[0]!)!.corrupt = true;
    byName.get(locs[1]!)!.corrupt = true;
    let calls = 0;
    const verify = (b: Buffer) => {
      calls++;
      if (calls === 2) throw new Error("GCM tag mismatch");
      return b.equals(blob);
    };
    expect((await d.getChunk(t, locs, verify)).equals(blob)).toBe(true);
    expect(events.map((e) => (e.type === "read-fallback" ? [e.provider, e.reason] : []))).toEqual([
      [locs[0], "corrupt"],
      [locs[1], "corrupt"],
    ]);
  });

  it("fails with Corrupt when every replica fails verification, NotFound when all are missing", async () => {
    const { d, byName } = setup(["p1", "p2"], { rf: 2 });
    const t = tag(13);
    const locs = await d.putChunk(t, Buffer.from("x"));
    for (const f of byName.values()) f.corrupt = true;
    await expect(d.getChunk(t, locs, () => false)).rejects.toMatchObject({ code: "Corrupt" });
    await expect(d.getChunk(tag(14), ["p1", "p2"])).rejects.toMatchObject({ code: "NotFound" });
  });

  it("skips a location naming an unconfigured provider", async () => {
    const { d, events } = setup(["p1", "p2"], { rf: 1 });
    const t = tag(15);
    const locs = await d.putChunk(t, Buffer.from("x"));
    expect((await d.getChunk(t, ["retired", ...locs])).toString()).toBe("x");
    expect(events).toEqual([expect.objectContaining({ provider: "retired", reason: "unknown-provider" })]);
  });

  it("tries a provider that just failed with Unavailable last, sparing its retries", async () => {
    const { d, byName } = setup(["p1", "p2"], { rf: 2 });
    const tags = Array.from({ length: 10 }, (_, i) => tag(100 + i));
    const locs = await Promise.all(tags.map((t) => d.putChunk(t, Buffer.from(t))));
    const dead = byName.get("p1")!;
    dead.down = true;
    for (let i = 0; i < tags.length; i++) {
      const ordered = [...locs[i]!].sort(); // p1 first every time
      expect((await d.getChunk(tags[i]!, ordered)).toString()).toBe(tags[i]);
    }
    expect(dead.calls.get).toBe(1);
  });

  it("with a retrying backend, a provider failing twice then succeeding needs no fallback", async () => {
    const flaky = new FaultBackend(new MemoryBackend({ name: "flaky" }));
    const events: DistributorEvent[] = [];
    const d = new Distributor({
      providers: [{ backend: withRetry(flaky, undefined, { sleep: async () => {} }) }],
      onEvent: (e) => events.push(e),
    });
    flaky.failNext("put", 2, "Unavailable");
    const locs = await d.putChunk(tag(20), Buffer.from("ok"));
    flaky.failNext("get", 2, "Throttled");
    expect((await d.getChunk(tag(20), locs)).toString()).toBe("ok");
    expect(flaky.calls.put).toBe(3);
    expect(flaky.calls.get).toBe(3);
    expect(events).toEqual([]);
  });
});

describe("Distributor delete, listing and status", () => {
  it("deleteChunk removes every replica and tolerates absent ones", async () => {
    const { d, byName } = setup(["p1", "p2", "p3"], { rf: 2 });
    const t = tag(30);
    const locs = await d.putChunk(t, Buffer.from("x"));
    await d.deleteChunk(t, ["p1", "p2", "p3"]);
    for (const n of locs) expect(await byName.get(n)!.inner.exists(chunkObjectKey(t))).toBe(false);
  });

  it("deleteChunk names the provider that failed", async () => {
    const { d, byName } = setup(["p1", "p2"], { rf: 2 });
    const t = tag(31);
    await d.putChunk(t, Buffer.from("x"));
    byName.get("p2")!.down = true;
    await expect(d.deleteChunk(t, ["p1", "p2"])).rejects.toMatchObject({
      provider: "p2",
      code: "Unavailable",
    });
    expect(await byName.get("p1")!.inner.exists(chunkObjectKey(t))).toBe(false);
  });

  it("listAll yields every chunk on every provider with its name tag", async () => {
    const { d, byName } = setup(["p1", "p2"], { rf: 2 });
    for (let i = 0; i < 5; i++) await d.putChunk(tag(i), Buffer.from("x"));
    await byName.get("p1")!.inner.put("chunks/zz/not-ours", Buffer.from("x"));
    const all = [];
    for await (const c of d.listAll()) all.push(c);
    expect(all).toHaveLength(11);
    expect(all.filter((c) => c.chunkName === null)).toEqual([expect.objectContaining({ provider: "p1" })]);
  });

  it("status reports reachability and chunk counts per provider", async () => {
    const { d, byName } = setup(["p1", "p2"], { rf: 1 });
    for (let i = 0; i < 8; i++) await d.putChunk(tag(i), Buffer.from("x"));
    byName.get("p2")!.down = true;
    const s = await d.status({ countChunks: true });
    expect(s[0]).toMatchObject({ name: "p1", reachable: true });
    expect(s[0]!.chunkCount).toBe(
      [...Array(8).keys()].filter((i) => d.placementFor(tag(i))[0] === "p1").length,
    );
    expect(s[1]).toMatchObject({ name: "p2", reachable: false, error: { code: "Unavailable" } });
  });
});
