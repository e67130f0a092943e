import { describe, expect, it } from "vitest";
import { encodeConfChangeEntry } from "./conf-change-codec.js";
import type { Config } from "./config.js";
import { RaftError } from "./errors.js";
import { MemoryStorage } from "./memory-storage.js";
import { RawNode } from "./raw-node.js";
import type { Ready } from "./ready.js";
import type { Entry, Message } from "./types.js";
import { makeMessage } from "./types.js";

const enc = (s: string) => new TextEncoder().encode(s);

function node(id: number, storage: MemoryStorage, extra: Partial<Config> = {}): RawNode {
  return new RawNode({ id, storage, rand: () => 0, ...extra });
}

/** Persists and applies a Ready the way a driver must, then advances. */
function handle(n: RawNode, s: MemoryStorage): Ready {
  const rd = n.ready();
  if (rd.snapshot !== undefined) s.applySnapshot(rd.snapshot);
  s.append(rd.entries);
  if (rd.hardState !== undefined) s.setHardState(rd.hardState);
  n.advance();
  return rd;
}

function confEntry(index: number, term: number, voters: number[], learners: number[]): Entry {
  return {
    index,
    term,
    type: "confChange",
    data: encodeConfChangeEntry({ change: undefined, conf: { voters, learners } }),
  };
}

describe("RawNode Ready/Advance", () => {
  it("a single voter elects itself and commits in one Ready: persist, then apply", () => {
    const s = MemoryStorage.bootstrap({ voters: [1], learners: [] });
    const n = node(1, s);
    const first = handle(n, s);
    expect(first.committedEntries.map((e) => e.index)).toEqual([1]);
    n.campaign();
    const rd = handle(n, s);
    expect(rd.softState).toEqual({ leader: 1, role: "leader" });
    expect(rd.hardState).toEqual({ term: 2, vote: 1, commit: 2 });
    expect(rd.entries.map((e) => `${e.term}/${e.index} ${e.type}`)).toEqual(["2/2 noop"]);
    expect(rd.committedEntries.map((e) => e.index)).toEqual([2]);
    expect(rd.mustSync).toBe(true);
    expect(n.propose(enc("x"))).toEqual({ index: 3, term: 2 });
    const rd2 = handle(n, s);
    expect(rd2.entries.map((e) => e.index)).toEqual([3]);
    expect(rd2.committedEntries.map((e) => e.index)).toEqual([3]);
    expect(n.hasReady()).toBe(false);
    expect(n.status().applied).toBe(3);
  });

  it("a Ready that carries only a received snapshot must be synced", () => {
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] });
    const n = node(3, s);
    handle(n, s);
    // Same term as ours and no entries: only the snapshot makes this Ready durable-worthy.
    n.step(
      makeMessage({
        type: "Snap",
        from: 1,
        to: 3,
        term: 1,
        snapshot: {
          metadata: { index: 50, term: 1, confState: { voters: [1, 2, 3], learners: [] } },
          data: enc("image"),
        },
      }),
    );
    const rd = n.ready();
    expect(rd.snapshot?.metadata.index).toBe(50);
    expect(rd.entries).toEqual([]);
    expect(rd.mustSync).toBe(true);
  });

  it("accepts messages between ready() and advance(): their output goes to the next Ready", () => {
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] });
    const n = node(3, s);
    handle(n, s);
    const noop = { index: 2, term: 2, type: "noop" as const, data: new Uint8Array() };
    n.step(
      makeMessage({
        type: "App",
        from: 1,
        to: 3,
        term: 2,
        index: 1,
        logTerm: 1,
        commit: 1,
        entries: [noop, { index: 3, term: 2, type: "normal", data: enc("a") }],
      }),
    );
    const rd = n.ready();
    expect(rd.entries.map((e) => `${e.term}/${e.index}`)).toEqual(["2/2", "2/3"]);
    // A new leader replaces entry 3 before the driver has persisted the first Ready.
    n.step(
      makeMessage({
        type: "App",
        from: 2,
        to: 3,
        term: 3,
        index: 2,
        logTerm: 2,
        commit: 1,
        entries: [{ index: 3, term: 3, type: "normal", data: enc("b") }],
      }),
    );
    s.append(rd.entries);
    if (rd.hardState !== undefined) s.setHardState(rd.hardState);
    n.advance();
    const next = handle(n, s);
    expect(next.entries.map((e) => `${e.term}/${e.index}`)).toEqual(["3/3"]);
    expect(s.term(3)).toBe(3);
    expect(s.lastIndex()).toBe(3);
    expect(next.messages.map((m) => `${m.to} ${m.type} ${m.index}`)).toEqual(["2 AppResp 3"]);
  });

  it("refuses ready() twice without advance()", () => {
    const s = MemoryStorage.bootstrap({ voters: [1], learners: [] });
    const n = node(1, s);
    n.ready();
    expect(() => n.ready()).toThrow(/advance/);
  });

  it("a follower refuses proposals with NotLeader and the leader hint", () => {
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] });
    const n = node(2, s);
    n.step(makeMessage({ type: "Heartbeat", from: 1, to: 2, term: 2, commit: 1 }));
    let err: unknown;
    try {
      n.propose(enc("x"));
    } catch (e) {
      err = e;
    }
    expect(RaftError.is(err, "NotLeader")).toBe(true);
    expect((err as RaftError).leaderHint).toBe(1);
  });

  it("validates its configuration", () => {
    const s = new MemoryStorage();
    expect(() => node(1, s, { electionTicks: 2, heartbeatTicks: 2 })).toThrow(RangeError);
    expect(() => node(0, s)).toThrow(RangeError);
    expect(() => node(1, s, { maxInflightMsgs: 0 })).toThrow(RangeError);
  });

  it("drops proposals past the uncommitted-bytes limit", () => {
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] });
    const n = node(1, s, { maxUncommittedEntriesBytes: 10, preVote: false });
    n.campaign();
    for (const id of [2, 3]) n.step(makeMessage({ type: "VoteResp", from: id, to: 1, term: 2 }));
    n.propose(enc("12345678"));
    expect(() => n.propose(enc("abc"))).toThrow(/uncommitted/);
  });
});

