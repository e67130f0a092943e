/** A cluster of real `RaftNode`s over a `MemoryNetwork`, each with its own dir and KV state machine. */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeId } from "@enigma/raft";
import { MemoryNetwork } from "../memory-transport.js";
import { RaftNode, type RaftNodeOptions } from "../raft-node.js";
import { KvStateMachine } from "./kv-state-machine.js";

export interface MemoryClusterOptions {
  readonly ids: readonly NodeId[];
  readonly snapshotThresholdEntries?: number;
  readonly tickMs?: number;
  readonly electionTicks?: number;
}

export class MemoryCluster {
  readonly net = new MemoryNetwork();
  readonly root: string;
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly machines = new Map<NodeId, KvStateMachine>();
  readonly fatal: unknown[] = [];
  readonly #opts: MemoryClusterOptions;
  readonly #peers: Map<NodeId, string>;

  constructor(opts: MemoryClusterOptions) {
    this.#opts = opts;
    this.root = mkdtempSync(join(tmpdir(), "raft-node-test-"));
    this.#peers = new Map(opts.ids.map((id) => [id, `mem:${id}`]));
  }

  static async start(opts: MemoryClusterOptions): Promise<MemoryCluster> {
    const c = new MemoryCluster(opts);
    for (const id of opts.ids) await c.startNode(id);
    return c;
  }

  /** Starts (or restarts) node `id`; `join` = not an initial member (waits to be added). */
  async startNode(id: NodeId, extra: Partial<RaftNodeOptions> = {}): Promise<RaftNode> {
    const dir = join(this.root, `n${id}`);
    mkdirSync(dir, { recursive: true });
    const sm = new KvStateMachine(join(dir, "kv.db"));
    const node = await RaftNode.start({
      id,
      dir: join(dir, "raft"),
      peers: this.#peers,
      stateMachine: sm,
      transport: this.net.transport(id),
      tickMs: this.#opts.tickMs ?? 10,
      electionTicks: this.#opts.electionTicks ?? 10,
      snapshotThresholdEntries: this.#opts.snapshotThresholdEntries ?? 10_000,
      onFatal: (err) => this.fatal.push(err),
      ...extra,
    });
    this.nodes.set(id, node);
    this.machines.set(id, sm);
    return node;
  }

  async stopNode(id: NodeId): Promise<void> {
    await this.nodes.get(id)?.stop();
    this.machines.get(id)?.close();
    this.nodes.delete(id);
    this.machines.delete(id);
  }

  /** The node that is leader of the highest term among running nodes, if any. */
  leader(among: Iterable<NodeId> = this.nodes.keys()): RaftNode | undefined {
    let best: RaftNode | undefined;
    for (const id of among) {
      const n = this.nodes.get(id);
      if (n === undefined || n.role !== "leader") continue;
      if (best === undefined || n.status().term > best.status().term) best = n;
    }
    return best;
  }

  async waitLeader(among: Iterable<NodeId> = this.nodes.keys(), timeoutMs = 10_000): Promise<RaftNode> {
    const ids = [...among];
    let found: RaftNode | undefined;
    await waitFor(() => {
      found = this.leader(ids);
      return found !== undefined;
    }, timeoutMs);
    return found!;
  }

  async close(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stopNode(id);
    rmSync(this.root, { recursive: true, force: true });
  }
}

export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
