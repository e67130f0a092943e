import { RaftError } from "./errors.js";
import type { ConfState, NodeId } from "./types.js";

/**
 * A single-server membership change (thesis §4.1). A node joins as a learner, catches up, and is
 * promoted with `addVoter`; `removeNode` removes a voter or a learner (the leader included).
 */
export type ConfChangeType = "addVoter" | "addLearner" | "removeNode";

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to Raft; the driver puts the node's address here so every node learns it from the log. */
  readonly context?: Uint8Array;
}

/**
 * The payload of a `confChange` entry: the change and the complete configuration it produces.
 * Carrying the result (not only the delta) means a node that sees the entry never has to
 * re-derive it, and the application stores it as-is with the applied index.
 * `change` is undefined for the bootstrap entry.
 */
export interface ConfChangeEntry {
  readonly change: ConfChange | undefined;
  readonly conf: ConfState;
}

function sorted(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort((a, b) => a - b);
}

export function normalizeConfState(cs: ConfState): ConfState {
  return { voters: sorted(new Set(cs.voters)), learners: sorted(new Set(cs.learners)) };
}

export function confStatesEqual(a: ConfState, b: ConfState): boolean {
  return (
    a.voters.length === b.voters.length &&
    a.learners.length === b.learners.length &&
    a.voters.every((v, i) => v === b.voters[i]) &&
    a.learners.every((v, i) => v === b.learners[i])
  );
}

/**
 * The configuration `cc` produces from `cs`. Throws `RaftError("InvalidConfChange")` for a change
 * that would do nothing or leave no voter.
 */
export function applyConfChange(cs: ConfState, cc: ConfChange): ConfState {
  if (!Number.isSafeInteger(cc.nodeId) || cc.nodeId <= 0) {
    throw new RaftError("InvalidConfChange", `node id must be a positive integer, got ${cc.nodeId}`);
  }
  const voters = new Set(cs.voters);
  const learners = new Set(cs.learners);
  const id = cc.nodeId;
  switch (cc.type) {
    case "addVoter":
      if (voters.has(id)) throw new RaftError("InvalidConfChange", `node ${id} is already a voter`);
      learners.delete(id);
      voters.add(id);
      break;
    case "addLearner":
      if (voters.has(id)) {
        throw new RaftError("InvalidConfChange", `node ${id} is a voter; demotion is not supported`);
      }
      if (learners.has(id)) throw new RaftError("InvalidConfChange", `node ${id} is already a learner`);
      learners.add(id);
      break;
    case "removeNode":
      if (!voters.has(id) && !learners.has(id)) {
        throw new RaftError("InvalidConfChange", `node ${id} is not a member`);
      }
      if (voters.has(id) && voters.size === 1) {
        throw new RaftError("InvalidConfChange", `node ${id} is the last voter`);
      }
      voters.delete(id);
      learners.delete(id);
      break;
  }
  return { voters: sorted(voters), learners: sorted(learners) };
}
