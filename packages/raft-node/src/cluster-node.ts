/**
 * One cluster member as a whole: the Raft driver, the gRPC server carrying the Raft and cluster
 * services (proto/raft.proto, proto/cluster.proto), the peer channels, and the leader-finding
 * logic every request needs:
 *
 * - `propose`: on the leader, append and wait for the local apply; elsewhere forward to the leader
 *   (cluster `Propose`, one hop) and then wait until *this* node has applied the returned index
 *   (read-your-writes on every node). Retried across leader changes until the deadline; commands
 *   carry an idempotency id, so a retry never applies twice.
 * - `readBarrier`: ReadIndex through the core (followers ask the leader), then wait for the local
 *   apply; afterwards a local read is linearizable (thesis §6.4).
 * - membership and leadership transfer, forwarded to the leader likewise.
 */

import { join } from "node:path";
import type { ConfChange, NodeId } from "@enigma/raft";
import * as grpc from "@grpc/grpc-js";
import { RaftNodeError } from "./errors.js";
import { AUTH_METADATA_KEY, ClusterAuth } from "./grpc/auth.js";
import {
  ClientCache,
  checkTls,
  DEFAULT_MAX_MESSAGE_BYTES,
  serverCredentials,
  type TlsMaterial,
  updateServerCredentials,
} from "./grpc/channel.js";
import { ClusterClient, errorToFailure, failureToError, MAX_PROPOSE_BATCH } from "./grpc/cluster-client.js";
import {
  type AddNodeRequest,
  type AdminRequest,
  type ClusterMessageName,
  decodeCluster,
  encodeCluster,
  type MemberInfo,
  type ProposeBatchRequest,
  type ProposeRequest,
  type ProposeResponse,
  type ReadIndexRequest,
  type RemoveNodeRequest,
  type StatusResponse,
  type TransferLeaderRequest,
} from "./grpc/cluster-codec.js";
import { GrpcTransport } from "./grpc/grpc-transport.js";
import { CLUSTER_SERVICE, type ClusterMethod, clusterPath, RAFT_SERVICE } from "./grpc/services.js";
import {
  type NodeLogger,
  type NodeStatus,
  type ProposeOutcome,
  RaftNode,
  type RaftNodeObserver,
} from "./raft-node.js";
import type { StateMachine } from "./state-machine.js";

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** No server-side wait is longer than this, whatever the client asks. */
const MAX_REQUEST_TIMEOUT_MS = 5 * 60_000;
const RETRY_MIN_MS = 10;
const RETRY_MAX_MS = 200;

export interface ClusterNodeOptions {
  readonly id: NodeId;
  /** Raft log, hard state and snapshot files. */
  readonly dir: string;
  /** gRPC listen address, HOST:PORT. */
  readonly listenAddr: string;
  /** Initial members and their gRPC addresses (`[raft] peers`). */
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly stateMachine: StateMachine;
  readonly electionTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly snapshotThresholdEntries: number;
  /** Default deadline of propose / read barrier / admin calls. */
  readonly requestTimeoutMs?: number;
  readonly secret?: string | undefined;
  readonly tls?: TlsMaterial | undefined;
  readonly maxMessageBytes?: number;
  readonly logger?: NodeLogger;
  readonly onFatal?: (err: unknown) => void;
  /** Metrics hooks, handed to the Raft driver. */
  readonly observer?: RaftNodeObserver;
}

/**
 * Runs an operator action (proto/cluster.proto `Admin`) on this node. `args` is the parsed JSON the
 * caller sent; the result is sent back as JSON. Throw `AdminRejected` (or any error) to refuse.
 */
export type AdminHandler = (
  action: string,
  args: unknown,
  ctx: { readonly deadline: number },
) => Promise<unknown>;

/** A refusal by an admin handler, carried to the caller as failure code `Rejected`. */
export class AdminRejected extends RaftNodeError {
  constructor(message: string) {
    super("Rejected", message);
  }
}

export interface ClusterNodeStatus extends NodeStatus {
  readonly pid: number;
}

export class ClusterNode {
  readonly raft: RaftNode;
  readonly #o: ClusterNodeOptions;
  readonly #auth: ClusterAuth;
  readonly #clients: ClientCache;
  readonly #server: grpc.Server;
  readonly #serverCreds: grpc.ServerCredentials;
  readonly #leaderClients = new Map<string, ClusterClient>();
  #admin: AdminHandler | undefined;
  #stopped = false;

