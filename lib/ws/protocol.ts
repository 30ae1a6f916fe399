/**
 * One WebSocket connection, server side, without I/O (RFC 6455 §5–§7, RFC 7692 §6).
 *
 * Theory of operation. The engine reads bytes and calls `receive(bytes)`; it gets back the events
 * they completed and `output`, bytes it must write (pongs, the close echo, the close frame of a
 * failure). To send, it calls `sendText`/`sendBinary`/`sendPing`/`sendClose` and writes the bytes
 * returned, in the order it got them. Nothing here reads, writes or sets a timer.
 *
 * States (§7):
 *   OPEN     → we send close      → CLOSING (wait for the peer's close; data still arrives)
 *   OPEN     → peer's close       → CLOSED  (we echo its code in `output`)
 *   CLOSING  → peer's close       → CLOSED
 *   any      → protocol violation → CLOSED  (a `fail` event; a close frame in `output` if OPEN)
 * In CLOSED the engine writes `output` and closes the TCP connection: the server closes first
 * (§7.1.1). Bytes received after that are ignored. A CLOSING timeout is the engine's business.
 *
 * Limits are checked as bytes arrive: a frame header announcing more than `maxMessageSize` in
 * total fails with 1009 before its payload is read, and invalid UTF-8 fails with 1007 at the
 * first bad byte, even mid-frame.
 *
 * `receive` is async only because decompression (permessage-deflate) is; without a compressed
 * message it settles without waiting on anything. Calls must not overlap: await each one.
 */
import { encodeClosePayload, parseClosePayload } from "./close.ts";
import {
  deflateMessage,
  deflateMessageSync,
  type DeflateParams,
  fitsWindow,
  inflateMessage,
  inflateMessageSync,
  loadZlib,
} from "./deflate.ts";
import {
  invalidData,
  protocolError,
  tooBig,
  WebSocketProtocolError,
  WebSocketStateError,
} from "./errors.ts";
import { concat, encodeFrame, type FrameHeader, FrameParser, isControl, Opcode } from "./frame.ts";
import { decodeUtf8, decodeUtf8Strict, Utf8Validator } from "./utf8.ts";

export type WebSocketEvent =
  | { type: "text"; data: string }
  | { type: "binary"; data: Uint8Array }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  /** The peer's close frame; code 1005 when it had none. */
  | { type: "close"; code: number; reason: string }
  /** We failed the connection (§7.1.7); `output` carries a close frame with `code` if we could
   *  still send one. */
  | { type: "fail"; code: number; reason: string; error: WebSocketProtocolError };

export interface Received {
  events: WebSocketEvent[];
  /** Bytes to write to the peer now (possibly empty). */
  output: Uint8Array;
}

export type ReadyState = "OPEN" | "CLOSING" | "CLOSED";

export interface WebSocketOptions {
  /** Largest message, after decompression. Default 64 MiB. */
  maxMessageSize?: number;
  /** Largest single frame. Default `maxMessageSize`. */
  maxFrameSize?: number;
  /** The permessage-deflate agreement from the handshake, if any. */
  deflate?: DeflateParams | null;
  /** Messages shorter than this are sent uncompressed (default 64): deflate would grow them. */
  compressThreshold?: number;
  /**
   * The caller gives the bytes it feeds away: payloads are unmasked where they lie, and the data
   * of events (binary messages, pings, pongs) may be views of those bytes, valid until the caller
   * reuses its buffer, after the next `feed` at the earliest. Default false: nothing fed is
   * written to, and events own their data.
   */
  inPlace?: boolean;
}

export interface SendOptions {
  /** Compress this message (default: when deflate was agreed and it is ≥ compressThreshold). */
  compress?: boolean;
  /** Split the payload into frames of at most this many bytes (default: one frame). */
  fragmentSize?: number;
}

interface Message {
  opcode: typeof Opcode.Text | typeof Opcode.Binary;
  compressed: boolean;
  size: number; // payload bytes so far (compressed bytes for a compressed message)
  parts: Uint8Array[];
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

export class WebSocketProtocol {
  readonly #maxMessageSize: number;
  readonly #deflate: DeflateParams | null;
  readonly #compressThreshold: number;
  readonly #parser: FrameParser;
  readonly #inPlace: boolean;
  readonly #utf8 = new Utf8Validator();
  #state: ReadyState = "OPEN";
  #frame: FrameHeader | null = null; // the frame whose payload is arriving
  #message: Message | null = null; // the data message being assembled
  #control: Uint8Array[] = [];
  #busy = false;
  #closeReceived: { code: number; reason: string } | null = null;

