/**
 * An in-memory network for tests: every node of a `MemoryNetwork` gets a `Transport` that delivers
 * asynchronously (a later event-loop turn, like a socket would), and the test can cut links one
 * way or both, isolate nodes, and heal. Snapshot images are copied file to file.
 */
import { copyFileSync } from "node:fs";
import type { Message, NodeId } from "@enigma/raft";
import type { Transport, TransportHandler } from "./transport.js";

export class MemoryNetwork {
  readonly #handlers = new Map<NodeId, TransportHandler>();
  readonly #cut = new Set<string>();
  #seq = 0;
  /** Messages delivered, by type (for assertions). */
  readonly delivered = new Map<string, number>();

  transport(id: NodeId): Transport {
    return new MemoryTransport(this, id);
  }

  /** Drops every message from `from` to `to` (one way) until healed. */
  cut(from: NodeId, to: NodeId): void {
    this.#cut.add(`${from}>${to}`);
  }

  /** Cuts `id` off from every other node, both ways. */
  isolate(id: NodeId, others: Iterable<NodeId>): void {
    for (const o of others) {
      if (o === id) continue;
      this.cut(id, o);
      this.cut(o, id);
    }
  }

  heal(): void {
    this.#cut.clear();
  }

  linkUp(from: NodeId, to: NodeId): boolean {
    return this.#handlers.has(to) && !this.#cut.has(`${from}>${to}`);
  }

  register(id: NodeId, h: TransportHandler): void {
    this.#handlers.set(id, h);
  }

  unregister(id: NodeId): void {
    this.#handlers.delete(id);
  }

  deliver(from: NodeId, msgs: readonly Message[]): void {
    const byPeer = new Map<NodeId, Message[]>();
    for (const m of msgs) {
      if (!this.linkUp(from, m.to)) {
        this.#handlers.get(from)?.unreachable(m.to);
        continue;
      }
      const list = byPeer.get(m.to) ?? [];
      list.push(m);
      byPeer.set(m.to, list);
    }
    for (const [to, list] of byPeer) {
      setImmediate(() => {
        // The link may have been cut, or the node stopped, while the batch was on the wire.
        if (!this.linkUp(from, to)) return;
        for (const m of list) this.delivered.set(m.type, (this.delivered.get(m.type) ?? 0) + 1);
        this.#handlers.get(to)?.receive(list);
      });
    }
  }

  async deliverSnapshot(from: NodeId, m: Message, path: string): Promise<boolean> {
    await new Promise((r) => setImmediate(r));
    const h = this.#handlers.get(m.to);
    if (h === undefined || !this.linkUp(from, m.to)) return false;
    const tmp = `${path}.to-${m.to}-${++this.#seq}.tmp`;
    copyFileSync(path, tmp);
    this.delivered.set("Snap", (this.delivered.get("Snap") ?? 0) + 1);
    h.receiveSnapshot(m, tmp);
    return true;
  }
}

class MemoryTransport implements Transport {
  constructor(
    private readonly net: MemoryNetwork,
    private readonly id: NodeId,
  ) {}

  async start(handler: TransportHandler): Promise<void> {
    this.net.register(this.id, handler);
  }

  send(messages: readonly Message[]): void {
    this.net.deliver(this.id, messages);
  }

  sendSnapshot(message: Message, path: string): Promise<boolean> {
    return this.net.deliverSnapshot(this.id, message, path);
  }

  setPeer(): void {}

  removePeer(): void {}

  async stop(): Promise<void> {
    this.net.unregister(this.id);
  }
}
