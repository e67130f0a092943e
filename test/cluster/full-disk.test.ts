/**
 * A full disk under one member of a 3-node cluster of real `enigma serve` processes. Each node's
 * data dir (Raft log, manifest) is a 24 MiB tmpfs of its own; the chunks go to a shared directory
 * on the ordinary disk. When the leader's filesystem fills to the last byte, the leader cannot
 * append to its log and stops (fail-stop: a node that cannot persist must not keep acting as
 * leader or voting); the two others elect a leader and keep accepting writes through any of them.
 * Once space is back the stopped node restarts, catches up, and holds the same manifest as the
 * others. Mounting needs root; without it the file skips with the reason.
 */
import { createHash, randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fillToTheByte, mountTmpfs, tmpfsUnavailableReason, unmountTmpfs } from "../support/tmpfs.js";
import { sleep, TestCluster } from "./harness.js";

const skip = tmpfsUnavailableReason();
if (skip !== null) console.log(`cluster full-disk test: skipping: ${skip}`);

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe.skipIf(skip !== null)("a full disk under the leader of a 3-node cluster", () => {
  let cluster: TestCluster;
  const written = new Map<string, string>();

  beforeAll(async () => {
    cluster = await TestCluster.start({
      nodeDir: {
        prepare(_id, dir) {
          const reason = mountTmpfs(dir, 24);
          if (reason !== null) throw new Error(reason);
        },
        release(_id, dir) {
          unmountTmpfs(dir);
        },
      },
    });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  async function put(client: S3Client, key: string): Promise<void> {
    const body = randomBytes(100_000);
    await client.send(new PutObjectCommand({ Bucket: "disk", Key: key, Body: body }));
    written.set(key, sha(body));
  }

  it("stops the leader that cannot persist; the others keep taking writes; it catches up after", {
    timeout: 180_000,
  }, async () => {
    const first = cluster.client(1);
    await first.send(new CreateBucketCommand({ Bucket: "disk" }));
    for (let i = 0; i < 5; i++) await put(first, `before/${i}`);
    first.destroy();

    const leader = await cluster.leader();
    const junk = fillToTheByte(cluster.node(leader).dir);
    const others = cluster.ids.filter((id) => id !== leader);

    // Writes through the full leader are refused at its data dir's reserve (507), unacknowledged.
    const viaLeader = cluster.client(leader, { timeoutMs: 10_000 });
    await expect(put(viaLeader, "on-full-leader")).rejects.toThrow();
    written.delete("on-full-leader");
    viaLeader.destroy();

    // A write through a follower reaches the leader's log, which cannot take it: the leader stops
    // (a member that cannot persist must neither lead nor vote), the other two elect a leader,
    // and the write goes through on a retry.
    const follower = cluster.client(others[0]!, { timeoutMs: 10_000 });
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await put(follower, "via-follower");
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
    follower.destroy();
    expect(cluster.node(leader).running).toBe(false);
    expect(cluster.node(leader).stderr()).toMatch(/ENOSPC|SQLITE_FULL|no space|disk is full/i);
    const next = await cluster.leader(others, 30_000);
    expect(others).toContain(next);
    for (const id of others) {
      const c = cluster.client(id);
      for (let i = 0; i < 3; i++) await put(c, `after/${id}/${i}`);
      c.destroy();
    }

    // Space back: the node restarts, catches up and agrees with the others byte for byte.
    rmSync(junk);
    await cluster.restart(leader);
    await cluster.converged(60_000);
    const checksums = cluster.ids.map((id) => cluster.manifestChecksum(id));
    expect(new Set(checksums).size).toBe(1);
    const back = cluster.client(leader);
    for (const [key, digest] of written) {
      const got = await back.send(new GetObjectCommand({ Bucket: "disk", Key: key }));
      expect(sha(await got.Body!.transformToByteArray()), key).toBe(digest);
    }
    back.destroy();
  });
});
