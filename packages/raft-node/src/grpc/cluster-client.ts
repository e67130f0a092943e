/**
 * A client of one node's cluster service (proto/cluster.proto), for the CLI, for processes that
 * share a node's data directory, and for node-to-leader forwarding. Expected failures come back as
 * `RaftNodeError`s with the server's code; transport failures as `Unreachable` / `Timeout` /
 * `Unauthenticated`.
 */
import * as grpc from "@grpc/grpc-js";
import { RaftNodeError } from "../errors.js";
import { AUTH_METADATA_KEY, ClusterAuth } from "./auth.js";
import { ClientCache, type TlsMaterial, unaryCall } from "./channel.js";
import {
  type AddNodeRequest,
  type AdminRequest,
  type AdminResponse,
  type ClusterMessageName,
  decodeCluster,
  encodeCluster,
  type Failure,
  type MembershipResponse,
  type ProposeBatchResponse,
  type ProposeRequest,
  type ProposeResponse,
  type ReadIndexResponse,
  type RemoveNodeRequest,
  type StatusResponse,
  type TransferLeaderRequest,
  type TransferLeaderResponse,
} from "./cluster-codec.js";
import { type ClusterMethod, clusterPath } from "./services.js";

/** Extra time the client waits beyond the server-side deadline, so the server's answer arrives. */
const DEADLINE_MARGIN_MS = 2000;
export const DEFAULT_CLIENT_TIMEOUT_MS = 10_000;
/** Requests per ProposeBatch call at most (the server refuses larger batches). */
export const MAX_PROPOSE_BATCH = 1024;
/**
 * Command bytes per ProposeBatch call at most: well under the 16 MiB gRPC message limit. A command
 * larger than this (up to the 4 MiB entry limit) is sent alone.
 */
export const MAX_PROPOSE_BATCH_BYTES = 4 * 1024 * 1024;
/** After a node answered ProposeBatch with UNIMPLEMENTED, plain Propose calls for this long. */
export const BATCH_RETRY_AFTER_MS = 60_000;

interface QueuedProposal {
  readonly req: ProposeRequest;
  readonly resolve: (res: ProposeResponse) => void;
  readonly reject: (err: unknown) => void;
}

export interface ClusterClientOptions {
  /** The shared cluster secret, if the cluster uses one. */
  readonly secret?: string | undefined;
  readonly tls?: TlsMaterial | undefined;
  /** Share channels with a node's own cache (forwarding); otherwise the client owns its channels. */
  readonly clients?: ClientCache;
}

export class ClusterClient {
  readonly addr: string;
  readonly #auth: ClusterAuth;
  readonly #clients: ClientCache;
  readonly #ownsClients: boolean;
  /** Proposals waiting for the next flush (see `propose`). */
  #queue: QueuedProposal[] = [];
  #queueBytes = 0;
  #flushScheduled = false;
  /**
   * Until then, plain Propose calls only: the node answered ProposeBatch with UNIMPLEMENTED (an
   * older version; tried again later, since a rolling upgrade replaces it).
   */
  #noBatchUntil = 0;
  #closed = false;

  constructor(addr: string, opts: ClusterClientOptions = {}) {
    this.addr = addr;
    this.#auth = new ClusterAuth(opts.secret);
    this.#ownsClients = opts.clients === undefined;
    this.#clients = opts.clients ?? new ClientCache(opts.tls);
  }

