import { afterEach, describe, expect, it } from "vitest";
import { RaftNodeError } from "./errors.js";
import { kvCommand } from "./testing/kv-state-machine.js";
import { MemoryCluster, waitFor } from "./testing/memory-cluster.js";

let cluster: MemoryCluster | undefined;

afterEach(async () => {
  await cluster?.close();
  if (cluster !== undefined) expect(cluster.fatal).toEqual([]);
  cluster = undefined;
});

describe("RaftNode over an in-memory network", () => {
  it("forms a cluster from the peer list and replicates writes to every node", async () => {
    cluster = await MemoryCluster.start({ ids: [1, 2, 3] });
    const leader = await cluster.waitLeader();
    const out = await leader.propose(kvCommand("a", "1"));
    expect(out.result).toEqual({ ok: true, k: "a" });
    for (const id of [1, 2, 3]) {
      await cluster.nodes.get(id)!.waitApplied(out.index);
      expect(cluster.machines.get(id)!.get("a")).toBe("1");
    }
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    const err = await follower.propose(kvCommand("b", "2")).catch((e: unknown) => e);
    expect(RaftNodeError.is(err, "NotLeader")).toBe(true);
    expect((err as RaftNodeError).leaderHint).toBe(leader.id);
  });

  it("serves linearizable reads on followers: the read index covers every acknowledged write", async () => {
    cluster = await MemoryCluster.start({ ids: [1, 2, 3] });
    const leader = await cluster.waitLeader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    for (let i = 0; i < 20; i++) {
      const w = await leader.propose(kvCommand("k", String(i)));
      const ri = await follower.readIndex();
      expect(ri).toBeGreaterThanOrEqual(w.index);
      await follower.waitApplied(ri);
      expect(cluster.machines.get(follower.id)!.get("k")).toBe(String(i));
    }
  });

  it("group-commits concurrent proposals and applies each exactly once", async () => {
    cluster = await MemoryCluster.start({ ids: [1, 2, 3] });
    const leader = await cluster.waitLeader();
    const outs = await Promise.all(
      Array.from({ length: 200 }, (_, i) => leader.propose(kvCommand(`c${i}`, String(i)))),
    );
    const indexes = new Set(outs.map((o) => o.index));
    expect(indexes.size).toBe(200);
    const last = Math.max(...indexes);
    for (const n of cluster.nodes.values()) await n.waitApplied(last);
    const dumps = [...cluster.machines.values()].map((m) => m.dump());
    expect(new Set(dumps).size).toBe(1);
  });

  it("an isolated leader serves no reads and commits no writes; the majority moves on; healing converges", async () => {
    cluster = await MemoryCluster.start({ ids: [1, 2, 3] });
    const old = await cluster.waitLeader();
    await old.propose(kvCommand("x", "before"));
    cluster.net.isolate(old.id, [1, 2, 3]);
    const stale = old.propose(kvCommand("x", "lost")).then(
      () => "applied",
      (e: unknown) => (e as RaftNodeError).code,
    );
    const staleRead = old.readIndex().then(
      () => "served",
      (e: unknown) => (e as RaftNodeError).code,
    );
    const others = [1, 2, 3].filter((id) => id !== old.id);
    const fresh = await cluster.waitLeader(others);
    expect(fresh.id).not.toBe(old.id);
    const w = await fresh.propose(kvCommand("x", "after"));
    expect(await staleRead).not.toBe("served");
    expect(await stale).not.toBe("applied");
    cluster.net.heal();
    for (const n of cluster.nodes.values()) await n.waitApplied(w.index);
    await waitFor(() => cluster!.nodes.get(old.id)!.leader === fresh.id, 5000, "old leader follows");
    for (const m of cluster.machines.values()) expect(m.get("x")).toBe("after");
  });

  it("restarts without re-applying entries and catches up from the log", async () => {
    cluster = await MemoryCluster.start({ ids: [1, 2, 3] });
    let leader = await cluster.waitLeader();
    const f = [1, 2, 3].find((id) => id !== leader.id)!;
    const w1 = await leader.propose(kvCommand("r", "1"));
    await cluster.nodes.get(f)!.waitApplied(w1.index);
    await cluster.stopNode(f);
    leader = await cluster.waitLeader();
    const w2 = await leader.propose(kvCommand("r", "2"));
    const node = await cluster.startNode(f);
    await node.waitApplied(w2.index);
    const sm = cluster.machines.get(f)!;
    expect(sm.get("r")).toBe("2");
    // Only what it missed was applied after the restart.
    expect(sm.appliedCount).toBe(w2.index - w1.index);
  });

  it("compacts its log at the threshold and a node back from a long absence catches up by snapshot", async () => {
    cluster = await MemoryCluster.start({ ids: [1, 2, 3], snapshotThresholdEntries: 20 });
    let leader = await cluster.waitLeader();
    const f = [1, 2, 3].find((id) => id !== leader.id)!;
    await cluster.stopNode(f);
    leader = await cluster.waitLeader();
    let last = 0;
    for (let i = 0; i < 100; i++) last = (await leader.propose(kvCommand(`s${i % 7}`, String(i)))).index;
    await waitFor(() => leader.status().snapshotIndex > 0, 5000, "leader snapshot");
    expect(leader.status().firstIndex).toBeGreaterThan(1);
    const node = await cluster.startNode(f);
    await node.waitApplied(last);
    expect(cluster.machines.get(f)!.restores).toBeGreaterThan(0);
    expect(cluster.net.delivered.get("Snap") ?? 0).toBeGreaterThan(0);
    expect(cluster.machines.get(f)!.dump()).toBe(cluster.machines.get(leader.id)!.dump());
    // And it keeps replicating normally afterwards.
    const w = await leader.propose(kvCommand("after", "snap"));
    await node.waitApplied(w.index);
    expect(cluster.machines.get(f)!.get("after")).toBe("snap");
  });

  it("adds a learner, promotes it, removes a member, and transfers leadership", async () => {
    cluster = await MemoryCluster.start({ ids: [1, 2, 3] });
    const leader = await cluster.waitLeader();
    await leader.propose(kvCommand("m", "1"));
    const n4 = await cluster.startNode(4);
    await leader.proposeConfChange({ type: "addLearner", nodeId: 4, context: Buffer.from("mem:4") });
    const w = await leader.propose(kvCommand("m", "2"));
    await n4.waitApplied(w.index);
    expect(cluster.machines.get(4)!.get("m")).toBe("2");
    await leader.proposeConfChange({ type: "addVoter", nodeId: 4 });
    expect(leader.status().members.map((m) => `${m.id}:${m.role}`)).toEqual([
      "1:voter",
      "2:voter",
      "3:voter",
      "4:voter",
    ]);
    const victim = [1, 2, 3].find((id) => id !== leader.id)!;
    await leader.proposeConfChange({ type: "removeNode", nodeId: victim });
    await cluster.stopNode(victim);
    leader.transferLeadership(4);
    await waitFor(() => n4.role === "leader", 5000, "node 4 leads");
    const w2 = await n4.propose(kvCommand("m", "3"));
    expect(w2.index).toBeGreaterThan(w.index);
  });
});
