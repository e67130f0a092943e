/**
 * The driver (etcd's node.go, thin): owns the core (`RawNode`), the durable log (SQLite), the
 * state machine, the transport and the timer. Everything that touches the core runs on the event
 * loop, synchronously, so there is exactly one ready loop and no locking:
 *
 *   tick timer ──► tick()            transport ──► step(m)          callers ──► propose / readIndex
 *                        └──────────────┴─── schedule ─┬───────────────────┘
 *                                                      ▼ (setImmediate: everything that arrived
 *   ready loop: persist (one txn, fsync) → send → apply (one txn) → reads → advance    in one turn
 *                                                                                       is one batch)
 *
 * See packages/raft-node/DESIGN.md.
 */
import { randomInt } from "node:crypto";
import { renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  bootstrapState,
  type ConfChange,
  type ConfState,
  decodeConfChangeEntry,
  type Entry,
  type Message,
  type NodeId,
  type ProgressStatus,
  RawNode,
  type Ready,
  type Role,
  type Snapshot,
  type SoftState,
} from "@enigma/raft";
import { AppliedWaiters } from "./applied-waiters.js";
import { RaftNodeError } from "./errors.js";
import { SqliteLogStorage } from "./log-storage.js";
import {
  decodeDescriptor,
  encodeDescriptor,
  fsyncPath,
  hashFile,
  SnapshotDir,
  snapshotFileName,
} from "./snapshot-files.js";
import type { StateMachine } from "./state-machine.js";
import type { Transport } from "./transport.js";

/** pino's method shapes, so a pino logger can be passed as is. */
export interface NodeLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const SILENT: NodeLogger = { debug() {}, info() {}, warn() {}, error() {} };

export const DEFAULT_SNAPSHOT_THRESHOLD_ENTRIES = 10_000;
/**
 * The largest command accepted into the log. Every entry must fit one Raft batch and one gRPC
 * message on its way to the followers; a larger one would wedge replication for good.
 */
export const MAX_ENTRY_BYTES = 4 * 1024 * 1024;
/** Ready rounds handled per event-loop turn before yielding to I/O. */
const MAX_READY_ROUNDS_PER_TURN = 64;

export interface RaftNodeOptions {
  readonly id: NodeId;
  /** Raft log database and snapshot files live here. */
  readonly dir: string;
  /**
   * The initial members with their addresses (the `[raft] peers` list). A fresh node listed here
   * bootstraps the cluster with exactly these voters; a fresh node not listed waits to be added.
   * Addresses given here win over addresses learned from the log.
   */
  readonly peers: ReadonlyMap<NodeId, string>;
  readonly stateMachine: StateMachine;
  readonly transport: Transport;
  /** Milliseconds per logical tick; the leader heartbeats every `heartbeatTicks`. */
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks?: number;
  /** Applied entries between two snapshots (log compaction, Raft §7). */
  readonly snapshotThresholdEntries?: number;
  /** ReadIndex requests unanswered after this long fail with `Timeout` (retriable). */
  readonly readTimeoutMs?: number;
  /** Injected PRNG for election jitter: an integer in [0, n). Default: crypto.randomInt. */
  readonly rand?: (n: number) => number;
  readonly maxSizePerMsgBytes?: number;
  readonly maxInflightMsgs?: number;
  readonly logger?: NodeLogger;
  /** Called once if the node hits an invariant violation or a storage failure; it has stopped. */
  readonly onFatal?: (err: unknown) => void;
  /** Observation hooks for metrics; called synchronously, must not throw or call back in. */
  readonly observer?: RaftNodeObserver;
}

/** What a metrics layer may observe of the driver. Every hook is optional and side-effect free here. */
export interface RaftNodeObserver {
  /** The state machine was restored from a snapshot received from the leader. */
  snapshotInstalled?(index: number, term: number): void;
  /** A local snapshot was taken and the log compacted up to `index`. */
  snapshotTaken?(index: number, sizeBytes: number): void;
  /** `count` committed entries were applied in one state-machine transaction. */
  entriesApplied?(count: number): void;
}

export interface ProposeOutcome {
  readonly index: number;
  readonly term: number;
  /** What the state machine returned for the entry. */
  readonly result: unknown;
}

