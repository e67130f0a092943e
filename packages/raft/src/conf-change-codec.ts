import type { ConfChange, ConfChangeEntry, ConfChangeType } from "./conf-change.js";
import { assert } from "./errors.js";
import type { NodeId } from "./types.js";

/*
 * Binary layout of a confChange entry's data (all integers are unsigned LEB128 varints):
 *   version(=1) hasChange [type nodeId contextLength context…] voterCount voters… learnerCount learners…
 * A committed entry that does not decode is a bug or corruption: decoding asserts (crash), like
 * any undecodable committed command.
 */

const VERSION = 1;
const TYPE_CODES: Record<ConfChangeType, number> = { addVoter: 1, addLearner: 2, removeNode: 3 };
const TYPES_BY_CODE: ReadonlyMap<number, ConfChangeType> = new Map(
  (Object.entries(TYPE_CODES) as Array<[ConfChangeType, number]>).map(([t, c]) => [c, t]),
);

class Writer {
  private readonly bytes: number[] = [];
  varint(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, `varint out of range: ${v}`);
    let x = v;
    while (x >= 0x80) {
      this.bytes.push((x % 0x80) | 0x80);
      x = Math.floor(x / 0x80);
    }
    this.bytes.push(x);
  }
  raw(b: Uint8Array): void {
    for (const x of b) this.bytes.push(x);
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly b: Uint8Array) {}
  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      const byte = this.b[this.pos++];
      assert(byte !== undefined, "conf change entry truncated");
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 0x80;
      assert(mul <= 2 ** 56, "conf change varint too long");
    }
  }
  raw(n: number): Uint8Array {
    assert(this.pos + n <= this.b.length, "conf change entry truncated");
    const out = this.b.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  done(): boolean {
    return this.pos === this.b.length;
  }
}

export function encodeConfChangeEntry(e: ConfChangeEntry): Uint8Array {
  const w = new Writer();
  w.varint(VERSION);
  if (e.change === undefined) {
    w.varint(0);
  } else {
    w.varint(1);
    w.varint(TYPE_CODES[e.change.type]);
    w.varint(e.change.nodeId);
    const ctx = e.change.context ?? new Uint8Array(0);
    w.varint(ctx.length);
    w.raw(ctx);
  }
  w.varint(e.conf.voters.length);
  for (const v of e.conf.voters) w.varint(v);
  w.varint(e.conf.learners.length);
  for (const l of e.conf.learners) w.varint(l);
  return w.finish();
}

export function decodeConfChangeEntry(data: Uint8Array): ConfChangeEntry {
  const r = new Reader(data);
  assert(r.varint() === VERSION, "unknown conf change entry version");
  let change: ConfChange | undefined;
  if (r.varint() === 1) {
    const type = TYPES_BY_CODE.get(r.varint());
    assert(type !== undefined, "unknown conf change type");
    const nodeId: NodeId = r.varint();
    const ctxLen = r.varint();
    const context = r.raw(ctxLen);
    change = ctxLen === 0 ? { type, nodeId } : { type, nodeId, context };
  }
  const voters: NodeId[] = [];
  for (let n = r.varint(); n > 0; n--) voters.push(r.varint());
  const learners: NodeId[] = [];
  for (let n = r.varint(); n > 0; n--) learners.push(r.varint());
  assert(r.done(), "trailing bytes in conf change entry");
  return { change, conf: { voters, learners } };
}