  /**
   * Proposals made in the same event-loop turn go out together, as one ProposeBatch call (each
   * still handled, and answered, on its own): grpc-js costs ~0.2 ms of CPU per call on each side,
   * which is what limited the commit rate of many concurrent proposers (the S3 handlers of a
   * follower forwarding to the leader, the cluster bench). A lone proposal is a plain Propose.
   */
  propose(req: ProposeRequest): Promise<ProposeResponse> {
    return new Promise((resolve, reject) => {
      if (this.#closed) {
        reject(new RaftNodeError("Stopped", `${this.addr}: cluster client closed`));
        return;
      }
      if (this.#queue.length > 0 && this.#queueBytes + req.command.length > MAX_PROPOSE_BATCH_BYTES)
        this.#flush();
      this.#queue.push({ req, resolve, reject });
      this.#queueBytes += req.command.length;
      if (this.#queue.length >= MAX_PROPOSE_BATCH) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    this.#queueBytes = 0;
    if (batch.length === 0) return;
    if (batch.length === 1 || Date.now() < this.#noBatchUntil) {
      for (const q of batch) this.#proposeOne(q);
      return;
    }
    const timeoutMs = Math.max(...batch.map((q) => q.req.timeoutMs));
    this.#call<ProposeBatchResponse>(
      "ProposeBatch",
      "ProposeBatchRequest",
      "ProposeBatchResponse",
      { requests: batch.map((q) => q.req) },
      timeoutMs,
    ).then(
      (res) => {
        if (res.responses.length !== batch.length) {
          const err = new RaftNodeError(
            "Internal",
            `${this.addr}: propose batch of ${batch.length} answered with ${res.responses.length} responses`,
          );
          for (const q of batch) q.reject(err);
          return;
        }
        for (const [i, q] of batch.entries()) q.resolve(res.responses[i]!);
      },
      (err: unknown) => {
        if (isUnimplemented(err)) {
          this.#noBatchUntil = Date.now() + BATCH_RETRY_AFTER_MS;
          for (const q of batch) this.#proposeOne(q);
          return;
        }
        for (const q of batch) q.reject(err);
      },
    );
  }

  #proposeOne(q: QueuedProposal): void {
    this.#call<ProposeResponse>("Propose", "ProposeRequest", "ProposeResponse", q.req, q.req.timeoutMs).then(
      q.resolve,
      q.reject,
    );
  }

  readIndex(timeoutMs = DEFAULT_CLIENT_TIMEOUT_MS): Promise<ReadIndexResponse> {
    return this.#call("ReadIndex", "ReadIndexRequest", "ReadIndexResponse", { timeoutMs }, timeoutMs);
  }

  status(timeoutMs = DEFAULT_CLIENT_TIMEOUT_MS): Promise<StatusResponse> {
    return this.#call("Status", "StatusRequest", "StatusResponse", {}, timeoutMs);
  }

  addNode(req: AddNodeRequest): Promise<MembershipResponse> {
    return this.#call("AddNode", "AddNodeRequest", "MembershipResponse", req, req.timeoutMs);
  }

  removeNode(req: RemoveNodeRequest): Promise<MembershipResponse> {
    return this.#call("RemoveNode", "RemoveNodeRequest", "MembershipResponse", req, req.timeoutMs);
  }

  transferLeader(req: TransferLeaderRequest): Promise<TransferLeaderResponse> {
    return this.#call(
      "TransferLeader",
      "TransferLeaderRequest",
      "TransferLeaderResponse",
      req,
      req.timeoutMs,
    );
  }

  admin(req: AdminRequest): Promise<AdminResponse> {
    return this.#call("Admin", "AdminRequest", "AdminResponse", req, req.timeoutMs);
  }

  /** Closes the client's own channels; proposals still waiting for their batch are refused. */
  close(): void {
    this.#closed = true;
    const waiting = this.#queue;
    this.#queue = [];
    this.#queueBytes = 0;
    for (const q of waiting) q.reject(new RaftNodeError("Stopped", `${this.addr}: cluster client closed`));
    if (this.#ownsClients) this.#clients.close();
  }

  async #call<Res>(
    method: ClusterMethod,
    reqName: ClusterMessageName,
    resName: ClusterMessageName,
    req: object,
    timeoutMs: number,
  ): Promise<Res> {
    const body = encodeCluster(reqName, req);
    const md = new grpc.Metadata();
    if (this.#auth.enabled) md.set(AUTH_METADATA_KEY, this.#auth.sign(clusterPath(method), body));
    let res: Buffer;
    try {
      res = await unaryCall(
        this.#clients.cluster(this.addr),
        method,
        body,
        md,
        timeoutMs + DEADLINE_MARGIN_MS,
      );
    } catch (err) {
      throw fromGrpcError(err, this.addr);
    }
    return decodeCluster<Res>(resName, res);
  }
}

/** A failure carried in a response body, as a `RaftNodeError` (unknown codes become `Internal`). */
export function failureToError(f: Failure): RaftNodeError {
  const code = RaftNodeError.isCode(f.code) ? f.code : "Internal";
  return new RaftNodeError(code, f.message, f.leaderId > 0 ? { leaderHint: f.leaderId } : undefined);
}

export function errorToFailure(e: unknown): Failure {
  const err = RaftNodeError.from(e);
  return { code: err.code, message: err.message, leaderId: err.leaderHint ?? 0 };
}

/** A call the server does not know (grpc-js UNIMPLEMENTED), as returned by `fromGrpcError`. */
function isUnimplemented(err: unknown): boolean {
  const cause = err instanceof Error ? (err.cause as Partial<grpc.ServiceError> | undefined) : undefined;
  return cause?.code === grpc.status.UNIMPLEMENTED;
}

export function fromGrpcError(err: unknown, addr: string): RaftNodeError {
  const e = err as Partial<grpc.ServiceError>;
  const details = e.details ?? (err instanceof Error ? err.message : String(err));
  switch (e.code) {
    case grpc.status.UNAVAILABLE:
      return new RaftNodeError("Unreachable", `${addr}: ${details}`, { cause: err });
    case grpc.status.DEADLINE_EXCEEDED:
      return new RaftNodeError("Timeout", `${addr}: deadline exceeded`, { cause: err });
    case grpc.status.UNAUTHENTICATED:
      return new RaftNodeError("Unauthenticated", `${addr}: ${details} (check [raft] cluster_secret)`, {
        cause: err,
      });
    default:
      return new RaftNodeError("Internal", `${addr}: ${details}`, { cause: err });
  }
}
