/**
 * The leader cut off from the other two by the TCP proxies on every node-to-node link: the
 * majority elects a new leader and serves; the old leader serves no linearizable read and
 * acknowledges no write; after healing every node holds an identical manifest.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCluster } from "./harness.js";

async function getText(client: S3Client, key: string, local = false): Promise<string> {
  const cmd = new GetObjectCommand({ Bucket: "part", Key: key });
  if (local) {
    cmd.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers["x-enigma-consistency"] = "local";
        return next(args);
      },
      { step: "build" },
    );
  }
  const got = await client.send(cmd);
  return got.Body!.transformToString();
}

function statusOf(err: unknown): number | string {
  if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode ?? err.name;
  return (err as Error).name;
}

describe("a partitioned leader", () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start({ proxied: true, requestTimeoutMs: 2000 });
  });

  afterAll(async () => {
    await cluster?.close();
  });

  it("loses its authority while the majority moves on, and heals into identical manifests", async () => {
    const old = await cluster.leader();
    const majority = cluster.ids.filter((id) => id !== old);
    const oldClient = cluster.client(old, { timeoutMs: 10_000 });
    const a = cluster.client(majority[0]!);
    const b = cluster.client(majority[1]!);
    try {
      await oldClient.send(new CreateBucketCommand({ Bucket: "part" }));
      await oldClient.send(new PutObjectCommand({ Bucket: "part", Key: "k", Body: "v1" }));
      expect(await getText(b, "k")).toBe("v1");

      cluster.partition(old);

      // The old leader acknowledges no write and serves no linearizable read...
      const write = oldClient
        .send(new PutObjectCommand({ Bucket: "part", Key: "k", Body: "from-old-leader" }))
        .then(() => 200, statusOf);
      const read = getText(oldClient, "k").then(() => 200, statusOf);
      // ...while the majority elects a leader of its own and serves both.
      const fresh = await cluster.leader(majority);
      expect(majority).toContain(fresh);
      await a.send(new PutObjectCommand({ Bucket: "part", Key: "k", Body: "v2" }));
      expect(await getText(b, "k")).toBe("v2");
      expect(await write).toBe(503);
      expect(await read).toBe(503);
      // An explicitly local read is served from the old leader's (stale) replica.
      expect(await getText(oldClient, "k", true)).toBe("v1");
      const st = await cluster.node(old).status();
      expect(st?.role).not.toBe("leader"); // check-quorum made it step down

      cluster.heal();
      await cluster.converged();
      expect(await getText(oldClient, "k")).toBe("v2");
      const sums = cluster.ids.map((id) => cluster.manifestChecksum(id));
      expect(new Set(sums).size).toBe(1);
    } finally {
      oldClient.destroy();
      a.destroy();
      b.destroy();
    }
  });
});
