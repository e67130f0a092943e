import type { ConfChangeType } from "../conf-change.js";
import { decodeConfChangeEntry } from "../conf-change-codec.js";
import type { Config } from "../config.js";
import { describeEntry, describeMessage, describeReady, describeStatus } from "../describe.js";
import { RaftError } from "../errors.js";
import { MemoryStorage } from "../memory-storage.js";
import { RawNode } from "../raw-node.js";
import type { ConfState, Message, NodeId } from "../types.js";
import { EMPTY_CONF_STATE } from "../types.js";
import type { CommandArgs } from "./datadriven.js";
import { parseIdList } from "./datadriven.js";

const encoder = new TextEncoder();

interface EnvNode {
  readonly id: NodeId;
  readonly storage: MemoryStorage;
  readonly config: Omit<Config, "id" | "storage" | "applied">;
  /** The node's "random" election jitter: its timeout is always electionTicks + jitter. */
  readonly jitter: number;
  raw: RawNode;
  /** The application's durable state: applied index and the configuration as of it. */
  applied: number;
  conf: ConfState;
}

/**
 * The interaction-test environment: a handful of nodes, each with a MemoryStorage, a trivial
 * application, and a message queue per destination. Commands drive it step by step and return
 * what happened as text. Randomness is fixed per node: `rand` always returns the node's jitter
 * (default 0, set with `add-nodes … jitter=(a,b,…)`), so each election timeout is exactly
 * electionTicks + jitter and scripts are exact.
 */
export class InteractionEnv {
  private readonly nodes = new Map<NodeId, EnvNode>();
  private readonly queues = new Map<NodeId, Message[]>();
  private readonly isolated = new Set<NodeId>();

  handle(cmd: CommandArgs): string {
    const out: string[] = [];
    try {
      this.dispatch(cmd, out);
    } catch (e) {
      if (e instanceof RaftError) out.push(`error ${e.code}: ${e.message}`);
      else throw e;
    }
    return out.join("\n");
  }

  private dispatch(cmd: CommandArgs, out: string[]): void {
    const p = cmd.positional;
    switch (cmd.name) {
      case "add-nodes":
        this.addNodes(cmd, out);
        return;
      case "campaign":
        this.node(p[0]).raw.campaign();
        return;
      case "tick": {
        const n = Number(p[1] ?? "1");
        const node = this.node(p[0]);
        for (let i = 0; i < n; i++) node.raw.tick();
        return;
      }
      case "tick-election": {
        // Exactly this node's randomized election timeout (electionTicks + its jitter).
        const node = this.node(p[0]);
        for (let i = 0; i < (node.config.electionTicks ?? 10) + node.jitter; i++) node.raw.tick();
        return;
      }
      case "tick-heartbeat": {
        const node = this.node(p[0]);
        for (let i = 0; i < (node.config.heartbeatTicks ?? 1); i++) node.raw.tick();
        return;
      }
      case "process-ready":
        for (const id of this.ids(p)) this.processReady(this.node(String(id)), out);
        return;
      case "deliver-msgs":
        for (const id of this.ids(p)) this.deliver(id, cmd.named.get("drop") === "true", out);
        return;
      case "stabilize":
        this.stabilize(this.ids(p), out);
        return;
      case "propose": {
        const { index, term } = this.node(p[0]).raw.propose(encoder.encode(p[1] ?? ""));
        out.push(`proposed index=${index} term=${term}`);
        return;
      }
      case "propose-conf-change": {
        const type = p[1] as ConfChangeType;
        const { index, term } = this.node(p[0]).raw.proposeConfChange({ type, nodeId: Number(p[2]) });
        out.push(`proposed index=${index} term=${term}`);
        return;
      }
      case "read-index":
        this.node(p[0]).raw.readIndex(encoder.encode(p[1] ?? ""));
        return;
      case "transfer-leadership":
        this.node(p[0]).raw.transferLeadership(Number(p[1]));
        return;
      case "status":
        for (const id of this.ids(p)) out.push(...describeStatus(this.node(String(id)).raw.status()));
        return;
      case "log": {
        const node = this.node(p[0]);
        const s = node.storage;
        const snap = s.snapshot().metadata;
        out.push(`snapshot index=${snap.index} term=${snap.term}`);
        if (s.lastIndex() >= s.firstIndex()) {
          for (const e of s.entries(s.firstIndex(), s.lastIndex() + 1, Number.MAX_SAFE_INTEGER)) {
            out.push(describeEntry(e));
          }
        }
        return;
      }
      case "compact":
        this.compact(this.node(p[0]), Number(p[1]), out);
        return;
      case "restart":
        this.restart(this.node(p[0]), out);
        return;
      case "isolate":
        for (const id of this.ids(p)) this.isolated.add(id);
        return;
      case "heal":
        this.isolated.clear();
        return;
      case "report-peer-down":
        this.node(p[0]).raw.reportPeerDown(Number(p[1]));
        return;
      case "report-unreachable":
        this.node(p[0]).raw.reportUnreachable(Number(p[1]));
        return;
      default:
        throw new Error(`unknown command ${cmd.name}`);
    }
  }

  private node(idText: string | undefined): EnvNode {
    const node = this.nodes.get(Number(idText));
    if (node === undefined) throw new Error(`no node ${idText}`);
    return node;
  }

