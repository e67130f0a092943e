import { describe, expect, it } from "vitest";
import { tapPieces, withPrefix } from "./pieces.js";

/** A source of `n` numbered pieces that records how it was driven. */
function source(n: number, failAt?: number) {
  const log = { pulled: 0, returned: 0 };
  const it: AsyncIterator<number> = {
    next: async () => {
      if (failAt !== undefined && log.pulled === failAt) throw new Error(`source failed at ${failAt}`);
      return log.pulled < n ? { done: false, value: log.pulled++ } : { done: true, value: undefined };
    },
    return: async () => {
      log.returned++;
      return { done: true, value: undefined };
    },
  };
  return { log, iterable: { [Symbol.asyncIterator]: () => it } };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("tapPieces", () => {
  it("shows every piece to every observer, in tap order, before the consumer; taps join one another", async () => {
    const { iterable, log } = source(4);
    const seen: string[] = [];
    const a = tapPieces(iterable, (p) => seen.push(`a${p}`));
    const b = tapPieces(a, (p) => seen.push(`b${p}`));
    expect(b).toBe(a);
    const got: number[] = [];
    for await (const p of b) {
      seen.push(`c${p}`);
      got.push(p);
    }
    expect(got).toEqual([0, 1, 2, 3]);
    expect(seen.slice(0, 6)).toEqual(["a0", "b0", "c0", "a1", "b1", "c1"]);
    expect(log.returned).toBe(0);
    // Once iterated, a further tap wraps instead of joining, and a second iteration is refused.
    const c = tapPieces(a, () => {});
    expect(c).not.toBe(a);
    expect(() => a[Symbol.asyncIterator]()).toThrow(/only once/);
  });

  it("an observer's exception stops the source and rejects the consumer; nothing more is pulled", async () => {
    const { iterable, log } = source(10);
    let n = 0;
    const limited = tapPieces(iterable, () => {
      if (++n > 2) throw new Error("too large");
    });
    const it = limited[Symbol.asyncIterator]();
    await it.next();
    await it.next();
    await expect(it.next()).rejects.toThrow("too large");
    expect(log.returned).toBe(1);
    expect(log.pulled).toBe(3);
    await expect(it.next()).resolves.toEqual({ done: true, value: undefined });
    expect(log.pulled).toBe(3);
  });

  it("passes a source's failure through and forwards an early return", async () => {
    const failing = source(10, 2);
    await expect(all(tapPieces(failing.iterable, () => {}))).rejects.toThrow("source failed at 2");
    const stopped = source(10);
    for await (const p of tapPieces(stopped.iterable, () => {})) if (p === 1) break;
    expect(stopped.log.returned).toBe(1);
  });
});

describe("withPrefix", () => {
  it("yields the held pieces, then the rest of the started iterator; return() reaches it", async () => {
    const { iterable, log } = source(5);
    const it = iterable[Symbol.asyncIterator]();
    const held = [(await it.next()).value as number, (await it.next()).value as number];
    expect(
      await all(
        withPrefix(
          held.map((x) => x * 100),
          it,
        ),
      ),
    ).toEqual([0, 100, 2, 3, 4]);
    expect(log).toEqual({ pulled: 5, returned: 0 });

    const second = source(5);
    const it2 = second.iterable[Symbol.asyncIterator]();
    for await (const p of withPrefix([42], it2)) if (p === 42) break;
    expect(second.log.returned).toBe(1);
    expect(second.log.pulled).toBe(0);
  });
});
