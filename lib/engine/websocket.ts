/**
 * The server side of a WebSocket connection, as the web `WebSocket` object Deno gives servers:
 * an `EventTarget` with `open`, `message`, `error` and `close` events and their `on…`
 * properties, `send()`, `close()`, `readyState`, `bufferedAmount`, `binaryType`, `protocol`,
 * `extensions` and `url`. Underneath, lib/ws's sans-I/O {@link WebSocketProtocol} turns bytes
 * into events and messages into frames; this file owns the socket: one read loop, one write
 * queue, the timers.
 *
 * Theory of operation.
 *
 * - **Open.** The socket is made by `upgradeWebSocket` (ws_upgrade.ts) in state CONNECTING. The
 *   engine writes the 101 head, then calls the hand-over's `run(conn, buffered, signal)`: the
 *   socket turns OPEN, fires `open`, and reads until the connection ends. `run` resolves when the
 *   socket is CLOSED and everything it queued is written (or can never be); the engine then
 *   closes the TCP connection, so the server closes first (RFC 6455 §7.1.1).
 * - **Reading.** Bytes go to `protocol.feed()` (unmasked in the read buffer: it is the
 *   socket's), whose events become DOM events and whose output (pongs, the close echo, the close
 *   frame of a failure) joins the write queue. One read at a time, and the next only after the
 *   events of the last were dispatched: a slow listener slows the peer down rather than growing
 *   a buffer here.
 * - **Writing** is ws_writer.ts's: `send()` frames a small message at once into a pooled batch
 *   buffer (with permessage-deflate agreed, the protocol compresses it when its turn comes), at
 *   most one write is in flight, and what is sent meanwhile goes out together in the next write.
 *   While the events of one read are dispatched the writer is held, so the echoes of a burst of
 *   messages leave in one write. `bufferedAmount` is the message bytes queued and not yet
 *   written. The queue is bounded: past `maxBufferedAmount` the socket is "full" and the
 *   connection is closed, as the HTML standard says of a full buffer.
 * - **Closing.** `close()` queues a close frame behind the messages already queued (CLOSING);
 *   the peer's close frame ends it (CLOSED, `wasClean`). A peer that never answers is cut after
 *   `closeTimeout`. The peer's close is echoed by the protocol. A protocol violation fails the
 *   connection with the close code first (1002, 1007, 1009: Autobahn's strict behaviour), then
 *   `error` and `close` events. EOF or a reset without a close frame: `error`, then `close`
 *   with 1006.
 * - **Idle timeout** (`idleTimeout`, seconds, as Deno's): after half of it without a message or
 *   a pong from the peer the socket pings; after the other half still without one it sends
 *   close 1001 "No response from ping frame.", fires `error` and `close` (1001, not clean) and
 *   closes the connection. Activity is a flag checked when the timer fires, not a timer reset
 *   per message, so silence is noticed between one half and one whole period after it began.
 * - **Shutdown.** The engine aborts `signal`: an OPEN socket sends close 1001 "going away" and
 *   waits for the echo as usual (the server's grace period cuts it at the latest).
 *
 * Where this differs from Deno 2.9's server sockets (measured): `protocol` is the subprotocol
 * agreed (Deno reports ""), `url` is the request's URL with a ws:/wss: scheme (Deno: ""), EOF
 * gives close code 1006 (Deno: 0), and `close()` throws `InvalidAccessError` for a code that may
 * not be sent (Deno fails the socket instead). `binaryType` defaults to "arraybuffer", as on
 * Deno's server sockets (browsers' client sockets default to "blob").
 *
 * @module
 */

import {
  type DeflateParams,
  isValidCloseCode,
  type Received,
  WebSocketProtocol,
  WebSocketStateError,
} from "../ws/mod.ts";
import { type Entry, FrameWriter } from "./ws_writer.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/** Reads start small (an idle chat socket holds little) and grow while reads fill them, up to
 *  room for a few 64 KiB messages: a message then takes one read op, not two. */
const FIRST_READ = 4 * 1024;
const MAX_READ = 256 * 1024;

const encoder = new TextEncoder();

