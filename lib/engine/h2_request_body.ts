/**
 * An HTTP/2 request body as the handler's `ReadableStream`, fed by the session's DATA events.
 *
 * Flow control is the backpressure (RFC 9113 §5.2): a chunk is reported consumed, which lets
 * the client send that much again, only when the handler's reader takes it. What waits here is
 * therefore bounded by the windows we advertised, whatever the client does.
 *
 * @module
 */

import { HttpError } from "../h1/errors.ts";

/** What a body needs from its stream. */
export interface BodyFeed {
  /** The handler took `n` octets: return them to the client's windows. */
  consumed(n: number): void;
  /** The body broke a limit (413): the stream cannot go on. */
  tooLarge(): void;
}

export class H2RequestBody {
  readonly stream: ReadableStream<Uint8Array>;
  readonly #feed: BodyFeed;
  readonly #maxBytes: number;
  readonly #bodyTimeout: number;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  readonly #queue: Uint8Array[] = [];
  #received = 0;
  #ended = false;
  /** The handler cancelled the stream, or it failed: later DATA is only counted and dropped. */
  #finished = false;
  /** A read waits for DATA. */
  #waiting = false;
  /** When the read waiting for DATA gives up (ms since epoch). */
  deadline = Infinity;
  /** Why the body failed, if it did (413 for a body over the limit). */
  error: unknown = null;

  constructor(feed: BodyFeed, maxBytes: number, bodyTimeout: number) {
    this.#feed = feed;
    this.#maxBytes = maxBytes;
    this.#bodyTimeout = bodyTimeout;
    this.stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: () => this.#pull(),
      cancel: () => this.#cancel(),
    }, { highWaterMark: 0 });
  }

  /** Whether all of the body arrived (or it ended otherwise). */
  get done(): boolean {
    return this.#ended || this.#finished;
  }

  /** DATA arrived; `end` is END_STREAM (or the trailers that ended the body). */
  push(data: Uint8Array, end: boolean): void {
    if (this.#finished) {
      this.#feed.consumed(data.length);
      return;
    }
    this.#received += data.length;
    if (this.#received > this.#maxBytes) {
      this.#feed.consumed(data.length);
      this.fail(new HttpError(413, `request body larger than ${this.#maxBytes} bytes`));
      this.#feed.tooLarge();
      return;
    }
    if (data.length > 0) {
      if (this.#waiting) this.#deliver(data);
      else this.#queue.push(data);
    }
    if (end) this.end();
  }

  /** The body is complete. */
  end(): void {
    if (this.#ended || this.#finished) return;
    this.#ended = true;
    if (this.#waiting) this.#close();
  }

  /** The stream was reset or the connection lost: a read waiting, or the next, fails. */
  fail(error: unknown): void {
    if (this.#finished || (this.#ended && this.#queue.length === 0 && !this.#waiting)) return;
    this.#finished = true;
    this.error = error;
    this.deadline = Infinity;
    let queued = 0;
    for (const chunk of this.#queue) queued += chunk.length;
    this.#queue.length = 0;
    this.#waiting = false;
    try {
      this.#controller.error(error);
    } catch {
      // already closed or errored
    }
    if (queued > 0) this.#feed.consumed(queued);
  }

  #pull(): void {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      this.#feed.consumed(chunk.length);
      this.#controller.enqueue(chunk);
      if (this.#ended && this.#queue.length === 0) this.#close();
      return;
    }
    if (this.#ended) {
      this.#close();
      return;
    }
    // Nothing yet: the next DATA goes straight to this read.
    this.#waiting = true;
    this.deadline = Date.now() + this.#bodyTimeout;
  }

  #deliver(chunk: Uint8Array): void {
    this.#waiting = false;
    this.deadline = Infinity;
    this.#feed.consumed(chunk.length);
    this.#controller.enqueue(chunk);
  }

  #close(): void {
    this.#waiting = false;
    this.deadline = Infinity;
    this.#finished = true;
    try {
      this.#controller.close();
    } catch {
      // already closed
    }
  }

  #cancel(): void {
    this.#finished = true;
    this.#waiting = false;
    this.deadline = Infinity;
    let queued = 0;
    for (const chunk of this.#queue) queued += chunk.length;
    this.#queue.length = 0;
    if (queued > 0) this.#feed.consumed(queued);
  }
}
