import type { Raft } from "./raft.js";
import type { ReadRequest } from "./read-only.js";
import { encodeReadRoundId } from "./read-only.js";
import { bcastHeartbeat } from "./replication.js";

/**
 * The leader's side of ReadIndex (thesis §6.4), for its own application or a follower's:
 * 1. until the leader has committed an entry of its term its commit index may lag the true one,
 *    so the request waits (the no-op appended on election commits soon);
 * 2. the read index is the current commit index;
 * 3. a heartbeat round confirms that no newer leader exists; a quorum of answers releases it.
 * Nothing is written to the log. Returns false if the request was dropped (too many pending).
 */
export function leaderRead(r: Raft, req: ReadRequest): boolean {
  if (!r.committedInCurrentTerm() && r.cfg.testMutation !== "readIndexWithoutOwnTermCommit") {
    if (r.pendingReads.length >= r.cfg.maxPendingReadIndex) return false;
    r.pendingReads.push(req);
    return true;
  }
  if (r.tracker.isSingleton() && r.tracker.isVoter(r.id)) {
    // The only voter: no one else can be leader.
    respondRead(r, req, r.log.committed);
    return true;
  }
  if (r.readOnly.pendingRequests >= r.cfg.maxPendingReadIndex) return false;
  const id = r.readOnly.add(r.log.committed, req, r.id);
  bcastHeartbeat(r, encodeReadRoundId(id));
  return true;
}

export function respondRead(r: Raft, req: ReadRequest, index: number): void {
  if (req.from === r.id) r.readStates.push({ index, requestCtx: req.ctx });
  else r.send({ type: "ReadIndexResp", to: req.from, index, context: req.ctx });
}
