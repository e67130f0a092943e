/**
 * The gRPC method tables of proto/raft.proto and proto/cluster.proto for @grpc/grpc-js. Bodies
 * cross grpc-js as raw bytes (identity serializers): we sign and verify exactly those bytes, and
 * encode and decode them with our own codecs.
 */
import type { MethodDefinition } from "@grpc/grpc-js";

const identity = (b: Buffer): Buffer => b;

function unary(path: string): MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export const RAFT_STREAM_PATH = "/enigma.raft.v1.Raft/Stream";
export const RAFT_INSTALL_SNAPSHOT_PATH = "/enigma.raft.v1.Raft/InstallSnapshot";

export const RAFT_SERVICE = {
  stream: { ...unary(RAFT_STREAM_PATH), requestStream: true } satisfies MethodDefinition<Buffer, Buffer>,
  installSnapshot: {
    ...unary(RAFT_INSTALL_SNAPSHOT_PATH),
    requestStream: true,
  } satisfies MethodDefinition<Buffer, Buffer>,
};

export const CLUSTER_METHODS = [
  "Propose",
  "ProposeBatch",
  "ReadIndex",
  "Status",
  "AddNode",
  "RemoveNode",
  "TransferLeader",
  "Admin",
] as const;
export type ClusterMethod = (typeof CLUSTER_METHODS)[number];

export function clusterPath(method: ClusterMethod): string {
  return `/enigma.cluster.v1.Cluster/${method}`;
}

export const CLUSTER_SERVICE = Object.fromEntries(
  CLUSTER_METHODS.map((m) => [m, unary(clusterPath(m))]),
) as Record<ClusterMethod, MethodDefinition<Buffer, Buffer>>;
