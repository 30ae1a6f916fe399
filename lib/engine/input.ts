/**
 * The input side of a connection: the bytes read and not yet consumed, `buf[start, end)`.
 *
 * A connection waits for its next request in a small idle buffer, pooled; heads and chunked
 * bodies that need more room move to a working buffer that grows up to the head limit and is
 * dropped again when the connection idles, so an idle connection holds little memory.
 *
 * At most one read is in flight. A read may be started ahead (while a handler runs, see
 * {@link Input.readAhead}) and is then taken by the next {@link Input.read}.
 *
 * @module
 */

import { type Arrival, NEVER_ARRIVED, readDelivered, readStarting } from "../shared/arrival.ts";
import { BufferPool } from "./buffer_pool.ts";

/**
 * The buffer a connection waits for its next request in: what an idle connection holds. Most
 * heads (and 16 pipelined benchmark GETs) fit; if not, the rest goes to the working buffer.
 */
const IDLE_BUFFER_SIZE = 1024;
/** The working buffer, for heads and chunked bodies; it grows up to the head limit. */
const READ_BUFFER_SIZE = 4 * 1024;

const idleBuffers = new BufferPool(IDLE_BUFFER_SIZE, 256);

/** A connection's read buffer. */
export class Input {
  readonly #conn: Deno.Conn;
  /** The buffer bytes are read into: the idle one or the working one; `[start, end)` is unread. */
  buf: Uint8Array;
  start = 0;
  end = 0;
  readonly #idleBuf = idleBuffers.take();
  /** The working buffer, made when needed and dropped when idle (see `release`). */
  #work: Uint8Array | null = null;
  /** Reads into `buf` under way (or failed): the idle buffer is pooled only at zero. */
  #reading = 0;
  /** When the read in flight was started (see lib/shared/arrival.ts). */
  #readStarted = 0;
  /** When the bytes in the buffer arrived: never, until a read has returned some. */
  arrival: Arrival = NEVER_ARRIVED;
  /** A read started ahead, not yet taken by `read`. */
  pending: Promise<number | null> | null = null;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.buf = this.#idleBuf;
  }

  /** Whether unread bytes are buffered. */
  get buffered(): boolean {
    return this.start < this.end;
  }

  /**
   * Reads more bytes into the buffer. With nothing buffered between requests (`waiting`), that
   * is the small idle buffer; otherwise the working buffer, compacted or grown first if full.
   * A read started ahead is taken instead: its bytes land where this read's would have.
   */
  read(waiting = false): Promise<number | null> {
    const pending = this.pending;
    if (pending === null) return this.#readMore(waiting);
    this.pending = null;
    return pending;
  }

  async #readMore(waiting: boolean): Promise<number | null> {
    return this.readDone(await this.startRead(waiting));
  }

  /**
   * Starts a read; the caller awaits it and hands the result to `readDone` (not on a failed read:
   * then the buffer is never pooled, which is safe). Split so that the loop waiting for the next
   * request awaits the socket itself, with no async frame between.
   */
  startRead(waiting: boolean): Promise<number | null> {
    if (waiting && this.start === this.end) {
      this.buf = this.#idleBuf;
      this.start = this.end = 0;
    } else if (this.buf === this.#idleBuf) {
      this.#moveTo(this.#work ??= new Uint8Array(READ_BUFFER_SIZE));
    } else if (this.end === this.buf.length) {
      if (this.start > 0) this.#moveTo(this.buf);
      else this.#moveTo(this.#work = new Uint8Array(this.buf.length * 2));
    }
    this.#reading++;
    this.#readStarted = readStarting();
    // The whole buffer when empty: no view object to make, the usual case between requests.
    return this.#conn.read(this.end === 0 ? this.buf : this.buf.subarray(this.end));
  }

  /** A read started by `startRead` returned `n`. */
  readDone(n: number | null): number | null {
    this.#reading--;
    if (n !== null) {
      this.end += n;
      this.arrival = readDelivered(this.#readStarted);
    }
    return n;
  }

  /** Moves the unread bytes to the start of `to` (which may be the current buffer). */
  #moveTo(to: Uint8Array): void {
    if (to === this.buf) to.copyWithin(0, this.start, this.end);
    else to.set(this.buf.subarray(this.start, this.end));
    this.end -= this.start;
    this.start = 0;
    this.buf = to;
  }

  /** Marks `n` buffered bytes as used. */
  consume(n: number): void {
    this.start += n;
    // A pending read fills from `end` on: the offsets must stay where it will find them.
    if (this.start === this.end && this.pending === null) this.start = this.end = 0;
  }

  /** `n` buffered bytes as a copy the caller may keep, consumed. */
  take(n: number): Uint8Array {
    const bytes = this.buf.slice(this.start, this.start + n);
    this.consume(n);
    return bytes;
  }

  /**
   * Starts a read now, as the loop would do next anyway, and calls `ended` if it finds the end of
   * the connection: EOF (no error), or the error the read failed with. Either is kept as the
   * pending read, so the next `read` sees it too.
   */
  readAhead(ended: (error?: unknown) => void): void {
    if (this.pending !== null) return;
    const read = this.pending = this.#readMore(this.start === this.end);
    read.then((n) => {
      if (n === null) ended();
      else if (this.pending === read) this.pending = null; // its bytes are in the buffer
    }, (error) => ended(error ?? new Error("the read failed")));
  }

  /** Drops the working buffer of an idle connection, which reads into the idle one. */
  release(): void {
    this.#work = null;
  }

  /** Pools the idle buffer once nothing can read into it any more. */
  dispose(): void {
    if (this.#reading === 0) idleBuffers.give(this.#idleBuf);
  }
}