export interface MemberStatus {
  readonly id: NodeId;
  readonly addr: string | undefined;
  readonly role: "voter" | "learner";
  /** Leader only. */
  readonly progress?: ProgressStatus;
}

export interface NodeStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly snapshotIndex: number;
  readonly members: readonly MemberStatus[];
}

interface ProposalWaiter {
  readonly term: number;
  readonly resolve: (o: ProposeOutcome) => void;
  readonly reject: (e: Error) => void;
}

interface ReadWaiter {
  readonly resolve: (index: number) => void;
  readonly reject: (e: Error) => void;
}

export class RaftNode {
  readonly id: NodeId;
  readonly #opts: RaftNodeOptions;
  readonly #log: NodeLogger;
  readonly #storage: SqliteLogStorage;
  readonly #snapDir: SnapshotDir;
  readonly #sm: StateMachine;
  readonly #transport: Transport;
  readonly #raw: RawNode;
  readonly #addrs = new Map<NodeId, string>();
  /** Configurations of applied confChange entries (and the snapshot's), oldest first. */
  #confHistory: Array<{ index: number; conf: ConfState }>;
  #applied: number;
  #role: Role = "follower";
  #leader: NodeId = 0;
  readonly #proposals = new Map<number, ProposalWaiter>();
  readonly #appliedWaiters = new AppliedWaiters();
  /** ReadIndex callers not yet handed to the core; they share the next request (one batch). */
  #readQueue: ReadWaiter[] = [];
  readonly #reads = new Map<string, { waiters: ReadWaiter[]; timer: NodeJS.Timeout }>();
  #readSeq = 0;
  readonly #sendingSnapshots = new Map<string, number>();
  #snapshotting = false;
  #readyScheduled = false;
  #tickTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #fatal: unknown;
  readonly #leaderListeners = new Set<(leader: NodeId, role: Role) => void>();

