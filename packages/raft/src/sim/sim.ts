import { decodeConfChangeEntry } from "../conf-change-codec.js";
import type { TestMutation } from "../config.js";
import { describeReady } from "../describe.js";
import { RaftError } from "../errors.js";
import { MemoryStorage } from "../memory-storage.js";
import { RawNode } from "../raw-node.js";
import type { ConfState, NodeId } from "../types.js";
import { EMPTY_CONF_STATE } from "../types.js";
import { Checker, InvariantViolation } from "./checker.js";
import { SimNetwork } from "./network.js";
import type { CoreParams, FaultParams } from "./params.js";
import {
  describeParams,
  drawCoreParams,
  drawFaultParams,
  PHASE_MAX_STEPS,
  PHASE_MIN_STEPS,
} from "./params.js";
import { Prng } from "./prng.js";

export interface SimOptions {
  readonly seed: number;
  /** Steps with faults; each step is one tick of every node. A liveness phase follows. */
  readonly steps: number;
  /** Initial voters (3 or 5). */
  readonly nodes: number;
  readonly mutation?: TestMutation;
  /** Receives a line per event, for replaying a failure by eye. */
  readonly trace?: (line: string) => void;
}

export interface SimFailure {
  readonly step: number;
  readonly invariant: string;
  readonly message: string;
}

export interface SimStats {
  proposals: number;
  acked: number;
  reads: number;
  readsServed: number;
  crashes: number;
  partitions: number;
  leaderElections: number;
  confChanges: number;
  transfers: number;
  snapshotsSent: number;
  messages: number;
  maxTerm: number;
  maxCommit: number;
  livenessTicks: number;
  checks: number;
}

export interface SimResult {
  readonly seed: number;
  readonly nodes: number;
  readonly steps: number;
  readonly params: CoreParams;
  readonly ok: boolean;
  readonly failure?: SimFailure;
  readonly stats: SimStats;
}

/** Message delivery / Ready rounds within one tick: a request and its answer can share a tick. */
const ROUNDS_PER_STEP = 4;
/** After the faults stop, everything must be done within this many election timeouts. */
const LIVENESS_BOUND_ELECTIONS = 60;
/** Extra liveness ticks allowed per entry some node has yet to apply when the faults stop. */
const LIVENESS_TICKS_PER_BACKLOG_ENTRY = 4;
/** Writes the liveness phase must get committed and applied everywhere. */
const LIVENESS_PROPOSALS = 5;

const encoder = new TextEncoder();

