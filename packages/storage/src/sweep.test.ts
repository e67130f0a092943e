import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chunkObjectKey } from "./backend.js";
import { MemoryBackend } from "./backends/memory.js";
import { findOrphans } from "./sweep.js";
import { FaultBackend } from "./testing/fault-backend.js";

const tag = (i: number) => createHash("sha256").update(`chunk-${i}`).digest("hex");
const HOUR = 3_600_000;

async function world() {
  let now = 1_000 * HOUR;
  const a = new MemoryBackend({ name: "a", nowMs: () => now });
  const b = new MemoryBackend({ name: "b", nowMs: () => now });
  // Old objects: 0..3 on a, 2..5 on b. Referenced: 0, 2 (everywhere) and 5 only on b.
  for (const i of [0, 1, 2, 3]) await a.put(chunkObjectKey(tag(i)), Buffer.alloc(10));
  for (const i of [2, 3, 4, 5]) await b.put(chunkObjectKey(tag(i)), Buffer.alloc(20));
  await a.put("chunks/xx/foreign-object", Buffer.alloc(1));
  now += 48 * HOUR;
  // A young orphan: uploaded moments ago, its PutObject may not have committed yet.
  await a.put(chunkObjectKey(tag(9)), Buffer.alloc(10));
  const referenced = new Set([`${tag(0)}@a`, `${tag(2)}@a`, `${tag(2)}@b`, `${tag(5)}@b`]);
  const isKnown = (t: string, p: string) => referenced.has(`${t}@${p}`);
  return { a, b, isKnown, nowMs: now };
}

describe("findOrphans", () => {
  it("dry run reports what would go and deletes nothing", async () => {
    const { a, b, isKnown, nowMs } = await world();
    const r = await findOrphans({ backends: [a, b], isKnown, graceMs: 24 * HOUR, nowMs });
    expect(r.orphans.map((o) => `${o.provider}:${o.chunkName}`).sort()).toEqual(
      [`a:${tag(1)}`, `a:${tag(3)}`, `b:${tag(3)}`, `b:${tag(4)}`].sort(),
    );
    expect(r).toMatchObject({
      scannedObjects: 10,
      orphanObjects: 4,
      orphanBytes: 60,
      deletedObjects: 0,
      keptReferenced: 4,
      keptYoung: 1,
      ignoredForeign: 1,
    });
    expect(a.size + b.size).toBe(10);
  });

  it("a grace period longer than every object's age finds nothing", async () => {
    const { a, b, isKnown, nowMs } = await world();
    const r = await findOrphans({ backends: [a, b], isKnown, graceMs: 1000 * HOUR, nowMs });
    expect(r.orphanObjects).toBe(0);
    expect(r.keptYoung).toBe(9);
  });

  it("an unreachable provider is reported and the others are still listed", async () => {
    const { a, b, isKnown, nowMs } = await world();
    const downA = new FaultBackend(a);
    downA.down = true;
    const r = await findOrphans({ backends: [downA, b], isKnown, graceMs: 24 * HOUR, nowMs });
    expect(r.errors).toEqual([expect.objectContaining({ provider: "a", code: "Unavailable" })]);
    expect(r.orphans.map((o) => `${o.provider}:${o.chunkName}`).sort()).toEqual(
      [`b:${tag(3)}`, `b:${tag(4)}`].sort(),
    );
  });
});
