import type { Raft } from "./raft.js";
import { leaderRead, respondRead } from "./read-index.js";
import { decodeReadRoundId } from "./read-only.js";
import { bcastAppend, maybeCommit, maybeSendAppend, sendAppendLoop } from "./replication.js";
import type { Message } from "./types.js";

/**
 * Heartbeat responses without App progress, in replicate state, after which the leader presumes
 * Apps were lost and falls back to probing. Heartbeats go out every heartbeatTicks, so this is a
 * few heartbeat intervals: long enough for Apps in flight to arrive, short enough to recover fast.
 */
export const REPLICATE_STALL_HEARTBEATS = 3;

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case "ReadIndex":
      // A follower's read, forwarded. Dropped silently when too many are pending: the follower's
      // driver times the request out.
      leaderRead(r, { from: m.from, ctx: m.context });
      return;
    case "AppResp":
      handleAppendResponse(r, m);
      return;
    case "HeartbeatResp":
      handleHeartbeatResponse(r, m);
      return;
    default:
      // Same-term App/Heartbeat/Snap cannot come from another leader (one leader per term);
      // TimeoutNow, vote responses and ReadIndexResp are stale here.
      r.cfg.logger.debug(`raft ${r.id}: leader ignores ${m.type} from ${m.from}`);
  }
}

function handleAppendResponse(r: Raft, m: Message): void {
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (m.reject) {
    // Fast backtracking (Raft §5.3): the follower named the last index whose term is <= the
    // term we probed with; skip to the last entry of ours at or below it with a term <= its term.
    let nextProbe = m.rejectHint;
    if (m.logTerm > 0) nextProbe = r.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
    if (pr.maybeDecrTo(m.index, nextProbe)) {
      if (pr.state === "replicate") pr.becomeProbe();
      sendAppendLoop(r, m.from);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  const updated = pr.maybeUpdate(m.index);
  if (updated || (pr.match === m.index && pr.state === "probe")) {
    if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "snapshot" && pr.match + 1 >= r.log.firstIndex()) {
      // The follower holds the snapshot (or got there by the log): resume from the log.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") {
      pr.inflights.freeLE(m.index);
    }
    if (maybeCommit(r)) {
      if (r.role !== "leader") return; // stepped down after its own removal committed
      bcastAppend(r);
    } else if (wasPaused) {
      // The follower could not be sent anything until now: bring it up to date, commit included.
      sendAppendLoop(r, m.from);
    } else {
      // Pipelining: refill the window with entries not yet sent.
      while (maybeSendAppend(r, m.from, false)) {}
    }
    if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
      // Thesis §3.10: the target is up to date; tell it to campaign now.
      r.sendTimeoutNow(m.from);
    }
  }
}

function handleHeartbeatResponse(r: Raft, m: Message): void {
  const pr = r.tracker.progress.get(m.from);
  if (pr === undefined) return;
  pr.recentActive = true;
  if (pr.match < r.log.lastIndex()) {
    if (pr.state === "probe") {
      // The probe may have been lost: the follower is alive, so probe again.
      pr.probeSent = false;
      sendAppendLoop(r, m.from);
    } else if (pr.state === "replicate") {
      // The follower answers heartbeats but not Apps: after a few rounds, Apps were lost.
      if (++pr.stalledHeartbeats >= REPLICATE_STALL_HEARTBEATS) {
        pr.becomeProbe();
        sendAppendLoop(r, m.from);
      } else {
        while (maybeSendAppend(r, m.from, false)) {}
      }
    }
  }

  if (m.context.length === 0) return;
  const id = decodeReadRoundId(m.context);
  if (id === undefined) return;
  if (!r.tracker.isVoter(m.from)) return;
  const released = r.readOnly.recvAck(id, m.from, r.tracker.voters);
  if (released === undefined) return;
  for (const { index, request } of released) respondRead(r, request, index);
}