  private constructor(
    opts: RaftNodeOptions,
    storage: SqliteLogStorage,
    snapDir: SnapshotDir,
    confHistory: Array<{ index: number; conf: ConfState }>,
  ) {
    this.id = opts.id;
    this.#opts = opts;
    this.#log = opts.logger ?? SILENT;
    this.#storage = storage;
    this.#snapDir = snapDir;
    this.#sm = opts.stateMachine;
    this.#transport = opts.transport;
    this.#confHistory = confHistory;
    this.#applied = opts.stateMachine.appliedIndex();
    const log = this.#log;
    this.#raw = new RawNode({
      id: opts.id,
      storage,
      rand: opts.rand ?? ((n) => randomInt(n)),
      electionTicks: opts.electionTicks,
      heartbeatTicks: opts.heartbeatTicks ?? 1,
      applied: this.#applied,
      ...(opts.maxSizePerMsgBytes === undefined ? {} : { maxSizePerMsgBytes: opts.maxSizePerMsgBytes }),
      ...(opts.maxInflightMsgs === undefined ? {} : { maxInflightMsgs: opts.maxInflightMsgs }),
      checkQuorum: true,
      preVote: true,
      logger: { debug: (m) => log.debug(m), info: (m) => log.info(m), warn: (m) => log.warn(m) },
    });
    const stored = storage.getMeta("addrs");
    if (stored !== undefined) {
      for (const [id, addr] of Object.entries(JSON.parse(stored) as Record<string, string>)) {
        this.#addrs.set(Number(id), addr);
      }
    }
    for (const [id, addr] of opts.peers) this.#addrs.set(id, addr);
  }

  /**
   * Opens the log (bootstrapping a fresh initial member), brings the state machine level with it
   * (restoring the last snapshot if a crash interrupted an install), and starts ticking.
   */
  static async start(opts: RaftNodeOptions): Promise<RaftNode> {
    if (!Number.isSafeInteger(opts.id) || opts.id <= 0) {
      throw new RaftNodeError("InvalidArgument", `node id must be a positive integer, got ${opts.id}`);
    }
    const storage = SqliteLogStorage.open(join(opts.dir, "raft-log.db"), opts.id);
    let node: RaftNode;
    try {
      const snapDir = new SnapshotDir(join(opts.dir, "snapshots"));
      const sm = opts.stateMachine;
      const fresh = storage.lastIndex() === 0 && storage.initialState().hardState.term === 0;
      if (fresh && sm.appliedIndex() > 0) {
        throw new RaftNodeError(
          "InvalidArgument",
          `the state machine already applied ${sm.appliedIndex()} entries but the raft log in ${opts.dir} is empty: ` +
            "a cluster member must start from an empty manifest (or be reseeded from a snapshot)",
        );
      }
      if (fresh && opts.peers.has(opts.id)) {
        const { entries, hardState } = bootstrapState({ voters: [...opts.peers.keys()], learners: [] });
        storage.save({ entries, hardState }, true);
        opts.logger?.info(
          `raft ${opts.id}: bootstrapped a new cluster with voters ${[...opts.peers.keys()].join(",")}`,
        );
      }
      // Crash between recording a received snapshot and restoring the state machine from it.
      const snap = storage.snapshot();
      if (sm.appliedIndex() < snap.metadata.index) {
        const desc = decodeDescriptor(snap.data);
        sm.restore(snapDir.path(desc.file), snap.metadata);
      }
      storage.raiseCommit(sm.appliedIndex());
      const confHistory = scanConfHistory(storage, sm.appliedIndex());
      node = new RaftNode(opts, storage, snapDir, confHistory);
    } catch (err) {
      storage.close();
      throw err;
    }
    await node.#startRunning();
    return node;
  }

  async #startRunning(): Promise<void> {
    for (const [id, addr] of this.#addrs) if (id !== this.id) this.#transport.setPeer(id, addr);
    await this.#transport.start({
      receive: (msgs) => this.#receive(msgs),
      receiveSnapshot: (m, tempPath) => this.#receiveSnapshot(m, tempPath),
      unreachable: (peer) => {
        if (this.#stopped) return;
        this.#raw.reportUnreachable(peer);
      },
      peerDown: (peer) => {
        if (this.#stopped) return;
        // Only acts on a follower whose leader is `peer`: it campaigns (pre-vote first) within a
        // few ticks instead of a whole election timeout.
        this.#raw.reportPeerDown(peer);
      },
    });
    const st = this.#raw.status();
    if (st.config.voters.length === 1 && st.config.voters[0] === this.id) {
      // The only voter: no one to wait for.
      this.#raw.campaign();
    }
    this.#tickTimer = setInterval(() => {
      if (this.#stopped) return;
      this.#raw.tick();
      this.#scheduleReady();
    }, this.#opts.tickMs);
    this.#tickTimer.unref();
    this.#scheduleReady();
  }

  // ---- requests ----

  get role(): Role {
    return this.#role;
  }

  get leader(): NodeId {
    return this.#leader;
  }

  get appliedIndex(): number {
    return this.#applied;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** The address of a member, as configured or learned from the log. */
  addressOf(id: NodeId): string | undefined {
    return this.#addrs.get(id);
  }

  /**
   * Leader only: appends `data` and resolves once the local state machine applied it, with its
   * result. Rejects `NotLeader` (with the leader hint) / `NoLeader` / `Busy` at once, `Superseded`
   * if another leader's entry took its index, `LeaderChanged` if this node lost leadership first
   * (the entry may still commit: retry with the same idempotency id).
   */
  propose(data: Uint8Array): Promise<ProposeOutcome> {
    this.#checkRunning();
    if (data.length > MAX_ENTRY_BYTES) {
      return Promise.reject(
        new RaftNodeError(
          "InvalidArgument",
          `command of ${data.length} bytes exceeds the replicated log's limit of ${MAX_ENTRY_BYTES} bytes`,
        ),
      );
    }
    let at: { index: number; term: number };
    try {
      at = this.#raw.propose(data);
    } catch (e) {
      return Promise.reject(RaftNodeError.from(e));
    }
    this.#scheduleReady();
    return this.#awaitEntry(at);
  }

  /** Leader only: a single-server membership change (thesis §4.1); resolves once applied here. */
  proposeConfChange(cc: ConfChange): Promise<ProposeOutcome> {
    this.#checkRunning();
    let at: { index: number; term: number };
    try {
      at = this.#raw.proposeConfChange(cc);
    } catch (e) {
      return Promise.reject(RaftNodeError.from(e));
    }
    this.#scheduleReady();
    return this.#awaitEntry(at);
  }

  #awaitEntry(at: { index: number; term: number }): Promise<ProposeOutcome> {
    return new Promise((resolve, reject) => {
      this.#proposals.set(at.index, { term: at.term, resolve, reject });
    });
  }

  /**
   * Linearizable read point (thesis §6.4): resolves with an index such that a read of the local
   * state machine, once it has applied that index, reflects every write acknowledged before this
   * call. Served by the leader with a heartbeat round; followers ask the leader. Callers arriving in
   * the same event-loop turn share one request. Rejects `NoLeader`, `LeaderChanged`, `Timeout`, `Busy`.
   */
  readIndex(): Promise<number> {
    this.#checkRunning();
    return new Promise((resolve, reject) => {
      this.#readQueue.push({ resolve, reject });
      this.#scheduleReady();
    });
  }

  /** Resolves once the local state machine has applied `index`; `signal` abandons the wait. */
  waitApplied(index: number, signal?: AbortSignal): Promise<void> {
    if (index <= this.#applied) return Promise.resolve();
    this.#checkRunning();
    return new Promise((resolve, reject) => {
      const cancel = this.#appliedWaiters.add(index, resolve, reject);
      if (signal !== undefined) {
        const onAbort = () => {
          cancel();
          reject(
            new RaftNodeError("Timeout", `local apply did not reach ${index} in time (at ${this.#applied})`),
          );
        };
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }
    });
  }

  /** Leader only: hand leadership to voter `to` (thesis §3.10). */
  transferLeadership(to: NodeId): void {
    this.#checkRunning();
    try {
      this.#raw.transferLeadership(to);
    } catch (e) {
      throw RaftNodeError.from(e);
    }
    this.#scheduleReady();
  }

  /** Starts an election now (tests, and operators who know better than the timer). */
  campaign(): void {
    this.#checkRunning();
    this.#raw.campaign();
    this.#scheduleReady();
  }

  /** Calls `fn` whenever the known leader or this node's role changes. Returns an unsubscribe. */
  onLeaderChange(fn: (leader: NodeId, role: Role) => void): () => void {
    this.#leaderListeners.add(fn);
    return () => this.#leaderListeners.delete(fn);
  }

  status(): NodeStatus {
    const st = this.#raw.status();
    const members: MemberStatus[] = [];
    const add = (id: NodeId, role: "voter" | "learner") => {
      const progress = st.progress?.get(id);
      members.push({ id, addr: this.#addrs.get(id), role, ...(progress === undefined ? {} : { progress }) });
    };
    for (const id of st.config.voters) add(id, "voter");
    for (const id of st.config.learners) add(id, "learner");
    return {
      id: this.id,
      role: st.role,
      term: st.term,
      leader: st.leader,
      commit: st.commit,
      applied: this.#applied,
      firstIndex: st.firstIndex,
      lastIndex: st.lastIndex,
      snapshotIndex: this.#storage.snapshot().metadata.index,
      members,
    };
  }

  /** Stops ticking and sending, fails every waiting caller with `Stopped`, closes the log. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#halt(new RaftNodeError("Stopped", `raft node ${this.id} stopped`));
    await this.#transport.stop();
    this.#storage.close();
  }

  #halt(reason: Error): void {
    this.#stopped = true;
    if (this.#tickTimer !== undefined) clearInterval(this.#tickTimer);
    const proposals = [...this.#proposals.values()];
    this.#proposals.clear();
    for (const p of proposals) p.reject(reason);
    this.#appliedWaiters.rejectAll(reason);
    this.#failReads(reason);
  }

  #checkRunning(): void {
    if (this.#fatal !== undefined) {
      throw new RaftNodeError("Stopped", `raft node ${this.id} failed: ${String(this.#fatal)}`);
    }
    if (this.#stopped) throw new RaftNodeError("Stopped", `raft node ${this.id} stopped`);
  }

  // ---- input from the network ----

  #receive(msgs: readonly Message[]): void {
    if (this.#stopped) return;
    try {
      for (const m of msgs) {
        if (m.to !== this.id) continue;
        this.#raw.step(m);
      }
    } catch (err) {
      this.#die(err);
      return;
    }
    this.#scheduleReady();
  }

  #receiveSnapshot(m: Message, tempPath: string): void {
    const snap = m.snapshot;
    if (this.#stopped || snap === undefined) {
      rmSync(tempPath, { force: true });
      return;
    }
    let local: Snapshot;
    try {
      const desc = decodeDescriptor(snap.data);
      const file = snapshotFileName(snap.metadata.index, snap.metadata.term);
      renameSync(tempPath, this.#snapDir.path(file));
      fsyncPath(this.#snapDir.dir);
      local = { metadata: snap.metadata, data: encodeDescriptor({ ...desc, file }) };
    } catch (err) {
      rmSync(tempPath, { force: true });
      this.#log.warn(`raft ${this.id}: dropped a snapshot from ${m.from}: ${String(err)}`);
      return;
    }
    this.#receive([{ ...m, snapshot: local }]);
  }

  // ---- the ready loop ----

  #scheduleReady(): void {
    if (this.#readyScheduled || this.#stopped) return;
    this.#readyScheduled = true;
    setImmediate(() => this.#runReady());
  }

  #runReady(): void {
    this.#readyScheduled = false;
    if (this.#stopped) return;
    try {
      this.#issueReads();
      let rounds = 0;
      while (this.#raw.hasReady()) {
        if (++rounds > MAX_READY_ROUNDS_PER_TURN) {
          this.#scheduleReady();
          return;
        }
        this.#handleReady(this.#raw.ready());
      }
      this.#maybeSnapshot();
    } catch (err) {
      this.#die(err);
    }
  }

  #handleReady(rd: Ready): void {
    const lostLeadership =
      rd.softState !== undefined && this.#role === "leader" && rd.softState.role !== "leader";
    if (rd.softState !== undefined) this.#onSoftState(rd.softState);

    // 1. Persist: one transaction; fsynced when term, vote or entries changed (Raft §5.1).
    this.#storage.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot }, rd.mustSync);
    if (rd.snapshot !== undefined) this.#installSnapshot(rd.snapshot);
    this.#learnAddresses(rd.entries);

    // 2. Send. Snapshots stream on their own; the rest goes in per-peer batches.
    const plain: Message[] = [];
    for (const m of rd.messages) {
      if (m.type === "Snap") this.#sendSnapshot(m);
      else plain.push(m);
    }
    if (plain.length > 0) this.#transport.send(plain);

    // 3. Apply, in one state-machine transaction.
    if (rd.committedEntries.length > 0) this.#apply(rd.committedEntries);

    // 4. Answer reads (the caller then waits for the local apply of the read index).
    for (const rs of rd.readStates) {
      const key = Buffer.from(rs.requestCtx).toString("hex");
      const pending = this.#reads.get(key);
      if (pending === undefined) continue;
      this.#reads.delete(key);
      clearTimeout(pending.timer);
      for (const w of pending.waiters) w.resolve(rs.index);
    }

    // Entries of ours committed in this Ready were resolved above (a leader that removed itself
    // applies its own removal); the rest may still commit under the next leader, or be dropped:
    // callers retry with the same idempotency id, which the state machine de-duplicates.
    if (lostLeadership) {
      const err = new RaftNodeError("LeaderChanged", `node ${this.id} lost leadership`);
      const proposals = [...this.#proposals.values()];
      this.#proposals.clear();
      for (const p of proposals) p.reject(err);
    }

    // 5.
    this.#raw.advance();
  }

  #apply(entries: readonly Entry[]): void {
    const results = this.#sm.apply(entries);
    if (results.length !== entries.length) {
      throw new Error(`state machine returned ${results.length} results for ${entries.length} entries`);
    }
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.type === "confChange") {
        this.#confHistory.push({ index: e.index, conf: decodeConfChangeEntry(e.data).conf });
      }
      const waiter = this.#proposals.get(e.index);
      if (waiter === undefined) continue;
      this.#proposals.delete(e.index);
      if (waiter.term === e.term) waiter.resolve({ index: e.index, term: e.term, result: results[i] });
      else {
        waiter.reject(
          new RaftNodeError(
            "Superseded",
            `entry ${e.index} of term ${waiter.term} was replaced by term ${e.term}`,
          ),
        );
      }
    }
    this.#applied = entries[entries.length - 1]!.index;
    this.#appliedWaiters.advance(this.#applied);
    this.#opts.observer?.entriesApplied?.(entries.length);
  }

  #onSoftState(ss: SoftState): void {
    const leaderChanged = ss.leader !== this.#leader;
    this.#role = ss.role;
    this.#leader = ss.leader;
    this.#log.info(`raft ${this.id}: role ${ss.role}, leader ${ss.leader || "none"}, term ${this.#raw.term}`);
    if (leaderChanged) {
      this.#failReads(new RaftNodeError("LeaderChanged", `leader changed to ${ss.leader || "none"}`));
    }
    for (const fn of this.#leaderListeners) fn(ss.leader, ss.role);
  }

  #issueReads(): void {
    if (this.#readQueue.length === 0) return;
    const waiters = this.#readQueue;
    this.#readQueue = [];
    const ctx = Buffer.alloc(8);
    ctx.writeBigUInt64BE(BigInt(++this.#readSeq));
    try {
      this.#raw.readIndex(ctx);
    } catch (e) {
      const err = RaftNodeError.from(e);
      for (const w of waiters) w.reject(err);
      return;
    }
    const key = ctx.toString("hex");
    const timeoutMs = this.#opts.readTimeoutMs ?? this.#opts.tickMs * this.#opts.electionTicks * 2;
    const timer = setTimeout(() => {
      const pending = this.#reads.get(key);
      if (pending === undefined) return;
      this.#reads.delete(key);
      const err = new RaftNodeError("Timeout", `ReadIndex unanswered after ${timeoutMs} ms`);
      for (const w of pending.waiters) w.reject(err);
    }, timeoutMs);
    timer.unref();
    this.#reads.set(key, { waiters, timer });
  }

  #failReads(err: Error): void {
    const queued = this.#readQueue;
    this.#readQueue = [];
    for (const w of queued) w.reject(err);
    const pending = [...this.#reads.values()];
    this.#reads.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      for (const w of p.waiters) w.reject(err);
    }
  }

  #die(err: unknown): void {
    if (this.#fatal !== undefined) return;
    this.#fatal = err;
    this.#log.error(
      `raft ${this.id}: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    this.#halt(new RaftNodeError("Stopped", `raft node ${this.id} failed`, { cause: err }));
    void this.#transport.stop().catch(() => {});
    this.#opts.onFatal?.(err);
  }

  // ---- membership addresses ----

  #learnAddresses(entries: readonly Entry[]): void {
    let changed = false;
    for (const e of entries) {
      if (e.type !== "confChange") continue;
      const change = decodeConfChangeEntry(e.data).change;
      if (change === undefined) continue;
      if (change.type !== "removeNode" && change.context !== undefined && change.context.length > 0) {
        const addr = Buffer.from(change.context).toString("utf8");
        if (!this.#opts.peers.has(change.nodeId) && this.#addrs.get(change.nodeId) !== addr) {
          this.#addrs.set(change.nodeId, addr);
          if (change.nodeId !== this.id) this.#transport.setPeer(change.nodeId, addr);
          changed = true;
        }
      }
    }
    if (changed) this.#persistAddresses();
  }

  #persistAddresses(): void {
    this.#storage.setMeta("addrs", JSON.stringify(Object.fromEntries(this.#addrs)));
  }

  // ---- snapshots (Raft §7) ----

  #installSnapshot(snap: Snapshot): void {
    const desc = decodeDescriptor(snap.data);
    this.#sm.restore(this.#snapDir.path(desc.file), snap.metadata);
    const { index } = snap.metadata;
    this.#log.info(`raft ${this.id}: restored the state machine from a snapshot at ${index}`);
    this.#applied = index;
    this.#confHistory = [{ index, conf: snap.metadata.confState }];
    let changed = false;
    for (const [id, addr] of Object.entries(desc.addrs)) {
      const n = Number(id);
      if (this.#opts.peers.has(n) || this.#addrs.get(n) === addr) continue;
      this.#addrs.set(n, addr);
      if (n !== this.id) this.#transport.setPeer(n, addr);
      changed = true;
    }
    if (changed) this.#persistAddresses();
    // Proposals at or below the snapshot may or may not be part of it: let callers retry.
    for (const [i, p] of this.#proposals) {
      if (i > index) continue;
      this.#proposals.delete(i);
      p.reject(new RaftNodeError("LeaderChanged", `entry ${i} was covered by a snapshot`));
    }
    this.#appliedWaiters.advance(index);
    this.#pruneSnapshots();
    this.#opts.observer?.snapshotInstalled?.(index, snap.metadata.term);
  }

  #sendSnapshot(m: Message): void {
    const snap = m.snapshot!;
    const desc = decodeDescriptor(snap.data);
    this.#sendingSnapshots.set(desc.file, (this.#sendingSnapshots.get(desc.file) ?? 0) + 1);
    this.#log.info(`raft ${this.id}: sending snapshot ${desc.file} (${desc.sizeBytes} bytes) to ${m.to}`);
    void this.#transport.sendSnapshot(m, this.#snapDir.path(desc.file)).then(
      (ok) => this.#snapshotSent(m.to, desc.file, ok),
      () => this.#snapshotSent(m.to, desc.file, false),
    );
  }

  #snapshotSent(to: NodeId, file: string, ok: boolean): void {
    const n = (this.#sendingSnapshots.get(file) ?? 1) - 1;
    if (n === 0) this.#sendingSnapshots.delete(file);
    else this.#sendingSnapshots.set(file, n);
    if (this.#stopped) return;
    if (!ok) this.#log.warn(`raft ${this.id}: snapshot ${file} to ${to} failed`);
    this.#raw.reportSnapshot(to, ok);
    this.#scheduleReady();
  }

  #maybeSnapshot(): void {
    const threshold = this.#opts.snapshotThresholdEntries ?? DEFAULT_SNAPSHOT_THRESHOLD_ENTRIES;
    if (this.#snapshotting || this.#applied - this.#storage.snapshot().metadata.index < threshold) return;
    this.#snapshotting = true;
    void this.#takeSnapshot().then(
      () => {
        this.#snapshotting = false;
      },
      (err: unknown) => {
        this.#snapshotting = false;
        if (!this.#stopped) this.#log.warn(`raft ${this.id}: snapshot failed: ${String(err)}`);
      },
    );
  }

  /** Takes a state-machine snapshot beside the ready loop, then compacts the log up to it. */
  async #takeSnapshot(): Promise<void> {
    const tmp = this.#snapDir.tempPath("local");
    try {
      const { index, term } = await this.#sm.snapshot(tmp);
      if (this.#stopped || index <= this.#storage.snapshot().metadata.index) return;
      const { sha256, sizeBytes } = await hashFile(tmp);
      if (this.#stopped || index <= this.#storage.snapshot().metadata.index) return;
      fsyncPath(tmp);
      const file = snapshotFileName(index, term);
      renameSync(tmp, this.#snapDir.path(file));
      fsyncPath(this.#snapDir.dir);
      const data = encodeDescriptor({
        file,
        sizeBytes,
        sha256,
        addrs: Object.fromEntries([...this.#addrs].map(([id, a]) => [String(id), a])),
      });
      const confState = this.#confAt(index);
      if (this.#storage.compact({ metadata: { index, term, confState }, data })) {
        this.#log.info(`raft ${this.id}: snapshot at ${index} (${sizeBytes} bytes); log compacted`);
        this.#opts.observer?.snapshotTaken?.(index, sizeBytes);
        const keepFrom = this.#confHistory.findLastIndex((c) => c.index <= index);
        if (keepFrom > 0) this.#confHistory = this.#confHistory.slice(keepFrom);
      }
      this.#pruneSnapshots();
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  #confAt(index: number): ConfState {
    const c = this.#confHistory.findLast((h) => h.index <= index);
    if (c === undefined) throw new Error(`raft node invariant: no configuration known at ${index}`);
    return c.conf;
  }

  #pruneSnapshots(): void {
    const keep = new Set(this.#sendingSnapshots.keys());
    const current = this.#storage.snapshot();
    if (current.metadata.index > 0) keep.add(decodeDescriptor(current.data).file);
    this.#snapDir.prune(keep);
  }
}

/** The configuration at the snapshot plus every configuration entry applied after it. */
function scanConfHistory(
  storage: SqliteLogStorage,
  applied: number,
): Array<{ index: number; conf: ConfState }> {
  const snap = storage.snapshot().metadata;
  const history: Array<{ index: number; conf: ConfState }> = [{ index: snap.index, conf: snap.confState }];
  const last = Math.min(applied, storage.lastIndex());
  for (let lo = storage.firstIndex(); lo <= last; ) {
    const ents = storage.entries(lo, last + 1, 4 * 1024 * 1024);
    for (const e of ents) {
      if (e.type === "confChange") history.push({ index: e.index, conf: decodeConfChangeEntry(e.data).conf });
    }
    lo += ents.length;
  }
  return history;
}
