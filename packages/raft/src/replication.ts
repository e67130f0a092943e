import { assert, RaftError } from "./errors.js";
import type { Progress } from "./progress.js";
import type { Raft } from "./raft.js";
import type { NodeId } from "./types.js";
import { entrySizeBytes } from "./types.js";

/**
 * Sends one App to `to` if its progress allows (Raft §5.3). Falls back to a snapshot when the
 * entries it needs are compacted (Raft §7). `sendIfEmpty` sends even without new entries, to
 * carry the commit index or probe. Returns whether a message was sent.
 */
export function maybeSendAppend(r: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.tracker.progress.get(to);
  if (pr === undefined || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  const ents = prevTerm === undefined ? undefined : r.log.entriesFrom(pr.next, r.cfg.maxSizePerMsgBytes);
  if (prevTerm === undefined || ents === undefined) {
    assert(prevIndex < r.log.firstIndex(), `no term for ${prevIndex} yet not compacted`);
    return maybeSendSnapshot(r, to, pr);
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  let bytes = 0;
  for (const e of ents) bytes += entrySizeBytes(e);
  r.send({ type: "App", to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.log.committed });
  pr.sentEntries(ents.length, prevIndex + ents.length, bytes);
  return true;
}

function maybeSendSnapshot(r: Raft, to: NodeId, pr: Progress): boolean {
  // Snapshots are expensive: send one only to a follower we have heard from lately.
  if (!pr.recentActive) return false;
  let snap: ReturnType<Raft["log"]["snapshot"]>;
  try {
    snap = r.log.snapshot();
  } catch (e) {
    if (RaftError.is(e, "SnapshotTemporarilyUnavailable")) return false;
    throw e;
  }
  assert(snap.metadata.index > 0, "need a snapshot but storage has none");
  pr.becomeSnapshot(snap.metadata.index);
  r.send({ type: "Snap", to, snapshot: snap });
  r.cfg.logger.debug(`raft ${r.id}: sending snapshot at ${snap.metadata.index} to ${to}`);
  return true;
}

/** Sends everything the window allows to `to`: at least one App (possibly empty), then more. */
export function sendAppendLoop(r: Raft, to: NodeId): void {
  if (!maybeSendAppend(r, to, true)) return;
  // Pipelining: in replicate state keep sending batches until the window or the log runs out.
  while (maybeSendAppend(r, to, false)) {}
}

export function bcastAppend(r: Raft): void {
  for (const id of r.tracker.members) {
    if (id !== r.id) sendAppendLoop(r, id);
  }
}

/** Heartbeats carry min(match, commit): a follower must not commit entries it may not hold. */
export function bcastHeartbeat(r: Raft, ctx: Uint8Array): void {
  for (const id of r.tracker.members) {
    if (id === r.id) continue;
    const pr = r.tracker.progress.get(id)!;
    r.send({ type: "Heartbeat", to: id, commit: Math.min(pr.match, r.log.committed), context: ctx });
  }
}

/**
 * Advances the leader's commit index to the highest index replicated on a quorum of voters, but
 * only if that entry is of the leader's current term (Raft §5.4.2: entries of earlier terms are
 * committed indirectly, never by counting replicas — the figure-8 rule).
 */
export function maybeCommit(r: Raft): boolean {
  const mci = r.tracker.committed();
  if (mci <= r.log.committed) return false;
  if (r.cfg.testMutation !== "commitByCountingOldTerm" && r.log.term(mci) !== r.term) return false;
  r.log.commitTo(mci);
  r.onCommitAdvanced();
  return true;
}
