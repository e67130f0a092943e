/** proto/raft.proto messages ⇄ the core's types. Field numbers must match the .proto file. */
import type { ConfState, Entry, EntryType, Message, MessageType, NodeId, Snapshot } from "@enigma/raft";
import { ProtoDecodeError, ProtoReader, ProtoWriter } from "./protobuf.js";

const MESSAGE_TYPE_CODES: Record<MessageType, number> = {
  App: 1,
  AppResp: 2,
  Vote: 3,
  VoteResp: 4,
  PreVote: 5,
  PreVoteResp: 6,
  Heartbeat: 7,
  HeartbeatResp: 8,
  Snap: 9,
  TimeoutNow: 10,
  ReadIndex: 11,
  ReadIndexResp: 12,
};
const MESSAGE_TYPES = new Map<number, MessageType>(
  Object.entries(MESSAGE_TYPE_CODES).map(([t, c]) => [c, t as MessageType]),
);
const ENTRY_TYPE_CODES: Record<EntryType, number> = { normal: 0, confChange: 1, noop: 2 };
const ENTRY_TYPES: readonly EntryType[] = ["normal", "confChange", "noop"];
const EMPTY = new Uint8Array(0);
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

function writeEntry(w: ProtoWriter, e: Entry): void {
  w.uint(1, e.term);
  w.uint(2, e.index);
  w.uint(3, ENTRY_TYPE_CODES[e.type]);
  w.bytes(4, e.data);
}

function readEntry(r: ProtoReader): Entry {
  let term = 0;
  let index = 0;
  let type: EntryType = "normal";
  let data: Uint8Array = EMPTY;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) term = r.varint();
    else if (field === 2) index = r.varint();
    else if (field === 3) {
      const t = ENTRY_TYPES[r.varint()];
      if (t === undefined) throw new ProtoDecodeError("unknown entry type");
      type = t;
    } else if (field === 4)
      data = r.bytes().slice(); // a copy: the log keeps it, not the whole batch
    else r.skip(wire);
  }
  return { term, index, type, data };
}

function writeConfState(w: ProtoWriter, cs: ConfState): void {
  w.packed(1, cs.voters);
  w.packed(2, cs.learners);
}

function readConfState(r: ProtoReader): ConfState {
  const voters: NodeId[] = [];
  const learners: NodeId[] = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) r.repeatedUint(wire, voters);
    else if (field === 2) r.repeatedUint(wire, learners);
    else r.skip(wire);
  }
  return { voters, learners };
}

function writeSnapshot(w: ProtoWriter, s: Snapshot): void {
  w.message(1, (m) => {
    m.uint(1, s.metadata.index);
    m.uint(2, s.metadata.term);
    m.message(3, (c) => writeConfState(c, s.metadata.confState));
  });
  w.bytes(2, s.data);
}

function readSnapshot(r: ProtoReader): Snapshot {
  let index = 0;
  let term = 0;
  let confState: ConfState = { voters: [], learners: [] };
  let data: Uint8Array = EMPTY;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) {
      const m = r.sub();
      while (!m.done()) {
        const t = m.tag();
        if (t.field === 1) index = m.varint();
        else if (t.field === 2) term = m.varint();
        else if (t.field === 3) confState = readConfState(m.sub());
        else m.skip(t.wire);
      }
    } else if (field === 2) data = r.bytes();
    else r.skip(wire);
  }
  return { metadata: { index, term, confState }, data };
}

export function writeMessage(w: ProtoWriter, m: Message): void {
  w.uint(1, MESSAGE_TYPE_CODES[m.type]);
  w.uint(2, m.from);
  w.uint(3, m.to);
  w.uint(4, m.term);
  w.uint(5, m.logTerm);
  w.uint(6, m.index);
  for (const e of m.entries) w.message(7, (x) => writeEntry(x, e));
  w.uint(8, m.commit);
  w.bool(9, m.reject);
  w.uint(10, m.rejectHint);
  if (m.snapshot !== undefined) {
    const s = m.snapshot;
    w.message(11, (x) => writeSnapshot(x, s));
  }
  w.bytes(12, m.context);
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new ProtoWriter(64 + m.entries.reduce((n, e) => n + e.data.length + 16, 0));
  writeMessage(w, m);
  return w.finish();
}

export function readMessage(r: ProtoReader): Message {
  let type: MessageType | undefined;
  let from = 0;
  let to = 0;
  let term = 0;
  let logTerm = 0;
  let index = 0;
  let entries: Entry[] | undefined;
  let commit = 0;
  let reject = false;
  let rejectHint = 0;
  let snapshot: Snapshot | undefined;
  let context: Uint8Array = EMPTY;
  while (!r.done()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1:
        type = MESSAGE_TYPES.get(r.varint());
        if (type === undefined) throw new ProtoDecodeError("unknown message type");
        break;
      case 2:
        from = r.varint();
        break;
      case 3:
        to = r.varint();
        break;
      case 4:
        term = r.varint();
        break;
      case 5:
        logTerm = r.varint();
        break;
      case 6:
        index = r.varint();
        break;
      case 7:
        if (entries === undefined) entries = [];
        entries.push(readEntry(r.sub()));
        break;
      case 8:
        commit = r.varint();
        break;
      case 9:
        reject = r.varint() !== 0;
        break;
      case 10:
        rejectHint = r.varint();
        break;
      case 11:
        snapshot = readSnapshot(r.sub());
        break;
      case 12:
        context = r.bytes();
        break;
      default:
        r.skip(wire);
    }
  }
  if (type === undefined) throw new ProtoDecodeError("message without a type");
  const m: Message = {
    type,
    from,
    to,
    term,
    logTerm,
    index,
    entries: entries ?? NO_ENTRIES,
    commit,
    reject,
    rejectHint,
    context,
  };
  return snapshot === undefined ? m : { ...m, snapshot };
}

