import { Progress } from "./progress.js";
import { committedIndex, quorumSize, type VoteResult, voteResult } from "./quorum.js";
import type { ConfState, NodeId } from "./types.js";
import { EMPTY_CONF_STATE } from "./types.js";

/**
 * The configuration in effect plus what the leader tracks per member: replication progress and,
 * during an election, the votes received. Iteration is in ascending id order, so output and
 * message order are deterministic.
 */
export class ProgressTracker {
  private conf: ConfState = EMPTY_CONF_STATE;
  private voterSet: ReadonlySet<NodeId> = new Set();
  private memberIds: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    private readonly maxInflightMsgs: number,
    private readonly maxInflightBytes: number,
  ) {}

  confState(): ConfState {
    return this.conf;
  }

  get voters(): readonly NodeId[] {
    return this.conf.voters;
  }

  /** Voters then learners, ascending. */
  get members(): readonly NodeId[] {
    return this.memberIds;
  }

  isVoter(id: NodeId): boolean {
    return this.voterSet.has(id);
  }

  isSingleton(): boolean {
    return this.conf.voters.length === 1;
  }

  /**
   * Switches to configuration `cs`: new members get a fresh probe progress starting after
   * `lastIndex`, removed members lose theirs, and learner flags follow the configuration.
   */
  applyConf(cs: ConfState, lastIndex: number): void {
    this.conf = cs;
    this.voterSet = new Set(cs.voters);
    this.memberIds = [...cs.voters, ...cs.learners].sort((a, b) => a - b);
    const keep = new Set(this.memberIds);
    for (const id of [...this.progress.keys()]) {
      if (!keep.has(id)) this.progress.delete(id);
    }
    for (const id of this.memberIds) {
      const learner = !this.voterSet.has(id);
      const pr = this.progress.get(id);
      if (pr === undefined) {
        const fresh = new Progress(lastIndex + 1, this.maxInflightMsgs, this.maxInflightBytes, learner);
        // A new member is presumed alive so that it can be sent a snapshot at once.
        fresh.recentActive = true;
        this.progress.set(id, fresh);
      } else {
        pr.isLearner = learner;
      }
    }
  }

  /** Resets every progress (new term or role): nothing is known about followers any more. */
  resetProgress(selfId: NodeId, lastIndex: number): void {
    for (const id of this.memberIds) {
      const pr = new Progress(
        lastIndex + 1,
        this.maxInflightMsgs,
        this.maxInflightBytes,
        !this.voterSet.has(id),
      );
      if (id === selfId) {
        pr.match = lastIndex;
        pr.recentActive = true;
      }
      this.progress.set(id, pr);
    }
  }

  /** The highest index replicated on a quorum of voters. */
  committed(): number {
    return committedIndex(this.conf.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; a second vote from the same node is ignored. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const v of this.conf.voters) {
      const vote = this.votes.get(v);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.conf.voters, this.votes) };
  }

  /**
   * Check-quorum (thesis §6.2): whether a quorum of voters was heard from since the last call.
   * Clears every `recentActive` flag except the leader's own.
   */
  quorumActive(selfId: NodeId): boolean {
    let active = 0;
    for (const id of this.conf.voters) {
      const pr = this.progress.get(id);
      if (id === selfId || pr?.recentActive === true) active++;
    }
    for (const [id, pr] of this.progress) pr.recentActive = id === selfId;
    return active >= quorumSize(this.conf.voters.length);
  }
}
