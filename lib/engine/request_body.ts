/**
 * A request body, streamed from the socket as the handler reads it (RFC 9112 §6): a byte stream
 * with no buffer of its own (highWaterMark 0), so an unread body is never pulled in and
 * `100 Continue` is sent only when the handler starts reading (RFC 9110 §10.1.1). What the
 * handler leaves unread is drained after the response, within a budget, so the next request is
 * framed from the right byte.
 *
 * @module
 */

import { ChunkedDecoder } from "../h1/chunked.ts";
import { HttpError, type Limits } from "../h1/errors.ts";
import type { RequestHead } from "../h1/request_head.ts";
import { isConnectionGone, PeerClosed } from "./errors.ts";
import type { Input } from "./input.ts";

/** Body bytes read per `conn.read` when a body is not already buffered. */
const BODY_READ_SIZE = 64 * 1024;

/** What a request body needs from its connection. */
export interface BodyWire {
  readonly input: Input;
  /** Sends `100 Continue` (and what is queued before it) and waits until it is written. */
  sendContinue(): Promise<void>;
  /**
   * One read on the body clock (the body timeout), sending what is queued first if `sendFirst`.
   * Resolves with the byte count, or null when the peer closed.
   */
  readOnBodyClock(read: () => Promise<number | null>, sendFirst: boolean): Promise<number | null>;
  /** Reads straight from the socket into `buffer`. */
  readInto(buffer: Uint8Array): Promise<number | null>;
}

/** The body of one request, as it is read. */
export class RequestBody {
  readonly #wire: BodyWire;
  /** Bytes left for a Content-Length body. */
  remaining: number;
  readonly #decoder: ChunkedDecoder | null;
  /** All of it has been read. */
  done = false;
  /** 100 Continue was sent, or was never asked for. */
  continued: boolean;
  /** A read is in flight through the stream. */
  #pulling = false;
  /** The exchange is over; the body can no longer be read. */
  #detached = false;
  /** What ended the body early: a framing error (HttpError), the peer leaving, or a bug. */
  error: unknown = undefined;
  readonly stream: ReadableStream<Uint8Array>;

  constructor(head: RequestHead, limits: Limits, wire: BodyWire) {
    this.#wire = wire;
    const framing = head.framing;
    this.remaining = framing.kind === "length" ? framing.length : 0;
    this.#decoder = framing.kind === "chunked" ? new ChunkedDecoder(limits) : null;
    this.continued = !head.expectContinue;
    this.stream = new ReadableStream({
      type: "bytes",
      pull: async (controller) => {
        if (this.#detached) {
          controller.error(new Error("the request body was read after the response was sent"));
          return;
        }
        this.#pulling = true;
        try {
          const chunk = await this.#nextChunk();
          if (chunk === null) {
            controller.close();
            controller.byobRequest?.respond(0);
          } else {
            controller.enqueue(chunk);
          }
        } catch (error) {
          this.error = error;
          controller.error(error);
        } finally {
          this.#pulling = false;
        }
      },
    });
  }

  /** The exchange is over: from now on the handler's reads fail. */
  detach(): void {
    this.#detached = true;
  }

  /** The next piece of the body (a copy the handler may keep), or null at its end. */
  async #nextChunk(sendFirst = false): Promise<Uint8Array | null> {
    if (this.done) return null;
    const wire = this.#wire;
    const input = wire.input;
    if (!this.continued) {
      this.continued = true;
      await wire.sendContinue();
    }
    const decoder = this.#decoder;
    if (decoder === null) {
      if (!input.buffered && input.pending !== null) {
        // A read started while the previous handler ran comes first.
        await this.#read(() => input.read(), sendFirst, "before the request body ended");
      }
      let chunk: Uint8Array;
      if (input.buffered) {
        chunk = input.take(Math.min(this.remaining, input.end - input.start));
      } else {
        // Read straight into the chunk handed out: no copy, and never past this body.
        const fresh = new Uint8Array(Math.min(this.remaining, BODY_READ_SIZE));
        const n = await this.#read(
          () => wire.readInto(fresh),
          sendFirst,
          "before the request body ended",
        );
        chunk = fresh.subarray(0, n);
      }
      this.remaining -= chunk.length;
      if (this.remaining === 0) this.done = true;
      return chunk;
    }
    for (;;) {
      const parts: Uint8Array[] = [];
      const used = decoder.decode(input.buf, input.start, input.end, parts);
      const chunk = parts.length === 0 ? null : concat(parts);
      input.consume(used);
      if (decoder.done) this.done = true;
      if (chunk !== null) return chunk;
      if (this.done) return null;
      await this.#read(() => input.read(), sendFirst, "before the chunked body ended");
    }
  }

  async #read(
    read: () => Promise<number | null>,
    sendFirst: boolean,
    closedWhen: string,
  ): Promise<number> {
    const n = await this.#wire.readOnBodyClock(read, sendFirst);
    if (n === null) throw new PeerClosed(closedWhen);
    return n;
  }

  /**
   * Reads and discards what the handler left, at most `budget` bytes, so the next request is
   * framed from the right byte. Resolves false when the connection must close instead.
   */
  async drain(budget: number): Promise<boolean> {
    if (this.#pulling || this.error) return false; // the handler is still reading, or it broke
    try {
      while (!this.done) {
        // The response is complete: send it before waiting for the rest of the body. A client
        // may wait for it before sending more (it answered after part of an upload), and a body
        // that stalls would end in the body timeout with the response never sent.
        const chunk = await this.#nextChunk(true);
        if (chunk === null) break;
        budget -= chunk.length;
        if (budget < 0) return false;
      }
      return true;
    } catch (error) {
      if (error instanceof HttpError || isConnectionGone(error)) return false;
      throw error;
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0].slice();
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