export function decodeMessage(b: Uint8Array): Message {
  return readMessage(new ProtoReader(b));
}

/**
 * Encodes messages (all from `from` to `to`) into batches of at most `maxBytes` each (a single
 * larger message still gets a batch of its own; the core bounds App sizes well below the limit).
 */
export function encodeBatches(
  from: NodeId,
  to: NodeId,
  msgs: readonly Message[],
  maxBytes: number,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  let w: ProtoWriter | undefined;
  for (const m of msgs) {
    const enc = encodeMessage(m);
    if (w !== undefined && w.length + enc.length + 8 > maxBytes) {
      out.push(w.finish());
      w = undefined;
    }
    if (w === undefined) {
      w = new ProtoWriter(Math.min(maxBytes, enc.length + 64));
      w.uint(1, from);
      w.uint(2, to);
    }
    w.rawMessage(3, enc);
  }
  if (w !== undefined) out.push(w.finish());
  return out;
}

export function decodeBatch(b: Uint8Array): { from: NodeId; to: NodeId; messages: Message[] } {
  const r = new ProtoReader(b);
  let from = 0;
  let to = 0;
  const messages: Message[] = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) from = r.varint();
    else if (field === 2) to = r.varint();
    else if (field === 3) messages.push(readMessage(r.sub()));
    else r.skip(wire);
  }
  return { from, to, messages };
}

export function encodeSignedBatch(batch: Uint8Array, mac: Uint8Array): Uint8Array {
  const w = new ProtoWriter(batch.length + mac.length + 16);
  w.bytes(1, batch);
  w.bytes(2, mac);
  return w.finish();
}

export function decodeSignedBatch(b: Uint8Array): { batch: Uint8Array; mac: Uint8Array } {
  const r = new ProtoReader(b);
  let batch: Uint8Array = EMPTY;
  let mac: Uint8Array = EMPTY;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) batch = r.bytes();
    else if (field === 2) mac = r.bytes();
    else r.skip(wire);
  }
  return { batch, mac };
}

export interface SnapshotHeader {
  readonly message: Message;
  readonly sizeBytes: number;
  readonly sha256: Uint8Array;
}

export function encodeSnapshotHeader(h: SnapshotHeader): Uint8Array {
  const w = new ProtoWriter(256);
  w.rawMessage(1, encodeMessage(h.message));
  w.uint(2, h.sizeBytes);
  w.bytes(3, h.sha256);
  return w.finish();
}

export function decodeSnapshotHeader(b: Uint8Array): SnapshotHeader {
  const r = new ProtoReader(b);
  let message: Message | undefined;
  let sizeBytes = 0;
  let sha256: Uint8Array = EMPTY;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) message = readMessage(r.sub());
    else if (field === 2) sizeBytes = r.varint();
    else if (field === 3) sha256 = r.bytes();
    else r.skip(wire);
  }
  if (message === undefined) throw new ProtoDecodeError("snapshot header without a message");
  return { message, sizeBytes, sha256 };
}

/** A SnapshotChunk whose header is already encoded (the MAC covers those exact bytes). */
export function encodeSnapshotChunk(c: {
  header?: Uint8Array;
  headerMac?: Uint8Array;
  data?: Uint8Array;
}): Uint8Array {
  const w = new ProtoWriter(64 + (c.data?.length ?? 0) + (c.header?.length ?? 0));
  if (c.header !== undefined) w.rawMessage(1, c.header);
  if (c.headerMac !== undefined) w.bytes(2, c.headerMac);
  if (c.data !== undefined) w.bytes(3, c.data);
  return w.finish();
}

export function decodeSnapshotChunk(b: Uint8Array): {
  header: Uint8Array | undefined;
  headerMac: Uint8Array;
  data: Uint8Array;
} {
  const r = new ProtoReader(b);
  let header: Uint8Array | undefined;
  let headerMac: Uint8Array = EMPTY;
  let data: Uint8Array = EMPTY;
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) header = r.bytes();
    else if (field === 2) headerMac = r.bytes();
    else if (field === 3) data = r.bytes();
    else r.skip(wire);
  }
  return { header, headerMac, data };
}

export function encodeSnapshotAck(a: { accepted: boolean; error: string }): Uint8Array {
  const w = new ProtoWriter(64);
  w.bool(1, a.accepted);
  w.string(2, a.error);
  return w.finish();
}

export function decodeSnapshotAck(b: Uint8Array): { accepted: boolean; error: string } {
  const r = new ProtoReader(b);
  let accepted = false;
  let error = "";
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) accepted = r.varint() !== 0;
    else if (field === 2) error = r.string();
    else r.skip(wire);
  }
  return { accepted, error };
}
