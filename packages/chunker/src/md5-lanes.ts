import { createHash, type Hash } from "node:crypto";
import type {
  Md5EndMessage,
  Md5FedMessage,
  Md5FeedMessage,
  Md5Message,
  Md5OpenMessage,
} from "./worker-protocol.js";
import { detachedCopy } from "./worker-protocol.js";

export type LaneMessage = Md5OpenMessage | Md5FeedMessage | Md5EndMessage;

/**
 * The running MD5 hashes of the streams whose lanes live on this thread (a hash worker, or a seal
 * worker taking a lane when every hash worker already has one). Messages to one worker arrive in
 * order, so each lane sees its stream's bytes in order.
 */
export class Md5Lanes {
  readonly #lanes = new Map<number, Hash>();

  /** Handles one lane message; returns the reply to post, or null when none is due. */
  handle(msg: LaneMessage): Md5Message | Md5FedMessage | null {
    if (msg.kind === "md5-open") {
      this.#lanes.set(msg.lane, createHash("md5"));
      return null;
    }
    const lane = this.#lanes.get(msg.lane);
    if (msg.kind === "md5-end") {
      this.#lanes.delete(msg.lane);
      if (!msg.reply) return null;
      if (lane === undefined) throw new Error(`no MD5 lane ${msg.lane}`);
      return { kind: "md5", id: msg.id, digest: detachedCopy(lane.digest()) };
    }
    if (lane === undefined) throw new Error(`no MD5 lane ${msg.lane}`);
    lane.update(new Uint8Array(msg.plain, msg.offset, msg.length));
    return { kind: "md5-fed", id: msg.id };
  }
}

export function isLaneMessage(msg: { readonly kind: string }): msg is LaneMessage {
  return msg.kind === "md5-open" || msg.kind === "md5-feed" || msg.kind === "md5-end";
}
