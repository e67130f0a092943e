import type { ConfChange } from "./conf-change.js";
import { applyConfChange, normalizeConfState } from "./conf-change.js";
import { decodeConfChangeEntry, encodeConfChangeEntry } from "./conf-change-codec.js";
import type { Config, ResolvedConfig } from "./config.js";
import { resolveConfig } from "./config.js";
import { assert, RaftError } from "./errors.js";
import { RaftLog } from "./raft-log.js";
import { leaderRead } from "./read-index.js";
import type { ReadRequest } from "./read-only.js";
import { ReadOnly } from "./read-only.js";
import { bcastAppend, bcastHeartbeat, maybeCommit, sendAppendLoop } from "./replication.js";
import { stepCandidate } from "./step-candidate.js";
import { stepFollower } from "./step-follower.js";
import { stepLeader } from "./step-leader.js";
import { ProgressTracker } from "./tracker.js";
import type { ConfState, Entry, EntryType, Message, NodeId, ReadState, Role, Snapshot } from "./types.js";
import { bytesEqual, CAMPAIGN_TRANSFER, EMPTY_BYTES, makeMessage, NONE } from "./types.js";

/**
 * After `reportPeerDown` of its leader, a follower campaigns after
 * 1 + rank·LEADER_DOWN_RANK_TICKS + rand(LEADER_DOWN_JITTER_TICKS) ticks, where rank is its place
 * among the other voters by id. The survivors learn of the death at about the same moment, so a
 * purely random 1..3 ticks often made two of them pre-vote, then vote, in the same tick: a split
 * vote, then a whole election timeout. Staggering by rank leaves the first a clear tick or more.
 */
export const LEADER_DOWN_RANK_TICKS = 2;
export const LEADER_DOWN_JITTER_TICKS = 2;

type Outgoing = Pick<Message, "type" | "to"> & Partial<Omit<Message, "from">>;

/**
 * The Raft state machine (Raft paper, thesis). Pure: it never performs I/O, reads a clock or
 * draws randomness except through `cfg.rand`. Input arrives through `tick`, `step` and the local
 * requests; output accumulates in `msgs`, `readStates` and the log's unstable part, which
 * `RawNode` hands to the driver as a `Ready`.
 *
 * Term handling happens once, at the top of `step`; each role then has its own step function
 * (step-leader.ts, step-candidate.ts, step-follower.ts).
 */
export class Raft {
  readonly id: NodeId;
  readonly cfg: ResolvedConfig;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  readonly readOnly = new ReadOnly();

  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: Role = "follower";

