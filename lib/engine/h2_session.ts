/**
 * An HTTP/2 connection on a socket: the I/O around lib/h2's sans-I/O `H2ServerConnection`, as
 * the engine's {@link Connection} is for HTTP/1.1, and the place where its events become
 * exchanges ({@link H2Exchange}, one per stream).
 *
 * - One read loop feeds every byte to `receive()` and hands the events to their streams.
 * - One write path: whatever any stream queued during a turn of the event loop (HEADERS, DATA,
 *   WINDOW_UPDATE, SETTINGS ACK …) leaves in one write, and while a write is in flight the next
 *   batch gathers behind it. Sixteen multiplexed requests answered at once cost one write, which
 *   is what lets a JavaScript server beat a faster language's per-stream writes.
 * - Deadlines, as for HTTP/1.1, published through {@link H2Session.expired} for the server's
 *   reaper: the idle timeout (no stream open), the write timeout (a write the client does not
 *   read; a stream waiting for a window that never opens, which is reset alone), the body timeout
 *   (a handler waiting for request DATA that never comes, also per stream).
 * - Graceful shutdown: GOAWAY (RFC 9113 §6.8), the streams already opened finish, then the
 *   connection closes; the server cuts it at the end of the grace period if they do not.
 *
 * A connection reaches here from {@link Connection}: a TLS connection whose ALPN chose "h2", or
 * a cleartext one that opened with the HTTP/2 preface (prior knowledge, §3.3).
 *
 * @module
 */

import { type H2Event, H2ServerConnection, type H2Settings, type RequestEvent } from "../h2/mod.ts";
import { type Arrival, NEVER_ARRIVED, readDelivered, readStarting } from "../shared/arrival.ts";
import type { ProtocolHandover } from "../shared/handover.ts";
import type { ConnectionConfig } from "./connection.ts";
import { isConnectionGone } from "./errors.ts";
import type { ExchangeInfo } from "./exchange_info.ts";
import { H2Exchange, type StreamHost } from "./h2_stream.ts";

/** Bytes per read. */
const READ_SIZE = 16 * 1024;
/** Queued output past which a stream sending a body waits for the socket to take it. */
const HIGH_WATER = 256 * 1024;
/** After a connection error's GOAWAY: how long, and how much, we read before closing. */
const LINGER_MS = 500;
const LINGER_BYTES = 64 * 1024;

/** The settings this server's sessions advertise, from the HTTP/1.1 limits where they map. */
export function h2Settings(cfg: ConnectionConfig): H2Settings {
  const { maxHeadBytes, maxHeaders } = cfg.limits;
  // SETTINGS_MAX_HEADER_LIST_SIZE counts 32 octets per field besides the name and value.
  return { maxHeaderListSize: maxHeadBytes + 32 * maxHeaders };
}

/** An HTTP/2 connection; `run` it on a socket. */
export class H2Session implements ProtocolHandover, StreamHost {
  readonly cfg: ConnectionConfig;
  readonly core: H2ServerConnection;
  remoteAddr!: Deno.NetAddr;
  localAddr!: Deno.NetAddr;
  arrival: Arrival = NEVER_ARRIVED;
  #conn: Deno.Conn | null = null;
  readonly #streams = new Map<number, H2Exchange>();

  // The write path.
  #writing: Promise<void> | null = null;
  #writingData: Uint8Array | null = null;
  #writeDeadline = Infinity;
  #flushQueued = false;
  /** Infos whose responses end in the output not yet taken, and in the write in flight. */
  #unsent: ExchangeInfo[] = [];
  #inFlight: ExchangeInfo[] = [];
  /** Streams waiting for the output to drain below HIGH_WATER. */
  #drainWaiters: PromiseWithResolvers<void>[] = [];

  /** When, with no stream open, the connection has idled long enough. */
  #idleDeadline = Infinity;
  /** GOAWAY sent (shutdown, idle timeout): close once the streams are done. */
  #closing = false;
  /** Done: nothing more to send; reading only until the client closes (or LINGER_MS). */
  #ending = false;
  #lingerDeadline = Infinity;
  #lost = false;

