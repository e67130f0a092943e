import type { Raft } from "./raft.js";
import { handleAppend, handleHeartbeat, handleSnapshot } from "./step-follower.js";
import type { Message } from "./types.js";

/** Pre-candidates and candidates. */
export function stepCandidate(r: Raft, m: Message): void {
  switch (m.type) {
    case "App":
      // A leader of our term exists (Raft §5.2): return to following it.
      r.becomeFollower(m.term, m.from);
      handleAppend(r, m);
      return;
    case "Heartbeat":
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case "Snap":
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case "PreVoteResp":
      if (r.role === "preCandidate") r.onVoteResponse(m);
      return;
    case "VoteResp":
      if (r.role === "candidate") r.onVoteResponse(m);
      return;
    default:
      // TimeoutNow: already campaigning. ReadIndex: no leader to forward to; the requester retries.
      r.cfg.logger.debug(`raft ${r.id}: ${r.role} ignores ${m.type} from ${m.from}`);
  }
}
