/** Restore in cluster mode: the Raft log is re-seeded to start at the restored state. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Manifest } from "@enigma/manifest";
import { MemoryNetwork, RaftNode, SqliteLogStorage } from "@enigma/raft-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManifestStateMachine } from "../cluster/manifest-state-machine.js";
import { createSnapshot } from "./create.js";
import type { SnapshotError } from "./errors.js";
import { ensureNodeSigningKey, type NodeSigningKey } from "./node-key.js";
import { hashFile } from "./online-backup.js";
import { RAFT_LOG_FILE } from "./raft-seed.js";
import { restoreSnapshot } from "./restore.js";
import { applyCommands, commandSequence, dirState, tempDirs } from "./test-fixtures.js";

const tmp = tempDirs();
let key: NodeSigningKey;
let file: string;
let applied: { index: number; term: number };
let checksum: string;
const addrs = { "1": "127.0.0.1:1", "2": "127.0.0.1:2", "3": "127.0.0.1:3" };

beforeAll(async () => {
  const work = tmp.make();
  const live = Manifest.open(join(work, "live.db"));
  applyCommands(live, commandSequence(60));
  const idx = live.raftMeta().appliedIndex;
  live.applyEntry({ index: idx + 1, term: 4, membership: { voters: [1, 2, 3], learners: [] } });
  applied = { index: idx + 1, term: 4 };
  checksum = live.checksum();
  key = await ensureNodeSigningKey(join(work, "key"));
  const s = await createSnapshot({
    manifest: live,
    nodeId: 3,
    signingKey: { privateKey: key.privateKey },
    outDir: join(work, "out"),
    raftTerm: 5,
  });
  file = s.file;
  live.close();
});
afterAll(() => tmp.cleanup());

function restoreOpts(dir: string, nodeId: number, mode: "reseed" | "new-cluster") {
  return {
    targetDbPath: join(dir, "manifest.db"),
    mode,
    localKey: key.publicKey,
    onWarning: () => {},
    raft: { dir: join(dir, "raft"), nodeId, addrs },
  } as const;
}

describe("restore with a Raft log", () => {
  it("reseed: the log starts at the snapshot with its membership, keeps the node's vote, and the driver starts on it", async () => {
    const dir = tmp.make("enigma-reseed-");
    // The node's old log: term 7, voted for 2, entries beyond the snapshot (lost with its manifest).
    const old = SqliteLogStorage.open(join(dir, "raft", RAFT_LOG_FILE), 3);
    old.save(
      {
        entries: [1, 2, 3].map((i) => ({ index: i, term: 1, type: "noop" as const, data: new Uint8Array() })),
        hardState: { term: 7, vote: 2, commit: 3 },
      },
      true,
    );
    old.close();
    const r = await restoreSnapshot(file, restoreOpts(dir, 3, "reseed"));
    expect(r.raft).toMatchObject({ index: applied.index, term: 4, hardTerm: 7, keptVote: true });
    const log = SqliteLogStorage.open(join(dir, "raft", RAFT_LOG_FILE), 3);
    try {
      const snap = log.snapshot();
      expect(snap.metadata).toEqual({ ...applied, confState: { voters: [1, 2, 3], learners: [] } });
      expect(log.firstIndex()).toBe(applied.index + 1);
      expect(log.lastIndex()).toBe(applied.index);
      expect(log.initialState().hardState).toEqual({ term: 7, vote: 2, commit: applied.index });
      const desc = JSON.parse(Buffer.from(snap.data).toString("utf8")) as { file: string; sha256: string };
      const image = join(dir, "raft", "snapshots", desc.file);
      expect(desc.file).toBe(`snap-${applied.index}-4.db`);
      expect((await hashFile(image)).sha256).toBe(desc.sha256);
    } finally {
      log.close();
    }
    // The driver accepts the seeded log beside the restored manifest (it refuses a manifest with
    // applied entries beside an empty log).
    const manifest = Manifest.open(join(dir, "manifest.db"));
    expect(manifest.checksum()).toBe(checksum);
    const node = await RaftNode.start({
      id: 3,
      dir: join(dir, "raft"),
      peers: new Map(Object.entries(addrs).map(([id, a]) => [Number(id), a])),
      stateMachine: new ManifestStateMachine(manifest),
      transport: new MemoryNetwork().transport(3),
      tickMs: 10,
      electionTicks: 10,
    });
    try {
      expect(node.status()).toMatchObject({ applied: applied.index, snapshotIndex: applied.index, term: 7 });
    } finally {
      await node.stop();
      manifest.close();
    }
  });

  it("new cluster: fresh Raft state with this node the only voter; an old log of the node is replaced", async () => {
    const dir = tmp.make("enigma-newcluster-");
    const old = SqliteLogStorage.open(join(dir, "raft", RAFT_LOG_FILE), 1);
    old.save({ entries: [], hardState: { term: 40, vote: 1, commit: 0 } }, true);
    old.close();
    const r = await restoreSnapshot(file, restoreOpts(dir, 1, "new-cluster"));
    expect(r.raft).toMatchObject({ index: applied.index, hardTerm: 4, keptVote: false });
    expect(r.raft?.conf).toEqual({ voters: [1], learners: [] });
    const log = SqliteLogStorage.open(join(dir, "raft", RAFT_LOG_FILE), 1);
    try {
      expect(log.initialState().hardState).toEqual({ term: 4, vote: 0, commit: applied.index });
    } finally {
      log.close();
    }
    // The image followers receive carries the new cluster id and GC's pause (replicated state).
    const image = Manifest.open(r.raft!.snapshotFile, { readonly: true, integrityCheck: "none" });
    try {
      expect(image.raftMeta().clusterId).toBe(r.clusterId);
      expect(image.gcPause()).toMatchObject({ mode: "new-cluster", appliedIndex: applied.index });
    } finally {
      image.close();
    }
    expect(r).toMatchObject({ gcPause: "manifest", gcPauseFile: null });
    expect(existsSync(join(dir, "gc-paused.json"))).toBe(false);
  });

  it("refuses to reseed a node that was not a member, writing nothing", async () => {
    const dir = tmp.make("enigma-reseed-");
    const before = dirState(dir);
    let err: SnapshotError | undefined;
    try {
      await restoreSnapshot(file, restoreOpts(dir, 4, "reseed"));
    } catch (e) {
      err = e as SnapshotError;
    }
    expect(err?.code).toBe("BadArgument");
    expect(err?.message).toMatch(/node 4 was not a member when the snapshot was taken \(members 1,2,3\)/);
    expect(dirState(dir)).toEqual(before);
    expect(existsSync(join(dir, "raft"))).toBe(false);
  });
});