  constructor(cfg: ConnectionConfig, settings: H2Settings = h2Settings(cfg)) {
    this.cfg = cfg;
    // Our SETTINGS are queued now, the first thing the client reads (§3.4).
    this.core = new H2ServerConnection(settings);
  }

  /** No stream open and nothing left to write. */
  get idle(): boolean {
    return this.#streams.size === 0 && this.#writing === null && !this.core.hasOutput;
  }

  /** Open streams. */
  get streams(): number {
    return this.#streams.size;
  }

  /**
   * Whether the connection must be cut now (a write past the write timeout, or the linger after
   * a GOAWAY over). Streams past their own deadlines are reset here, and an idle connection past
   * the idle timeout is sent GOAWAY: those do not need the whole connection cut.
   */
  expired(now: number): boolean {
    if (now > this.#writeDeadline || now > this.#lingerDeadline) return true;
    if (now > this.#idleDeadline && this.#streams.size === 0 && !this.#closing) {
      this.#goAway();
      return false;
    }
    for (const stream of this.#streams.values()) {
      if (now > stream.windowDeadline || now > (stream.body?.deadline ?? Infinity)) {
        stream.timedOut();
      }
    }
    return false;
  }

  /** Runs the session until the connection ends. `buffered` is what was read before. */
  async run(conn: Deno.Conn, buffered: Uint8Array, signal: AbortSignal): Promise<void> {
    this.#conn = conn;
    this.remoteAddr = conn.remoteAddr as Deno.NetAddr;
    this.localAddr = conn.localAddr as Deno.NetAddr;
    const onShutdown = () => this.closeGracefully();
    signal.addEventListener("abort", onShutdown, { once: true });
    this.#idleDeadline = Date.now() + this.cfg.timeouts.idleTimeout;
    try {
      if (signal.aborted) this.closeGracefully();
      if (buffered.length > 0) this.#receive(buffered);
      this.flushSoon();
      const buf = new Uint8Array(READ_SIZE);
      let lingered = 0;
      for (;;) {
        const started = readStarting();
        const n = await conn.read(buf);
        if (n === null) break;
        if (this.#ending) {
          // After our last frame: only waiting for the client to close.
          if ((lingered += n) > LINGER_BYTES) break;
          continue;
        }
        this.arrival = readDelivered(started);
        this.#receive(buf.subarray(0, n));
      }
    } catch (error) {
      if (!this.#lost && !isConnectionGone(error)) this.cfg.onInternalError(error);
    } finally {
      signal.removeEventListener("abort", onShutdown);
      this.#teardown();
      // A write still in flight: let it end (it fails fast on a closed socket).
      if (this.#writing !== null) await this.#writing.catch(() => {});
    }
  }

  /** Server shutdown: GOAWAY, let the open streams finish, then close. */
  closeGracefully(): void {
    this.#goAway();
  }

  #goAway(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.core.goAway();
    this.flushSoon();
  }

  // ---- Input ------------------------------------------------------------------------------

  #receive(bytes: Uint8Array): void {
    const events = this.core.receive(bytes);
    for (let i = 0; i < events.length; i++) this.#event(events[i]);
    this.flushSoon();
  }

  #event(ev: H2Event): void {
    switch (ev.type) {
      case "request":
        return this.#open(ev);
      case "data": {
        const stream = this.#streams.get(ev.streamId);
        if (stream !== undefined) stream.data(ev.data, ev.endStream);
        else this.core.consumed(ev.streamId, ev.data.length);
        return;
      }
      case "trailers":
        return this.#streams.get(ev.streamId)?.trailers();
      case "reset":
        return this.#streams.get(ev.streamId)?.gone();
      case "windowOpen":
        return this.#streams.get(ev.streamId)?.windowOpen();
      case "goaway":
        // The client opens no more streams; those open finish, then `core.closed` ends it.
        return;
      case "connectionError":
        // The core queued GOAWAY with the code: every stream ends now.
        for (const stream of [...this.#streams.values()]) stream.gone();
        return;
      default:
        return;
    }
  }

  #open(ev: RequestEvent): void {
    const stream = new H2Exchange(ev.streamId, this);
    this.#streams.set(ev.streamId, stream);
    this.#idleDeadline = Infinity;
    stream.start(ev);
  }

  /** A stream is over: forget it. */
  finished(stream: H2Exchange): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    if (this.#streams.size === 0) {
      this.#idleDeadline = Date.now() + this.cfg.timeouts.idleTimeout;
    }
  }

