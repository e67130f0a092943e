import { hasQuorum } from "./quorum.js";
import type { NodeId } from "./types.js";

/** A ReadIndex request: from this node (`from` = own id) or forwarded by a follower. */
export interface ReadRequest {
  readonly from: NodeId;
  readonly ctx: Uint8Array;
}

interface ReadRound {
  readonly id: number;
  /** The leader's commit index when the request arrived: the read index (thesis §6.4 step 2). */
  readonly index: number;
  readonly requests: ReadRequest[];
  readonly acks: Set<NodeId>;
}

/**
 * ReadIndex rounds awaiting a heartbeat quorum (thesis §6.4 step 3). Each round gets an id of the
 * leader's own, sent as the heartbeat context, so request ids chosen by different followers can
 * never collide. A quorum for round n also confirms every earlier round: leadership held at the
 * later heartbeat was held at the earlier one.
 */
export class ReadOnly {
  private rounds: ReadRound[] = [];
  private nextId = 1;
  private count = 0;

  get pendingRequests(): number {
    return this.count;
  }

  /** Starts a round for `req` at read index `index`; returns its id for the heartbeat context. */
  add(index: number, req: ReadRequest, selfId: NodeId): number {
    const id = this.nextId++;
    this.rounds.push({ id, index, requests: [req], acks: new Set([selfId]) });
    this.count++;
    return id;
  }

  /**
   * Records a heartbeat ack for round `id`. If that round now has a quorum of `voters`, removes it
   * and all earlier rounds and returns their requests with their read indexes, oldest first.
   */
  recvAck(
    id: number,
    from: NodeId,
    voters: readonly NodeId[],
  ): Array<{ index: number; request: ReadRequest }> | undefined {
    const pos = this.rounds.findIndex((r) => r.id === id);
    if (pos < 0) return undefined;
    const round = this.rounds[pos]!;
    round.acks.add(from);
    if (!hasQuorum(voters, round.acks)) return undefined;
    const done = this.rounds.splice(0, pos + 1);
    const out: Array<{ index: number; request: ReadRequest }> = [];
    for (const r of done) {
      for (const request of r.requests) out.push({ index: r.index, request });
      this.count -= r.requests.length;
    }
    return out;
  }

  reset(): void {
    this.rounds = [];
    this.count = 0;
  }
}

/** Heartbeat context carrying a read round id: 8 bytes, big-endian. */
export function encodeReadRoundId(id: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(id));
  return out;
}

export function decodeReadRoundId(ctx: Uint8Array): number | undefined {
  if (ctx.length !== 8) return undefined;
  return Number(new DataView(ctx.buffer, ctx.byteOffset, 8).getBigUint64(0));
}
