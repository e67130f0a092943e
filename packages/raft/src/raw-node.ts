import type { ConfChange } from "./conf-change.js";
import type { Config } from "./config.js";
import { assert, RaftError } from "./errors.js";
import { Raft } from "./raft.js";
import type { Ready } from "./ready.js";
import type { ProgressStatus, Status } from "./status.js";
import type { HardState, Message, NodeId, Role, SoftState } from "./types.js";
import { MESSAGE_TYPES } from "./types.js";

const NETWORK_TYPES: ReadonlySet<string> = new Set(MESSAGE_TYPES);

interface Handed {
  readonly rd: Ready;
  readonly hardState: HardState;
  readonly softState: SoftState;
}

/**
 * The driver's handle on the core (etcd's RawNode): feed it ticks, messages and requests, then
 * drain `ready()` and acknowledge with `advance()`; see `Ready` for the contract. Single-threaded
 * and synchronous; not re-entrant. Between `ready()` and `advance()` the driver may keep calling
 * `tick`, `step` and the requests (their output goes to the next Ready), but not `hasReady` or
 * `ready`.
 */
export class RawNode {
  private readonly r: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private handed: Handed | undefined = undefined;

  constructor(config: Config) {
    this.r = new Raft(config);
    this.prevSoft = this.softState();
    this.prevHard = this.hardState();
  }

  get id(): NodeId {
    return this.r.id;
  }

  /** This node's role now (cheap; `status()` has the full picture). */
  get role(): Role {
    return this.r.role;
  }

  /** The leader this node knows of now, or NONE (0). A driver forwards proposals to it. */
  get leader(): NodeId {
    return this.r.lead;
  }

  get term(): number {
    return this.r.term;
  }

  /** Advances logical time by one tick (election and heartbeat timeouts count ticks). */
  tick(): void {
    this.r.tick();
  }

  /** Starts an election now (pre-vote first if enabled). Does nothing on a leader or non-voter. */
  campaign(): void {
    this.r.hup(false);
  }

  /**
   * Appends a command to the leader's log; returns its index and term (the entry is yours if,
   * when applied, it still has that term). Throws `NotLeader` (with the leader hint, so the driver
   * can forward), `TransferInProgress` or `ProposalDropped`.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.r.propose(data);
  }

  /**
   * Proposes a single-server membership change; it takes effect as soon as it is appended (thesis
   * §4.1). Throws `NotLeader`, `TransferInProgress`, `ConfChangePending`, `InvalidConfChange` or
   * `ProposalDropped`.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return this.r.proposeConfChange(cc);
  }

  /** Delivers a message from the network. Messages for another node are a driver bug. */
  step(m: Message): void {
    assert(NETWORK_TYPES.has(m.type), `unknown message type ${String(m.type)}`);
    assert(m.to === this.r.id, `message for ${m.to} delivered to ${this.r.id}`);
    this.r.step(m);
  }

  /**
   * Requests a linearizable read (thesis §6.4). `ctx` identifies the request and must be unique
   * among this node's outstanding reads. The answer arrives in a later `Ready.readStates`, or never
   * (leader change, lost message): the driver times reads out. Throws `NotLeader` when no leader is
   * known, `ProposalDropped` when too many reads are pending on the leader.
   */
  readIndex(ctx: Uint8Array): void {
    if (!this.r.readIndex(ctx)) throw new RaftError("ProposalDropped", "too many pending ReadIndex requests");
  }

  /**
   * Leader only: hands leadership to voter `to` (thesis §3.10). Proposals get
   * `TransferInProgress` until it completes or is abandoned after an election timeout.
   * Throws `NotLeader` or `InvalidTransferTarget`.
   */
  transferLeadership(to: NodeId): void {
    this.r.transferLeadership(to);
  }

  /** The transport could not reach `id`: stop pipelining to it and probe instead. */
  reportUnreachable(id: NodeId): void {
    this.r.reportUnreachable(id);
  }

