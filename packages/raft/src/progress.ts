import { Inflights } from "./inflights.js";

/**
 * How the leader replicates to one follower (thesis §3.5 / etcd's progress):
 * - `probe`: the match point is unknown; send one App at a time and wait for the answer.
 * - `replicate`: the follower is in sync; stream Apps optimistically, up to the inflight window.
 * - `snapshot`: the needed entries are compacted; a snapshot is on its way; send nothing else.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  /** Highest index known to be replicated on the follower. */
  match = 0;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = "probe";
  /** In `snapshot` state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round (§6.2). */
  recentActive = false;
  /** In `probe` state: an App is out; wait for its answer or a heartbeat response. */
  probeSent = false;
  /** In `replicate` state: heartbeat responses since match last moved while behind. */
  stalledHeartbeats = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflightMsgs: number,
    maxInflightBytes: number,
    public isLearner: boolean,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.stalledHeartbeats = 0;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      // After a snapshot, resume after whichever is further: what matched, or what the snapshot covered.
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgment up to n: returns true if it raised match. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
      this.stalledHeartbeats = 0;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the App whose prev index was `rejected`, with the follower's hint. Returns false
   * for a stale rejection (one that says nothing new); otherwise moves `next` back.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      // Rejections at or below match answer messages sent before we knew better.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the answer to the App just sent (prev = next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Records an App just sent with `count` entries ending at `lastIndex`. */
  sentEntries(count: number, lastIndex: number, sizeBytes: number): void {
    if (this.state === "replicate") {
      if (count > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, sizeBytes);
      }
    } else if (this.state === "probe") {
      this.probeSent = true;
    }
  }

  /** Whether to hold back Apps to this follower. */
  isPaused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }
}
