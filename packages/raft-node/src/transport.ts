import type { Message, NodeId } from "@enigma/raft";

/** What a transport delivers to its node. */
export interface TransportHandler {
  /** Messages from the network, already authenticated and addressed to this node. */
  receive(messages: readonly Message[]): void;
  /**
   * A `Snap` message whose image was streamed into `tempPath` (size and SHA-256 verified). The
   * node takes ownership of the file (moves or deletes it).
   */
  receiveSnapshot(message: Message, tempPath: string): void;
  /** A peer could not be reached: the leader stops pipelining to it and probes instead. */
  unreachable(peer: NodeId): void;
  /**
   * Positive evidence that the process of `peer` is gone: a connection to it was refused (nothing
   * listens at its address), typically right after its stream was reset. Never for a timeout or
   * a silent link, which may be a partition. A follower whose leader this is campaigns early.
   */
  peerDown(peer: NodeId): void;
}

/**
 * Moves Raft messages between nodes. Delivery is best-effort: messages may be lost, duplicated or
 * reordered (Raft tolerates all three), but never altered.
 */
export interface Transport {
  start(handler: TransportHandler): Promise<void>;
  /** Queues messages for their recipients; never blocks, never throws for an unreachable peer. */
  send(messages: readonly Message[]): void;
  /**
   * Streams the `Snap` message's image from `path` to its recipient; resolves true once the
   * recipient verified and accepted it, false on any failure.
   */
  sendSnapshot(message: Message, path: string): Promise<boolean>;
  /** The address of `peer` (learned from configuration entries). */
  setPeer(peer: NodeId, addr: string): void;
  removePeer(peer: NodeId): void;
  stop(): Promise<void>;
}