  private ids(positional: readonly string[]): NodeId[] {
    if (positional.length === 0) return [...this.nodes.keys()].sort((a, b) => a - b);
    return positional.flatMap((p) => parseIdList(p));
  }

  private addNodes(cmd: CommandArgs, out: string[]): void {
    const n = Number(cmd.positional[0] ?? "1");
    const voters = parseIdList(cmd.named.get("voters") ?? "()");
    const learners = parseIdList(cmd.named.get("learners") ?? "()");
    const join = cmd.named.get("join") === "true";
    const flag = (k: string, dflt: boolean) => (cmd.named.has(k) ? cmd.named.get(k) === "true" : dflt);
    const num = (k: string): number | undefined => (cmd.named.has(k) ? Number(cmd.named.get(k)) : undefined);
    const jitters = parseIdList(cmd.named.get("jitter") ?? "()");
    const base: Omit<Config, "id" | "storage" | "applied" | "rand"> = {
      preVote: flag("prevote", true),
      checkQuorum: flag("checkquorum", true),
      ...(num("election") !== undefined ? { electionTicks: num("election")! } : {}),
      ...(num("heartbeat") !== undefined ? { heartbeatTicks: num("heartbeat")! } : {}),
      ...(num("max-size") !== undefined ? { maxSizePerMsgBytes: num("max-size")! } : {}),
      ...(num("max-inflight") !== undefined ? { maxInflightMsgs: num("max-inflight")! } : {}),
    };
    const first = Math.max(0, ...this.nodes.keys()) + 1;
    for (let id = first; id < first + n; id++) {
      const jitter = jitters[id - first] ?? 0;
      const config = { ...base, rand: (k: number) => Math.min(jitter, k - 1) };
      const storage = join ? new MemoryStorage() : MemoryStorage.bootstrap({ voters, learners });
      const raw = new RawNode({ ...config, id, storage });
      this.nodes.set(id, { id, storage, config, jitter, raw, applied: 0, conf: EMPTY_CONF_STATE });
      this.queues.set(id, []);
      out.push(...describeStatus(raw.status()));
    }
  }

  private processReady(node: EnvNode, out: string[]): void {
    if (!node.raw.hasReady()) return;
    const rd = node.raw.ready();
    out.push(`> ${node.id} handling Ready`);
    out.push(...describeReady(rd));
    if (rd.snapshot !== undefined) {
      node.storage.applySnapshot(rd.snapshot);
      node.applied = rd.snapshot.metadata.index;
      node.conf = rd.snapshot.metadata.confState;
    }
    node.storage.append(rd.entries);
    if (rd.hardState !== undefined) node.storage.setHardState(rd.hardState);
    for (const m of rd.messages) this.queues.get(m.to)?.push(m);
    for (const e of rd.committedEntries) {
      node.applied = e.index;
      if (e.type === "confChange") node.conf = decodeConfChangeEntry(e.data).conf;
    }
    node.raw.advance();
  }

  private deliver(id: NodeId, drop: boolean, out: string[]): void {
    const q = this.queues.get(id);
    if (q === undefined || q.length === 0) return;
    this.queues.set(id, []);
    out.push(`> ${id} receiving messages`);
    for (const m of q) {
      const sender = this.nodes.get(m.from);
      if (drop || this.isolated.has(m.from) || this.isolated.has(m.to)) {
        out.push(`  dropped ${describeMessage(m)}`);
        if (m.type === "Snap") sender?.raw.reportSnapshot(m.to, false);
        continue;
      }
      out.push(`  ${describeMessage(m)}`);
      this.node(String(id)).raw.step(m);
      if (m.type === "Snap") sender?.raw.reportSnapshot(m.to, true);
    }
  }

  private stabilize(ids: NodeId[], out: string[]): void {
    for (let round = 0; round < 1000; round++) {
      let progressed = false;
      for (const id of ids) {
        const node = this.node(String(id));
        if (node.raw.hasReady()) {
          this.processReady(node, out);
          progressed = true;
        }
      }
      for (const id of ids) {
        if ((this.queues.get(id)?.length ?? 0) > 0) {
          this.deliver(id, false, out);
          progressed = true;
        }
      }
      if (!progressed) return;
    }
    throw new Error("stabilize: no quiescence after 1000 rounds");
  }

  private compact(node: EnvNode, index: number, out: string[]): void {
    if (index > node.applied)
      throw new Error(`compact ${index}: node ${node.id} applied only ${node.applied}`);
    // The application's configuration as of `index`: here the env compacts at its applied index.
    if (index !== node.applied)
      throw new Error(`compact ${index}: env compacts at the applied index ${node.applied}`);
    node.storage.createSnapshot(index, node.conf, encoder.encode(`snap@${index}`));
    node.storage.compact(index);
    out.push(
      `node ${node.id}: snapshot and compact at ${index}; log=[${node.storage.firstIndex()},${node.storage.lastIndex()}]`,
    );
  }

  private restart(node: EnvNode, out: string[]): void {
    // A crash loses everything but storage and the application's durable state.
    node.raw = new RawNode({ ...node.config, id: node.id, storage: node.storage, applied: node.applied });
    out.push(...describeStatus(node.raw.status()));
  }
}