  /**
   * The transport has positive evidence that the process of peer `id` is gone: its connection was
   * reset and a reconnect was refused (not a timeout — a partition must go through the full
   * election timeout and pre-vote). A follower whose leader is `id` campaigns (pre-vote first)
   * within a few ticks instead of a whole randomized election timeout; otherwise a no-op. Safe to
   * call with a wrong or stale report: it only shortens a wait.
   */
  reportPeerDown(id: NodeId): void {
    this.r.reportPeerDown(id);
  }

  /** The transport finished (`ok`) or abandoned sending a `Snap` to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.r.reportSnapshot(id, ok);
  }

  private softState(): SoftState {
    return { leader: this.r.lead, role: this.r.role };
  }

  private hardState(): HardState {
    // TEST ONLY mutation: the vote never reaches stable storage.
    const vote = this.r.cfg.testMutation === "voteNotPersisted" ? 0 : this.r.vote;
    return { term: this.r.term, vote, commit: this.r.log.committed };
  }

  hasReady(): boolean {
    assert(this.handed === undefined, "hasReady() before advance()");
    const r = this.r;
    const ss = this.softState();
    const hs = this.hardState();
    return (
      ss.leader !== this.prevSoft.leader ||
      ss.role !== this.prevSoft.role ||
      !hardStateEqual(hs, this.prevHard) ||
      r.log.unstable.entries.length > 0 ||
      r.log.unstable.snapshot !== undefined ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.hasNextCommittedEnts()
    );
  }

  /** What to persist, send and apply now. Call `advance()` when done, before calling this again. */
  ready(): Ready {
    assert(this.handed === undefined, "ready() called twice without advance()");
    const r = this.r;
    const softState = this.softState();
    const hardState = this.hardState();
    const entries = r.log.unstable.entries.slice();
    const snapshot = r.log.unstable.snapshot;
    const rd: { -readonly [K in keyof Ready]: Ready[K] } = {
      entries,
      committedEntries: r.log.nextCommittedEnts(),
      messages: r.msgs,
      readStates: r.readStates,
      // A received snapshot replaces the log: it must be durable before anything is acknowledged.
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hardState.term !== this.prevHard.term ||
        hardState.vote !== this.prevHard.vote,
    };
    if (softState.leader !== this.prevSoft.leader || softState.role !== this.prevSoft.role)
      rd.softState = softState;
    if (!hardStateEqual(hardState, this.prevHard)) rd.hardState = hardState;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    r.msgs = [];
    r.readStates = [];
    this.handed = { rd, hardState, softState };
    return rd;
  }

  /** The last `Ready` has been persisted, sent and applied. */
  advance(): void {
    const h = this.handed;
    assert(h !== undefined, "advance() without ready()");
    this.handed = undefined;
    const { rd } = h;
    const log = this.r.log;
    this.prevSoft = h.softState;
    this.prevHard = h.hardState;
    // The persisted entries are stable, except those a newer leader replaced meanwhile: release
    // the longest prefix still in the log (same index and term means same entry, Raft §5.3).
    for (let i = rd.entries.length - 1; i >= 0; i--) {
      const e = rd.entries[i]!;
      if (log.unstable.maybeTerm(e.index) === e.term) {
        log.stableTo(e.index, e.term);
        break;
      }
    }
    if (rd.snapshot !== undefined) {
      log.stableSnapTo(rd.snapshot.metadata.index);
      log.applied = Math.max(log.applied, rd.snapshot.metadata.index);
    }
    const lastCommitted = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastCommitted !== undefined) {
      log.appliedTo(lastCommitted.index);
      this.r.reduceUncommittedSize(rd.committedEntries);
    }
  }

  status(): Status {
    const r = this.r;
    let progress: Map<NodeId, ProgressStatus> | undefined;
    if (r.role === "leader") {
      progress = new Map();
      for (const id of r.tracker.members) {
        const pr = r.tracker.progress.get(id);
        if (pr === undefined) continue;
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          inflightMsgs: pr.inflights.count,
          pendingSnapshot: pr.pendingSnapshot,
        });
      }
    }
    return {
      id: r.id,
      role: r.role,
      term: r.term,
      vote: r.vote,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      firstIndex: r.log.firstIndex(),
      lastIndex: r.log.lastIndex(),
      leadTransferee: r.leadTransferee,
      config: r.currentConf(),
      progress,
    };
  }
}

function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
