/**
 * One writer per response framing (RFC 9112 §6), chosen once when the head is written, as h11's
 * `ContentLengthWriter`, `ChunkedWriter` and `Http10Writer`: each puts body chunks on the wire
 * in its own way and knows how a body ends.
 *
 * @module
 */

import type { Framing } from "../h1/response_head.ts";
import { COPY_LIMIT, type Output } from "./output.ts";

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/** A declared Content-Length the body did not keep to: the connection must be cut. */
export class LengthMismatch extends Error {
  constructor(declared: number, sent: number, longer: boolean) {
    super(
      `the response body is ${longer ? "longer" : "shorter"} than its Content-Length ` +
        `(${declared}; ${longer ? "more than" : "only"} ${sent} bytes)`,
    );
    this.name = "LengthMismatch";
  }
}

/** Puts one response's body on the wire. */
export interface BodyWriter {
  /** Body bytes written so far. */
  readonly sent: number;
  /** Queues (or writes, when large: then it returns a promise) one chunk. */
  put(chunk: Uint8Array): Promise<void> | void;
  /** Ends the body: the last chunk, a check of the length, or the flush a close relies on. */
  end(): Promise<void> | void;
}

/** Large chunks are written directly after what is queued; small ones join the queue. */
function put(out: Output, chunk: Uint8Array): Promise<void> | void {
  if (chunk.length <= COPY_LIMIT) out.queue(chunk);
  else return out.writeDirect(chunk);
}

/**
 * Exactly `length` bytes. A body that runs long is cut at the declared length and one that ends
 * short is an error: either way the connection closes, so the client sees the truncation
 * instead of a relabelled body (RFC 9112 §6.3 ¶5, §8).
 */
class LengthWriter implements BodyWriter {
  readonly #out: Output;
  readonly #length: number;
  sent = 0;

  constructor(out: Output, length: number) {
    this.#out = out;
    this.#length = length;
  }

  put(chunk: Uint8Array): Promise<void> | void {
    const room = this.#length - this.sent;
    if (chunk.length > room) return this.#overflow(chunk, room);
    this.sent += chunk.length;
    return put(this.#out, chunk);
  }

  /** Sends what fits, then fails: the connection will be cut there. */
  async #overflow(chunk: Uint8Array, room: number): Promise<void> {
    if (room > 0) await this.put(chunk.subarray(0, room));
    throw new LengthMismatch(this.#length, this.#length + chunk.length - room, true);
  }

  end(): void {
    if (this.sent !== this.#length) throw new LengthMismatch(this.#length, this.sent, false);
  }
}

/** The chunked transfer coding (RFC 9112 §7.1), with no extensions and no trailers. */
class ChunkedWriter implements BodyWriter {
  readonly #out: Output;
  sent = 0;

  constructor(out: Output) {
    this.#out = out;
  }

  put(chunk: Uint8Array): Promise<void> | void {
    if (chunk.length === 0) return; // a zero-size chunk would end the body
    this.sent += chunk.length;
    this.#out.queueText(`${chunk.length.toString(16)}\r\n`);
    const writing = put(this.#out, chunk);
    if (writing === undefined) this.#out.queue(CRLF);
    else return writing.then(() => this.#out.queue(CRLF));
  }

  end(): void {
    this.#out.queue(LAST_CHUNK);
  }
}

/** Delimited by closing the connection (RFC 9112 §6.3 ¶8): an HTTP/1.0 client, no length. */
class CloseWriter implements BodyWriter {
  readonly #out: Output;
  sent = 0;

  constructor(out: Output) {
    this.#out = out;
  }

  put(chunk: Uint8Array): Promise<void> | void {
    this.sent += chunk.length;
    return put(this.#out, chunk);
  }

  end(): Promise<void> {
    return this.#out.flush();
  }
}

/** The writer for `framing` ("none" has none: nothing of a body goes out). */
export function bodyWriter(
  out: Output,
  framing: Exclude<Framing, "none">,
  length: number,
): BodyWriter {
  switch (framing) {
    case "length":
      return new LengthWriter(out, length);
    case "chunked":
      return new ChunkedWriter(out);
    case "close":
      return new CloseWriter(out);
  }
}
