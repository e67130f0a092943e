import type { Readable } from "node:stream";

/**
 * Pieces queued ahead of the consumer before the request is paused (the socket then stops being
 * read once Node's own small buffer fills). The parser hands pieces of up to 64 KiB over, so this
 * is four of them: the consumer runs on the same thread, so a deeper queue would only delay
 * backpressure, and it is per request (memory × concurrent uploads). 128 KiB and 512 KiB measured
 * the same as this within the host's noise.
 */
export const BODY_QUEUE_MAX_BYTES = 256 * 1024;

/** The request ended (connection closed) before its body did. */
export class PrematureCloseError extends Error {
  readonly code = "ERR_STREAM_PREMATURE_CLOSE";
  constructor() {
    super("the request closed before its body ended");
  }
}

const DONE: IteratorResult<Buffer> = { done: true, value: undefined };

/**
 * A request body as an async iterator over the pieces Node's HTTP parser emits, each passed to
 * `onPiece` first (byte counting). It does what `for await (const b of req)` does, for less: Node's
 * stream iterator is an async generator driven by `readable` events and `read()`, several promise
 * hops per 64 KiB piece (profiled on the gateway's main thread, the iterator chain a PUT body passed
 * through cost ~10 % of that thread). Here a piece is handed to a waiting `next()` directly, or
 * queued (at most BODY_QUEUE_MAX_BYTES, then the request is paused until the queue drained half).
 *
 * Same contract as Node's iterator: an `error` event rejects the next `next()` (queued pieces are
 * dropped, the body is bad anyway); a close before `end` rejects with PrematureCloseError. Unlike
 * it, leaving early (`return()`) before the end pauses the request instead of destroying it: the
 * handler answers the error first and then decides what the rest of the body costs (sendError
 * drains a bounded amount, else closes the connection). Destroying it here reset the connection
 * before the answer was written.
 */
export class RequestBodyReader implements AsyncIterableIterator<Buffer> {
  readonly #stream: Readable;
  readonly #onPiece: ((bytes: number) => void) | undefined;
  readonly #queue: Buffer[] = [];
  #queuedBytes = 0;
  #listening = false;
  #ended = false;
  #error: Error | undefined;
  #finished = false;
  #waiter: { resolve: (r: IteratorResult<Buffer>) => void; reject: (err: Error) => void } | undefined;

  constructor(stream: Readable, onPiece?: (bytes: number) => void) {
    this.#stream = stream;
    this.#onPiece = onPiece;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Buffer> {
    return this;
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.#finished) return Promise.resolve(DONE);
    if (!this.#listening) this.#listen();
    if (this.#error !== undefined) {
      const err = this.#error;
      this.#finish();
      return Promise.reject(err);
    }
    const piece = this.#queue.shift();
    if (piece !== undefined) {
      this.#queuedBytes -= piece.length;
      if (this.#queuedBytes <= BODY_QUEUE_MAX_BYTES / 2 && this.#stream.isPaused()) this.#stream.resume();
      return Promise.resolve({ done: false, value: piece });
    }
    if (this.#ended) {
      this.#finish();
      return Promise.resolve(DONE);
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<Buffer>> {
    const complete = this.#ended && this.#error === undefined;
    this.#finish();
    if (!complete && !this.#stream.destroyed) this.#stream.pause();
    return Promise.resolve(DONE);
  }

  #listen(): void {
    this.#listening = true;
    const s = this.#stream;
    s.on("data", this.#onData);
    s.on("end", this.#onEnd);
    s.on("error", this.#onError);
    s.on("close", this.#onClose);
    // A `data` listener starts the flow unless someone paused the stream explicitly: we own it now.
    if (s.isPaused()) s.resume();
    // A stream destroyed or ended before anyone listened emits nothing more.
    if (s.readableEnded) this.#ended = true;
    else if (s.destroyed) this.#error ??= (s.errored as Error | null) ?? new PrematureCloseError();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#queue.length = 0;
    this.#queuedBytes = 0;
    if (!this.#listening) return;
    const s = this.#stream;
    s.off("data", this.#onData);
    s.off("end", this.#onEnd);
    s.off("close", this.#onClose);
    // Keep an error listener: a late error must not become an uncaught exception.
    s.off("error", this.#onError);
    s.on("error", ignore);
  }

  readonly #onData = (piece: Buffer): void => {
    this.#onPiece?.(piece.length);
    const w = this.#waiter;
    if (w !== undefined) {
      this.#waiter = undefined;
      w.resolve({ done: false, value: piece });
      return;
    }
    this.#queue.push(piece);
    this.#queuedBytes += piece.length;
    if (this.#queuedBytes >= BODY_QUEUE_MAX_BYTES) this.#stream.pause();
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    const w = this.#waiter;
    if (w === undefined) return;
    this.#waiter = undefined;
    this.#finish();
    w.resolve(DONE);
  };

  readonly #onError = (err: Error): void => {
    this.#fail(err);
  };

  readonly #onClose = (): void => {
    if (!this.#ended) this.#fail(new PrematureCloseError());
  };

  #fail(err: Error): void {
    this.#error ??= err;
    const w = this.#waiter;
    if (w === undefined) return;
    this.#waiter = undefined;
    const first = this.#error;
    this.#finish();
    w.reject(first);
  }
}

function ignore(): void {}
