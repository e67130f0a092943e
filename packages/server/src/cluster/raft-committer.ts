/**
 * The `Committer` of cluster mode: every metadata command goes through Raft. `propose` wraps the
 * command in an envelope with an idempotency id (kept across the retries `ClusterNode` makes
 * through leader changes, so a command is applied at most once), sends it to the leader — here,
 * or forwarded over gRPC — and resolves only once this node's own manifest has applied it, so the
 * S3 request that proposed it reads its own write whichever node it hit. `readBarrier` is ReadIndex
 * plus the wait for the local apply: a read after it is linearizable.
 */
import { randomUUID } from "node:crypto";
import { type ApplyResult, type Command, encodeEnvelope } from "@enigma/manifest";
import type { ClusterNode } from "@enigma/raft-node";
import type { Committer, ProposeOptions } from "../engine/committer.js";

export class RaftCommitter implements Committer {
  readonly #node: ClusterNode;

  constructor(node: ClusterNode) {
    this.#node = node;
  }

  async propose(command: Command, opts: ProposeOptions = {}): Promise<ApplyResult> {
    const requestId = opts.requestId ?? randomUUID();
    const out = await this.#node.propose(encodeEnvelope({ requestId, command }));
    return out.result as ApplyResult;
  }

  async readBarrier(): Promise<void> {
    await this.#node.readBarrier();
  }
}
