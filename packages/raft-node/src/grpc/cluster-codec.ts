/**
 * proto/cluster.proto messages. Not a hot path, so one small schema-driven codec serves them all;
 * each schema lists the .proto fields (number, name, kind) and codec.test.ts checks them against
 * the .proto file.
 */
import { ProtoDecodeError, ProtoReader, ProtoWriter } from "./protobuf.js";

type Kind =
  | "uint"
  | "bool"
  | "string"
  | "bytes"
  | { readonly message: Schema }
  | { readonly repeated: Schema };
type Schema = ReadonlyArray<readonly [number, string, Kind]>;

export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly leaderId: number;
}

export interface ProposeRequest {
  readonly command: Uint8Array;
  readonly timeoutMs: number;
  readonly hops: number;
}

export interface ProposeResponse {
  readonly failure?: Failure;
  readonly index: number;
  readonly term: number;
  readonly resultJson: string;
}

export interface ProposeBatchRequest {
  readonly requests: readonly ProposeRequest[];
}

export interface ProposeBatchResponse {
  readonly responses: readonly ProposeResponse[];
}

export interface ReadIndexRequest {
  readonly timeoutMs: number;
}

export interface ReadIndexResponse {
  readonly failure?: Failure;
  readonly index: number;
}

export type StatusRequest = Record<string, never>;

export interface MemberInfo {
  readonly id: number;
  readonly addr: string;
  readonly learner: boolean;
  readonly match: number;
  readonly progressState: string;
}

export interface StatusResponse {
  readonly failure?: Failure;
  readonly nodeId: number;
  readonly role: string;
  readonly term: number;
  readonly leaderId: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly members: readonly MemberInfo[];
  readonly pid: number;
}

export interface AddNodeRequest {
  readonly nodeId: number;
  readonly addr: string;
  readonly learnerOnly: boolean;
  readonly timeoutMs: number;
  readonly hops: number;
}

export interface RemoveNodeRequest {
  readonly nodeId: number;
  readonly timeoutMs: number;
  readonly hops: number;
}

export interface MembershipResponse {
  readonly failure?: Failure;
  readonly index: number;
  readonly members: readonly MemberInfo[];
}

export interface TransferLeaderRequest {
  readonly nodeId: number;
  readonly timeoutMs: number;
  readonly hops: number;
}

export interface TransferLeaderResponse {
  readonly failure?: Failure;
  readonly leaderId: number;
}

export interface AdminRequest {
  readonly action: string;
  readonly argsJson: string;
  readonly onLeader: boolean;
  readonly timeoutMs: number;
  readonly hops: number;
}

export interface AdminResponse {
  readonly failure?: Failure;
  readonly resultJson: string;
  readonly nodeId: number;
}

const FAILURE: Schema = [
  [1, "code", "string"],
  [2, "message", "string"],
  [3, "leaderId", "uint"],
];
const MEMBER: Schema = [
  [1, "id", "uint"],
  [2, "addr", "string"],
  [3, "learner", "bool"],
  [4, "match", "uint"],
  [5, "progressState", "string"],
];

const PROPOSE_REQUEST: Schema = [
  [1, "command", "bytes"],
  [2, "timeoutMs", "uint"],
  [3, "hops", "uint"],
];
const PROPOSE_RESPONSE: Schema = [
  [1, "failure", { message: FAILURE }],
  [2, "index", "uint"],
  [3, "term", "uint"],
  [4, "resultJson", "string"],
];