  // ---- Output -----------------------------------------------------------------------------

  /** Writes what is queued once the current turn is over (every stream's output in one go). */
  flushSoon(): void {
    if (this.#flushQueued || this.#writing !== null) return;
    this.#flushQueued = true;
    queueMicrotask(this.#flush);
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    if (this.#writing !== null || this.#conn === null) return;
    const core = this.core;
    if (!core.hasOutput) {
      this.#maybeEnd();
      return;
    }
    // A view of the core's buffer: it stays untouched until the next take, after this write.
    const data = core.takeOutputView();
    const delivering = this.#unsent;
    this.#unsent = this.#inFlight;
    this.#inFlight = delivering;
    this.#writeDeadline = Date.now() + this.cfg.timeouts.writeTimeout;
    this.#writing = this.#writeFrom(data);
    // Streams that waited for room can queue more behind this write.
    this.#wakeDrained();
  };

  #writeFrom(data: Uint8Array): Promise<void> {
    this.#writingData = data;
    return this.#conn!.write(data).then(this.#written, this.#writeFailed);
  }

  readonly #written = (n: number): Promise<void> | undefined => {
    const data = this.#writingData!;
    if (n < data.length) return this.#writeFrom(data.subarray(n));
    this.#writingData = null;
    this.#writing = null;
    this.#writeDeadline = Infinity;
    const delivered = this.#inFlight;
    for (let i = 0; i < delivered.length; i++) delivered[i].settle(null);
    delivered.length = 0;
    // What gathered meanwhile goes next, at once.
    this.#flush();
  };

  readonly #writeFailed = (): void => {
    this.#writingData = null;
    this.#writing = null;
    this.#writeDeadline = Infinity;
    const lost = new Deno.errors.Interrupted("the response could not be sent");
    for (const info of this.#inFlight) info.settle(lost);
    this.#inFlight.length = 0;
    this.#lose();
  };

  /** Resolves once the queued output is below HIGH_WATER; undefined if it already is. */
  writable(): Promise<void> | undefined {
    if (this.core.outputLength < HIGH_WATER) return undefined;
    if (this.#lost) return Promise.reject(new Deno.errors.BrokenPipe("connection closed"));
    const waiter = Promise.withResolvers<void>();
    this.#drainWaiters.push(waiter);
    this.flushSoon();
    return waiter.promise;
  }

  #wakeDrained(): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  settleWhenWritten(info: ExchangeInfo): void {
    this.#unsent.push(info);
  }

  /** Nothing more to do: close our side and read until the client closes. */
  #maybeEnd(): void {
    if (this.#ending || !this.core.closed || this.#writing !== null) return;
    this.#ending = true;
    this.#lingerDeadline = Date.now() + LINGER_MS;
    const conn = this.#conn!;
    // Closing with unread bytes would send RST, which can destroy the GOAWAY in flight.
    conn.closeWrite().catch(() => this.#lose());
  }

  /** The connection is unusable: close it; the read loop ends and tears everything down. */
  #lose(): void {
    if (this.#lost) return;
    this.#lost = true;
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
  }

  #teardown(): void {
    this.#lost = true;
    for (const stream of [...this.#streams.values()]) stream.gone();
    this.#streams.clear();
    const error = new Deno.errors.Interrupted("the response could not be sent");
    for (const info of this.#unsent) info.settle(error);
    if (this.#writing === null) {
      for (const info of this.#inFlight) info.settle(error);
    }
    this.#unsent = [];
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
    this.#idleDeadline = this.#lingerDeadline = Infinity;
  }
}
