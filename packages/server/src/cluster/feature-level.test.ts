import { FEATURE_LEVEL } from "@enigma/manifest";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { FeatureRaiser } from "./feature-level.js";

/** A leader (or not) whose members answer the `features` action as told; proposals recorded. */
function setup(opts: { role?: string; level?: number; answers: Record<number, number | Error> }) {
  let level = opts.level ?? 0;
  const proposed: unknown[] = [];
  const asked: number[] = [];
  const node = {
    raft: { role: opts.role ?? "leader" },
    status: () => ({ members: Object.keys(opts.answers).map((id) => ({ id: Number(id) })) }),
    adminAt: async (id: number, action: string) => {
      asked.push(id);
      expect(action).toBe("features");
      const a = opts.answers[id];
      if (a instanceof Error) throw a;
      return { supported: a, current: level };
    },
  };
  const engine = {
    manifest: { featureLevel: () => level },
    committer: {
      propose: async (cmd: { level: number }) => {
        proposed.push(cmd);
        level = cmd.level;
        return { ok: true };
      },
    },
  };
  const raiser = new FeatureRaiser({
    engine: engine as never,
    cluster: { node } as never,
    logger: pino({ level: "silent" }),
  });
  return { raiser, proposed, asked };
}

describe("FeatureRaiser", () => {
  it("raises to the lowest level every member supports, once", async () => {
    const { raiser, proposed } = setup({ answers: { 1: FEATURE_LEVEL, 2: FEATURE_LEVEL, 3: FEATURE_LEVEL } });
    expect(await raiser.tick()).toBe("raised");
    expect(proposed).toEqual([{ type: "SetFeatureLevel", level: FEATURE_LEVEL }]);
    expect(await raiser.tick()).toBe("current");
    expect(proposed).toHaveLength(1);
  });

  it("waits while a member runs an older build or cannot be asked", async () => {
    const older = setup({ answers: { 1: FEATURE_LEVEL, 2: 0, 3: FEATURE_LEVEL } });
    expect(await older.raiser.tick()).toBe("waiting");
    expect(older.proposed).toEqual([]);
    // A build without the action refuses it: the same as level 0.
    const unknown = setup({
      answers: { 1: FEATURE_LEVEL, 2: FEATURE_LEVEL, 3: new Error('unknown admin action "features"') },
    });
    expect(await unknown.raiser.tick()).toBe("waiting");
    expect(unknown.proposed).toEqual([]);
  });

  it("leaves it to the leader, and does nothing at the build's level", async () => {
    const follower = setup({ role: "follower", answers: { 1: FEATURE_LEVEL } });
    expect(await follower.raiser.tick()).toBe("not-leader");
    expect(follower.asked).toEqual([]);
    const done = setup({ level: FEATURE_LEVEL, answers: { 1: FEATURE_LEVEL } });
    expect(await done.raiser.tick()).toBe("current");
    expect(done.asked).toEqual([]);
  });
});
