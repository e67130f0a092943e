import { describe, expect, it } from "vitest";
import { checkHistory, type Operation } from "./checker.js";

let nextId = 0;
function op(
  client: number,
  kind: Operation["kind"],
  value: string | null,
  callMs: number,
  returnMs: number,
): Operation {
  return { id: nextId++, client, key: "k", kind, value, callMs, returnMs };
}

describe("linearizability checker", () => {
  it("accepts a sequential history", () => {
    expect(
      checkHistory([
        op(1, "put", "a", 0, 10),
        op(2, "get", "a", 20, 30),
        op(1, "delete", null, 40, 50),
        op(2, "get", null, 60, 70),
      ]).ok,
    ).toBe(true);
  });

  it("rejects a stale read after a newer write returned", () => {
    const r = checkHistory([op(1, "put", "1", 0, 10), op(1, "put", "2", 20, 30), op(2, "get", "1", 40, 50)]);
    expect(r.ok).toBe(false);
    expect(r.key).toBe("k");
  });

  it("lets a read concurrent with a write see either value, but not go back in time", () => {
    expect(
      checkHistory([op(1, "put", "1", 0, 10), op(1, "put", "2", 20, 60), op(2, "get", "1", 30, 40)]).ok,
    ).toBe(true);
    expect(
      checkHistory([op(1, "put", "1", 0, 10), op(1, "put", "2", 20, 60), op(2, "get", "2", 30, 40)]).ok,
    ).toBe(true);
    expect(
      checkHistory([
        op(1, "put", "1", 0, 10),
        op(1, "put", "2", 20, 100),
        op(2, "get", "2", 30, 40),
        op(3, "get", "1", 50, 60),
      ]).ok,
    ).toBe(false);
  });

  it("treats a write with an unknown outcome as applied at any later time, or never", () => {
    const lost = op(1, "put", "x", 0, Infinity);
    expect(checkHistory([lost, op(2, "get", null, 50, 60)]).ok).toBe(true);
    expect(checkHistory([lost, op(2, "get", null, 50, 60), op(2, "get", "x", 1000, 1010)]).ok).toBe(true);
    expect(checkHistory([lost, op(2, "get", "x", 50, 60), op(2, "get", null, 70, 80)]).ok).toBe(false);
  });

  it("rejects a read of a value nobody wrote", () => {
    expect(checkHistory([op(1, "put", "a", 0, 10), op(2, "get", "b", 20, 30)]).ok).toBe(false);
  });

  it("checks keys independently", () => {
    const a: Operation = { id: 100, client: 1, key: "a", kind: "put", value: "1", callMs: 0, returnMs: 10 };
    const b: Operation = { id: 101, client: 2, key: "b", kind: "get", value: null, callMs: 20, returnMs: 30 };
    expect(checkHistory([a, b]).ok).toBe(true);
  });
});