  constructor(options: WebSocketOptions = {}) {
    this.#maxMessageSize = options.maxMessageSize ?? 64 * 1024 * 1024;
    this.#deflate = options.deflate ?? null;
    this.#compressThreshold = options.compressThreshold ?? 64;
    this.#parser = new FrameParser({
      maxFrameSize: options.maxFrameSize ?? this.#maxMessageSize,
      role: "server",
      allowRsv1: this.#deflate !== null,
      inPlace: options.inPlace ?? false,
    });
    this.#inPlace = options.inPlace ?? false;
    // The synchronous codec, for when messages come (see deflate.ts).
    if (this.#deflate !== null) loadZlib();
  }

  get state(): ReadyState {
    return this.#state;
  }

  /** Bytes received and held for a frame not complete yet: the last `receive`'s bytes may be
   *  among them, so a caller that reuses its read buffer must not while this is above 0. */
  get buffered(): number {
    return this.#parser.buffered;
  }

  /** The peer's close code and reason, once its close frame arrived. */
  get closeReceived(): { code: number; reason: string } | null {
    return this.#closeReceived;
  }

  /** Feeds bytes from the peer. */
  async receive(bytes: Uint8Array): Promise<Received> {
    return await this.feed(bytes);
  }

  /**
   * {@link receive} without a promise unless a compressed message had to be inflated: an engine
   * reading many small messages skips a microtask turn each. Calls must not overlap either.
   */
  feed(bytes: Uint8Array): Received | Promise<Received> {
    if (this.#busy) throw new WebSocketStateError("receive() called before the previous settled");
    const events: WebSocketEvent[] = [];
    const output: Uint8Array[] = [];
    if (this.#state === "CLOSED") return { events, output: EMPTY };
    this.#busy = true;
    this.#parser.push(bytes);
    return this.#run(events, output);
  }

  /** Takes parser events until more bytes are needed; continues after an inflate if one comes. */
  #run(events: WebSocketEvent[], output: Uint8Array[]): Received | Promise<Received> {
    try {
      const parser = this.#parser;
      // Once CLOSED (the peer's close frame) anything further is ignored (§5.5.1).
      while (!this.#isClosed()) {
        // The usual message, one whole uncompressed frame, skips the events below. Inside a
        // fragmented message a data frame is an error, which next() reports.
        if (this.#message === null) {
          const opcode = parser.nextData(this.#maxMessageSize);
          if (opcode === Opcode.Text) {
            events.push({ type: "text", data: decodeUtf8Strict(parser.data) });
            continue;
          }
          if (opcode === Opcode.Binary) {
            events.push({ type: "binary", data: parser.data });
            continue;
          }
        }
        const event = parser.next();
        if (event === null) break;
        if (event.type === "header") this.#onHeader(event.header);
        else {
          const inflating = this.#onPayload(event.data, event.end, events, output);
          if (inflating !== undefined) {
            return inflating.then(
              () => this.#run(events, output),
              (e) => this.#failed(e, events, output),
            );
          }
        }
      }
    } catch (e) {
      return this.#failed(e, events, output);
    }
    this.#busy = false;
    return { events, output: output.length ? concat(output) : EMPTY };
  }

  #failed(e: unknown, events: WebSocketEvent[], output: Uint8Array[]): Received {
    this.#busy = false;
    if (!(e instanceof WebSocketProtocolError)) throw e;
    events.push({ type: "fail", code: e.code, reason: e.message, error: e });
    // §7.1.7: send a close frame first, unless we already did (§5.5.1: only one).
    if (this.#state === "OPEN") output.push(this.#closeFrame(e.code, e.message));
    this.#state = "CLOSED";
    return { events, output: output.length ? concat(output) : EMPTY };
  }

  // §5.4 fragmentation rules and RFC 7692 §6.1, checked as soon as a header is complete.
  #onHeader(header: FrameHeader): void {
    this.#frame = header;
    if (isControl(header.opcode)) {
      // RFC 7692 §6.1: "An endpoint MUST NOT set the Per-Message Compressed bit of control frames"
      if (header.rsv1) throw protocolError("RSV1 set on a control frame");
      return;
    }
    let message = this.#message;
    if (header.opcode === Opcode.Continuation) {
      if (message === null) throw protocolError("continuation frame without a message to continue");
      // RFC 7692 §6.1: … "and non-first fragments of a data message".
      if (header.rsv1) throw protocolError("RSV1 set on a continuation frame");
    } else {
      if (message !== null) throw protocolError("new data frame inside a fragmented message");
      message = {
        opcode: header.opcode as typeof Opcode.Text | typeof Opcode.Binary,
        compressed: header.rsv1,
        size: 0,
        parts: [],
      };
      this.#message = message;
      this.#utf8.reset();
    }
    if (message.size + header.length > this.#maxMessageSize) {
      throw tooBig(`message exceeds the limit of ${this.#maxMessageSize} bytes`);
    }
  }

  /** Returns a promise only while a compressed message is inflated. */
  #onPayload(
    data: Uint8Array,
    end: boolean,
    events: WebSocketEvent[],
    out: Uint8Array[],
  ): Promise<void> | undefined {
    const frame = this.#frame!;
    if (isControl(frame.opcode)) {
      if (data.length) this.#control.push(data);
      if (end) {
        const payload = concat(this.#control);
        this.#control = [];
        this.#onControl(frame.opcode, payload.length ? payload : EMPTY, events, out);
      }
      return;
    }
    const message = this.#message!;
    const whole = end && frame.fin && message.parts.length === 0;
    if (whole && message.opcode === Opcode.Text && !message.compressed) {
      // The whole message in one piece, the usual case: checked and decoded in one pass. It
      // fails when these bytes arrived, as the piece-by-piece check below would.
      this.#message = null;
      events.push({ type: "text", data: decodeUtf8Strict(data) });
      return;
    }
    if (data.length) {
      message.size += data.length;
      // A view of the caller's bytes (inPlace, a whole frame) is copied if the message goes on.
      const lent = this.#inPlace && end && data.length === frame.length;
      message.parts.push(lent && !frame.fin ? data.slice() : data);
      // Fail fast (§8.1): an uncompressed text message is checked piece by piece.
      if (message.opcode === Opcode.Text && !message.compressed && !this.#utf8.push(data)) {
        throw invalidData("text message is not valid UTF-8");
      }
    }
    if (end && frame.fin) {
      this.#message = null;
      if (message.compressed) {
        const inflated = this.#inflateSync(message);
        if (inflated === null) return this.#inflate(message).then((e) => void events.push(e));
        events.push(inflated);
        return;
      }
      events.push(this.#finish(message));
    }
  }

  #finish(message: Message): WebSocketEvent {
    const payload = concat(message.parts.length ? message.parts : [EMPTY]);
    if (message.opcode !== Opcode.Text) return { type: "binary", data: payload };
    if (!this.#utf8.complete) throw invalidData("text message ends inside a UTF-8 sequence");
    return { type: "text", data: decodeUtf8(payload) };
  }

  /** The message inflated at once, or null when that has to wait (see deflate.ts). */
  #inflateSync(message: Message): WebSocketEvent | null {
    const text = message.opcode === Opcode.Text;
    const utf8 = this.#utf8;
    const payload = inflateMessageSync(concat(message.parts), this.#maxMessageSize, (piece) => {
      if (text && !utf8.push(piece)) throw invalidData("text message is not valid UTF-8");
    });
    if (payload === null) return null;
    if (!text) return { type: "binary", data: payload };
    if (!utf8.complete) throw invalidData("text message ends inside a UTF-8 sequence");
    return { type: "text", data: decodeUtf8(payload) };
  }