  /** Outgoing messages, taken by the next Ready. */
  msgs: Message[] = [];
  /** Answered ReadIndex requests, taken by the next Ready. */
  readStates: ReadState[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  /**
   * The driver reported the current leader's process gone (`reportPeerDown`): the remaining
   * election wait was cut short and the leader lease no longer holds. Cleared when a leader is
   * heard from and on every role or term change.
   */
  leaderDown = false;

  /** The target of a leadership transfer in progress, or NONE. */
  leadTransferee: NodeId = NONE;
  /** ReadIndex requests held until the leader commits an entry of its own term (thesis §6.4 step 1). */
  pendingReads: ReadRequest[] = [];
  /** Payload bytes appended by this leader and not yet handed out as committed. */
  uncommittedBytes = 0;

  /** The configuration at the start of the log (bootstrap: empty; after a snapshot: its ConfState). */
  private baseConf: ConfState;
  /**
   * Configuration entries in the log, oldest first. A configuration takes effect as soon as its
   * entry is appended, committed or not (thesis §4.1), so when the log is truncated the entries
   * dropped here roll the configuration back. Only the newest committed one is kept.
   */
  private confLog: Array<{ index: number; conf: ConfState }> = [];

  constructor(config: Config) {
    this.cfg = resolveConfig(config);
    this.id = this.cfg.id;
    const storage = this.cfg.storage;
    const { hardState, confState } = storage.initialState();
    this.log = new RaftLog(storage, this.cfg.maxCommittedSizePerReadyBytes);
    this.tracker = new ProgressTracker(this.cfg.maxInflightMsgs, this.cfg.maxInflightBytes);
    this.baseConf = normalizeConfState(confState);
    this.loadConfLog();
    this.tracker.applyConf(this.currentConf(), this.log.lastIndex());

    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      assert(
        hardState.commit >= this.log.committed && hardState.commit <= this.log.lastIndex(),
        `hard state commit ${hardState.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
      this.log.committed = hardState.commit;
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    const applied = Math.max(this.cfg.applied, this.log.firstIndex() - 1);
    assert(applied <= this.log.committed, `applied ${applied} is beyond committed ${this.log.committed}`);
    this.log.applied = applied;
    this.becomeFollower(this.term, NONE);
    this.cfg.logger.info(
      `raft ${this.id}: started term=${this.term} commit=${this.log.committed} applied=${applied} ` +
        `last=${this.log.lastIndex()} voters=${this.tracker.voters.join(",")}`,
    );
  }

  // ---- configuration (thesis §4.1: in effect when appended) ----

  currentConf(): ConfState {
    return this.confLog[this.confLog.length - 1]?.conf ?? this.baseConf;
  }

  /** Index of the newest configuration entry in the log, or 0 if the configuration predates the log. */
  latestConfIndex(): number {
    return this.confLog[this.confLog.length - 1]?.index ?? 0;
  }

  private loadConfLog(): void {
    const last = this.log.lastIndex();
    for (let lo = this.log.firstIndex(); lo <= last; ) {
      const ents = this.log.slice(lo, last + 1, this.cfg.maxSizePerMsgBytes);
      assert(ents !== undefined && ents.length > 0, `cannot read log at ${lo}`);
      this.noteConfEntries(ents);
      lo += ents.length;
    }
  }

  private noteConfEntries(ents: readonly Entry[]): boolean {
    let changed = false;
    for (const e of ents) {
      if (e.type === "confChange") {
        this.confLog.push({ index: e.index, conf: normalizeConfState(decodeConfChangeEntry(e.data).conf) });
        changed = true;
      }
    }
    return changed;
  }

  /** The log changed from index `from` on, and now holds `ents` (some of which may start before `from`). */
  onEntriesAppended(from: number, ents: readonly Entry[]): void {
    let changed = false;
    while (this.confLog.length > 0 && this.confLog[this.confLog.length - 1]!.index >= from) {
      this.confLog.pop();
      changed = true;
    }
    if (this.noteConfEntries(ents.filter((e) => e.index >= from))) changed = true;
    while (this.confLog.length > 1 && this.confLog[1]!.index <= this.log.committed) this.confLog.shift();
    if (changed) this.applyCurrentConf();
  }

  /**
   * Follower: replaces the log with a snapshot from the leader (Raft §7). Returns false when the
   * snapshot brings nothing new (already committed that far, or our log already holds its last
   * entry, in which case only commit moves forward).
   */
  restore(s: Snapshot): boolean {
    assert(this.role === "follower", `${this.role} cannot restore a snapshot`);
    const { index, term, confState } = s.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(s);
    this.baseConf = normalizeConfState(confState);
    this.confLog = [];
    this.applyCurrentConf();
    this.cfg.logger.info(`raft ${this.id}: restored snapshot at index ${index} term ${term}`);
    return true;
  }

  private applyCurrentConf(): void {
    this.tracker.applyConf(this.currentConf(), this.log.lastIndex());
    if (
      this.role === "leader" &&
      this.leadTransferee !== NONE &&
      !this.tracker.isVoter(this.leadTransferee)
    ) {
      this.abortLeaderTransfer();
    }
  }

  /** Whether this node may campaign: it is a voter in its own view of the configuration. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id) && this.log.unstable.snapshot === undefined;
  }

  // ---- roles ----

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.leaderDown = false;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    this.tracker.resetProgress(this.id, this.log.lastIndex());
    this.readOnly.reset();
    this.pendingReads = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.rand(this.cfg.electionTicks);
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = "follower";
  }

  private becomePreCandidate(): void {
    assert(this.role !== "leader", "leader cannot become pre-candidate");
    // A pre-candidate changes neither term nor vote (thesis §9.6). A fresh timeout keeps two
    // pre-candidates from retrying in lockstep.
    this.tracker.resetVotes();
    this.lead = NONE;
    this.leaderDown = false;
    this.role = "preCandidate";
    this.resetRandomizedElectionTimeout();
  }

  private becomeCandidate(): void {
    assert(this.role !== "leader", "leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
  }

  private becomeLeader(): void {
    assert(this.role === "candidate", `${this.role} cannot become leader`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    this.tracker.progress.get(this.id)?.becomeReplicate();
    this.uncommittedBytes = 0;
    // Raft §8: commit an entry of the new term at once, which commits everything before it and
    // lets ReadIndex (thesis §6.4) and configuration changes (thesis §4.1) proceed.
    this.appendEntries([{ type: "noop", data: EMPTY_BYTES }]);
    this.cfg.logger.info(`raft ${this.id}: became leader at term ${this.term}`);
  }

  // ---- time ----

  tick(): void {
    if (this.role === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      // Check-quorum (thesis §6.2): a leader cut off from a quorum steps down, so clients and
      // followers stop trusting it within an election timeout.
      if (this.cfg.checkQuorum && !this.tracker.quorumActive(this.id)) {
        this.cfg.logger.info(`raft ${this.id}: no quorum active at term ${this.term}; stepping down`);
        this.becomeFollower(this.term, NONE);
        return;
      }
      // A transfer that did not finish within an election timeout is abandoned (thesis §3.10).
      if (this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this, EMPTY_BYTES);
    }
  }

  // ---- elections ----

  /** Starts an election if this node may. `transfer`: after TimeoutNow, skipping pre-vote. */
  hup(transfer: boolean): void {
    if (this.role === "leader") return;
    if (!this.promotable()) {
      this.cfg.logger.debug(`raft ${this.id}: not promotable; not campaigning`);
      return;
    }
    // Leadership transfers never pre-vote: the old leader asked for this election.
    this.campaign(this.cfg.preVote && !transfer, transfer);
  }

  private campaign(pre: boolean, transfer: boolean): void {
    let voteTerm: number;
    if (pre) {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.tracker.recordVote(this.id, true);
    if (this.tracker.tallyVotes().result === "won") {
      // A single voter wins at once.
      if (pre) this.campaign(false, transfer);
      else {
        this.becomeLeader();
        bcastAppend(this);
      }
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.tracker.voters) {
      if (id === this.id) continue;
      this.send({
        type: pre ? "PreVote" : "Vote",
        to: id,
        term: voteTerm,
        index: lastIndex,
        logTerm: lastTerm,
        context: transfer ? CAMPAIGN_TRANSFER : EMPTY_BYTES,
      });
    }
  }

  /** A vote response arrived at a (pre-)candidate. */
  onVoteResponse(m: Message): void {
    this.tracker.recordVote(m.from, !m.reject);
    const result = this.tracker.tallyVotes().result;
    if (result === "won") {
      if (this.role === "preCandidate") this.campaign(false, false);
      else {
        this.becomeLeader();
        bcastAppend(this);
      }
    } else if (result === "lost") {
      // A pre-vote rejection may come with our own term; either way go back to following.
      this.becomeFollower(this.term, NONE);
    }
  }

  private handleVoteRequest(m: Message): void {
    const pre = m.type === "PreVote";
    // Raft §5.2: one vote per term, first come first served; a repeated request gets the same
    // answer. A pre-vote for a later term binds nothing, so it may be granted regardless.
    const canVote =
      this.vote === m.from || (this.vote === NONE && this.lead === NONE) || (pre && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // The grant carries the request's term: for a pre-vote, the term the candidate will use.
      this.send({ type: pre ? "PreVoteResp" : "VoteResp", to: m.from, term: m.term });
      if (!pre) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: pre ? "PreVoteResp" : "VoteResp", to: m.from, reject: true });
    }
  }

  // ---- messages ----

  send(m: Outgoing): void {
    const full = m as Outgoing & { from: NodeId; term: number };
    full.from = this.id;
    if (m.term === undefined) full.term = this.term;
    this.msgs.push(makeMessage(full));
  }

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === "Vote" || m.type === "PreVote") {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        // Leader lease (thesis §4.2.3): while we hear from a leader, ignore candidates, so a server
        // that was partitioned (or removed) cannot depose a healthy leader by bumping the term.
        // A leader whose process is known to be gone (`reportPeerDown`) holds no lease.
        const inLease =
          this.cfg.checkQuorum &&
          this.lead !== NONE &&
          !this.leaderDown &&
          this.electionElapsed < this.cfg.electionTicks;
        if (!force && inLease) {
          this.cfg.logger.debug(
            `raft ${this.id}: ignoring ${m.type} from ${m.from} at term ${m.term}: in lease`,
          );
          return;
        }
      }
      if (m.type === "PreVote") {
        // A pre-vote never changes our term.
      } else if (m.type === "PreVoteResp" && !m.reject) {
        // A grant for our pre-campaign carries the term we are about to campaign in.
      } else if (m.type === "App" || m.type === "Heartbeat" || m.type === "Snap") {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === "App" || m.type === "Heartbeat")) {
        // A leader from an older term, perhaps back from a partition. With pre-vote or check-quorum
        // our term may never reach it through a vote, so tell it, and it steps down.
        this.send({ type: "AppResp", to: m.from });
      } else if (m.type === "PreVote") {
        this.send({ type: "PreVoteResp", to: m.from, reject: true });
      }
      return;
    }

    if (m.type === "Vote" || m.type === "PreVote") {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case "leader":
        stepLeader(this, m);
        return;
      case "candidate":
      case "preCandidate":
        stepCandidate(this, m);
        return;
      case "follower":
        stepFollower(this, m);
        return;
    }
  }

  // ---- leader: log ----

  /** Appends entries of the current term (leader only); returns the new last index. */
  appendEntries(ents: ReadonlyArray<{ type: EntryType; data: Uint8Array }>): number {
    const li = this.log.lastIndex();
    const full: Entry[] = ents.map((e, i) => ({
      term: this.term,
      index: li + 1 + i,
      type: e.type,
      data: e.data,
    }));
    this.log.append(full);
    this.onEntriesAppended(li + 1, full);
    this.tracker.progress.get(this.id)?.maybeUpdate(this.log.lastIndex());
    // A leader that is the only voter commits on its own.
    maybeCommit(this);
    return this.log.lastIndex();
  }

  /** Whether the leader has committed an entry of its current term. */
  committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** The leader's commit index advanced. */
  onCommitAdvanced(): void {
    // Thesis §4.2.2: a leader removed from the configuration steps down once that removal commits.
    if (!this.tracker.isVoter(this.id) && this.latestConfIndex() <= this.log.committed) {
      this.stepDownAfterRemoval();
      return;
    }
    if (this.pendingReads.length > 0 && this.committedInCurrentTerm()) {
      const reads = this.pendingReads;
      this.pendingReads = [];
      for (const req of reads) leaderRead(this, req);
    }
  }

  private stepDownAfterRemoval(): void {
    // Hand over at once to the most up-to-date voter instead of leaving the cluster leaderless
    // for an election timeout.
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const id of this.tracker.voters) {
      const pr = this.tracker.progress.get(id);
      if (pr !== undefined && pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    if (best !== NONE && bestMatch === this.log.lastIndex()) this.send({ type: "TimeoutNow", to: best });
    this.cfg.logger.info(
      `raft ${this.id}: removed from the configuration; stepping down at term ${this.term}`,
    );
    this.becomeFollower(this.term, NONE);
  }

  private checkProposable(): void {
    if (this.role !== "leader") throw RaftError.notLeader(this.lead);
    if (this.leadTransferee !== NONE) {
      throw new RaftError("TransferInProgress", `leadership is being transferred to ${this.leadTransferee}`);
    }
    if (!this.tracker.isVoter(this.id)) {
      throw new RaftError("ProposalDropped", "this leader is being removed from the configuration");
    }
  }

  private chargeUncommitted(bytes: number): void {
    // Always admit one proposal, however large, into an empty pipeline; refuse the rest past the limit.
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.cfg.maxUncommittedEntriesBytes) {
      throw new RaftError(
        "ProposalDropped",
        `too many uncommitted bytes (${this.uncommittedBytes} + ${bytes} > ${this.cfg.maxUncommittedEntriesBytes})`,
      );
    }
    this.uncommittedBytes += bytes;
  }

  reduceUncommittedSize(committed: readonly Entry[]): void {
    if (this.role !== "leader") return;
    let bytes = 0;
    for (const e of committed) bytes += e.data.length;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  propose(data: Uint8Array): { index: number; term: number } {
    this.checkProposable();
    this.chargeUncommitted(data.length);
    const index = this.appendEntries([{ type: "normal", data }]);
    if (this.role === "leader") bcastAppend(this);
    return { index, term: this.term };
  }

  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.checkProposable();
    // The single-server change fix (Ongaro, raft-dev 2015, thesis errata): a new leader must commit
    // an entry of its term before changing the configuration, or an uncommitted change of a
    // deposed leader and this one could together break majority overlap.
    if (!this.committedInCurrentTerm()) {
      throw new RaftError("ConfChangePending", "the leader has not yet committed an entry of its term");
    }
    // Thesis §4.1: one change at a time; the next waits until the previous is committed.
    const pending = this.latestConfIndex();
    if (pending > this.log.committed) {
      throw new RaftError(
        "ConfChangePending",
        `configuration change at index ${pending} is not yet committed`,
      );
    }
    const conf = applyConfChange(this.currentConf(), cc);
    const data = encodeConfChangeEntry({ change: cc, conf });
    this.chargeUncommitted(data.length);
    const term = this.term;
    const index = this.appendEntries([{ type: "confChange", data }]);
    if (this.role === "leader") bcastAppend(this);
    return { index, term };
  }

  // ---- leadership transfer (thesis §3.10) ----

  transferLeadership(to: NodeId): void {
    if (this.role !== "leader") throw RaftError.notLeader(this.lead);
    if (to === this.id) {
      this.abortLeaderTransfer();
      return;
    }
    if (!this.tracker.isVoter(to)) throw new RaftError("InvalidTransferTarget", `node ${to} is not a voter`);
    if (this.leadTransferee === to) return;
    this.abortLeaderTransfer();
    // The transfer must finish within one election timeout, or it is abandoned.
    this.electionElapsed = 0;
    this.leadTransferee = to;
    const pr = this.tracker.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else sendAppendLoop(this, to);
  }

  sendTimeoutNow(to: NodeId): void {
    this.send({ type: "TimeoutNow", to });
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- driver feedback ----

  reportUnreachable(id: NodeId): void {
    if (this.role !== "leader") return;
    const pr = this.tracker.progress.get(id);
    // Optimistic pipelining assumed delivery; fall back to probing.
    if (pr?.state === "replicate") pr.becomeProbe();
  }

  /**
   * The driver has positive evidence that the process of `id` is gone (its connection was reset
   * and reconnecting is refused), not merely that it is slow or cut off. On a follower whose
   * leader is `id`, the remaining election wait shrinks to a few ticks (staggered by rank among
   * the voters, plus jitter from the injected PRNG: see LEADER_DOWN_RANK_TICKS) and the leader's
   * lease ends, so the other followers grant this node's pre-vote at once. The election itself
   * is the usual one: pre-vote first, then a vote; a wrong report therefore costs at most an
   * early pre-vote that a quorum still in contact with a live leader refuses. Anything else
   * (a candidate, a leader, another peer, a report already acted on) is a no-op; hearing from a
   * leader afterwards restores the full randomized timeout.
   */
  reportPeerDown(id: NodeId): void {
    if (this.role !== "follower" || this.lead === NONE || id !== this.lead || this.leaderDown) return;
    this.leaderDown = true;
    const rank = Math.max(
      0,
      this.tracker.voters
        .filter((v) => v !== id)
        .sort((a, b) => a - b)
        .indexOf(this.id),
    );
    const wait = 1 + rank * LEADER_DOWN_RANK_TICKS + this.cfg.rand(LEADER_DOWN_JITTER_TICKS);
    // Never later than the wait already running.
    this.randomizedElectionTimeout = Math.min(this.randomizedElectionTimeout, this.electionElapsed + wait);
    this.cfg.logger.info(
      `raft ${this.id}: leader ${id} reported down at term ${this.term}; campaigning in ${this.randomizedElectionTimeout - this.electionElapsed} ticks`,
    );
  }

  /** A follower heard from the leader `from` of its term (App, Heartbeat or Snap). */
  heardFromLeader(from: NodeId): void {
    this.electionElapsed = 0;
    this.lead = from;
    if (this.leaderDown) {
      // The report was stale (or wrong): the leader is alive, so wait the full timeout again.
      this.leaderDown = false;
      this.resetRandomizedElectionTimeout();
    }
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    if (this.role !== "leader") return;
    const pr = this.tracker.progress.get(id);
    if (pr?.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // Wait for the follower's answer (success) or the next heartbeat (failure) before sending.
    pr.probeSent = true;
  }

  // ---- reads ----

  /** A ReadIndex request from this node's application. Returns false if dropped. */
  readIndex(ctx: Uint8Array): boolean {
    if (this.role === "leader") return leaderRead(this, { from: this.id, ctx });
    if (this.lead === NONE) throw RaftError.notLeader(NONE);
    this.send({ type: "ReadIndex", to: this.lead, context: ctx });
    return true;
  }
}