/** What a socket is made with (ws_upgrade.ts fills it in from the request and the options). */
export interface SocketSettings {
  /** The request's URL, with a ws: or wss: scheme. */
  url: string;
  /** The subprotocol agreed, or "". */
  protocol: string;
  /** The `Sec-WebSocket-Extensions` answered, or "". */
  extensions: string;
  /** The permessage-deflate agreement, if any. */
  deflate: DeflateParams | null;
  /** Milliseconds; 0 turns the idle timeout off. */
  idleTimeout: number;
  /** Milliseconds to wait for the peer's close frame after ours. */
  closeTimeout: number;
  /** Largest message received, after decompression. */
  maxMessageSize: number;
  /** Largest `bufferedAmount`; past it the socket is full and the connection is closed. */
  maxBufferedAmount: number;
}

/** The engine's hand-over entry point and the refusal hook: not part of the web API. */
export const RUN = Symbol("run");
export const REFUSED = Symbol("refused");

type Listener = (this: ServerWebSocket, event: Event) => unknown;

/**
 * A server-side WebSocket. Typed and used as the web `WebSocket`; made by `upgradeWebSocket`.
 */
export class ServerWebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  declare onopen: ((this: WebSocket, event: Event) => unknown) | null;
  declare onmessage: ((this: WebSocket, event: MessageEvent) => unknown) | null;
  declare onerror: ((this: WebSocket, event: Event | ErrorEvent) => unknown) | null;
  declare onclose: ((this: WebSocket, event: CloseEvent) => unknown) | null;

  /** The `on…` properties' functions and the listener each added (HTML §8.1.8.1). */
  #handlers: Map<string, { fn: Listener; listener: (event: Event) => void }> | null = null;

  static {
    // One listener per `on…` property, added when first set, removed when set to null.
    for (const type of ["open", "message", "error", "close"]) {
      Object.defineProperty(ServerWebSocket.prototype, `on${type}`, {
        configurable: true,
        enumerable: true,
        get(this: ServerWebSocket) {
          return this.#handlers?.get(type)?.fn ?? null;
        },
        set(this: ServerWebSocket, fn: unknown) {
          const map = this.#handlers ??= new Map();
          const slot = map.get(type);
          if (typeof fn !== "function") {
            if (slot !== undefined) {
              this.removeEventListener(type, slot.listener);
              map.delete(type);
            }
            return;
          }
          if (slot !== undefined) {
            slot.fn = fn as Listener;
            return;
          }
          const entry = {
            fn: fn as Listener,
            listener: (event: Event) => {
              entry.fn.call(this, event);
            },
          };
          map.set(type, entry);
          this.addEventListener(type, entry.listener);
        },
      });
    }
  }

  readonly #settings: SocketSettings;
  #state = CONNECTING;
  #binaryType: BinaryType = "arraybuffer";
  #origin: string | null = null;

  #conn: Deno.Conn | null = null;
  #protocol: WebSocketProtocol | null = null;
  /** close() before the socket opened: sent as soon as it does. */
  #earlyClose: { code: number | undefined; reason: string } | null = null;

  #writer: FrameWriter | null = null;

  // Timers
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** A message or pong arrived since the idle timer last fired. */
  #active = false;
  /** The idle timer pinged and waits for an answer. */
  #pinged = false;

  constructor(settings: SocketSettings) {
    super();
    this.#settings = settings;
  }

  get CONNECTING(): 0 {
    return CONNECTING;
  }
  get OPEN(): 1 {
    return OPEN;
  }
  get CLOSING(): 2 {
    return CLOSING;
  }
  get CLOSED(): 3 {
    return CLOSED;
  }

  get readyState(): number {
    return this.#state;
  }

  get url(): string {
    return this.#settings.url;
  }

  get protocol(): string {
    return this.#settings.protocol;
  }

  get extensions(): string {
    return this.#settings.extensions;
  }

  /** Bytes of messages passed to `send()` and not yet written to the connection. */
  get bufferedAmount(): number {
    return this.#writer?.bufferedAmount ?? 0;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }

  set binaryType(value: BinaryType) {
    // The web API ignores values it does not know (no exception).
    if (value === "blob" || value === "arraybuffer") this.#binaryType = value;
  }

  /** Queues a message. Throws `InvalidStateError` before the socket is open; after it is
   *  closing, the message is dropped, as the web API does. */
  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (this.#state === CONNECTING) {
      throw new DOMException("'readyState' not OPEN", "InvalidStateError");
    }
    if (this.#state !== OPEN) return;
    const writer = this.#writer!;
    const room = this.#settings.maxBufferedAmount - writer.bufferedAmount;
    // Without permessage-deflate a message is framed now; with it, the writer has the protocol
    // compress it when its turn comes (see #encode).
    const direct = this.#settings.deflate === null;
    if (typeof data !== "string" && !ArrayBuffer.isView(data)) {
      if (data instanceof ArrayBuffer || data instanceof SharedArrayBuffer) {
        data = new Uint8Array(data);
      } else if (data instanceof Blob) {
        if (data.size > room) return this.#full();
        return writer.push({ kind: "blob", blob: data, size: data.size });
      } else data = String(data);
    }
    if (typeof data === "string") {
      // Its UTF-8 is 1 to 3 bytes a UTF-16 unit: only near the limit is it counted first.
      if (direct && data.length * 3 <= room) return writer.text(data);
      const bytes = encoder.encode(data);
      if (bytes.length > room) return this.#full();
      return direct ? writer.text(data) : writer.push(message(true, bytes));
    }
    // Copied (by the writer, or here): the caller may change or transfer its buffer once send()
    // returns.
    const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (view.length > room) return this.#full();
    if (direct) writer.binary(view);
    else writer.push(message(false, view.slice()));
  }

  /** HTML §9.3.4 send(): a message that cannot be buffered flags the socket as full and closes
   *  the connection. The peer is not reading, so no close frame could reach it. */
  #full(): void {
    this.#state = CLOSING;
    this.#finish(1006, "", false, "the send buffer is full: the peer does not read");
    this.#closeConnection();
  }

  /**
   * Starts the closing handshake. As in the web API: `InvalidAccessError` for a code that may
   * not be sent (a server may send any code of RFC 6455 §7.4 that is allowed on the wire, not
   * only 1000 and 3000–4999 as a browser), `SyntaxError` for a reason over 123 bytes.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined) {
      // WebIDL [Clamp] unsigned short.
      const n = Number(code);
      code = Number.isNaN(n) ? 0 : Math.min(65535, Math.max(0, Math.round(n)));
      if (!isValidCloseCode(code)) {
        throw new DOMException(
          `The close code must be 1000–1003, 1007–1014 or 3000–4999: received ${code}`,
          "InvalidAccessError",
        );
      }
    }
    const text = reason === undefined ? "" : String(reason);
    if (encoder.encode(text).length > 123) {
      throw new DOMException("The close reason may not be longer than 123 bytes", "SyntaxError");
    }
    if (this.#state === CONNECTING) {
      this.#state = CLOSING;
      this.#earlyClose = { code, reason: text };
      return;
    }
    if (this.#state !== OPEN) return;
    this.#startClose(code, text);
  }

  // ---- The hand-over -------------------------------------------------------------------------

  /**
   * Runs the socket on `conn` (the engine's hand-over, lib/shared/handover.ts). Resolves with
   * the bytes written, for the access log, once the socket is closed.
   */
  async [RUN](
    conn: Deno.Conn,
    buffered: Uint8Array,
    signal: AbortSignal,
    pending: Promise<Uint8Array | null> | null = null,
  ): Promise<number> {
    this.#conn = conn;
    const settings = this.#settings;
    const protocol = this.#protocol = new WebSocketProtocol({
      maxMessageSize: settings.maxMessageSize,
      deflate: settings.deflate,
      // The read buffers are the socket's: payloads are unmasked where they were read.
      inPlace: true,
    });
    this.#writer = new FrameWriter(conn, (entry) => this.#encode(entry));
    const onAbort = () => {
      if (this.#state === OPEN) this.#startClose(1001, "going away");
    };
    signal.addEventListener("abort", onAbort);
    try {
      if (this.#earlyClose !== null) {
        // Closed before it opened: the browser's "fail the connection"; the peer is told.
        this.#enqueue({ kind: "close", ...this.#earlyClose, size: 0 });
        this.#armCloseTimer();
      } else {
        this.#state = OPEN;
        this.dispatchEvent(new Event("open"));
        this.#armIdleTimer();
        if (signal.aborted) onAbort();
      }
      await this.#readLoop(conn, protocol, buffered, pending);
      // The close echo, or the close frame of a failure, goes out before the engine closes.
      await this.#drain();
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.#clearTimers();
    }
    return this.#writer.bytesSent;
  }

  /** The engine did not switch protocols after all (or the handshake was refused). */
  [REFUSED](why: string): void {
    if (this.#state === CLOSED) return;
    this.#finish(1006, "", false, why);
  }

  async #readLoop(
    conn: Deno.Conn,
    protocol: WebSocketProtocol,
    buffered: Uint8Array,
    pending: Promise<Uint8Array | null> | null,
  ): Promise<void> {
    try {
      if (buffered.length > 0) await this.#receive(protocol, buffered);
      if (pending !== null && this.#state !== CLOSED) {
        const late = await pending;
        if (late === null) return this.#eof();
        await this.#receive(protocol, late);
      }
      let buf = new Uint8Array(FIRST_READ);
      while (this.#state !== CLOSED) {
        const n = await conn.read(buf);
        if (n === null) return this.#eof();
        const inflating = this.#receive(protocol, buf.subarray(0, n));
        if (inflating !== undefined) await inflating;
        // The protocol keeps a partial frame's bytes by reference, and events view what they
        // carry (inPlace) until dispatched: a partial frame makes the next read a new buffer.
        if (n === buf.length && buf.length < MAX_READ) buf = new Uint8Array(buf.length * 4);
        else if (protocol.buffered > 0) buf = new Uint8Array(buf.length);
      }
    } catch (error) {
      if (this.#state === CLOSED) return; // we closed the connection (a timeout, a full buffer)
      this.#finish(1006, "", false, error instanceof Error ? error.message : String(error));
    }
  }

  #eof(): void {
    if (this.#state === CLOSED) return;
    this.#finish(1006, "", false, this.#state === OPEN ? "Unexpected EOF" : null);
  }

  /** Feeds the protocol; a promise only while a compressed message is inflated. */
  #receive(protocol: WebSocketProtocol, bytes: Uint8Array): Promise<void> | undefined {
    const received = protocol.feed(bytes);
    if (received instanceof Promise) return received.then((r) => this.#dispatch(r));
    this.#dispatch(received);
  }

  /** Fires the events of one read; what listeners send meanwhile leaves in one write. */
  #dispatch(received: Received): void {
    const writer = this.#writer!;
    writer.hold();
    try {
      this.#fire(received);
    } finally {
      writer.release();
    }
  }

  #fire({ events, output }: Received): void {
    if (output.length > 0) this.#enqueue({ kind: "frames", bytes: output, size: 0 });
    for (const event of events) {
      switch (event.type) {
        case "text":
          this.#active = true;
          if (this.#state === OPEN) this.#message(event.data);
          break;
        case "binary":
          this.#active = true;
          if (this.#state === OPEN) this.#message(this.#binary(event.data));
          break;
        case "ping":
        case "pong":
          this.#active = true;
          break;
        case "close":
          // The closing handshake is complete (ours answered, or theirs echoed by the protocol).
          this.#finish(event.code, event.reason, true, null);
          break;
        case "fail":
          // We failed the connection; the protocol queued the close frame with the code.
          this.#finish(event.code, event.reason, false, event.reason);
          break;
      }
    }
  }

  #message(data: string | ArrayBuffer | Blob): void {
    this.#origin ??= originOf(this.#settings.url);
    this.dispatchEvent(new MessageEvent("message", { data, origin: this.#origin }));
  }

  #binary(bytes: Uint8Array): ArrayBuffer | Blob {
    if (this.#binaryType === "blob") return new Blob([bytes as Uint8Array<ArrayBuffer>]);
    const buffer = bytes.buffer as ArrayBuffer;
    return bytes.byteOffset === 0 && bytes.byteLength === buffer.byteLength
      ? buffer
      : buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }

  /** CLOSED: fires `error` (when `error` is given) and `close`, once. */
  #finish(code: number, reason: string, wasClean: boolean, error: string | null): void {
    if (this.#state === CLOSED) return;
    this.#state = CLOSED;
    this.#clearTimers();
    if (error !== null) {
      this.dispatchEvent(new ErrorEvent("error", { message: error, error: new Error(error) }));
    }
    this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean }));
  }

  #startClose(code: number | undefined, reason: string): void {
    this.#state = CLOSING;
    this.#enqueue({ kind: "close", code, reason, size: 0 });
    this.#armCloseTimer();
  }

  // ---- Writing ---------------------------------------------------------------------------------

  #enqueue(entry: Entry): void {
    this.#writer!.push(entry);
  }

  /** The bytes of one queued entry; null when it is no longer to be sent. */
  #encode(entry: Entry): Uint8Array | Promise<Uint8Array | null> | null {
    const protocol = this.#protocol!;
    switch (entry.kind) {
      case "frames":
        return entry.bytes;
      case "close":
        if (protocol.state !== "OPEN") return null; // the peer closed first: it was echoed
        return protocol.sendClose(entry.code, entry.reason);
      case "message":
        if (protocol.state !== "OPEN") return null;
        try {
          const frames = protocol.encodeMessage(entry.text, entry.data);
          return frames instanceof Promise ? frames.catch(dropAfterClose) : frames;
        } catch (error) {
          return dropAfterClose(error);
        }
      case "blob":
        return entry.blob.arrayBuffer().then((buffer) => {
          if (protocol.state !== "OPEN") return null;
          return protocol.encodeMessage(false, new Uint8Array(buffer));
        }).catch(dropAfterClose);
    }
  }

  /** Waits until the queue is written, at most `closeTimeout`; then cuts the connection. */
  async #drain(): Promise<void> {
    const writer = this.#writer;
    if (writer === null || !writer.busy) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#closeConnection();
        resolve();
      }, this.#settings.closeTimeout);
    });
    try {
      await Promise.race([writer.idle(), cut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the TCP connection under the read loop, which then ends. */
  #closeConnection(): void {
    try {
      this.#conn?.close();
    } catch {
      // Already closed.
    }
  }

  // ---- Timers ----------------------------------------------------------------------------------

  #armIdleTimer(): void {
    const idle = this.#settings.idleTimeout;
    if (idle <= 0) return;
    this.#idleTimer = setTimeout(() => this.#idleTick(), idle / 2);
  }

  #idleTick(): void {
    this.#idleTimer = undefined;
    if (this.#state !== OPEN) return;
    if (this.#active) {
      this.#active = false;
      this.#pinged = false;
    } else if (!this.#pinged) {
      this.#pinged = true;
      this.#enqueue({ kind: "frames", bytes: this.#protocol!.sendPing(), size: 0 });
    } else {
      // As Deno: close 1001, then error and close events, and the connection is closed once the
      // close frame is out (no waiting for an answer from a peer that gave none to the ping).
      const reason = "No response from ping frame.";
      this.#enqueue({ kind: "close", code: 1001, reason, size: 0 });
      this.#finish(1001, reason, false, reason);
      this.#drain().then(() => this.#closeConnection());
      return;
    }
    this.#armIdleTimer();
  }

  #armCloseTimer(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#closeTimer ??= setTimeout(() => {
      this.#closeTimer = undefined;
      // RFC 6455 §7.1.1: the server may close the TCP connection when the handshake stalls.
      this.#finish(1006, "", false, null);
      this.#closeConnection();
    }, this.#settings.closeTimeout);
  }

  #clearTimers(): void {
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#closeTimer);
    this.#idleTimer = this.#closeTimer = undefined;
  }
}

/** A message for the write loop to frame (and compress). */
function message(text: boolean, data: Uint8Array): Entry {
  return { kind: "message", text, data, size: data.length };
}

function dropAfterClose(error: unknown): null {
  // A message queued before the peer's close arrived is dropped: nothing may follow a close.
  if (error instanceof WebSocketStateError) return null;
  throw error;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
}