function bytesToString(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

interface SimNode {
  readonly id: NodeId;
  /** The disk: survives crashes. */
  readonly storage: MemoryStorage;
  raw: RawNode | undefined;
  /** The state machine's durable state: applied index and configuration as of it. */
  applied: number;
  conf: ConfState;
  downUntil: number;
  lastCheckedCommit: number;
  leader: boolean;
  /** Outstanding reads: ctx → the highest acknowledged write index when the read began. */
  readonly reads: Map<string, number>;
  decommissioned: boolean;
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

class Simulation {
  private readonly prng: Prng;
  private readonly params: CoreParams;
  private faults!: FaultParams;
  private nextPhaseAt = 0;
  private readonly network: SimNetwork;
  private readonly checker = new Checker();
  private readonly nodes = new Map<NodeId, SimNode>();
  private now = 0;
  private nextNodeId: NodeId;
  private seq = 0;
  /** Proposal data → whether acknowledged. */
  private readonly proposals = new Map<string, boolean>();
  private maxAckedIndex = 0;
  private readonly stats: SimStats = {
    proposals: 0,
    acked: 0,
    reads: 0,
    readsServed: 0,
    crashes: 0,
    partitions: 0,
    leaderElections: 0,
    confChanges: 0,
    transfers: 0,
    snapshotsSent: 0,
    messages: 0,
    maxTerm: 0,
    maxCommit: 0,
    livenessTicks: 0,
    checks: 0,
  };

  constructor(private readonly opts: SimOptions) {
    this.prng = new Prng(opts.seed);
    this.params = drawCoreParams(this.prng);
    this.network = new SimNetwork(
      this.prng.fork(),
      { dropProb: 0, dupProb: 0, maxDelayTicks: 0 },
      (from, to, ok) => this.nodes.get(from)?.raw?.reportSnapshot(to, ok),
    );
    const voters = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    for (const id of voters) this.addNode(id, MemoryStorage.bootstrap({ voters, learners: [] }));
    this.nextNodeId = opts.nodes + 1;
  }

  run(): SimResult {
    let failure: SimFailure | undefined;
    try {
      for (let i = 0; i < this.opts.steps; i++) this.step(true);
      this.liveness();
    } catch (e) {
      if (e instanceof InvariantViolation) {
        failure = { step: this.now, invariant: e.invariant, message: e.message };
      } else {
        const err = e instanceof Error ? e : new Error(String(e));
        failure = { step: this.now, invariant: "crash", message: err.stack ?? err.message };
      }
    }
    this.stats.checks = this.checker.checks;
    return {
      seed: this.opts.seed,
      nodes: this.opts.nodes,
      steps: this.opts.steps,
      params: this.params,
      ok: failure === undefined,
      ...(failure !== undefined ? { failure } : {}),
      stats: this.stats,
    };
  }

  private trace(line: string): void {
    this.opts.trace?.(`[t=${this.now}] ${line}`);
  }

  // ---- nodes ----

  private addNode(id: NodeId, storage: MemoryStorage): SimNode {
    const n: SimNode = {
      id,
      storage,
      raw: undefined,
      applied: 0,
      conf: EMPTY_CONF_STATE,
      downUntil: 0,
      lastCheckedCommit: storage.initialState().hardState.commit,
      leader: false,
      reads: new Map(),
      decommissioned: false,
    };
    this.nodes.set(id, n);
    this.start(n);
    return n;
  }

  private start(n: SimNode): void {
    const rng = this.prng.fork();
    const p = this.params;
    n.raw = new RawNode({
      id: n.id,
      storage: n.storage,
      applied: n.applied,
      rand: (k) => rng.int(k),
      electionTicks: p.electionTicks,
      heartbeatTicks: 1,
      maxSizePerMsgBytes: p.maxSizePerMsgBytes,
      maxInflightMsgs: p.maxInflightMsgs,
      preVote: p.preVote,
      checkQuorum: p.checkQuorum,
      ...(this.opts.mutation !== undefined ? { testMutation: this.opts.mutation } : {}),
    });
    this.trace(`${n.id} starts: applied=${n.applied} last=${n.storage.lastIndex()}`);
  }

  private crash(n: SimNode, downTicks: number): void {
    n.raw = undefined;
    n.reads.clear();
    if (n.leader) this.checker.onNotLeader(n.id);
    n.leader = false;
    n.downUntil = this.now + downTicks;
    this.stats.crashes++;
    this.trace(`${n.id} crashes until t=${n.downUntil}`);
    // Like a real transport seeing the connection reset and reconnects refused: every live node
    // hears that the process is gone (followers of it campaign early, still through pre-vote).
    // Delivered regardless of partitions, so stale and "impossible" reports are exercised too.
    for (const o of this.live()) o.raw!.reportPeerDown(n.id);
  }

  private live(): SimNode[] {
    const out: SimNode[] = [];
    for (const n of this.nodes.values()) if (n.raw !== undefined) out.push(n);
    return out;
  }

  private isAlive = (id: NodeId): boolean => this.nodes.get(id)?.raw !== undefined;

  // ---- one step ----

  private step(faults: boolean): void {
    this.now++;
    if (faults) {
      if (this.now >= this.nextPhaseAt) this.newPhase();
      this.injectFaults();
      this.clientRequests();
    }
    for (const n of this.nodes.values()) {
      if (n.raw === undefined && !n.decommissioned && n.downUntil <= this.now) this.start(n);
    }
    for (const n of this.nodes.values()) n.raw?.tick();
    for (let round = 0; round < ROUNDS_PER_STEP; round++) {
      for (const m of this.network.takeDue(this.now, this.isAlive)) {
        const to = this.nodes.get(m.to)!;
        this.stats.messages++;
        to.raw!.step(m);
        if (m.type === "Snap") this.nodes.get(m.from)?.raw?.reportSnapshot(m.to, true);
      }
      for (const n of this.nodes.values()) {
        if (n.raw === undefined) continue;
        if (faults && this.prng.chance(this.faults.slowDiskProb)) continue;
        this.processReady(n, faults);
      }
    }
  }

  private processReady(n: SimNode, faults: boolean): void {
    const raw = n.raw!;
    if (!raw.hasReady()) return;
    const rd = raw.ready();
    const commitBefore = n.lastCheckedCommit;
    if (this.opts.trace !== undefined) {
      for (const line of describeReady(rd, "")) this.trace(`${n.id} ${line}`);
    }
    // 1. Persist: snapshot, entries, hard state.
    if (rd.snapshot !== undefined) {
      this.checker.onSnapshot(n.id, rd.snapshot);
      n.storage.applySnapshot(rd.snapshot);
      n.applied = rd.snapshot.metadata.index;
      n.conf = rd.snapshot.metadata.confState;
      n.lastCheckedCommit = Math.max(n.lastCheckedCommit, rd.snapshot.metadata.index);
    }
    if (rd.entries.length > 0) {
      this.checker.onPersist(n.id, n.storage, rd.entries);
      n.storage.append(rd.entries);
    }
    if (rd.hardState !== undefined) {
      n.storage.setHardState(rd.hardState);
      const { commit, term } = rd.hardState;
      if (commit > n.lastCheckedCommit) {
        this.checker.onCommit(n.id, term, n.storage, n.lastCheckedCommit, commit);
        n.lastCheckedCommit = commit;
        if (commit > this.stats.maxCommit) this.stats.maxCommit = commit;
      }
      if (term > this.stats.maxTerm) this.stats.maxTerm = term;
    }
    if (rd.softState !== undefined) {
      const isLeader = rd.softState.role === "leader";
      if (isLeader && !n.leader) {
        this.checker.onLeader(n.id, raw.status().term, n.storage);
        this.stats.leaderElections++;
      } else if (!isLeader && n.leader) {
        this.checker.onNotLeader(n.id);
      }
      n.leader = isLeader;
    }
    // 2. Send.
    for (const m of rd.messages) {
      if (m.type === "App" || m.type === "Heartbeat" || m.type === "Snap")
        this.checker.onLeaderMessage(m.from, m.term);
      if (m.type === "Snap") this.stats.snapshotsSent++;
      this.network.send(m, this.now);
    }
    // 3. Apply.
    for (const e of rd.committedEntries) {
      if (e.index !== n.applied + 1) {
        throw new InvariantViolation("apply order", `node ${n.id} applies ${e.index} after ${n.applied}`);
      }
      this.checker.onApply(n.id, e);
      n.applied = e.index;
      if (e.type === "confChange") n.conf = decodeConfChangeEntry(e.data).conf;
      else if (e.type === "normal") {
        const key = bytesToString(e.data);
        if (this.proposals.get(key) === false) {
          this.proposals.set(key, true);
          this.stats.acked++;
          if (e.index > this.maxAckedIndex) this.maxAckedIndex = e.index;
        }
      }
    }
    // 4. Serve reads.
    for (const rs of rd.readStates) {
      const ctx = bytesToString(rs.requestCtx);
      const mustCover = n.reads.get(ctx);
      if (mustCover === undefined) continue;
      n.reads.delete(ctx);
      this.checker.onRead(n.id, ctx, rs.index, mustCover);
      this.stats.readsServed++;
    }
    raw.advance();
    this.maybeSnapshot(n);
    if (faults) {
      const f = this.faults;
      if (n.leader && rd.hardState !== undefined && rd.hardState.commit > commitBefore) {
        if (this.prng.chance(f.isolateAfterCommitProb)) this.isolate(n.id, "after commit");
      }
      if (
        rd.messages.some((m) => m.type === "VoteResp" && !m.reject) &&
        this.prng.chance(f.crashAfterVoteProb)
      ) {
        this.crash(n, this.prng.int(4));
      }
    }
  }

  /** Cuts `id` off from everyone, both ways (replacing any partition). */
  private isolate(id: NodeId, why: string): void {
    this.network.heal();
    this.stats.partitions++;
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.network.cutLink(id, other);
      this.network.cutLink(other, id);
    }
    this.trace(`${id} isolated ${why}`);
  }

  private maybeSnapshot(n: SimNode): void {
    const s = n.storage;
    const snapIndex = s.snapshot().metadata.index;
    if (n.applied - snapIndex < this.params.snapshotEvery) return;
    s.createSnapshot(n.applied, n.conf, encoder.encode(`state@${n.applied}`));
    // Keep a few entries behind the snapshot so slightly lagging followers need no snapshot.
    const compactTo = n.applied - this.prng.int(4);
    if (compactTo >= s.firstIndex()) s.compact(compactTo);
  }

  // ---- faults ----

  private newPhase(): void {
    const f = drawFaultParams(this.prng);
    this.faults = f;
    this.network.faults = { dropProb: f.dropProb, dupProb: f.dupProb, maxDelayTicks: f.maxDelayTicks };
    this.nextPhaseAt = this.now + PHASE_MIN_STEPS + this.prng.int(PHASE_MAX_STEPS - PHASE_MIN_STEPS);
    this.trace(`phase until t=${this.nextPhaseAt}: ${describeParams(f)}`);
  }

  private injectFaults(): void {
    const p = this.faults;
    const ids = [...this.nodes.keys()];
    const leader = p.nemesis === "leader" ? this.currentLeader() : undefined;
    if (this.prng.chance(p.crashProb)) {
      const live = this.live();
      const victim =
        leader !== undefined && this.prng.chance(0.7)
          ? leader
          : live.length > 0
            ? this.prng.pick(live)
            : undefined;
      if (victim !== undefined) this.crash(victim, this.prng.int(p.maxDownTicks + 1));
    }
    if (this.prng.chance(p.partitionProb)) {
      this.network.heal();
      this.stats.partitions++;
      const kind = this.prng.int(3);
      if (leader !== undefined && this.prng.chance(0.7)) {
        // Cut the leader off, one way or both: it keeps appending what it is sent, alone.
        const dir = this.prng.int(3);
        for (const other of ids) {
          if (other === leader.id) continue;
          if (dir !== 1) this.network.cutLink(other, leader.id);
          if (dir !== 2) this.network.cutLink(leader.id, other);
        }
        this.trace(`leader ${leader.id} isolated (${["both ways", "deaf", "mute"][dir]})`);
      } else if (kind === 0) {
        // Symmetric split into two sides.
        const shuffled = this.prng.shuffle([...ids]);
        const cut = 1 + this.prng.int(shuffled.length - 1);
        this.network.partition(shuffled.slice(0, cut), shuffled.slice(cut));
        this.trace(`partition ${shuffled.slice(0, cut).join(",")} | ${shuffled.slice(cut).join(",")}`);
      } else if (kind === 1) {
        // Asymmetric: one node can send but not receive (or the reverse).
        const victim = this.prng.pick(ids);
        const inbound = this.prng.chance(0.5);
        for (const other of ids) {
          if (other === victim) continue;
          if (inbound) this.network.cutLink(other, victim);
          else this.network.cutLink(victim, other);
        }
        this.trace(`asymmetric partition: ${victim} ${inbound ? "deaf" : "mute"}`);
      } else {
        // Random one-way link cuts.
        for (const a of ids) {
          for (const b of ids) if (a !== b && this.prng.chance(0.3)) this.network.cutLink(a, b);
        }
        this.trace("random link cuts");
      }
    } else if (this.network.partitioned && this.prng.chance(p.healProb)) {
      this.network.heal();
      this.trace("heal");
    }
  }

  // ---- clients ----

  private clientRequests(): void {
    const p = this.faults;
    if (this.prng.chance(p.proposeProb)) this.propose();
    if (this.prng.chance(p.readProb)) this.read();
    if (this.prng.chance(p.confChangeProb)) this.changeMembership();
    if (this.prng.chance(p.transferProb)) this.transfer();
  }

  /** Proposes at `n` or, on NotLeader, at the leader it names (the driver forwards). */
  private propose(target?: SimNode): boolean {
    const live = this.live();
    if (live.length === 0) return false;
    let n: SimNode | undefined = target ?? this.prng.pick(live);
    const data = `p${++this.seq}`;
    for (let hop = 0; hop < 2 && n?.raw !== undefined; hop++) {
      // Mostly forward without asking (cheap); sometimes go through the NotLeader error path.
      if (n.raw.role !== "leader" && this.prng.chance(0.8)) {
        n = this.nodes.get(n.raw.leader);
        continue;
      }
      try {
        const { index } = n.raw.propose(encoder.encode(data));
        this.proposals.set(data, false);
        this.stats.proposals++;
        this.trace(`client proposes ${data} at ${n.id}: index ${index}`);
        if (this.prng.chance(this.faults.isolateAfterAppendProb)) this.isolate(n.id, "after append");
        return true;
      } catch (e) {
        if (!(e instanceof RaftError)) throw e;
        if (e.code !== "NotLeader" || e.leaderHint === undefined) return false;
        n = this.nodes.get(e.leaderHint);
      }
    }
    return false;
  }

  private read(target?: SimNode): string | undefined {
    const live = this.live();
    if (live.length === 0) return undefined;
    const n = target ?? this.prng.pick(live);
    // A node that knows no leader refuses at once; mostly skip asking it (exceptions are slow).
    if (n.raw!.leader === 0 && this.prng.chance(0.8)) return undefined;
    const ctx = `r${++this.seq}`;
    try {
      n.raw!.readIndex(encoder.encode(ctx));
    } catch (e) {
      if (e instanceof RaftError) return undefined;
      throw e;
    }
    n.reads.set(ctx, this.maxAckedIndex);
    this.stats.reads++;
    this.trace(`client reads ${ctx} at ${n.id} (must cover ${this.maxAckedIndex})`);
    return ctx;
  }

  /** A live node that was leader as of its last Ready (the one with the highest term, if several). */
  private currentLeader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes.values()) {
      if (n.raw === undefined || !n.leader) continue;
      const term = n.raw.term;
      if (term > bestTerm) {
        best = n;
        bestTerm = term;
      }
    }
    return best;
  }

  private changeMembership(): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    const st = leader.raw!.status();
    const conf = st.config;
    try {
      const caughtUp = conf.learners.find((l) => (st.progress?.get(l)?.match ?? 0) >= st.commit);
      if (caughtUp !== undefined) {
        leader.raw!.proposeConfChange({ type: "addVoter", nodeId: caughtUp });
        this.trace(`conf change: promote ${caughtUp}`);
      } else if (conf.learners.length > 0) {
        return;
      } else if (conf.voters.length < this.opts.nodes) {
        const id = this.nextNodeId;
        leader.raw!.proposeConfChange({ type: "addLearner", nodeId: id });
        this.nextNodeId++;
        // A node joining an existing cluster starts empty and learns everything from the leader.
        this.addNode(id, new MemoryStorage());
        this.trace(`conf change: add learner ${id}`);
      } else {
        const victim = this.prng.pick(conf.voters);
        leader.raw!.proposeConfChange({ type: "removeNode", nodeId: victim });
        this.trace(`conf change: remove ${victim}`);
      }
      this.stats.confChanges++;
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
    }
  }

  private transfer(): void {
    const leader = this.currentLeader();
    if (leader === undefined) return;
    const voters = leader.raw!.status().config.voters.filter((v) => v !== leader.id);
    if (voters.length === 0) return;
    const to = this.prng.pick(voters);
    try {
      leader.raw!.transferLeadership(to);
      this.stats.transfers++;
      this.trace(`transfer leadership ${leader.id} -> ${to}`);
    } catch (e) {
      if (!(e instanceof RaftError)) throw e;
    }
  }

  // ---- liveness ----

  /**
   * The faults stop: the network heals and becomes reliable and fast, crashed nodes restart,
   * clients stop changing membership. Within a bound, a leader must emerge, fresh writes must be
   * applied on every member, and a linearizable read must complete on every member.
   */
  private liveness(): void {
    const p = this.params;
    this.network.heal();
    this.network.faults = { dropProb: 0, dupProb: 0, maxDelayTicks: 1 };
    // Catching up a backlog takes time proportional to it (one entry per round trip when
    // batching is off and the window is one message), so the bound grows with it.
    let backlog = 0;
    for (const a of this.nodes.values()) {
      for (const b of this.nodes.values()) backlog = Math.max(backlog, a.storage.lastIndex() - b.applied);
    }
    const bound = LIVENESS_BOUND_ELECTIONS * p.electionTicks + LIVENESS_TICKS_PER_BACKLOG_ENTRY * backlog;
    const retryTicks = 4 * p.electionTicks;
    const writes = new Map<string, number>(); // data → tick submitted (-Infinity: not yet)
    const reads = new Map<NodeId, { ctx: string; at: number } | "done">();
    const start = this.now;
    this.trace("liveness phase");
    for (let t = 0; t < bound; t++) {
      this.step(false);
      this.stats.livenessTicks = t + 1;
      const leader = this.currentLeader();
      if (leader === undefined) continue;
      const st = leader.raw!.status();
      const members = [...st.config.voters, ...st.config.learners];
      // A leader removing itself leads until the removal commits, then steps down.
      if (!members.includes(leader.id)) continue;
      // The operator shuts down nodes that are no longer members.
      for (const n of this.nodes.values()) {
        if (!members.includes(n.id) && n.raw !== undefined) {
          n.raw = undefined;
          n.decommissioned = true;
          if (n.leader) this.checker.onNotLeader(n.id);
          n.leader = false;
          this.trace(`${n.id} decommissioned`);
        }
      }
      // Submit (or resubmit, if lost with a deposed leader) the liveness writes.
      if (writes.size < LIVENESS_PROPOSALS) {
        const data = `live${writes.size}`;
        try {
          leader.raw!.propose(encoder.encode(data));
          this.proposals.set(data, false);
          writes.set(data, this.now);
        } catch (e) {
          if (!(e instanceof RaftError)) throw e;
        }
        continue;
      }
      for (const [data, at] of writes) {
        if (this.proposals.get(data) === false && this.now - at > retryTicks) {
          try {
            leader.raw!.propose(encoder.encode(data));
            writes.set(data, this.now);
          } catch (e) {
            if (!(e instanceof RaftError)) throw e;
          }
        }
      }
      const allAcked = [...writes.keys()].every((d) => this.proposals.get(d) === true);
      if (!allAcked) continue;
      const allApplied = members.every((id) => {
        const n = this.nodes.get(id);
        return n?.raw !== undefined && n.applied >= this.maxAckedIndex;
      });
      if (!allApplied) continue;
      // Every member serves one linearizable read.
      for (const id of members) {
        const n = this.nodes.get(id)!;
        const r = reads.get(id);
        if (r === "done") continue;
        if (r !== undefined && !n.reads.has(r.ctx)) {
          reads.set(id, "done");
          continue;
        }
        if (r === undefined || this.now - r.at > retryTicks) {
          const ctx = this.read(n);
          if (ctx !== undefined) reads.set(id, { ctx, at: this.now });
        }
      }
      if (members.every((id) => reads.get(id) === "done")) return;
    }
    const leader = this.currentLeader();
    const detail = leader === undefined ? "no leader" : `leader ${leader.id}, ${this.livenessDetail()}`;
    throw new InvariantViolation(
      "liveness",
      `not done ${bound} ticks after faults stopped at t=${start}: ${detail}`,
    );
  }

  private livenessDetail(): string {
    return [...this.nodes.values()]
      .filter((n) => n.raw !== undefined)
      .map((n) => {
        const s = n.raw!.status();
        return `${n.id}:${s.role}/t${s.term}/lead${s.leader}/c${s.commit}/a${n.applied}`;
      })
      .join(" ");
  }
}