export const SCHEMAS = {
  ProposeRequest: PROPOSE_REQUEST,
  ProposeResponse: PROPOSE_RESPONSE,
  ProposeBatchRequest: [[1, "requests", { repeated: PROPOSE_REQUEST }]],
  ProposeBatchResponse: [[1, "responses", { repeated: PROPOSE_RESPONSE }]],
  ReadIndexRequest: [[1, "timeoutMs", "uint"]],
  ReadIndexResponse: [
    [1, "failure", { message: FAILURE }],
    [2, "index", "uint"],
  ],
  StatusRequest: [],
  StatusResponse: [
    [1, "failure", { message: FAILURE }],
    [2, "nodeId", "uint"],
    [3, "role", "string"],
    [4, "term", "uint"],
    [5, "leaderId", "uint"],
    [6, "commitIndex", "uint"],
    [7, "appliedIndex", "uint"],
    [8, "firstIndex", "uint"],
    [9, "lastIndex", "uint"],
    [10, "snapshotIndex", "uint"],
    [11, "members", { repeated: MEMBER }],
    [12, "pid", "uint"],
  ],
  AddNodeRequest: [
    [1, "nodeId", "uint"],
    [2, "addr", "string"],
    [3, "learnerOnly", "bool"],
    [4, "timeoutMs", "uint"],
    [5, "hops", "uint"],
  ],
  RemoveNodeRequest: [
    [1, "nodeId", "uint"],
    [2, "timeoutMs", "uint"],
    [3, "hops", "uint"],
  ],
  MembershipResponse: [
    [1, "failure", { message: FAILURE }],
    [2, "index", "uint"],
    [3, "members", { repeated: MEMBER }],
  ],
  TransferLeaderRequest: [
    [1, "nodeId", "uint"],
    [2, "timeoutMs", "uint"],
    [3, "hops", "uint"],
  ],
  TransferLeaderResponse: [
    [1, "failure", { message: FAILURE }],
    [2, "leaderId", "uint"],
  ],
  AdminRequest: [
    [1, "action", "string"],
    [2, "argsJson", "string"],
    [3, "onLeader", "bool"],
    [4, "timeoutMs", "uint"],
    [5, "hops", "uint"],
  ],
  AdminResponse: [
    [1, "failure", { message: FAILURE }],
    [2, "resultJson", "string"],
    [3, "nodeId", "uint"],
  ],
} as const satisfies Record<string, Schema>;

export type ClusterMessageName = keyof typeof SCHEMAS;

function write(w: ProtoWriter, schema: Schema, value: Readonly<Record<string, unknown>>): void {
  for (const [no, name, kind] of schema) {
    const v = value[name];
    if (v === undefined) continue;
    if (kind === "uint") w.uint(no, v as number);
    else if (kind === "bool") w.bool(no, v as boolean);
    else if (kind === "string") w.string(no, v as string);
    else if (kind === "bytes") w.bytes(no, v as Uint8Array);
    else if ("message" in kind) w.message(no, (x) => write(x, kind.message, v as Record<string, unknown>));
    else
      for (const item of v as Record<string, unknown>[]) w.message(no, (x) => write(x, kind.repeated, item));
  }
}

function read(r: ProtoReader, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // proto3 defaults for scalars and repeated fields; absent messages stay undefined.
  for (const [, name, kind] of schema) {
    if (kind === "uint") out[name] = 0;
    else if (kind === "bool") out[name] = false;
    else if (kind === "string") out[name] = "";
    else if (kind === "bytes") out[name] = new Uint8Array(0);
    else if ("repeated" in kind) out[name] = [];
  }
  while (!r.done()) {
    const { field, wire } = r.tag();
    const spec = schema.find((f) => f[0] === field);
    if (spec === undefined) {
      r.skip(wire);
      continue;
    }
    const [, name, kind] = spec;
    if (kind === "uint") out[name] = r.varint();
    else if (kind === "bool") out[name] = r.varint() !== 0;
    else if (kind === "string") out[name] = r.string();
    else if (kind === "bytes") out[name] = r.bytes().slice();
    else if ("message" in kind) out[name] = read(r.sub(), kind.message);
    else (out[name] as unknown[]).push(read(r.sub(), kind.repeated));
  }
  return out;
}

export function encodeCluster<T extends object>(name: ClusterMessageName, value: T): Buffer {
  const w = new ProtoWriter(128);
  write(w, SCHEMAS[name], value as Readonly<Record<string, unknown>>);
  const b = w.finish();
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

export function decodeCluster<T>(name: ClusterMessageName, b: Uint8Array): T {
  try {
    return read(new ProtoReader(b), SCHEMAS[name]) as T;
  } catch (err) {
    if (err instanceof ProtoDecodeError) throw err;
    throw new ProtoDecodeError(`cannot decode ${name}: ${(err as Error).message}`);
  }
}
