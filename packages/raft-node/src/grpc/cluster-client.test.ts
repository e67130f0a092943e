import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RaftNodeError } from "../errors.js";
import {
  BATCH_RETRY_AFTER_MS,
  ClusterClient,
  MAX_PROPOSE_BATCH,
  MAX_PROPOSE_BATCH_BYTES,
} from "./cluster-client.js";
import {
  decodeCluster,
  encodeCluster,
  type ProposeBatchRequest,
  type ProposeRequest,
  type ProposeResponse,
} from "./cluster-codec.js";
import { CLUSTER_SERVICE } from "./services.js";

/**
 * A stand-in cluster service (no Raft): answers Propose / ProposeBatch by echoing the command's
 * text as the result, or a failure for commands starting with "fail", and records every call.
 */
class FakeClusterService {
  readonly calls: { method: "Propose" | "ProposeBatch" | "refused ProposeBatch"; commands: string[] }[] = [];
  /** Answer ProposeBatch with UNIMPLEMENTED, as an older node would (the call is still recorded). */
  refuseBatch = false;
  readonly #server = new grpc.Server();
  #next = 1;

  constructor(opts: { batch: boolean }) {
    const answer = (req: ProposeRequest): ProposeResponse => {
      const text = Buffer.from(req.command).toString();
      if (text.startsWith("fail"))
        return { failure: { code: "Busy", message: text, leaderId: 0 }, index: 0, term: 0, resultJson: "" };
      return { index: this.#next++, term: 1, resultJson: JSON.stringify(text) };
    };
    const impl: grpc.UntypedServiceImplementation = {
      Propose: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const req = decodeCluster<ProposeRequest>("ProposeRequest", call.request);
        this.calls.push({ method: "Propose", commands: [Buffer.from(req.command).toString()] });
        cb(null, encodeCluster("ProposeResponse", answer(req)));
      },
    };
    if (opts.batch) {
      impl.ProposeBatch = (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        const batch = decodeCluster<ProposeBatchRequest>("ProposeBatchRequest", call.request);
        const commands = batch.requests.map((r) => Buffer.from(r.command).toString());
        if (this.refuseBatch) {
          this.calls.push({ method: "refused ProposeBatch", commands });
          cb({ code: grpc.status.UNIMPLEMENTED, details: "unknown method" });
          return;
        }
        this.calls.push({ method: "ProposeBatch", commands });
        // Answered out of order internally, in request order on the wire.
        const responses = batch.requests.map(answer);
        setTimeout(() => cb(null, encodeCluster("ProposeBatchResponse", { responses })), 5);
      };
    }
    const service = opts.batch
      ? CLUSTER_SERVICE
      : Object.fromEntries(Object.entries(CLUSTER_SERVICE).filter(([m]) => m !== "ProposeBatch"));
    this.#server.addService(service as grpc.ServiceDefinition, impl);
  }

  async start(): Promise<string> {
    const port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    return `127.0.0.1:${port}`;
  }

  stop(): void {
    this.#server.forceShutdown();
  }
}

const req = (text: string, timeoutMs = 5000): ProposeRequest => ({
  command: Buffer.from(text),
  timeoutMs,
  hops: 0,
});

