import { S3Error } from "../errors.js";

/**
 * Pull-based reader over a stream of Buffers, for parsing aws-chunked framing without copying data:
 * lines are assembled from small pieces, payload bytes are handed out as subarrays of what arrived.
 */
export class ByteReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly iterator: AsyncIterator<Buffer>;
  private ended = false;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done === true) {
      this.ended = true;
      return false;
    }
    const chunk = next.value;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    return true;
  }

  /** A line without its CRLF (a bare LF is tolerated). IncompleteBody at EOF, `tooLong` past maxBytes. */
  async readLine(maxBytes: number, tooLong: () => S3Error): Promise<string> {
    for (;;) {
      const lf = this.pending.indexOf(0x0a);
      if (lf >= 0) {
        if (lf > maxBytes) throw tooLong();
        const end = lf > 0 && this.pending[lf - 1] === 0x0d ? lf - 1 : lf;
        const line = this.pending.subarray(0, end).toString("latin1");
        this.pending = this.pending.subarray(lf + 1);
        return line;
      }
      if (this.pending.length > maxBytes) throw tooLong();
      if (!(await this.pull())) throw new S3Error("IncompleteBody");
    }
  }

  /** Exactly `count` bytes, as they arrive. IncompleteBody if the stream ends first. */
  async *readExactly(count: number): AsyncGenerator<Buffer> {
    let remaining = count;
    while (remaining > 0) {
      if (this.pending.length === 0 && !(await this.pull())) throw new S3Error("IncompleteBody");
      const take = Math.min(remaining, this.pending.length);
      const piece = this.pending.subarray(0, take);
      this.pending = this.pending.subarray(take);
      remaining -= take;
      yield piece;
    }
  }

  /** Consumes the rest; true if nothing but CR/LF remained. */
  async drainIsBlank(): Promise<boolean> {
    for (;;) {
      for (const byte of this.pending) if (byte !== 0x0d && byte !== 0x0a) return false;
      this.pending = Buffer.alloc(0);
      if (!(await this.pull())) return true;
    }
  }
}