describe("configuration in effect when appended (thesis §4.1)", () => {
  it("a follower uses an appended configuration at once and rolls it back when the entry is truncated", () => {
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] });
    const n = node(3, s);
    n.step(
      makeMessage({
        type: "App",
        from: 1,
        to: 3,
        term: 2,
        index: 1,
        logTerm: 1,
        commit: 1,
        entries: [
          { index: 2, term: 2, type: "noop", data: new Uint8Array() },
          confEntry(3, 2, [1, 2, 3], [4]),
        ],
      }),
    );
    expect(n.status().config).toEqual({ voters: [1, 2, 3], learners: [4] });
    handle(n, s);
    // A new leader of term 3 never had the change: its entry at index 3 replaces ours.
    n.step(
      makeMessage({
        type: "App",
        from: 2,
        to: 3,
        term: 3,
        index: 2,
        logTerm: 2,
        commit: 2,
        entries: [{ index: 3, term: 3, type: "noop", data: new Uint8Array() }],
      }),
    );
    expect(n.status().config).toEqual({ voters: [1, 2, 3], learners: [] });
  });

  it("rebuilds the configuration on restart from the snapshot and the entries after it", () => {
    const s = new MemoryStorage();
    s.applySnapshot({
      metadata: { index: 5, term: 2, confState: { voters: [1, 2, 3], learners: [] } },
      data: new Uint8Array(),
    });
    s.append([confEntry(6, 2, [1, 2, 3], [7]), { index: 7, term: 2, type: "normal", data: enc("x") }]);
    s.setHardState({ term: 2, vote: 1, commit: 6 });
    const n = node(1, s, { applied: 5 });
    expect(n.status().config).toEqual({ voters: [1, 2, 3], learners: [7] });
    expect(n.status().commit).toBe(6);
    expect(handle(n, s).committedEntries.map((e) => e.index)).toEqual([6]);
  });
});

describe("replication limits", () => {
  function leaderOf3(extra: Partial<Config>): { n: RawNode; s: MemoryStorage } {
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] });
    const n = node(1, s, { preVote: false, ...extra });
    n.campaign();
    for (const id of [2, 3]) n.step(makeMessage({ type: "VoteResp", from: id, to: 1, term: 2 }));
    handle(n, s);
    // Both followers acknowledge the no-op: replicate state.
    for (const id of [2, 3]) n.step(makeMessage({ type: "AppResp", from: id, to: 1, term: 2, index: 2 }));
    handle(n, s);
    return { n, s };
  }

  const appsTo = (msgs: readonly Message[], to: number) =>
    msgs.filter((m) => m.type === "App" && m.to === to);

  it("batches entries up to maxSizePerMsgBytes and pipelines up to maxInflightMsgs", () => {
    const { n, s } = leaderOf3({ maxSizePerMsgBytes: 2 * (16 + 1), maxInflightMsgs: 3 });
    for (let i = 0; i < 10; i++) n.propose(enc(String(i)));
    const sent: Message[] = [];
    sent.push(...handle(n, s).messages);
    const apps = appsTo(sent, 2);
    // Each proposal went out at once until the window of 3 filled.
    expect(apps.length).toBe(3);
    // An acknowledgment frees the window; the backlog then goes out in batches of 2.
    n.step(makeMessage({ type: "AppResp", from: 2, to: 1, term: 2, index: 5 }));
    const more = appsTo(handle(n, s).messages, 2);
    expect(more.length).toBe(3);
    for (const m of more) expect(m.entries.length).toBe(2);
  });
});

