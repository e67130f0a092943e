import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePki } from "../testing/pki.js";
import { ClientCache, serverCredentials, type TlsMaterial, unaryCall } from "./channel.js";
import { decodeCluster, encodeCluster } from "./cluster-codec.js";
import { CLUSTER_SERVICE } from "./services.js";

/**
 * Outgoing certificate rotation: after `setTls`, calls through the cache present the new client
 * certificate (the server reads it from the handshake), not the one of a channel opened before.
 */
describe("ClientCache.setTls", () => {
  const dir = mkdtempSync(join(tmpdir(), "channel-pki-"));
  const a = makePki(dir, "old");
  const b = makePki(dir, "new");
  const server = new grpc.Server();
  let addr = "";

  beforeAll(async () => {
    if (a === undefined || b === undefined) return;
    // Trusts both CAs and answers Status with the common name of the caller's certificate.
    const creds = serverCredentials({ ...a, ca: Buffer.concat([a.ca, b.ca]) });
    server.addService(CLUSTER_SERVICE, {
      Status: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const cn = call.getAuthContext().sslPeerCertificate?.subject?.CN ?? "";
        cb(null, encodeCluster("AdminResponse", { resultJson: JSON.stringify(cn), nodeId: 1 }));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
    addr = `127.0.0.1:${port}`;
  });

  afterAll(() => {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const callerName = async (cache: ClientCache): Promise<string> => {
    const res = await unaryCall(cache.cluster(addr), "Status", Buffer.alloc(0), new grpc.Metadata(), 5000);
    return JSON.parse(decodeCluster<{ resultJson: string }>("AdminResponse", res).resultJson) as string;
  };

  it("presents the new client certificate on every call after a reload", async (ctx) => {
    if (a === undefined || b === undefined) {
      process.stderr.write("skipping the outgoing TLS reload test: openssl is not available\n");
      ctx.skip();
      return;
    }
    const bundle = Buffer.concat([a.ca, b.ca]);
    const cache = new ClientCache({ ...a, ca: bundle });
    try {
      expect(await callerName(cache)).toBe("old");
      expect(await callerName(cache)).toBe("old"); // the open channel is reused
      cache.setTls({ ...b, ca: bundle } satisfies TlsMaterial);
      expect(await callerName(cache)).toBe("new");
      cache.setTls({ ...a, ca: bundle });
      expect(await callerName(cache)).toBe("old");
    } finally {
      cache.close();
    }
  });
});