  async #inflate(message: Message): Promise<WebSocketEvent> {
    const text = message.opcode === Opcode.Text;
    const utf8 = this.#utf8;
    const payload = await inflateMessage(concat(message.parts), this.#maxMessageSize, (piece) => {
      if (text && !utf8.push(piece)) throw invalidData("text message is not valid UTF-8");
    });
    if (!text) return { type: "binary", data: payload };
    if (!utf8.complete) throw invalidData("text message ends inside a UTF-8 sequence");
    return { type: "text", data: decodeUtf8(payload) };
  }

  #onControl(opcode: number, payload: Uint8Array, events: WebSocketEvent[], out: Uint8Array[]) {
    if (opcode === Opcode.Ping) {
      events.push({ type: "ping", data: payload });
      // §5.5.2: answer with a pong carrying the same data. Not after our close (§5.5.1): the
      // peer is told we are done; it gets its answer from the close handshake.
      if (this.#state === "OPEN") out.push(encodeFrame(Opcode.Pong, payload));
    } else if (opcode === Opcode.Pong) {
      events.push({ type: "pong", data: payload });
    } else {
      const info = parseClosePayload(payload); // 1002 / 1007
      this.#closeReceived = info;
      events.push({ type: "close", code: info.code, reason: info.reason });
      // §5.5.1: answer a close with a close, "typically echoing the status code it received".
      // The reason too, as Deno.serve does: a browser reports the reason of the close frame it
      // received, so the client's own reason comes back to it.
      if (this.#state === "OPEN") {
        out.push(encodeFrame(Opcode.Close, encodeClosePayload(info.code, info.reason)));
      }
      this.#state = "CLOSED";
    }
  }

  /** A text message's frames. */
  async sendText(text: string, options?: SendOptions): Promise<Uint8Array> {
    return await this.#send(Opcode.Text, encoder.encode(text), options);
  }

  /** A binary message's frames. */
  async sendBinary(data: Uint8Array, options?: SendOptions): Promise<Uint8Array> {
    return await this.#send(Opcode.Binary, data, options);
  }

  /**
   * A message's frames from its bytes (`text`: UTF-8 the caller encoded), without a promise when
   * it is not compressed: an engine sending many small messages skips a microtask each.
   */
  encodeMessage(
    text: boolean,
    data: Uint8Array,
    options?: SendOptions,
  ): Uint8Array | Promise<Uint8Array> {
    return this.#send(text ? Opcode.Text : Opcode.Binary, data, options);
  }

  /** A ping frame (≤ 125 bytes of data, §5.5). */
  sendPing(data: Uint8Array = EMPTY): Uint8Array {
    this.#assertOpen("ping");
    return encodeFrame(Opcode.Ping, data);
  }

  /** An unsolicited pong (§5.5.3: a unidirectional heartbeat). */
  sendPong(data: Uint8Array = EMPTY): Uint8Array {
    this.#assertOpen("pong");
    return encodeFrame(Opcode.Pong, data);
  }

  /** Starts the closing handshake (OPEN → CLOSING). Without a code the frame has no body. */
  sendClose(code?: number, reason = ""): Uint8Array {
    this.#assertOpen("close");
    const frame = encodeFrame(Opcode.Close, encodeClosePayload(code, reason));
    this.#state = "CLOSING";
    return frame;
  }

  #send(
    opcode: Opcode,
    data: Uint8Array,
    options: SendOptions = {},
  ): Uint8Array | Promise<Uint8Array> {
    this.#assertOpen("a message");
    const deflate = this.#deflate;
    const compress = deflate !== null &&
      (options.compress ?? data.length >= this.#compressThreshold) &&
      fitsWindow(deflate, data.length);
    if (!compress) return this.#frames(opcode, data, false, options);
    const deflated = deflateMessageSync(data);
    if (deflated !== null) return this.#frames(opcode, deflated, true, options);
    return deflateMessage(data).then((payload) => {
      // The state may have changed while compressing; a message after our close is not allowed.
      this.#assertOpen("a message");
      return this.#frames(opcode, payload, true, options);
    });
  }

  #frames(
    opcode: Opcode,
    payload: Uint8Array,
    compress: boolean,
    options: SendOptions,
  ): Uint8Array {
    const size = options.fragmentSize ?? payload.length;
    if (!(size >= 1) || payload.length <= size) {
      return encodeFrame(opcode, payload, { rsv1: compress });
    }
    const frames: Uint8Array[] = [];
    for (let offset = 0; offset < payload.length; offset += size) {
      const last = offset + size >= payload.length;
      frames.push(
        encodeFrame(
          offset === 0 ? opcode : Opcode.Continuation,
          payload.subarray(offset, offset + size),
          {
            fin: last,
            rsv1: compress && offset === 0, // RFC 7692 §6.1: first frame only
          },
        ),
      );
    }
    return concat(frames);
  }

  #isClosed(): boolean {
    return this.#state === "CLOSED";
  }

  #assertOpen(what: string): void {
    // §5.5.1: "After sending a Close frame, the application MUST NOT send any more data frames."
    if (this.#state !== "OPEN") {
      throw new WebSocketStateError(`cannot send ${what}: ${this.#state}`);
    }
  }

  #closeFrame(code: number, reason: string): Uint8Array {
    // The reason is for debugging; it must fit the 123 bytes a close body leaves (§5.5).
    const short = encoder.encode(reason).length <= 123 ? reason : "";
    return encodeFrame(Opcode.Close, encodeClosePayload(code, short));
  }
}
