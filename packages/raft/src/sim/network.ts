import type { Message, NodeId } from "../types.js";
import type { Prng } from "./prng.js";

export interface NetworkFaults {
  /** Probability that a message is lost. */
  dropProb: number;
  /** Probability that a message is delivered twice. */
  dupProb: number;
  /** Each copy is delayed by a uniform number of ticks in [0, maxDelayTicks]: this also reorders. */
  maxDelayTicks: number;
}

/**
 * The simulated network: every message is dropped, duplicated and delayed as the faults say, and
 * links can be cut one way (asymmetric partitions). Messages on a cut link are lost at delivery.
 * A snapshot's fate is reported back to its sender, as a streaming transport would.
 */
export class SimNetwork {
  /** Messages in flight, bucketed by the tick they are due. */
  private readonly due = new Map<number, Message[]>();
  private count = 0;
  private readonly cut = new Set<string>();
  faults: NetworkFaults;

  constructor(
    private readonly prng: Prng,
    faults: NetworkFaults,
    private readonly onSnapshotOutcome: (from: NodeId, to: NodeId, ok: boolean) => void,
  ) {
    this.faults = faults;
  }

  get size(): number {
    return this.count;
  }

  send(m: Message, now: number): void {
    if (this.prng.chance(this.faults.dropProb)) {
      if (m.type === "Snap") this.onSnapshotOutcome(m.from, m.to, false);
      return;
    }
    const copies = this.prng.chance(this.faults.dupProb) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const at = now + this.prng.int(this.faults.maxDelayTicks + 1);
      const bucket = this.due.get(at);
      if (bucket === undefined) this.due.set(at, [m]);
      else bucket.push(m);
      this.count++;
    }
  }

  /** Messages due at `now`, in random order; those on cut links (or to dead nodes) are dropped. */
  takeDue(now: number, isAlive: (id: NodeId) => boolean): Message[] {
    let due: Message[] = [];
    for (const [at, bucket] of this.due) {
      if (at > now) continue;
      due = due.length === 0 ? bucket : due.concat(bucket);
      this.due.delete(at);
    }
    this.count -= due.length;
    const out: Message[] = [];
    for (const m of this.prng.shuffle(due)) {
      if (this.isCut(m.from, m.to) || !isAlive(m.to)) {
        if (m.type === "Snap") this.onSnapshotOutcome(m.from, m.to, false);
        continue;
      }
      out.push(m);
    }
    return out;
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.size > 0 && this.cut.has(`${from}>${to}`);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** Splits nodes into two sides that cannot talk (both directions). */
  partition(sideA: readonly NodeId[], sideB: readonly NodeId[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.cutLink(a, b);
        this.cutLink(b, a);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  get partitioned(): boolean {
    return this.cut.size > 0;
  }
}
