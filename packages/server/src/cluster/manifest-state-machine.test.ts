/** The manifest as the Raft state machine, under three in-process drivers on a memory network. */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Command, encodeEnvelope, Manifest } from "@enigma/manifest";
import { MemoryNetwork, RaftNode } from "@enigma/raft-node";
import { afterEach, describe, expect, it } from "vitest";
import { ManifestStateMachine } from "./manifest-state-machine.js";

class Trio {
  readonly root = mkdtempSync(join(tmpdir(), "manifest-fsm-"));
  readonly net = new MemoryNetwork();
  readonly nodes = new Map<number, RaftNode>();
  readonly manifests = new Map<number, Manifest>();
  readonly fatal = new Map<number, unknown>();
  readonly peers = new Map([1, 2, 3].map((id) => [id, `mem:${id}`]));

  constructor(readonly snapshotThresholdEntries = 10_000) {}

  async start(id: number): Promise<RaftNode> {
    const dir = join(this.root, `n${id}`);
    mkdirSync(dir, { recursive: true });
    const manifest = this.manifests.get(id) ?? Manifest.open(join(dir, "manifest.db"));
    this.manifests.set(id, manifest);
    const node = await RaftNode.start({
      id,
      dir: join(dir, "raft"),
      peers: this.peers,
      stateMachine: new ManifestStateMachine(manifest),
      transport: this.net.transport(id),
      tickMs: 10,
      electionTicks: 10,
      snapshotThresholdEntries: this.snapshotThresholdEntries,
      onFatal: (err) => this.fatal.set(id, err),
    });
    this.nodes.set(id, node);
    return node;
  }

  async leader(): Promise<RaftNode> {
    for (;;) {
      const l = [...this.nodes.values()].find((n) => n.role === "leader");
      if (l !== undefined) return l;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    for (const n of this.nodes.values()) await n.stop();
    for (const m of this.manifests.values()) m.close();
    rmSync(this.root, { recursive: true, force: true });
  }
}

const bucket = (name: string): Command => ({
  type: "CreateBucket",
  bucket: name,
  createdAtMs: 1_700_000_000_000,
});

let trio: Trio | undefined;
afterEach(async () => {
  await trio?.close();
  trio = undefined;
});

describe("ManifestStateMachine", () => {
  it("applies commands on every node and de-duplicates a retried request id", async () => {
    trio = new Trio();
    for (const id of [1, 2, 3]) await trio.start(id);
    const leader = await trio.leader();
    const env = encodeEnvelope({ requestId: "req-1", command: bucket("alpha") });
    const first = await leader.propose(env);
    expect(first.result).toEqual({ ok: true });
    // The same request again (a retry after a leader change): the original result, no second apply.
    const again = await leader.propose(env);
    expect(again.index).toBeGreaterThan(first.index);
    expect(again.result).toEqual({ ok: true });
    const fresh = await leader.propose(encodeEnvelope({ requestId: "req-2", command: bucket("alpha") }));
    expect(fresh.result).toMatchObject({ ok: false, code: "BucketAlreadyExists" });
    for (const [id, n] of trio.nodes) {
      await n.waitApplied(fresh.index);
      expect(
        trio.manifests
          .get(id)!
          .listBuckets()
          .map((b) => b.name),
      ).toEqual(["alpha"]);
      const meta = trio.manifests.get(id)!.raftMeta();
      expect(meta.appliedIndex).toBe(fresh.index);
      expect(meta.membership).toEqual({ voters: [1, 2, 3], learners: [] });
    }
    const sums = [...trio.manifests.values()].map((m) => m.checksum());
    expect(new Set(sums).size).toBe(1);
  });

  it("restores a lagging node from a manifest snapshot, keeping its open Manifest usable", async () => {
    trio = new Trio(16);
    for (const id of [1, 2, 3]) await trio.start(id);
    let leader = await trio.leader();
    const lagging = [1, 2, 3].find((id) => id !== leader.id)!;
    const before = trio.manifests.get(lagging)!; // stays open across the stop and the restore
    await trio.nodes.get(lagging)!.stop();
    trio.nodes.delete(lagging);
    leader = await trio.leader();
    let last = 0;
    for (let i = 0; i < 40; i++)
      last = (await leader.propose(encodeEnvelope({ command: bucket(`b${i}`) }))).index;
    while (leader.status().snapshotIndex === 0) await new Promise((r) => setTimeout(r, 10));
    const back = await trio.start(lagging);
    await back.waitApplied(last);
    expect(back.status().snapshotIndex).toBeGreaterThan(0);
    expect(before.listBuckets()).toHaveLength(40);
    const sums = [...trio.manifests.values()].map((m) => m.checksum());
    expect(new Set(sums).size).toBe(1);
  });

  it("stops every node on a committed entry that does not decode: never skipped", async () => {
    trio = new Trio();
    for (const id of [1, 2, 3]) await trio.start(id);
    const leader = await trio.leader();
    const bad = leader.propose(new TextEncoder().encode("not an envelope")).catch((e: unknown) => e);
    await expect(bad).resolves.toBeInstanceOf(Error);
    for (;;) {
      if (trio.fatal.size === 3) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const err of trio.fatal.values()) expect(String(err)).toMatch(/undecodable/i);
  });

  it("compaction snapshots are the operators' online backup: index and term read from the copy", async () => {
    const dir = mkdtempSync(join(tmpdir(), "manifest-fsm-snap-"));
    const m = Manifest.open(join(dir, "live.db"));
    try {
      m.applyEntries([
        { index: 1, term: 1, membership: { voters: [1], learners: [] } },
        { index: 2, term: 3, command: bucket("a") },
      ]);
      const sm = new ManifestStateMachine(m);
      // Applies continue while the copy is taken; the copy says which state it holds.
      const taking = sm.snapshot(join(dir, "snap.db"));
      m.applyEntries([{ index: 3, term: 3, command: bucket("b") }]);
      const got = await taking;
      const copy = Manifest.open(join(dir, "snap.db"), { readonly: true, integrityCheck: "none" });
      try {
        const meta = copy.raftMeta();
        expect(got).toEqual({ index: meta.appliedIndex, term: meta.appliedTerm });
        expect(copy.listBuckets().length).toBe(got.index - 1);
      } finally {
        copy.close();
      }
    } finally {
      m.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
