/**
 * A snapshot taken while entries are being applied is a consistent point in time: its database
 * equals a manifest that applied exactly the same log prefix, up to the snapshot's applied index.
 */
import { join } from "node:path";
import { Manifest } from "@enigma/manifest";
import { afterAll, describe, expect, it } from "vitest";
import { createSnapshot } from "./create.js";
import { ensureNodeSigningKey } from "./node-key.js";
import { restoreSnapshot } from "./restore.js";
import { applyCommands, commandSequence, tempDirs } from "./test-fixtures.js";

const tmp = tempDirs();
afterAll(() => tmp.cleanup());

const INITIAL_COMMANDS = 3000;
const TOTAL_COMMANDS = 6000;
const BATCH_COMMANDS = 25;

describe("snapshot under concurrent applies", () => {
  it("equals a replay of the log up to the snapshot's applied index", async () => {
    const dir = tmp.make();
    const commands = commandSequence(TOTAL_COMMANDS);
    const live = Manifest.open(join(dir, "live.db"));
    applyCommands(live, commands.slice(0, INITIAL_COMMANDS));
    const key = await ensureNodeSigningKey(dir);

    // The writer yields to the event loop between batches, as the Raft apply loop does; the online
    // backup yields between its steps, so the two interleave.
    let next = INITIAL_COMMANDS;
    let stop = false;
    const writer = (async () => {
      while (!stop && next < TOTAL_COMMANDS) {
        applyCommands(live, commands.slice(next, next + BATCH_COMMANDS));
        next += BATCH_COMMANDS;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const snap = await createSnapshot({
      manifest: live,
      nodeId: 1,
      signingKey: { privateKey: key.privateKey },
      outDir: dir,
    });
    stop = true;
    await writer;
    const index = snap.manifest.raft.appliedIndex;
    // better-sqlite3 runs the backup in 100-page steps on setImmediate, so batches land between
    // steps (event-loop order, not timing): the snapshot is of a state the writer produced mid-way.
    expect(index).toBeGreaterThan(INITIAL_COMMANDS);
    expect(index).toBeLessThanOrEqual(live.raftMeta().appliedIndex);

    const target = join(dir, "restored.db");
    const r = await restoreSnapshot(snap.file, { targetDbPath: target, mode: "reseed", onWarning: () => {} });
    const replay = Manifest.openInMemory();
    applyCommands(replay, commands.slice(0, index));
    const restored = Manifest.open(target);
    try {
      expect(restored.raftMeta().appliedIndex).toBe(index);
      expect(restored.checksum()).toBe(replay.checksum());
      expect(r.checksum).toBe(replay.checksum());
      expect(restored.checkInvariants()).toEqual([]);
    } finally {
      restored.close();
      replay.close();
      live.close();
    }
  });
});
