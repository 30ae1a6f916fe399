/**
 * The output side of a connection: response bytes are queued and sent when the loop would
 * otherwise wait (for more request bytes, or for an async handler), so a batch of pipelined
 * responses costs one `write`. At most one write is in flight, double-buffered: the loop queues
 * into one buffer while the other is being written, and never waits for a write it need not.
 *
 * Head text is gathered as a string and encoded once, when bytes follow it or it is sent: each
 * encoding is a call into the runtime, and a batch of pipelined heads would otherwise make two
 * of them per response.
 *
 * @module
 */

import { encodeLatin1Into } from "../h1/grammar.ts";
import { BufferPool } from "./buffer_pool.ts";
import type { ExchangeInfo } from "./exchange_info.ts";

/**
 * Initial output buffer; it grows for larger responses. Small, because an idle connection keeps
 * it until the reaper's next pass.
 */
const OUT_BUFFER_SIZE = 1024;
/** Queued response bytes that trigger a write even if more pipelined requests wait. */
export const OUT_HIGH_WATER = 64 * 1024;
/** Chunks larger than this are written directly instead of being copied into the queue. */
export const COPY_LIMIT = 16 * 1024;
/** Queued text is encoded into the output buffer once it reaches this length. */
const TEXT_BATCH = 4 * 1024;
/** Text up to this long is encoded by a loop rather than by a call into the runtime. */
const SHORT_TEXT = 64;

const outBuffers = new BufferPool(OUT_BUFFER_SIZE, 256);

/** What the output tells its connection. */
export interface OutputEvents {
  /** A write failed: the peer is gone, close everything. */
  writeFailed(): void;
  /** A write finished and nothing more is queued. */
  drained(): void;
}

/** The queue of response bytes of one connection, and the write in flight. */
export class Output {
  readonly #conn: Deno.Conn;
  readonly #writeTimeout: number;
  readonly #events: OutputEvents;

  #out: Uint8Array | null = null;
  #outLen = 0;
  /** Text queued after the `#outLen` bytes, not yet encoded. */
  #text = "";
  /** The buffer the write in flight is sending from; it becomes the next `#out`. */
  #spare: Uint8Array | null = null;
  #writing: Promise<void> | null = null;
  /** What the write in flight has still to send. */
  #writingData: Uint8Array | null = null;
  /** When the write in flight must have finished (ms since epoch). */
  deadline = Infinity;
  /**
   * Infos whose responses end in the queued bytes, and in the write in flight: made when first
   * needed and dropped by `release`, as are the write's handlers, so an idle connection holds
   * none of them.
   */
  #unsent: ExchangeInfo[] | null = null;
  #inFlight: ExchangeInfo[] | null = null;
  #written: ((n: number) => Promise<void> | undefined) | null = null;
  #writeFailed: (() => void) | null = null;

  constructor(conn: Deno.Conn, writeTimeout: number, events: OutputEvents) {
    this.#conn = conn;
    this.#writeTimeout = writeTimeout;
    this.#events = events;
  }

  /** Bytes waiting to be sent. */
  get queued(): number {
    return this.#outLen + this.#text.length;
  }

  /** The write in flight, if any. */
  get writing(): Promise<void> | null {
    return this.#writing;
  }

