import { decodeConfChangeEntry } from "./conf-change-codec.js";
import type { Ready } from "./ready.js";
import type { Status } from "./status.js";
import type { ConfState, Entry, Message, Snapshot } from "./types.js";

/** One-line, human-readable renderings for logs and test scripts. */

export function describeBytes(b: Uint8Array): string {
  if (b.length === 0) return '""';
  let printable = true;
  for (const x of b) if (x < 0x20 || x > 0x7e || x === 0x22) printable = false;
  if (printable) return `"${String.fromCharCode(...b)}"`;
  return `0x${[...b].map((x) => x.toString(16).padStart(2, "0")).join("")}`;
}

export function describeConfState(cs: ConfState): string {
  return `voters=(${cs.voters.join(",")}) learners=(${cs.learners.join(",")})`;
}

export function describeEntry(e: Entry): string {
  const head = `${e.term}/${e.index}`;
  switch (e.type) {
    case "noop":
      return `${head} noop`;
    case "normal":
      return `${head} ${describeBytes(e.data)}`;
    case "confChange": {
      const cc = decodeConfChangeEntry(e.data);
      const change = cc.change === undefined ? "bootstrap" : `${cc.change.type} ${cc.change.nodeId}`;
      return `${head} conf ${change} -> ${describeConfState(cc.conf)}`;
    }
  }
}

export function describeSnapshot(s: Snapshot): string {
  const m = s.metadata;
  return `snapshot index=${m.index} term=${m.term} ${describeConfState(m.confState)} data=${describeBytes(s.data)}`;
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  switch (m.type) {
    case "App":
      return `${head} prev=${m.logTerm}/${m.index} commit=${m.commit} entries=[${m.entries.map(describeEntry).join(", ")}]`;
    case "AppResp":
      return m.reject
        ? `${head} reject index=${m.index} hint=${m.logTerm}/${m.rejectHint}`
        : `${head} index=${m.index}`;
    case "Vote":
    case "PreVote":
      return `${head} last=${m.logTerm}/${m.index}${m.context.length > 0 ? " transfer" : ""}`;
    case "VoteResp":
    case "PreVoteResp":
      return m.reject ? `${head} reject` : head;
    case "Heartbeat":
      return `${head} commit=${m.commit}${m.context.length > 0 ? ` ctx=${describeBytes(m.context)}` : ""}`;
    case "HeartbeatResp":
      return `${head}${m.context.length > 0 ? ` ctx=${describeBytes(m.context)}` : ""}`;
    case "Snap":
      return `${head} ${m.snapshot === undefined ? "(no snapshot)" : describeSnapshot(m.snapshot)}`;
    case "TimeoutNow":
      return head;
    case "ReadIndex":
      return `${head} ctx=${describeBytes(m.context)}`;
    case "ReadIndexResp":
      return `${head} index=${m.index} ctx=${describeBytes(m.context)}`;
  }
}

/** A Ready as indented lines (empty sections omitted). */
export function describeReady(rd: Ready, indent = "  "): string[] {
  const out: string[] = [];
  if (rd.softState !== undefined)
    out.push(`${indent}role=${rd.softState.role} leader=${rd.softState.leader}`);
  if (rd.hardState !== undefined) {
    const hs = rd.hardState;
    out.push(`${indent}hard-state term=${hs.term} vote=${hs.vote} commit=${hs.commit}`);
  }
  if (rd.snapshot !== undefined) out.push(`${indent}persist ${describeSnapshot(rd.snapshot)}`);
  for (const e of rd.entries) out.push(`${indent}persist ${describeEntry(e)}`);
  for (const e of rd.committedEntries) out.push(`${indent}apply ${describeEntry(e)}`);
  for (const rs of rd.readStates)
    out.push(`${indent}read-state index=${rs.index} ctx=${describeBytes(rs.requestCtx)}`);
  for (const m of rd.messages) out.push(`${indent}send ${describeMessage(m)}`);
  return out;
}

export function describeStatus(s: Status): string[] {
  const out = [
    `${s.id}: ${s.role} term=${s.term} vote=${s.vote} leader=${s.leader} commit=${s.commit} applied=${s.applied} ` +
      `log=[${s.firstIndex},${s.lastIndex}] ${describeConfState(s.config)}` +
      (s.leadTransferee !== 0 ? ` transferee=${s.leadTransferee}` : ""),
  ];
  if (s.progress !== undefined) {
    for (const [id, p] of s.progress) {
      out.push(
        `  ${id}: ${p.state} match=${p.match} next=${p.next}` +
          (p.isLearner ? " learner" : "") +
          (p.inflightMsgs > 0 ? ` inflight=${p.inflightMsgs}` : "") +
          (p.pendingSnapshot > 0 ? ` pendingSnapshot=${p.pendingSnapshot}` : ""),
      );
    }
  }
  return out;
}