describe("ClusterClient.propose coalescing", () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  async function setup(batch: boolean) {
    const fake = new FakeClusterService({ batch });
    const addr = await fake.start();
    const client = new ClusterClient(addr);
    cleanup.push(
      () => client.close(),
      () => fake.stop(),
    );
    return { fake, client };
  }

  it("sends proposals made in one turn as one ProposeBatch, answering each caller with its own response", async () => {
    const { fake, client } = await setup(true);
    const texts = Array.from({ length: 50 }, (_, i) => (i % 7 === 3 ? `fail-${i}` : `cmd-${i}`));
    const out = await Promise.all(texts.map((t) => client.propose(req(t))));
    expect(fake.calls).toEqual([{ method: "ProposeBatch", commands: texts }]);
    for (const [i, res] of out.entries()) {
      if (texts[i]!.startsWith("fail"))
        expect(res.failure).toEqual({ code: "Busy", message: texts[i], leaderId: 0 });
      else {
        expect(res.failure).toBeUndefined();
        expect(JSON.parse(res.resultJson)).toBe(texts[i]);
      }
    }
    // Indexes were handed out in request order, so each caller got its own entry's.
    const indexes = out.filter((r) => r.failure === undefined).map((r) => r.index);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(new Set(indexes).size).toBe(indexes.length);
  });

  it("sends a lone proposal as a plain Propose, and later turns as separate calls", async () => {
    const { fake, client } = await setup(true);
    expect(JSON.parse((await client.propose(req("one"))).resultJson)).toBe("one");
    await Promise.all([client.propose(req("a")), client.propose(req("b"))]);
    expect(fake.calls).toEqual([
      { method: "Propose", commands: ["one"] },
      { method: "ProposeBatch", commands: ["a", "b"] },
    ]);
  });

  it(`cuts batches at ${MAX_PROPOSE_BATCH} requests and at ${MAX_PROPOSE_BATCH_BYTES} command bytes`, async () => {
    const { fake, client } = await setup(true);
    const n = MAX_PROPOSE_BATCH + 5;
    await Promise.all(Array.from({ length: n }, (_, i) => client.propose(req(`c${i}`))));
    expect(fake.calls.map((c) => c.commands.length)).toEqual([MAX_PROPOSE_BATCH, 5]);
    expect(fake.calls.flatMap((c) => c.commands)).toEqual(Array.from({ length: n }, (_, i) => `c${i}`));

    fake.calls.length = 0;
    const big = "x".repeat(MAX_PROPOSE_BATCH_BYTES / 2 + 1);
    const out = await Promise.all([
      client.propose(req(big)),
      client.propose(req(big)),
      client.propose(req("s")),
    ]);
    expect(out.map((r) => JSON.parse(r.resultJson).length)).toEqual([big.length, big.length, 1]);
    // The second big command does not fit beside the first: the first goes alone.
    expect(fake.calls.map((c) => c.commands.map((t) => t.length))).toEqual([[big.length], [big.length, 1]]);
  });

  it("falls back to one Propose per request against a node without ProposeBatch, and remembers for a while", async () => {
    const { fake, client } = await setup(false);
    const first = await Promise.all(["a", "b", "c"].map((t) => client.propose(req(t))));
    expect(first.map((r) => JSON.parse(r.resultJson))).toEqual(["a", "b", "c"]);
    const second = await Promise.all(["d", "e"].map((t) => client.propose(req(t))));
    expect(second.map((r) => JSON.parse(r.resultJson))).toEqual(["d", "e"]);
    // The batch was refused once (UNIMPLEMENTED, not recorded); then only plain calls.
    expect(fake.calls.map((c) => c.method)).toEqual(["Propose", "Propose", "Propose", "Propose", "Propose"]);
  });

  it("tries ProposeBatch again a while after a node refused it (a rolling upgrade replaced the node)", async () => {
    const { fake, client } = await setup(true);
    fake.refuseBatch = true;
    await Promise.all(["a", "b"].map((t) => client.propose(req(t))));
    await Promise.all(["c", "d"].map((t) => client.propose(req(t))));
    fake.refuseBatch = false;
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + BATCH_RETRY_AFTER_MS + 1);
      await Promise.all(["e", "f"].map((t) => client.propose(req(t))));
    } finally {
      vi.useRealTimers();
    }
    expect(fake.calls).toEqual([
      { method: "refused ProposeBatch", commands: ["a", "b"] },
      { method: "Propose", commands: ["a"] },
      { method: "Propose", commands: ["b"] },
      { method: "Propose", commands: ["c"] },
      { method: "Propose", commands: ["d"] },
      { method: "ProposeBatch", commands: ["e", "f"] },
    ]);
  });

  it("refuses proposals still waiting for their batch when the client closes, and later ones", async () => {
    const { fake, client } = await setup(true);
    const pending = [client.propose(req("a")), client.propose(req("b"))];
    client.close();
    for (const r of await Promise.allSettled([...pending, client.propose(req("c"))])) {
      expect(r.status).toBe("rejected");
      expect(RaftNodeError.is((r as PromiseRejectedResult).reason, "Stopped")).toBe(true);
    }
    expect(fake.calls).toEqual([]);
  });

  it("rejects every proposal of a batch the node cannot be reached for", async () => {
    const { fake, client } = await setup(true);
    fake.stop();
    const out = await Promise.allSettled(["a", "b", "c"].map((t) => client.propose(req(t, 300))));
    for (const r of out) {
      expect(r.status).toBe("rejected");
      expect(RaftNodeError.is((r as PromiseRejectedResult).reason)).toBe(true);
    }
  });
});