describe("test-only mutations", () => {
  it("voteNotPersisted leaves the vote out of the hard state handed to the driver", () => {
    for (const [mutation, vote] of [
      [undefined, 2],
      ["voteNotPersisted", 0],
    ] as const) {
      const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] });
      const n = node(1, s, mutation === undefined ? {} : { testMutation: mutation });
      n.step(makeMessage({ type: "Vote", from: 2, to: 1, term: 2, index: 1, logTerm: 1 }));
      const rd = n.ready();
      expect(rd.messages.map((m) => `${m.type} ${m.reject}`)).toEqual(["VoteResp false"]);
      expect(rd.hardState?.vote).toBe(vote);
    }
  });
});

describe("reportPeerDown (a dead leader)", () => {
  /** Node `id` (default 2) of (1,2,3), following leader 1 at term 2; `draws` records rand(n) calls. */
  function followerOf1(pick: number, id = 2) {
    const draws: number[] = [];
    const s = MemoryStorage.bootstrap({ voters: [1, 2, 3], learners: [] });
    const n = node(id, s, {
      electionTicks: 10,
      rand: (k) => {
        draws.push(k);
        return Math.min(pick, k - 1);
      },
    });
    handle(n, s);
    n.step(makeMessage({ type: "Heartbeat", from: 1, to: id, term: 2 }));
    handle(n, s);
    draws.length = 0;
    return { n, s, draws };
  }

  /** Ticks until the node sends something; returns the ticks taken and what it sent. */
  function ticksToCampaign(n: RawNode, s: MemoryStorage, max: number): { ticks: number; sent: string[] } {
    for (let t = 1; t <= max; t++) {
      n.tick();
      if (n.hasReady()) {
        const sent = handle(n, s).messages.map((m) => `${m.type} ${m.to} term=${m.term}`);
        if (sent.length > 0) return { ticks: t, sent };
      }
    }
    return { ticks: -1, sent: [] };
  }

  it("shortens a follower's wait to 1 + 2·rank + rand(2) ticks, then pre-votes without changing its term", () => {
    // Rank among the surviving voters (2, 3) by id: node 2 goes first, node 3 two ticks later.
    for (const [id, rank] of [
      [2, 0],
      [3, 1],
    ] as const) {
      for (const pick of [0, 1]) {
        const { n, s, draws } = followerOf1(pick, id);
        expect(n.leader).toBe(1);
        n.reportPeerDown(1);
        expect(draws).toEqual([2]);
        const { ticks, sent } = ticksToCampaign(n, s, 30);
        expect(ticks).toBe(1 + 2 * rank + pick);
        const others = [1, 2, 3].filter((o) => o !== id);
        expect(sent).toEqual(others.map((o) => `PreVote ${o} term=3`));
        expect(n.role).toBe("preCandidate");
        expect(n.term).toBe(2);
      }
    }
  });

  it("ignores reports about another node, repeated reports, and non-followers", () => {
    const a = followerOf1(0);
    a.n.reportPeerDown(3);
    expect(a.draws).toEqual([]);
    expect(ticksToCampaign(a.n, a.s, 9).ticks).toBe(-1);

    const b = followerOf1(2);
    b.n.reportPeerDown(1);
    b.n.reportPeerDown(1);
    expect(b.draws).toEqual([2]);

    const c = followerOf1(0);
    c.n.campaign();
    handle(c.n, c.s);
    expect(c.n.role).toBe("preCandidate");
    c.draws.length = 0;
    c.n.reportPeerDown(1);
    c.n.reportPeerDown(3);
    expect(c.draws).toEqual([]);
  });

  it("is cancelled by hearing from the leader after the report", () => {
    const { n, s } = followerOf1(0);
    n.reportPeerDown(1);
    n.step(makeMessage({ type: "Heartbeat", from: 1, to: 2, term: 2 }));
    handle(n, s);
    // Full randomized timeout again: 10 + min(0, 9) = 10 ticks.
    expect(ticksToCampaign(n, s, 30).ticks).toBe(10);
  });

  it("ends the dead leader's lease: the reporting follower answers a pre-vote the others ignore", () => {
    const asked = (report: boolean) => {
      const { n, s } = followerOf1(0);
      if (report) n.reportPeerDown(1);
      n.step(makeMessage({ type: "PreVote", from: 3, to: 2, term: 3, index: 1, logTerm: 1 }));
      return n.hasReady() ? handle(n, s).messages.map((m) => `${m.type} reject=${m.reject}`) : [];
    };
    expect(asked(false)).toEqual([]);
    expect(asked(true)).toEqual(["PreVoteResp reject=false"]);
  });
});
