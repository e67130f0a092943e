/**
 * The hand-written codecs against the .proto files: bytes we encode decode with protobufjs (via
 * @grpc/proto-loader) into the same fields, and bytes protobufjs encodes decode with ours.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Message } from "@enigma/raft";
import { loadSync } from "@grpc/proto-loader";
import { describe, expect, it } from "vitest";
import { decodeCluster, encodeCluster } from "./cluster-codec.js";
import {
  decodeBatch,
  decodeSignedBatch,
  decodeSnapshotChunk,
  decodeSnapshotHeader,
  encodeBatches,
  encodeSignedBatch,
  encodeSnapshotChunk,
  encodeSnapshotHeader,
} from "./raft-codec.js";

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "proto");
const opts = { longs: Number, enums: String, defaults: true, bytes: Buffer } as const;
const raftDef = loadSync(join(PROTO_DIR, "raft.proto"), opts);
const clusterDef = loadSync(join(PROTO_DIR, "cluster.proto"), opts);

type Codec = {
  requestSerialize(v: unknown): Buffer;
  requestDeserialize(b: Buffer): Record<string, unknown>;
  responseSerialize(v: unknown): Buffer;
  responseDeserialize(b: Buffer): Record<string, unknown>;
};
const raftMethod = (m: string) => (raftDef["enigma.raft.v1.Raft"] as unknown as Record<string, Codec>)[m]!;

// protobufjs itself (proto-loader's engine), for message types that are not a method's request.
interface PbType {
  decode(b: Uint8Array): unknown;
  encode(v: unknown): { finish(): Uint8Array };
  toObject(m: unknown, o: object): Record<string, unknown>;
  fromObject(o: object): unknown;
}
const protobuf = createRequire(createRequire(import.meta.url).resolve("@grpc/proto-loader"))(
  "protobufjs",
) as {
  loadSync(path: string): { lookupType(name: string): PbType };
};
const batchType = protobuf.loadSync(join(PROTO_DIR, "raft.proto")).lookupType("enigma.raft.v1.MessageBatch");
const sendDecode = (b: Uint8Array) => batchType.toObject(batchType.decode(b), opts);
const sendEncode = (o: Record<string, unknown>) => batchType.encode(batchType.fromObject(o)).finish();
const clusterMethod = (m: string) =>
  (clusterDef["enigma.cluster.v1.Cluster"] as unknown as Record<string, Codec>)[m]!;

const app: Message = {
  type: "App",
  from: 1,
  to: 2,
  term: 7,
  logTerm: 6,
  index: 41,
  entries: [
    { term: 7, index: 42, type: "normal", data: Buffer.from("cmd-42") },
    { term: 7, index: 43, type: "confChange", data: Buffer.from([1, 0, 1, 1, 0]) },
    { term: 7, index: 44, type: "noop", data: new Uint8Array(0) },
  ],
  commit: 40,
  reject: false,
  rejectHint: 0,
  context: new Uint8Array(0),
};
const snap: Message = {
  type: "Snap",
  from: 1,
  to: 3,
  term: 9,
  logTerm: 0,
  index: 0,
  entries: [],
  commit: 0,
  reject: false,
  rejectHint: 0,
  snapshot: {
    metadata: { index: 2 ** 40, term: 9, confState: { voters: [1, 2, 3], learners: [4] } },
    data: Buffer.from('{"v":1}'),
  },
  context: Buffer.from([0, 0, 0, 0, 0, 0, 0, 5]),
};
const resp: Message = {
  type: "AppResp",
  from: 2,
  to: 1,
  term: 7,
  logTerm: 5,
  index: 41,
  entries: [],
  commit: 0,
  reject: true,
  rejectHint: 30,
  context: new Uint8Array(0),
};

/** Byte fields as hex, so Buffers and Uint8Arrays compare by content. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

describe("raft.proto codec", () => {
  it("MessageBatch round-trips through protobufjs both ways", () => {
    const [ours] = encodeBatches(1, 2, [app, resp], 1 << 20);
    // On the wire it travels inside a SignedBatch on the Stream call.
    const signed = raftMethod("Stream").requestDeserialize(
      Buffer.from(encodeSignedBatch(ours!, Buffer.alloc(32, 9))),
    );
    expect(Buffer.from(signed.batch as Buffer).equals(Buffer.from(ours!))).toBe(true);
    const mac = decodeSignedBatch(raftMethod("Stream").requestSerialize(signed)).mac;
    expect(Buffer.from(mac).equals(Buffer.alloc(32, 9))).toBe(true);
    const theirs = sendDecode(ours!);
    expect(theirs.from).toBe(1);
    expect(theirs.to).toBe(2);
    const msgs = theirs.messages as Array<Record<string, unknown>>;
    expect(msgs[0]!.type).toBe("MESSAGE_TYPE_APP");
    expect(msgs[0]!.logTerm).toBe(6);
    const ents = msgs[0]!.entries as Array<Record<string, unknown>>;
    expect(ents.map((e) => e.type)).toEqual([
      "ENTRY_TYPE_NORMAL",
      "ENTRY_TYPE_CONF_CHANGE",
      "ENTRY_TYPE_NOOP",
    ]);
    expect(Buffer.from(ents[0]!.data as Uint8Array).toString()).toBe("cmd-42");
    expect(msgs[1]!.type).toBe("MESSAGE_TYPE_APP_RESP");
    expect(msgs[1]!.reject).toBe(true);
    expect(msgs[1]!.rejectHint).toBe(30);

    const back = decodeBatch(sendEncode(theirs));
    expect(back.messages.map(plain)).toEqual([app, resp].map(plain));
  });

  it("a snapshot header with a large index and a conf state round-trips", () => {
    const header = encodeSnapshotHeader({ message: snap, sizeBytes: 12345, sha256: Buffer.alloc(32, 7) });
    const chunk = encodeSnapshotChunk({ header, headerMac: Buffer.alloc(32, 1), data: Buffer.from("abc") });
    const theirs = raftMethod("InstallSnapshot").requestDeserialize(Buffer.from(chunk));
    const h = theirs.header as Record<string, unknown>;
    expect(h.sizeBytes).toBe(12345);
    const m = h.message as Record<string, unknown>;
    const meta = (m.snapshot as Record<string, unknown>).metadata as Record<string, unknown>;
    expect(meta.index).toBe(2 ** 40);
    expect(meta.confState).toEqual({ voters: [1, 2, 3], learners: [4] });
    const again = decodeSnapshotChunk(raftMethod("InstallSnapshot").requestSerialize(theirs));
    expect(Buffer.from(again.data).toString()).toBe("abc");
    expect(plain(decodeSnapshotHeader(again.header!).message)).toEqual(plain(snap));
  });
});

describe("cluster.proto codec", () => {
  it("every request and response round-trips through protobufjs", () => {
    const cases: Array<[string, "request" | "response", Parameters<typeof encodeCluster>[0], object]> = [
      ["Propose", "request", "ProposeRequest", { command: Buffer.from("{}"), timeoutMs: 5000, hops: 1 }],
      [
        "Propose",
        "response",
        "ProposeResponse",
        {
          failure: { code: "NotLeader", message: "m", leaderId: 3 },
          index: 9,
          term: 2,
          resultJson: '{"ok":true}',
        },
      ],
      [
        "ProposeBatch",
        "request",
        "ProposeBatchRequest",
        {
          requests: [
            { command: Buffer.from("a"), timeoutMs: 5000, hops: 0 },
            { command: Buffer.from("bc"), timeoutMs: 7, hops: 1 },
          ],
        },
      ],
      [
        "ProposeBatch",
        "response",
        "ProposeBatchResponse",
        {
          responses: [
            { index: 9, term: 2, resultJson: "null" },
            { failure: { code: "Timeout", message: "t", leaderId: 0 }, index: 0, term: 0, resultJson: "" },
          ],
        },
      ],
      ["ReadIndex", "request", "ReadIndexRequest", { timeoutMs: 100 }],
      ["ReadIndex", "response", "ReadIndexResponse", { index: 77 }],
      [
        "Status",
        "response",
        "StatusResponse",
        {
          nodeId: 2,
          role: "follower",
          term: 4,
          leaderId: 1,
          commitIndex: 10,
          appliedIndex: 9,
          firstIndex: 1,
          lastIndex: 10,
          snapshotIndex: 0,
          members: [
            { id: 1, addr: "127.0.0.1:9000", learner: false, match: 10, progressState: "replicate" },
            { id: 4, addr: "h:1", learner: true, match: 0, progressState: "" },
          ],
          pid: 1234,
        },
      ],
      [
        "AddNode",
        "request",
        "AddNodeRequest",
        { nodeId: 4, addr: "h:1", learnerOnly: true, timeoutMs: 1, hops: 0 },
      ],
      ["AddNode", "response", "MembershipResponse", { index: 12, members: [] }],
      ["RemoveNode", "request", "RemoveNodeRequest", { nodeId: 4, timeoutMs: 1, hops: 1 }],
      ["TransferLeader", "request", "TransferLeaderRequest", { nodeId: 2, timeoutMs: 9, hops: 0 }],
      ["TransferLeader", "response", "TransferLeaderResponse", { leaderId: 2 }],
      [
        "Admin",
        "request",
        "AdminRequest",
        { action: "gc.run", argsJson: '{"dryRun":true}', onLeader: true, timeoutMs: 60000, hops: 1 },
      ],
      ["Admin", "response", "AdminResponse", { resultJson: '{"freed":3}', nodeId: 2 }],
    ];
    // Byte fields compared as bytes (protobufjs gives Buffers, we give Uint8Arrays), at any depth.
    const same = (got: unknown, want: unknown): void => {
      if (want instanceof Uint8Array) expect(Buffer.from(got as Uint8Array).equals(want)).toBe(true);
      else if (Array.isArray(want)) {
        expect(got).toHaveLength(want.length);
        for (const [i, w] of want.entries()) same((got as unknown[])[i], w);
      } else if (want !== null && typeof want === "object")
        for (const [k, v] of Object.entries(want)) same((got as Record<string, unknown>)[k], v);
      else expect(got).toEqual(want);
    };
    for (const [method, dir, name, value] of cases) {
      const codec = clusterMethod(method);
      const ours = encodeCluster(name, value);
      const theirs = dir === "request" ? codec.requestDeserialize(ours) : codec.responseDeserialize(ours);
      same(theirs, value);
      const bytes = dir === "request" ? codec.requestSerialize(theirs) : codec.responseSerialize(theirs);
      same(decodeCluster<Record<string, unknown>>(name, bytes), value);
    }
  });
});