  /** Appends bytes to the queue. */
  queue(bytes: Uint8Array): void {
    this.#encodeText();
    const out = this.#reserve(bytes.length);
    out.set(bytes, this.#outLen);
    this.#outLen += bytes.length;
  }

  /** Appends ISO-8859-1 text (a response head) to the queue. */
  queueText(text: string): void {
    this.#text += text;
    if (this.#text.length >= TEXT_BATCH) this.#encodeText();
  }

  /** Whether text is queued and not yet encoded (a head start may join it as text). */
  get hasText(): boolean {
    return this.#text.length > 0;
  }

  #encodeText(): void {
    const text = this.#text;
    const length = text.length;
    if (length === 0) return;
    this.#text = "";
    const out = this.#reserve(length);
    if (length > SHORT_TEXT) {
      this.#outLen += encodeLatin1Into(text, out, this.#outLen);
      return;
    }
    // A call into the runtime costs more than copying a few dozen chars here.
    const at = this.#outLen;
    for (let i = 0; i < length; i++) out[at + i] = text.charCodeAt(i);
    this.#outLen = at + length;
  }

  /** The output buffer, with room for `n` more bytes. */
  #reserve(n: number): Uint8Array {
    let out = this.#out;
    if (out === null) {
      out = this.#out = n <= OUT_BUFFER_SIZE ? outBuffers.take() : new Uint8Array(n);
    }
    if (out.length - this.#outLen < n) {
      const bigger = new Uint8Array(Math.max(out.length * 2, this.#outLen + n));
      bigger.set(out.subarray(0, this.#outLen));
      out = this.#out = bigger;
    }
    return out;
  }

  /** Settles `info.completed` once the bytes of its response are written (or now, if they are). */
  settleWhenWritten(info: ExchangeInfo): void {
    if (this.queued > 0) (this.#unsent ??= []).push(info);
    else if (this.#writing !== null) (this.#inFlight ??= []).push(info);
    else info.settle(null);
  }

  /** The infos whose responses were queued or in flight and not yet written. */
  undelivered(): ExchangeInfo[] {
    return [...this.#inFlight ?? [], ...this.#unsent ?? []];
  }

  /**
   * Starts sending the queued bytes without waiting for the write to finish. Without a write in
   * flight (the usual case) this returns at once, with no promise to await.
   */
  send(): Promise<void> | undefined {
    if (this.#writing !== null) return this.#sendAfterWrite();
    this.#startWrite();
  }

  async #sendAfterWrite(): Promise<void> {
    // A loop: a request body's reader (100 Continue) and the connection loop may both be here,
    // and whichever resumes second must not start a write beside the first one's.
    while (this.#writing !== null) await this.#writing;
    this.#startWrite();
  }

  #startWrite(): void {
    this.#encodeText();
    if (this.#outLen === 0) return;
    const out = this.#out!;
    const data = out.subarray(0, this.#outLen);
    // Double buffering: the spare's write has finished (see send), so it is free again.
    this.#out = this.#spare;
    this.#spare = out;
    this.#outLen = 0;
    // The infos whose responses end in this write trade places with the emptied list of the
    // last write's: two lists, reused, rather than a new one per write.
    const delivering = this.#unsent;
    this.#unsent = this.#inFlight;
    this.#inFlight = delivering;
    this.deadline = Date.now() + this.#writeTimeout;
    this.#writing = this.#writeFrom(data);
  }

  /** `conn.write` with handlers made once per busy spell: no async frame or closure per write. */
  #writeFrom(data: Uint8Array): Promise<void> {
    this.#writingData = data;
    return this.#conn.write(data).then(
      this.#written ??= (n) => this.#wrote(n),
      this.#writeFailed ??= () => this.#failed(),
    );
  }

  /** The write in flight took `n` bytes: send the rest, or settle what it carried. */
  #wrote(n: number): Promise<void> | undefined {
    const data = this.#writingData!;
    // The kernel took part of it (a full send buffer): the rest goes on in the same chain.
    if (n < data.length) return this.#writeFrom(data.subarray(n));
    this.#writeEnded();
    const delivered = this.#inFlight;
    if (delivered !== null) {
      for (let i = 0; i < delivered.length; i++) delivered[i].settle(null);
      delivered.length = 0;
    }
    if (this.queued === 0) this.#events.drained();
  }

  /** The loop learns of a failed write from its next read or write on the closed socket. */
  #failed(): void {
    this.#writeEnded();
    this.#events.writeFailed();
  }

  #writeEnded(): void {
    this.#writingData = null;
    this.deadline = Infinity;
    this.#writing = null;
  }

  /** Sends everything queued and waits until it has been written (or the write failed). */
  async flush(): Promise<void> {
    await this.send();
    if (this.#writing !== null) await this.#writing;
  }

  /** Writes `data` after what is queued, waiting for all of it: for large body chunks. */
  async writeDirect(data: Uint8Array): Promise<void> {
    await this.flush();
    // Its errors reach the caller, unlike the queue's writes, whose failure closes the
    // connection: a streamed body stops at the first failed chunk.
    this.deadline = Date.now() + this.#writeTimeout;
    try {
      let written = 0;
      while (written < data.length) {
        written += await this.#conn.write(written === 0 ? data : data.subarray(written));
      }
    } finally {
      this.deadline = Infinity;
    }
  }

  /** Drops the buffers an idle connection does not need (the server's reaper asks). */
  release(): void {
    if (this.queued === 0) {
      outBuffers.give(this.#out); // never the buffer a write is sending from: that is #spare
      this.#out = null;
    }
    if (this.#writing === null) {
      outBuffers.give(this.#spare);
      this.#spare = null;
      this.#written = this.#writeFailed = null;
      if (this.#unsent?.length === 0) this.#unsent = null;
      if (this.#inFlight?.length === 0) this.#inFlight = null;
    }
  }

  /** Gives the buffers back for good: the connection is closed and no write is in flight. */
  dispose(): void {
    outBuffers.give(this.#out);
    outBuffers.give(this.#spare);
    this.#out = this.#spare = null;
  }
}
