/**
 * A minimal protobuf (proto3) wire writer and reader: varints, length-delimited fields, packed
 * repeated varints. The message codecs built on it (raft-codec.ts, cluster-codec.ts) follow
 * proto/raft.proto and proto/cluster.proto field by field; codec.test.ts checks them against the
 * .proto files through @grpc/proto-loader. Hand-written so the bundled binary needs no .proto file
 * at run time and the hot path (Raft batches) allocates little.
 *
 * Integers are JavaScript numbers: every uint64 we carry (terms, indexes, ids, sizes) is a safe
 * integer; a larger value on the wire is refused.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

export class ProtoWriter {
  #buf: Uint8Array;
  #pos = 0;

  constructor(initialBytes = 256) {
    this.#buf = new Uint8Array(initialBytes);
  }

  get length(): number {
    return this.#pos;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
    this.#ensure(10);
    let x = v;
    while (x >= 0x80) {
      this.#buf[this.#pos++] = (x % 0x80) | 0x80;
      x = Math.floor(x / 0x80);
    }
    this.#buf[this.#pos++] = x;
  }

  #tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A uint64/uint32/enum field; zero is the default and is not written (proto3). */
  uint(field: number, v: number): void {
    if (v === 0) return;
    this.#tag(field, WIRE_VARINT);
    this.varint(v);
  }

  bool(field: number, v: boolean): void {
    if (!v) return;
    this.#tag(field, WIRE_VARINT);
    this.varint(1);
  }

  bytes(field: number, v: Uint8Array): void {
    if (v.length === 0) return;
    this.#tag(field, WIRE_LEN);
    this.varint(v.length);
    this.#ensure(v.length);
    this.#buf.set(v, this.#pos);
    this.#pos += v.length;
  }

  string(field: number, v: string): void {
    this.bytes(field, utf8.encode(v));
  }

  /** An embedded message, written even when empty (presence matters for message fields). */
  message(field: number, encode: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter(64);
    encode(inner);
    const b = inner.finish();
    this.#tag(field, WIRE_LEN);
    this.varint(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** An already-encoded embedded message. */
  rawMessage(field: number, b: Uint8Array): void {
    this.#tag(field, WIRE_LEN);
    this.varint(b.length);
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  /** repeated uint64, packed (the proto3 default). */
  packed(field: number, values: readonly number[]): void {
    if (values.length === 0) return;
    const inner = new ProtoWriter(values.length * 2 + 8);
    for (const v of values) inner.varint(v);
    this.rawMessage(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }
}

export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(`protobuf: ${message}`);
    this.name = "ProtoDecodeError";
  }
}

/** Reads fields in order; unknown fields are skipped (forward compatibility). */
export class ProtoReader {
  readonly #b: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(b: Uint8Array, start = 0, end = b.length) {
    this.#b = b;
    this.#pos = start;
    this.#end = end;
  }

  done(): boolean {
    return this.#pos >= this.#end;
  }

  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.#pos >= this.#end) throw new ProtoDecodeError("truncated varint");
      const byte = this.#b[this.#pos++]!;
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) break;
      mul *= 0x80;
      if (mul > 2 ** 63) throw new ProtoDecodeError("varint too long");
    }
    if (!Number.isSafeInteger(v)) throw new ProtoDecodeError(`integer beyond 2^53: ${v}`);
    return v;
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.varint();
    return { field: Math.floor(t / 8), wire: t % 8 };
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.#pos + n > this.#end) throw new ProtoDecodeError("truncated bytes");
    const out = this.#b.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  string(): string {
    try {
      return fromUtf8.decode(this.bytes());
    } catch (err) {
      if (err instanceof ProtoDecodeError) throw err;
      throw new ProtoDecodeError("invalid UTF-8 in string field");
    }
  }

  /** A sub-reader over an embedded message. */
  sub(): ProtoReader {
    const n = this.varint();
    if (this.#pos + n > this.#end) throw new ProtoDecodeError("truncated message");
    const r = new ProtoReader(this.#b, this.#pos, this.#pos + n);
    this.#pos += n;
    return r;
  }

  /** repeated uint64: packed or not. */
  repeatedUint(wire: number, into: number[]): void {
    if (wire === WIRE_VARINT) {
      into.push(this.varint());
      return;
    }
    if (wire !== WIRE_LEN) throw new ProtoDecodeError(`bad wire type ${wire} for repeated integer`);
    const r = this.sub();
    while (!r.done()) into.push(r.varint());
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.#advance(8);
        return;
      case WIRE_LEN:
        this.bytes();
        return;
      case WIRE_I32:
        this.#advance(4);
        return;
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire}`);
    }
  }

  #advance(n: number): void {
    if (this.#pos + n > this.#end) throw new ProtoDecodeError("truncated field");
    this.#pos += n;
  }
}