  private constructor(
    o: ClusterNodeOptions,
    raft: RaftNode,
    auth: ClusterAuth,
    clients: ClientCache,
    server: grpc.Server,
    serverCreds: grpc.ServerCredentials,
  ) {
    this.#o = o;
    this.raft = raft;
    this.#auth = auth;
    this.#clients = clients;
    this.#server = server;
    this.#serverCreds = serverCreds;
  }

  static async start(o: ClusterNodeOptions): Promise<ClusterNode> {
    if (o.heartbeatMs <= 0 || o.electionTimeoutMs < 2 * o.heartbeatMs) {
      throw new RaftNodeError(
        "InvalidArgument",
        `election timeout (${o.electionTimeoutMs} ms) must be at least twice the heartbeat (${o.heartbeatMs} ms)`,
      );
    }
    const log = o.logger;
    const auth = new ClusterAuth(o.secret);
    const maxMessageBytes = o.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const clients = new ClientCache(o.tls, maxMessageBytes);
    const transport = new GrpcTransport({
      selfId: o.id,
      auth,
      clients,
      snapshotDir: join(o.dir, "snapshots"),
      logger: log ?? { debug() {}, info() {}, warn() {}, error() {} },
    });
    const raft = await RaftNode.start({
      id: o.id,
      dir: o.dir,
      peers: o.peers,
      stateMachine: o.stateMachine,
      transport,
      tickMs: o.heartbeatMs,
      electionTicks: Math.round(o.electionTimeoutMs / o.heartbeatMs),
      heartbeatTicks: 1,
      snapshotThresholdEntries: o.snapshotThresholdEntries,
      ...(log === undefined ? {} : { logger: log }),
      ...(o.onFatal === undefined ? {} : { onFatal: o.onFatal }),
      ...(o.observer === undefined ? {} : { observer: o.observer }),
    });
    const server = new grpc.Server({
      "grpc.max_receive_message_length": maxMessageBytes,
      "grpc.max_send_message_length": maxMessageBytes,
    });
    const serverCreds = serverCredentials(o.tls);
    const node = new ClusterNode(o, raft, auth, clients, server, serverCreds);
    server.addService(RAFT_SERVICE, transport.serviceImpl());
    server.addService(CLUSTER_SERVICE, node.#serviceImpl());
    try {
      await new Promise<number>((resolve, reject) =>
        server.bindAsync(o.listenAddr, serverCreds, (err, port) => (err ? reject(err) : resolve(port))),
      );
    } catch (err) {
      await raft.stop();
      clients.close();
      throw new RaftNodeError(
        "InvalidArgument",
        `cannot listen on ${o.listenAddr}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    if (!auth.enabled)
      log?.warn("no [raft] cluster_secret: any host that reaches the gRPC port can join the cluster");
    return node;
  }

  get id(): NodeId {
    return this.#o.id;
  }

  #timeout(ms: number | undefined): number {
    return Math.min(
      MAX_REQUEST_TIMEOUT_MS,
      ms && ms > 0 ? ms : (this.#o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
    );
  }

  // ---- the local API (what the S3 front end and the engine use) ----

  /** Replicates `command` through the leader and resolves once this node has applied it. */
  async propose(command: Uint8Array, timeoutMs?: number): Promise<ProposeOutcome> {
    const deadline = Date.now() + this.#timeout(timeoutMs);
    return this.#withLeader(
      deadline,
      () => withDeadline(this.raft.propose(command), deadline, "proposal"),
      async (client, remainingMs) => {
        const res = await client.propose({ command, timeoutMs: remainingMs, hops: 1 });
        if (res.failure !== undefined) throw failureToError(res.failure);
        await this.raft.waitApplied(res.index, AbortSignal.timeout(Math.max(1, deadline - Date.now())));
        return { index: res.index, term: res.term, result: parseResult(res.resultJson) };
      },
    );
  }

  /** Resolves once a local read reflects every write acknowledged before the call (ReadIndex). */
  async readBarrier(timeoutMs?: number): Promise<number> {
    const deadline = Date.now() + this.#timeout(timeoutMs);
    let attempt = 0;
    for (;;) {
      try {
        const index = await this.raft.readIndex();
        await this.raft.waitApplied(index, AbortSignal.timeout(Math.max(1, deadline - Date.now())));
        return index;
      } catch (e) {
        const err = RaftNodeError.from(e);
        if (!err.retriable || Date.now() >= deadline)
          throw err.code === "Timeout" ? err : timeoutFrom(err, "read");
        await sleep(Math.min(deadline - Date.now(), backoffMs(attempt++)));
      }
    }
  }

  status(): ClusterNodeStatus {
    return { ...this.raft.status(), pid: process.pid };
  }

  /** Adds `id` (reachable at `addr`) as a learner, waits for it to catch up, promotes it. */
  addNode(
    id: NodeId,
    addr: string,
    opts: { learnerOnly?: boolean; timeoutMs?: number } = {},
  ): Promise<number> {
    const deadline = Date.now() + this.#timeout(opts.timeoutMs);
    const learnerOnly = opts.learnerOnly ?? false;
    return this.#withLeader(
      deadline,
      () => this.#addNodeLocal(id, addr, learnerOnly, deadline),
      async (client, remainingMs) => {
        const res = await client.addNode({ nodeId: id, addr, learnerOnly, timeoutMs: remainingMs, hops: 1 });
        if (res.failure !== undefined) throw failureToError(res.failure);
        return res.index;
      },
    );
  }

  removeNode(id: NodeId, opts: { timeoutMs?: number } = {}): Promise<number> {
    const deadline = Date.now() + this.#timeout(opts.timeoutMs);
    return this.#withLeader(
      deadline,
      () => this.#removeNodeLocal(id, deadline),
      async (client, remainingMs) => {
        const res = await client.removeNode({ nodeId: id, timeoutMs: remainingMs, hops: 1 });
        if (res.failure !== undefined) throw failureToError(res.failure);
        return res.index;
      },
    );
  }

  /** Hands leadership to `to` (0: the most up-to-date other voter); resolves with the new leader. */
  transferLeader(to: NodeId, opts: { timeoutMs?: number } = {}): Promise<NodeId> {
    const deadline = Date.now() + this.#timeout(opts.timeoutMs);
    return this.#withLeader(
      deadline,
      () => this.#transferLocal(to, deadline),
      async (client, remainingMs) => {
        const res = await client.transferLeader({ nodeId: to, timeoutMs: remainingMs, hops: 1 });
        if (res.failure !== undefined) throw failureToError(res.failure);
        return res.leaderId;
      },
    );
  }

  /**
   * Certificate rotation (SIGHUP): the gRPC server presents `tls` in every later handshake and
   * checks client certificates against its CA; outgoing channels are re-opened with it. Open
   * inbound connections keep the old certificate until they reconnect. Only for a node started
   * with TLS (switching TLS on or off needs a restart). Throws, changing nothing, if `tls` is bad.
   */
  reloadTls(tls: TlsMaterial): void {
    if (this.#o.tls === undefined) {
      throw new RaftNodeError("InvalidArgument", "node runs without TLS: enabling it needs a restart");
    }
    checkTls(tls);
    updateServerCredentials(this.#serverCreds, tls);
    this.#clients.setTls(tls);
  }

  /** Installs the handler of `Admin` calls (the server composes it once its engine is open). */
  setAdminHandler(handler: AdminHandler | undefined): void {
    this.#admin = handler;
  }

  /**
   * Runs an operator action here, or with `onLeader` on the leader (forwarded, retried across
   * leader changes until the deadline). Resolves with the handler's result and the node that ran it.
   */
  admin(
    action: string,
    args: unknown,
    opts: { onLeader?: boolean; timeoutMs?: number } = {},
  ): Promise<{ result: unknown; nodeId: NodeId }> {
    const deadline = Date.now() + this.#timeout(opts.timeoutMs);
    if (opts.onLeader !== true) return this.#adminLocal(action, args, deadline);
    const argsJson = JSON.stringify(args ?? null);
    return this.#withLeader(
      deadline,
      () => this.#adminLocal(action, args, deadline),
      async (client, remainingMs) => {
        const res = await client.admin({ action, argsJson, onLeader: true, timeoutMs: remainingMs, hops: 1 });
        if (res.failure !== undefined) throw failureToError(res.failure);
        return { result: parseResult(res.resultJson), nodeId: res.nodeId };
      },
    );
  }

  /**
   * Runs an operator action on member `id` (here when it is this node), without forwarding: for
   * questions only that member can answer (what its build supports). Rejects when `id` has no
   * known address, is unreachable, or does not offer the action.
   */
  async adminAt(id: NodeId, action: string, args: unknown, timeoutMs?: number): Promise<unknown> {
    const deadline = Date.now() + this.#timeout(timeoutMs);
    if (id === this.id) return (await this.#adminLocal(action, args, deadline)).result;
    const addr = this.raft.addressOf(id);
    if (addr === undefined) throw new RaftNodeError("InvalidArgument", `no address known for node ${id}`);
    const res = await this.#leaderClient(addr).admin({
      action,
      argsJson: JSON.stringify(args ?? null),
      onLeader: false,
      timeoutMs: Math.max(1, deadline - Date.now()),
      hops: 1,
    });
    if (res.failure !== undefined) throw failureToError(res.failure);
    return parseResult(res.resultJson);
  }

  async #adminLocal(
    action: string,
    args: unknown,
    deadline: number,
  ): Promise<{ result: unknown; nodeId: NodeId }> {
    const handler = this.#admin;
    if (handler === undefined)
      throw new RaftNodeError("Busy", "node is starting: admin actions not ready yet");
    try {
      return { result: await handler(action, args, { deadline }), nodeId: this.id };
    } catch (e) {
      if (e instanceof RaftNodeError) throw e;
      throw new RaftNodeError("Rejected", e instanceof Error ? e.message : String(e), { cause: e });
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // Halt the driver first (synchronously: no apply after this line), then drain the server.
    const raftStopped = this.raft.stop();
    // Raft streams are long-lived: give unary calls a moment, then cut everything.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, 500);
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await raftStopped;
    for (const c of this.#leaderClients.values()) c.close();
    this.#clients.close();
  }

  // ---- leader-side implementations ----

  async #addNodeLocal(id: NodeId, addr: string, learnerOnly: boolean, deadline: number): Promise<number> {
    let member = this.raft.status().members.find((m) => m.id === id);
    let index = 0;
    if (member === undefined) {
      const cc: ConfChange = { type: "addLearner", nodeId: id, context: Buffer.from(addr, "utf8") };
      index = (await withDeadline(this.raft.proposeConfChange(cc), deadline, "add learner")).index;
      this.#o.logger?.info(`cluster: added node ${id} (${addr}) as a learner at ${index}`);
      member = this.raft.status().members.find((m) => m.id === id);
    }
    if (learnerOnly || member?.role === "voter") return index;
    // Promote only once the learner holds the log up to our commit index (thesis §4.2.1), so the
    // new configuration does not wait on a slow voter.
    const target = this.raft.status().commit;
    await waitUntil(
      () => {
        if (this.raft.role !== "leader")
          throw new RaftNodeError("LeaderChanged", "lost leadership while adding");
        const pr = this.raft.status().members.find((m) => m.id === id)?.progress;
        return pr !== undefined && pr.match >= target;
      },
      deadline,
      `node ${id} to catch up`,
    );
    for (let attempt = 0; ; attempt++) {
      try {
        index = (
          await withDeadline(
            this.raft.proposeConfChange({ type: "addVoter", nodeId: id }),
            deadline,
            "promote",
          )
        ).index;
        break;
      } catch (e) {
        const err = RaftNodeError.from(e);
        if (err.code !== "Busy" || Date.now() >= deadline) throw err;
        await sleep(backoffMs(attempt));
      }
    }
    this.#o.logger?.info(`cluster: promoted node ${id} to voter at ${index}`);
    return index;
  }

  async #removeNodeLocal(id: NodeId, deadline: number): Promise<number> {
    if (!this.raft.status().members.some((m) => m.id === id)) return 0;
    const out = await withDeadline(
      this.raft.proposeConfChange({ type: "removeNode", nodeId: id }),
      deadline,
      "remove",
    );
    this.#o.logger?.info(`cluster: removed node ${id} at ${out.index}`);
    return out.index;
  }

  async #transferLocal(to: NodeId, deadline: number): Promise<NodeId> {
    let target = to;
    if (target === 0) {
      const st = this.raft.status();
      let best = -1;
      for (const m of st.members) {
        if (m.id === this.id || m.role !== "voter" || m.progress === undefined) continue;
        if (m.progress.match > best) {
          best = m.progress.match;
          target = m.id;
        }
      }
      if (target === 0)
        throw new RaftNodeError("InvalidConfChange", "no other voter to transfer leadership to");
    }
    if (target === this.id) return this.id;
    this.raft.transferLeadership(target);
    await waitUntil(() => this.raft.leader === target, deadline, `node ${target} to take over`);
    return target;
  }

  // ---- leader finding ----

  async #withLeader<T>(
    deadline: number,
    local: () => Promise<T>,
    remote: (client: ClusterClient, remainingMs: number) => Promise<T>,
  ): Promise<T> {
    let attempt = 0;
    let last: RaftNodeError | undefined;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw timeoutFrom(last, "request");
      try {
        if (this.#stopped) throw new RaftNodeError("Stopped", "node is stopping");
        if (this.raft.role === "leader") return await local();
        const leader = this.raft.leader;
        const addr = leader === 0 || leader === this.id ? undefined : this.raft.addressOf(leader);
        if (addr === undefined) throw new RaftNodeError("NoLeader", "no leader known");
        return await remote(this.#leaderClient(addr), remaining);
      } catch (e) {
        last = RaftNodeError.from(e);
        if (!last.retriable) throw last;
        await sleep(Math.min(Math.max(0, deadline - Date.now()), backoffMs(attempt++)));
      }
    }
  }

  #leaderClient(addr: string): ClusterClient {
    let c = this.#leaderClients.get(addr);
    if (c === undefined) {
      c = new ClusterClient(addr, { secret: this.#o.secret, clients: this.#clients });
      this.#leaderClients.set(addr, c);
    }
    return c;
  }

  // ---- the cluster service (gRPC handlers) ----

  #serviceImpl(): grpc.UntypedServiceImplementation {
    const h = <Req>(
      method: ClusterMethod,
      reqName: ClusterMessageName,
      resName: ClusterMessageName,
      fn: (req: Req) => Promise<object>,
    ) => {
      return (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const sig = call.metadata.get(AUTH_METADATA_KEY)[0];
        if (
          !this.#auth.verify(clusterPath(method), call.request, typeof sig === "string" ? sig : undefined)
        ) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: "bad or missing cluster signature" });
          return;
        }
        let req: Req;
        try {
          req = decodeCluster<Req>(reqName, call.request);
        } catch (err) {
          callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
          return;
        }
        fn(req).then(
          (res) => callback(null, encodeCluster(resName, res)),
          (err: unknown) => callback(null, encodeCluster(resName, { failure: errorToFailure(err) })),
        );
      };
    };
    return {
      Propose: h<ProposeRequest>("Propose", "ProposeRequest", "ProposeResponse", (req) =>
        this.#servePropose(req),
      ),
      ProposeBatch: h<ProposeBatchRequest>(
        "ProposeBatch",
        "ProposeBatchRequest",
        "ProposeBatchResponse",
        async (batch) => {
          // The response has room for per-request failures only: an oversized batch (not from our
          // client, which cuts at the limit) gets the refusal once per request, none proposed.
          if (batch.requests.length > MAX_PROPOSE_BATCH) {
            const failure = errorToFailure(
              new RaftNodeError(
                "InvalidArgument",
                `a propose batch holds at most ${MAX_PROPOSE_BATCH} requests, got ${batch.requests.length}`,
              ),
            );
            return { responses: batch.requests.map(() => ({ failure, index: 0, term: 0, resultJson: "" })) };
          }
          // Independent proposals: each fails or succeeds on its own, like separate Propose calls.
          const responses = await Promise.all(
            batch.requests.map((req) =>
              this.#servePropose(req).catch(
                (err: unknown): ProposeResponse => ({
                  failure: errorToFailure(err),
                  index: 0,
                  term: 0,
                  resultJson: "",
                }),
              ),
            ),
          );
          return { responses };
        },
      ),
      ReadIndex: h<ReadIndexRequest>("ReadIndex", "ReadIndexRequest", "ReadIndexResponse", async (req) => ({
        index: await this.readBarrier(this.#timeout(req.timeoutMs)),
      })),
      Status: h<Record<string, never>>("Status", "StatusRequest", "StatusResponse", async () =>
        toStatusResponse(this.status()),
      ),
      AddNode: h<AddNodeRequest>("AddNode", "AddNodeRequest", "MembershipResponse", async (req) => {
        this.#checkForward(req.hops);
        const index = await this.addNode(req.nodeId, req.addr, {
          learnerOnly: req.learnerOnly,
          timeoutMs: this.#timeout(req.timeoutMs),
        });
        return { index, members: toStatusResponse(this.status()).members };
      }),
      RemoveNode: h<RemoveNodeRequest>(
        "RemoveNode",
        "RemoveNodeRequest",
        "MembershipResponse",
        async (req) => {
          this.#checkForward(req.hops);
          const index = await this.removeNode(req.nodeId, { timeoutMs: this.#timeout(req.timeoutMs) });
          return { index, members: toStatusResponse(this.status()).members };
        },
      ),
      Admin: h<AdminRequest>("Admin", "AdminRequest", "AdminResponse", async (req) => {
        let args: unknown;
        try {
          args = req.argsJson === "" ? null : JSON.parse(req.argsJson);
        } catch {
          throw new RaftNodeError("InvalidArgument", "admin arguments are not JSON");
        }
        if (req.onLeader) this.#checkForward(req.hops);
        const out = await this.admin(req.action, args, {
          onLeader: req.onLeader,
          timeoutMs: this.#timeout(req.timeoutMs),
        });
        return { resultJson: JSON.stringify(out.result ?? null), nodeId: out.nodeId };
      }),
      TransferLeader: h<TransferLeaderRequest>(
        "TransferLeader",
        "TransferLeaderRequest",
        "TransferLeaderResponse",
        async (req) => {
          this.#checkForward(req.hops);
          return {
            leaderId: await this.transferLeader(req.nodeId, { timeoutMs: this.#timeout(req.timeoutMs) }),
          };
        },
      ),
    };
  }

  /** One Propose request (alone or in a batch): appended here as the leader, else forwarded once. */
  async #servePropose(req: ProposeRequest): Promise<ProposeResponse> {
    const timeout = this.#timeout(req.timeoutMs);
    let out: ProposeOutcome;
    if (this.raft.role === "leader") {
      out = await withDeadline(this.raft.propose(req.command), Date.now() + timeout, "proposal");
    } else if (req.hops === 0) {
      out = await this.propose(req.command, timeout);
    } else {
      throw notLeader(this.raft.leader);
    }
    return { index: out.index, term: out.term, resultJson: JSON.stringify(out.result ?? null) };
  }

  /** A request forwarded once already must land on the leader (no forwarding chains or loops). */
  #checkForward(hops: number): void {
    if (hops > 0 && this.raft.role !== "leader") throw notLeader(this.raft.leader);
  }
}

export function toStatusResponse(st: ClusterNodeStatus): StatusResponse {
  const members: MemberInfo[] = st.members.map((m) => ({
    id: m.id,
    addr: m.addr ?? "",
    learner: m.role === "learner",
    match: m.progress?.match ?? 0,
    progressState: m.progress?.state ?? "",
  }));
  return {
    nodeId: st.id,
    role: st.role,
    term: st.term,
    leaderId: st.leader,
    commitIndex: st.commit,
    appliedIndex: st.applied,
    firstIndex: st.firstIndex,
    lastIndex: st.lastIndex,
    snapshotIndex: st.snapshotIndex,
    members,
    pid: st.pid,
  };
}

function notLeader(leader: NodeId): RaftNodeError {
  return leader === 0
    ? new RaftNodeError("NoLeader", "not the leader; no leader known")
    : new RaftNodeError("NotLeader", `not the leader; leader is ${leader}`, { leaderHint: leader });
}

function parseResult(json: string): unknown {
  return json === "" ? undefined : JSON.parse(json);
}

function timeoutFrom(last: RaftNodeError | undefined, what: string): RaftNodeError {
  const why = last === undefined ? "" : ` (last: ${last.code}: ${last.message})`;
  return new RaftNodeError("Timeout", `${what} did not complete before the deadline${why}`, { cause: last });
}

function backoffMs(attempt: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

/** Rejects with `Timeout` if `p` has not settled by `deadline` (p keeps running). */
function withDeadline<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () => reject(new RaftNodeError("Timeout", `${what} did not complete in time`)),
      Math.max(0, deadline - Date.now()),
    );
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

async function waitUntil(cond: () => boolean, deadline: number, what: string): Promise<void> {
  while (!cond()) {
    if (Date.now() >= deadline) throw new RaftNodeError("Timeout", `timed out waiting for ${what}`);
    await sleep(20);
  }
}
