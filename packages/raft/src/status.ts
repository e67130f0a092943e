import type { ProgressState } from "./progress.js";
import type { ConfState, NodeId, Role } from "./types.js";

/** A follower's replication state as its leader sees it. */
export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly inflightMsgs: number;
  readonly pendingSnapshot: number;
}

/** A node's view of itself and (on a leader) of its followers, for `cluster status`. */
export interface Status {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  /** Per member, leader only (undefined elsewhere). */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus> | undefined;
}
