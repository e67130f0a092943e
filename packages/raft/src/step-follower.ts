import type { Raft } from "./raft.js";
import type { Message } from "./types.js";

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case "App":
      r.heardFromLeader(m.from);
      handleAppend(r, m);
      return;
    case "Heartbeat":
      r.heardFromLeader(m.from);
      handleHeartbeat(r, m);
      return;
    case "Snap":
      r.heardFromLeader(m.from);
      handleSnapshot(r, m);
      return;
    case "TimeoutNow":
      // Thesis §3.10: the leader handed over; campaign at once, without pre-vote.
      r.hup(true);
      return;
    case "ReadIndexResp":
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
    default:
      // ReadIndex: we are not the leader (the requester's view is stale); it will retry.
      r.cfg.logger.debug(`raft ${r.id}: follower ignores ${m.type} from ${m.from}`);
  }
}

export function handleAppend(r: Raft, m: Message): void {
  if (m.index < r.log.committed) {
    // Everything up to our commit index already matches the leader (Leader Completeness).
    r.send({ type: "AppResp", to: m.from, index: r.log.committed });
    return;
  }
  const res = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (res !== undefined) {
    if (res.changedFrom !== 0) r.onEntriesAppended(res.changedFrom, m.entries);
    r.send({ type: "AppResp", to: m.from, index: res.lastNewIndex });
    return;
  }
  // Raft §5.3 consistency check failed. Hint the leader past the whole mismatching term.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send({
    type: "AppResp",
    to: m.from,
    index: m.index,
    reject: true,
    rejectHint: hint.index,
    logTerm: hint.term,
  });
}

export function handleHeartbeat(r: Raft, m: Message): void {
  r.log.commitTo(m.commit);
  r.send({ type: "HeartbeatResp", to: m.from, context: m.context });
}

export function handleSnapshot(r: Raft, m: Message): void {
  const snap = m.snapshot;
  if (snap === undefined) return;
  const index = r.restore(snap) ? r.log.lastIndex() : r.log.committed;
  r.send({ type: "AppResp", to: m.from, index });
}
