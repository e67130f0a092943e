import { describe, expect, it } from "vitest";
import { applyConfChange } from "./conf-change.js";
import { decodeConfChangeEntry, encodeConfChangeEntry } from "./conf-change-codec.js";
import { RaftError } from "./errors.js";

const cs = { voters: [1, 2, 3], learners: [] };

function invalid(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    return RaftError.is(e, "InvalidConfChange");
  }
}

describe("single-server configuration changes", () => {
  it("adds a learner, promotes it, removes nodes", () => {
    const withLearner = applyConfChange(cs, { type: "addLearner", nodeId: 4 });
    expect(withLearner).toEqual({ voters: [1, 2, 3], learners: [4] });
    const promoted = applyConfChange(withLearner, { type: "addVoter", nodeId: 4 });
    expect(promoted).toEqual({ voters: [1, 2, 3, 4], learners: [] });
    expect(applyConfChange(promoted, { type: "removeNode", nodeId: 1 })).toEqual({
      voters: [2, 3, 4],
      learners: [],
    });
    expect(applyConfChange(withLearner, { type: "removeNode", nodeId: 4 })).toEqual(cs);
  });

  it("refuses changes that make no sense", () => {
    expect(invalid(() => applyConfChange(cs, { type: "addVoter", nodeId: 2 }))).toBe(true);
    expect(invalid(() => applyConfChange(cs, { type: "addLearner", nodeId: 2 }))).toBe(true);
    expect(invalid(() => applyConfChange(cs, { type: "removeNode", nodeId: 9 }))).toBe(true);
    expect(
      invalid(() => applyConfChange({ voters: [1], learners: [] }, { type: "removeNode", nodeId: 1 })),
    ).toBe(true);
    expect(invalid(() => applyConfChange(cs, { type: "addVoter", nodeId: 0 }))).toBe(true);
  });

  it("round-trips the entry encoding, context included", () => {
    const entry = {
      change: {
        type: "addLearner" as const,
        nodeId: 300,
        context: new TextEncoder().encode("10.0.0.4:7000"),
      },
      conf: { voters: [1, 2, 3], learners: [300] },
    };
    expect(decodeConfChangeEntry(encodeConfChangeEntry(entry))).toEqual(entry);
    const boot = { change: undefined, conf: { voters: [1], learners: [] } };
    expect(decodeConfChangeEntry(encodeConfChangeEntry(boot))).toEqual(boot);
  });

  it("crashes on an undecodable entry instead of skipping it", () => {
    expect(() => decodeConfChangeEntry(new Uint8Array([1, 1, 9]))).toThrow(/invariant/);
    expect(() => decodeConfChangeEntry(new Uint8Array([1, 0, 1]))).toThrow(/invariant/);
  });
});
