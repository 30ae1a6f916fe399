/**
 * One loop per connection, after Go's `conn.serve`: read a request head, run the handler, write
 * the response, finish the request body, decide whether to reuse the connection, repeat. Every
 * wire error ends in one place, {@link Connection.serve}'s catch.
 *
 * The parts: {@link Input} holds the bytes read, {@link Output} queues and writes the response
 * bytes (a batch of pipelined responses costs one write), {@link RequestBody} streams a request
 * body to the handler, and one {@link BodyWriter} per response puts its body on the wire in the
 * framing chosen for it (lib/h1/response_head.ts). A response that switches protocols hands the
 * connection over (lib/shared/handover.ts).
 *
 * Deno connections have no deadlines, so a connection publishes when its current wait must end
 * ({@link Connection.expired}) and the server's reaper closes it if that passes.
 *
 * Each request gets its own `info`, as with `Deno.serve`: `info.completed` settles when the
 * response has been written, and the request's `signal` aborts if the client leaves first.
 *
 * @module
 */

import { toBytes, utf8 } from "./body_bytes.ts";
import { HttpError, type Limits } from "../h1/errors.ts";
import { type RequestHead, RequestHeadParser } from "../h1/request_head.ts";
import {
  chooseFraming,
  connectionField,
  type HandlerFields,
  headStart,
  plainResponse,
  readHandlerFields,
  responseHasBody,
  sharedHeadStart,
  STATUS_TEXT,
} from "../h1/response_head.ts";
import type { ExchangeRecord, Handler } from "../shared/types.ts";
import { hostPort } from "../shared/address.ts";
import { noteArrival } from "../shared/arrival.ts";
import type { ClaimedFile } from "../shared/file_body.ts";
import { type ProtocolHandover, SwitchingProtocols } from "../shared/handover.ts";
import { responseFields, SharedFields, staticBody } from "../fastpath/response.ts";
import {
  absoluteFormUrl,
  createRequest,
  isForbiddenMethod,
  originFormUrl,
} from "../fastpath/request.ts";
import { type BodyWriter, bodyWriter } from "./body_writer.ts";
import { internalError, isConnectionGone, PeerClosed, UnsentBody } from "./errors.ts";
import { ExchangeInfo } from "./exchange_info.ts";
import { Input } from "./input.ts";
import { COPY_LIMIT, OUT_HIGH_WATER, Output, type OutputEvents } from "./output.ts";
import { type BodyWire, RequestBody } from "./request_body.ts";
import { claimFile, sendFileBody } from "./send_file.ts";

/** Time limits in milliseconds. */
export interface Timeouts {
  /** From the first byte of a request head to its end (slowloris). */
  headerTimeout: number;
  /** Waiting for the next request on a kept-alive connection. */
  idleTimeout: number;
  /** Waiting for the next bytes of a request body. */
  bodyTimeout: number;
  /** A single write waiting for the client to read (a client that never reads). */
  writeTimeout: number;
}

/** Everything a connection needs from its server. */
export interface ConnectionConfig {
  handler: Handler;
  limits: Limits;
  timeouts: Timeouts;
  scheme: "http" | "https";
  /** The `Server` header value, or null for none. */
  serverName: string | null;
  /** Unread request body bytes the server reads and discards to keep a connection (Go: 256 KiB). */
  maxDrainBytes: number;
  /** Turns a handler's exception into a response. */
  onError: (error: unknown, request: Request) => Response | Promise<Response>;
  /** Reports an error that is not the peer's doing (a bug, or a failing onError). */
  onInternalError: (error: unknown) => void;
  /** Called once per answered request, for access logs. */
  onExchange?: (record: ExchangeRecord) => void;
  /**
   * HTTP/2, when on: makes the session (lib/engine/h2_session.ts) a connection is handed to
   * when TLS chose "h2" by ALPN, or a cleartext client opened with the HTTP/2 preface.
   */
  http2?: () => Http2Handover;
}

/** Who counts a connection: told once, when its socket is closed. */
export interface ConnectionOwner {
  closed(connection: Connection): void;
}

/** An HTTP/2 session: a protocol hand-over with deadlines of its own for the reaper. */
export interface Http2Handover extends ProtocolHandover {
  expired(now: number): boolean;
  /** No stream open and nothing being written. */
  readonly idle: boolean;
}

/** How long, and how much, to read and discard after an error response before closing. */
const LINGER_MS = 500;
const LINGER_BYTES = 64 * 1024;
/**
 * Pipelined requests answered in a row from what one read brought before the loop lets the
 * event loop run: a turn of it lasts as long as the work every ready connection does in it, so
 * 200 clients with 1,000 requests buffered each would otherwise keep a new client waiting for
 * all of that. 16 is the depth benchmarks pipeline at, which never waits.
 */
const REQUESTS_PER_TURN = 16;

/** Resolves in a later turn of the event loop, after the I/O that is ready now. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

const encoder = new TextEncoder();
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");
/** The client connection preface of HTTP/2 (RFC 9113 §3.4). */
const H2_PREFACE = encoder.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Text that is the same in UTF-8 and ISO-8859-1: nothing above U+007F. */
const ASCII = /^[^\u0080-\uffff]*$/;
/** The last short text found to be ASCII: handlers tend to answer with the same text. */
let lastAscii = "";
function isAscii(text: string): boolean {
  if (text === lastAscii) return true;
  if (!ASCII.test(text)) return false;
  if (text.length <= 256) lastAscii = text;
  return true;
}

const PENDING = Symbol("pending");
/**
 * Resolves with `promise`'s value if it settles within a few microtask turns, else with PENDING.
 * Static response bodies (`new Response("text")`) are readable within two turns; a stream that
 * waits on a timer or I/O is not, and its head is sent without waiting for it.
 */
function soon<T>(promise: Promise<T>, turns: number): Promise<T | typeof PENDING> {
  let marker: Promise<typeof PENDING> = Promise.resolve(PENDING);
  for (let i = 1; i < turns; i++) marker = marker.then((v) => v);
  return Promise.race([promise, marker]);
}

type Sent = { keepAlive: boolean; bytes: number };

/** One request and what answering it needs: no request or info for one refused outright. */
interface Exchange {
  head: RequestHead;
  body: RequestBody | null;
  request: Request | null;
  info: ExchangeInfo | null;
  /** performance.now() when it began, for the access log (0 without one). */
  started: number;
}

/** Serves the requests arriving on one accepted connection. */
export class Connection implements OutputEvents {
  readonly conn: Deno.Conn;
  readonly remoteAddr: Deno.NetAddr;
  readonly #cfg: ConnectionConfig;
  readonly #parser: RequestHeadParser;
  readonly #input: Input;
  readonly #out: Output;
  /** What a request body reads through (made on the first request with a body). */
  #wire: BodyWire | null = null;

  /** When the current wait for the peer must end (ms since epoch). */
  #readDeadline = Infinity;
  /** Waiting for a new request with nothing of it received yet. */
  #idle = false;
  /** Waiting for more of a request head. */
  #headWaiting = false;
  /** Finish the current exchange, then close (graceful shutdown). */
  #closing = false;
  #closed = false;
  /** Closed by us (timeout, shutdown deadline, failed write): errors that follow are expected. */
  #aborted = false;
  /** The handler's `info` for the exchange in progress; told if its response is not sent. */
  #info: ExchangeInfo | null = null;
  /** The head of the exchange in progress, for the log line of an error that ends it. */
  #current: RequestHead | null = null;
  /** Whether the last request's body was left partly unread. */
  #bodyLeft = false;
  /** When the head being received must be complete (0: none is being received). */
  #headDeadline = 0;
  /** Whether the read in flight for a head was started on the socket (see #headBytesRead). */
  #socketRead = false;
  /** Requests answered since the loop last waited for the peer (see REQUESTS_PER_TURN). */
  #inARow = 0;
  /** The response body being streamed, if any. */
  #streaming: ReadableStreamDefaultReader<Uint8Array> | null = null;
  /** Set once the connection has been handed to another protocol; aborts it on shutdown. */
  #handedOver: AbortController | null = null;
  /** The HTTP/2 session the connection was handed to, if it was. */
  #h2: Http2Handover | null = null;

  /** Told once, when the socket is closed (the server stops counting the connection then). */
  readonly #owner: ConnectionOwner | undefined;

  constructor(conn: Deno.Conn, config: ConnectionConfig, owner?: ConnectionOwner) {
    this.conn = conn;
    this.#cfg = config;
    this.#owner = owner;
    this.#parser = new RequestHeadParser(config.limits);
    this.#input = new Input(conn);
    // The connection hears of its writes itself: no closures for an idle connection to hold.
    this.#out = new Output(conn, config.timeouts.writeTimeout, this);
    this.remoteAddr = conn.remoteAddr as Deno.NetAddr;
    if ("setNoDelay" in conn) {
      // Nagle would hold back the second segment of a response for ~40 ms (darkhttpd PR #7).
      (conn as Deno.TcpConn).setNoDelay(true);
    }
  }

  /** {@link OutputEvents}: a write failed, so the peer is gone. */
  writeFailed(): void {
    this.abort();
  }

  /** {@link OutputEvents}: shutdown came while idle with a write in flight: it is out, close. */
  drained(): void {
    if (this.#closing && this.#idle) this.abort();
  }

  /** Whether the connection is between requests with nothing received (HTTP/2: no stream). */
  get idle(): boolean {
    return this.#idle || (this.#h2 !== null && this.#h2.idle);
  }

  /**
   * Closes an idle connection to make room for a new one at the connection limit. An HTTP/2
   * session says GOAWAY first (RFC 9113 §6.8) and closes once it is out.
   */
  evict(): void {
    if (this.#h2 !== null) this.closeGracefully();
    else this.abort();
  }

  /** Whether it waits for the rest of a request head: nothing is owed to the client yet. */
  get headWaiting(): boolean {
    return this.#headWaiting;
  }

  /** True when a read or write has waited past its deadline. */
  expired(now: number): boolean {
    return now > this.#readDeadline || now > this.#out.deadline ||
      (this.#h2 !== null && this.#h2.expired(now));
  }

  /** Graceful shutdown: close now if idle, otherwise after the response in progress. */
  closeGracefully(): void {
    this.#closing = true;
    // Handed over: the other protocol says goodbye its own way.
    this.#handedOver?.abort();
    // Idle with a write in flight: the write's end closes it (see Output's drained), not this,
    // or the client would lose the tail of a response it was promised.
    if (this.#idle && this.#out.writing === null) this.abort();
  }

  /** Close the socket now; pending reads and writes fail and the loop ends. */
  abort(): void {
    this.#aborted = true;
    // A handler still at work learns that its answer will not be sent.
    this.#info?.cancel();
    this.#close();
    // A response stream waiting for its next chunk would otherwise keep the loop alive.
    this.#streaming?.cancel(new PeerClosed("before the response was sent")).catch(() => {});
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed by the peer's reset: nothing left to release.
    }
    // A loop still waiting for a handler that never answers holds no socket: it is not counted.
    this.#owner?.closed(this);
  }

  /** Runs the connection to its end. Never rejects. */
  async serve(): Promise<void> {
    try {
      const http2 = this.#cfg.http2;
      if (http2 !== undefined && await this.#negotiate(http2)) return;
      let mayHaveMore = false;
      for (;;) {
        if (++this.#inARow > REQUESTS_PER_TURN && this.#input.buffered) await this.#yieldTurn();
        // A pipelined head already buffered is taken without a promise round trip, and the
        // wait for one awaits the socket's read itself, with no async frame between.
        let head = this.#bufferedHead();
        while (head === null) {
          const reading = this.#readForHead();
          if (reading === null || !this.#headBytesRead(await reading)) break;
          head = this.#bufferedHead();
        }
        if (head === null) break;
        this.#current = head;
        const exchanged = this.#exchange(head);
        const reuse = typeof exchanged === "boolean" ? exchanged : await exchanged;
        this.#current = this.#info = null;
        if (this.#handedOver !== null) return;
        if (!reuse) {
          // A client that asked to close, and whose request was read in full, has nothing more
          // to send. Any other may have (pipelined requests, an unread body): see #linger.
          mayHaveMore = head.keepAlive || this.#bodyLeft || this.#input.buffered;
          break;
        }
      }
      await this.#flush();
      if (mayHaveMore) await this.#linger();
    } catch (error) {
      await this.#fail(error);
    } finally {
      const writing = this.#out.writing;
      if (writing !== null) await writing;
      this.#close();
      // A read may still be under way into the idle buffer (one started ahead, or one a request
      // body's reader took over and the handler left behind): then it is not pooled.
      this.#input.dispose();
      this.#out.dispose();
      // Whatever was not delivered by now never will be. (The error is made only when needed:
      // an Error captures a stack, which costs more than the rest of closing a connection.)
      const undelivered = [this.#info, ...this.#out.undelivered()];
      if (undelivered.some((info) => info !== null)) {
        const lost = new Deno.errors.Interrupted("the response could not be sent");
        for (const info of undelivered) info?.settle(lost);
      }
    }
  }

  /** The single place wire errors end up. */
  async #fail(error: unknown): Promise<void> {
    if (error instanceof HttpError && !this.#aborted) {
      const head = this.#current ?? error.requestLine;
      const bytes = this.#queueError(error, head?.method === "HEAD");
      try {
        this.#cfg.onExchange?.({
          request: null,
          method: head?.method ?? "",
          target: head?.target ?? "",
          minorVersion: head?.minorVersion ?? 1,
          status: error.status,
          bytes,
          remoteAddr: this.remoteAddr,
          duration: 0,
        });
      } catch (hookError) {
        this.#cfg.onInternalError(hookError); // a logging hook must not cost the client its answer
      }
      try {
        await this.#flush();
        await this.#linger();
      } catch {
        // The peer is gone; it will not see the error either way.
      }
      return;
    }
    if (this.#aborted || isConnectionGone(error)) return;
    this.#cfg.onInternalError(error);
  }

  /**
   * After an error response, stop sending and read a little more before closing: closing with
   * unread bytes makes the kernel send RST, which can destroy the response in flight (Go's
   * `closeWriteAndWait`).
   */
  async #linger(): Promise<void> {
    try {
      await this.conn.closeWrite();
    } catch {
      return;
    }
    this.#readDeadline = Date.now() + LINGER_MS;
    const input = this.#input;
    if (input.pending !== null) {
      // Its buffer must not be read into twice at once.
      if (await input.read().catch(() => null) === null) return;
    }
    let total = 0;
    while (total < LINGER_BYTES) {
      const n = await this.conn.read(input.buf);
      if (n === null) break;
      total += n;
    }
  }

  /** Sends the answers so far and lets other connections run before serving more. */
  async #yieldTurn(): Promise<void> {
    this.#inARow = 1;
    const sending = this.#out.send();
    if (sending !== undefined) await sending;
    await nextTurn();
    if (this.#closed) throw new PeerClosed("while waiting for its turn");
  }

  // ---- Reading heads ----------------------------------------------------------------------

  /** The next request head if the buffer holds all of it, else null. */
  #bufferedHead(): RequestHead | null {
    const input = this.#input;
    const parsed = this.#parser.parse(input.buf, input.start, input.end);
    if (parsed === null) return null;
    input.consume(parsed.consumed);
    this.#readDeadline = Infinity;
    this.#headDeadline = 0;
    return parsed.head;
  }

  /**
   * Starts waiting for more of the next request head: sends the answers queued so far (the
   * client may be waiting for them), sets the deadline and starts the read. Null when the loop
   * should end instead: shutdown came between requests.
   */
  #readForHead(): Promise<number | null> | null {
    if (!this.#parser.inProgress && this.#closing) return null;
    const sending = this.#out.send();
    if (sending !== undefined) return this.#readAfterSend(sending);
    return this.#startHeadRead();
  }

  /** {@link #readForHead} behind a write still in flight. */
  async #readAfterSend(sending: Promise<void>): Promise<number | null> {
    await sending;
    // Shutdown may have begun while the write held us here, unseen as idle: stop now, or we
    // would wait for a request until the idle timeout or the grace period.
    if (!this.#parser.inProgress && this.#closing) return null;
    return await this.#startHeadRead();
  }

  #startHeadRead(): Promise<number | null> {
    const t = this.#cfg.timeouts;
    const partial = this.#parser.inProgress;
    if (partial && this.#headDeadline === 0) this.#headDeadline = Date.now() + t.headerTimeout;
    this.#readDeadline = partial ? this.#headDeadline : Date.now() + t.idleTimeout;
    this.#idle = !partial;
    this.#headWaiting = partial;
    const input = this.#input;
    if (input.pending !== null) return input.read(!partial);
    this.#socketRead = true;
    return input.startRead(!partial);
  }

  /** A wait of {@link #readForHead} ended with `n` bytes; false when the peer is gone. */
  #headBytesRead(n: number | null): boolean {
    if (this.#socketRead) {
      this.#socketRead = false;
      n = this.#input.readDone(n);
    }
    this.#idle = this.#headWaiting = false;
    this.#inARow = 1;
    if (n !== null) return true;
    this.#readDeadline = Infinity;
    return false; // closed between requests, or mid-head: nothing to answer either way
  }

  // ---- One exchange -----------------------------------------------------------------------

  /**
   * Answers one request: whether the connection can carry another. Without a promise when the
   * handler answers at once and its response goes out without waiting, the usual case: an async
   * frame per request costs more than the rest of the exchange's bookkeeping.
   */
  #exchange(head: RequestHead): boolean | Promise<boolean> {
    const started = this.#cfg.onExchange ? performance.now() : 0;
    const body = head.framing.kind === "none"
      ? null
      : new RequestBody(head, this.#cfg.limits, this.#wire ??= this.#bodyWire());
    const refusal = refuse(head);
    if (refusal !== null) {
      const exchange: Exchange = { head, body, request: null, info: null, started };
      // A CONNECT client may already be sending tunnel bytes after the head (RFC 9110 §9.3.6):
      // refused, they are not requests and must not be parsed as the next one.
      return this.#answer(exchange, refusal, head.keepAlive && head.method !== "CONNECT");
    }
    const info = this.#info = new ExchangeInfo(this.remoteAddr);
    const request = this.#toRequest(head, body, info);
    const exchange: Exchange = { head, body, request, info, started };
    let result: Response | Promise<Response>;
    try {
      result = this.#cfg.handler(request, info);
    } catch (error) {
      return this.#handlerFailed(exchange, error);
    }
    if (result instanceof Response) return this.#answer(exchange, result, head.keepAlive);
    return this.#awaitHandler(exchange, result);
  }

  /** A handler that answers later: the connection goes on sending and reading meanwhile. */
  async #awaitHandler(exchange: Exchange, result: Promise<Response>): Promise<boolean> {
    let response: Response;
    try {
      // A slow handler must not hold back the responses queued before it.
      if (this.#out.queued > 0) await this.#out.send();
      // Reading on while it works keeps the next request's bytes, and notices the client
      // leaving: the end of the connection (EOF or a reset) aborts the request's signal, as
      // Go's server cancels the request's context, a half-close included.
      const info = exchange.info!;
      if (exchange.body === null && !this.#closed) {
        this.#input.readAhead((error) => this.#peerLeft(info, error));
      }
      response = await result;
      if (!(response instanceof Response)) {
        throw new TypeError("the handler did not return a Response");
      }
    } catch (error) {
      return await this.#handlerFailed(exchange, error);
    }
    return await this.#answer(exchange, response, exchange.head.keepAlive);
  }

  /** The handler threw or rejected: `onError` answers, unless the request body's failure did. */
  async #handlerFailed(exchange: Exchange, error: unknown): Promise<boolean> {
    const body = exchange.body;
    if (body?.error instanceof HttpError) throw body.error;
    if (body !== null && isConnectionGone(body.error)) throw body.error;
    let response: Response;
    try {
      response = await this.#cfg.onError(error, exchange.request!);
      if (!(response instanceof Response)) throw new TypeError("onError did not return a Response");
    } catch (inner) {
      this.#cfg.onInternalError(inner);
      response = internalError();
    }
    return await this.#answer(exchange, response, exchange.head.keepAlive);
  }

  /** Sends the response to an exchange, then finishes it. */
  #answer(exchange: Exchange, response: Response, keepAlive: boolean): boolean | Promise<boolean> {
    if (response instanceof SwitchingProtocols) return this.#switchProtocols(exchange, response);
    const body = exchange.body;
    if (body !== null && !body.done) {
      // The client still waits for 100 Continue and will send the body only after it, or we
      // cannot afford to read what is left: either way the connection cannot be reused.
      if (!body.continued || body.remaining > this.#cfg.maxDrainBytes) keepAlive = false;
    }
    if (body?.error) keepAlive = false;
    if (this.#closing) keepAlive = false;
    const writing = this.#respond(exchange.head, response, keepAlive);
    if (writing instanceof Promise) {
      return this.#answerLater(exchange, response, keepAlive, writing);
    }
    return this.#finish(exchange, response.status, writing);
  }

  /** {@link #answer} for a response whose writing has to wait. */
  async #answerLater(
    exchange: Exchange,
    response: Response,
    keepAlive: boolean,
    writing: Promise<Sent>,
  ): Promise<boolean> {
    let sent: Sent;
    try {
      sent = await writing;
    } catch (error) {
      if (!(error instanceof UnsentBody)) throw error;
      // Nothing of this response was sent, so the client can still get an honest 500 rather
      // than a bare close (RFC 9110 §15.6.1).
      this.#cfg.onInternalError(error.cause);
      response = internalError();
      sent = await this.#respond(exchange.head, response, keepAlive);
    }
    return await this.#finish(exchange, response.status, sent);
  }

  /** After the response: `info.completed` once it is written, the request body, the log. */
  #finish(exchange: Exchange, status: number, sent: Sent): boolean | Promise<boolean> {
    if (exchange.info !== null) this.#out.settleWhenWritten(exchange.info);
    const body = exchange.body;
    if (body !== null && sent.keepAlive && !body.done) {
      return body.drain(this.#cfg.maxDrainBytes).then((keepAlive) =>
        this.#end(exchange, status, keepAlive, sent.bytes)
      );
    }
    return this.#end(exchange, status, sent.keepAlive, sent.bytes);
  }

  #end(exchange: Exchange, status: number, keepAlive: boolean, bytes: number): boolean {
    const body = exchange.body;
    if (body !== null) {
      this.#bodyLeft = !body.done;
      body.detach();
    }
    this.#log(exchange.request, exchange.head, status, bytes, exchange.started);
    return keepAlive && !this.#closing;
  }

  /**
   * The client closed its side, or the connection failed, while its handler worked: the
   * request's signal aborts. After a reset nothing can be answered, so the socket is freed now.
   * After a half-close the answer may still be read (Go's server sends it too), but a client that
   * left for good must not hold a socket for as long as its handler takes: it gets the header
   * timeout, then the socket is freed and a late answer dropped.
   */
  #peerLeft(info: ExchangeInfo, error: unknown): void {
    info.cancel();
    if (error !== undefined) this.abort();
    else {
      const deadline = Date.now() + this.#cfg.timeouts.headerTimeout;
      if (deadline < this.#readDeadline) this.#readDeadline = deadline;
    }
  }

  #log(
    request: Request | null,
    head: RequestHead,
    status: number,
    bytes: number,
    started: number,
  ): void {
    this.#cfg.onExchange?.({
      request,
      method: head.method,
      target: head.target,
      minorVersion: head.minorVersion,
      status,
      bytes,
      remoteAddr: this.remoteAddr,
      duration: performance.now() - started,
    });
  }

  #toRequest(head: RequestHead, body: RequestBody | null, info: ExchangeInfo): Request {
    const url = head.form === "absolute"
      ? absoluteFormUrl(head.target) // RFC 9112 §3.2.2: the target's authority overrides Host.
      : originFormUrl(
        this.#cfg.scheme,
        head.host || localHost(this.conn.localAddr as Deno.NetAddr),
        head.target,
      );
    // Fetch cannot give a GET or HEAD request a body, and content there has no defined meaning
    // (RFC 9110 §9.3.1, §9.3.2): as with Deno.serve, the handler sees none and what was sent is
    // drained like any unread body.
    const stream = body === null || head.method === "GET" || head.method === "HEAD"
      ? null
      : body.stream;
    const request = createRequest(head.method, url, head.headers, stream, info);
    // Its bytes are in the buffer: they came with the last read or before.
    noteArrival(request, this.#input.arrival);
    return request;
  }

  /** What request bodies read through: the buffer, the body clock and 100 Continue. */
  #bodyWire(): BodyWire {
    return {
      input: this.#input,
      sendContinue: async () => {
        this.#out.queue(CONTINUE);
        await this.#flush();
      },
      readOnBodyClock: async (read, sendFirst) => {
        if (sendFirst) await this.#out.send();
        this.#readDeadline = Date.now() + this.#cfg.timeouts.bodyTimeout;
        const n = await read();
        this.#readDeadline = Infinity;
        return n;
      },
      readInto: (buffer) => this.conn.read(buffer),
    };
  }

  // ---- The hand-over to another protocol ----------------------------------------------------

  /**
   * Before the first request: a TLS connection whose ALPN chose "h2", or a cleartext one that
   * opens with the HTTP/2 preface (prior knowledge, RFC 9113 §3.3), goes to an HTTP/2 session.
   * Resolves true once that session has ended; false for HTTP/1.1, with what was read (if
   * anything) left in the buffer for the request loop.
   */
  async #negotiate(session: () => Http2Handover): Promise<boolean> {
    const input = this.#input;
    // Like the wait for any first request: idle, so a shutdown now just closes.
    this.#readDeadline = Date.now() + this.#cfg.timeouts.idleTimeout;
    this.#idle = true;
    let buffered: Uint8Array;
    if (this.#cfg.scheme === "https") {
      const { alpnProtocol } = await (this.conn as Deno.TlsConn).handshake();
      this.#idle = false;
      this.#readDeadline = Infinity;
      if (alpnProtocol !== "h2") return false;
      buffered = new Uint8Array(0);
    } else {
      for (;;) {
        const n = input.start === input.end
          ? input.readDone(await input.startRead(true))
          : await input.read();
        this.#idle = false;
        if (n === null) return true; // gone before saying anything: nothing to answer
        const length = input.end - input.start;
        const compared = Math.min(length, H2_PREFACE.length);
        for (let i = 0; i < compared; i++) {
          if (input.buf[input.start + i] !== H2_PREFACE[i]) {
            this.#readDeadline = Infinity;
            return false;
          }
        }
        if (compared === H2_PREFACE.length) break;
      }
      this.#readDeadline = Infinity;
      buffered = input.buf.slice(input.start, input.end);
      input.consume(input.end - input.start);
    }
    const h2 = this.#h2 = session();
    const handedOver = this.#handedOver = new AbortController();
    if (this.#closing) handedOver.abort();
    await h2.run(this.conn, buffered, handedOver.signal);
    return true;
  }

  /**
   * Writes the 101 head of `response` and hands the connection to its protocol (RFC 9110 §7.8),
   * with what the client sent past the request. Only an HTTP/1.1 request whose body (if any)
   * was read in full can switch: anything else gets a 500, as a server bug.
   */
  async #switchProtocols(exchange: Exchange, response: SwitchingProtocols): Promise<boolean> {
    const { head, body, info, request, started } = exchange;
    if (head.minorVersion !== 1 || (body !== null && !body.done) || this.#closing) {
      this.#cfg.onInternalError(
        new TypeError("a protocol switch needs an HTTP/1.1 request read in full"),
      );
      response.handover.abandon?.();
      await this.#respond(head, internalError(), false);
      this.#log(request, head, 500, 0, started);
      return false;
    }
    let fields = "";
    for (const [name, value] of response.headers) fields += `${name}: ${value}\r\n`;
    this.#out.queueText(`HTTP/1.1 101 Switching Protocols\r\n${fields}\r\n`);
    await this.#flush();
    if (info !== null) info.settle(null);
    this.#log(request, head, 101, 0, started);
    const input = this.#input;
    const buffered = input.buf.slice(input.start, input.end);
    input.consume(input.end - input.start);
    // A read started while an async handler ran may wait for bytes the client sends only after
    // the 101 (a WebSocket client waits for the server's first message): the protocol takes it
    // over instead of the switch waiting for it. Its bytes land after `buffered`'s.
    let pending: Promise<Uint8Array | null> | null = null;
    if (input.pending !== null) {
      pending = input.read().then((n) =>
        n === null ? null : input.buf.slice(input.end - n, input.end)
      );
      pending.catch(() => {}); // a protocol that ignores it must not leave a rejection unhandled
    }
    // From here on the other protocol keeps its own time: no HTTP deadline applies.
    this.#readDeadline = Infinity;
    const handedOver = this.#handedOver = new AbortController();
    try {
      const sent = await response.handover.run(this.conn, buffered, handedOver.signal, pending);
      // A second record for the access log when the protocol ends: its lifetime, bytes sent.
      this.#log(request, head, 101, typeof sent === "number" ? sent : 0, started);
    } catch (error) {
      if (!isConnectionGone(error)) this.#cfg.onInternalError(error);
    }
    return false;
  }

  // ---- Writing responses --------------------------------------------------------------------

  /** Sends everything queued and waits until it has been written. */
  async #flush(): Promise<void> {
    await this.#out.flush();
    if (this.#aborted) throw new PeerClosed("while writing");
  }

  /** Lets an idle connection drop its buffers (the server's reaper calls this). */
  releaseBuffers(): void {
    if (!this.#idle) return;
    this.#input.release();
    this.#out.release();
    this.#parser.release();
  }

  /**
   * Queues the response to a request we refuse outright, with the connection closing after.
   * Returns the body bytes sent: none to a HEAD request, which gets the fields only (RFC 9110
   * §9.3.2).
   */
  #queueError(error: HttpError, toHead: boolean): number {
    const { head, body } = plainResponse(error.status, error.message, this.#cfg.serverName, toHead);
    this.#out.queueText(head);
    if (body === "") return 0;
    const bytes = encoder.encode(body);
    this.#out.queue(bytes);
    return bytes.length;
  }

  /**
   * Writes a handler's response. A body available at once (any `new Response(bytes or text)`)
   * goes out with the head in one write; a small one is queued without waiting, and the result
   * comes back without a promise. Anything else takes {@link #respondFully}.
   */
  #respond(head: RequestHead, response: Response, keepAlive: boolean): Sent | Promise<Sent> {
    // Before the headers: reading them can move an in-memory body into a stream.
    const inMemory = staticBody(response);
    if (inMemory === undefined) return this.#respondFully(head, response, keepAlive, inMemory);
    const text = typeof inMemory === "string" && isAscii(inMemory) ? inMemory : null;
    const bytes = typeof inMemory === "string" ? null : inMemory;
    const total = text?.length ?? bytes?.length ?? 0;
    // Anything else (UTF-8 to encode, large, or a full queue to send first) waits its turn.
    if (
      (text === null && bytes === null && inMemory !== null) || total > COPY_LIMIT ||
      this.#out.queued + total >= OUT_HIGH_WATER
    ) {
      return this.#respondFully(head, response, keepAlive, inMemory);
    }
    const fields = handlerFields(response);
    const status = response.status;
    const choice = chooseFraming(
      head.method,
      head.minorVersion,
      status,
      fields.declaredLength,
      total,
      inMemory === null,
    );
    // A declared length the body does not have: the writer cuts the connection.
    if (choice.framing === "length" && choice.length !== total) {
      return this.#respondFully(head, response, keepAlive, inMemory);
    }
    keepAlive &&= !fields.close;
    this.#queueHead(head, response, fields, keepAlive, choice.field);
    if (choice.framing === "none") return { keepAlive, bytes: 0 };
    if (text !== null) this.#out.queueText(text);
    else if (bytes !== null && total > 0) this.#out.queue(bytes);
    return { keepAlive, bytes: total };
  }

  /** Queues the head: its start (kept, for shared fields), then `framing` and the blank line. */
  #queueHead(
    head: RequestHead,
    response: Response,
    fields: HandlerFields,
    keepAlive: boolean,
    framing: string,
  ): void {
    const status = response.status;
    const reason = response.statusText || STATUS_TEXT[status] || "";
    const connection = connectionField(keepAlive, head.minorVersion);
    const server = this.#cfg.serverName;
    const out = this.#out;
    if (fields.shared) {
      const start = sharedHeadStart(status, reason, connection, server, fields);
      // Behind text still to encode (pipelined responses), the text joins that batch instead.
      if (out.hasText) out.queueText(`${start.text}${framing}\r\n`);
      else {
        out.queue(start.bytes);
        out.queueText(`${framing}\r\n`);
      }
      return;
    }
    out.queueText(`${headStart(status, reason, connection, server, fields)}${framing}\r\n`);
  }

  /** {@link #respond} for every kind of body: streams, files, and what must wait. */
  async #respondFully(
    head: RequestHead,
    response: Response,
    keepAlive: boolean,
    inMemory: string | Uint8Array | null | undefined,
  ): Promise<Sent> {
    const status = response.status;
    const withBody = responseHasBody(head.method, status);
    const fields = handlerFields(response);
    keepAlive &&= !fields.close;
    // A HEAD response states the length a GET would have had (RFC 9110 §9.3.2): when the handler
    // did not, what its body has ready tells it.
    const measure = !withBody && head.method === "HEAD" && fields.declaredLength < 0 &&
      responseHasBody("GET", status);

    // Read what the body has ready now; stop at the first read that would have to wait.
    const chunks: Uint8Array[] = [];
    let total = 0;
    let done = true;
    let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
    let next: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
    let file: ClaimedFile | null = null;
    if (inMemory !== undefined) {
      const bytes = typeof inMemory === "string" ? utf8(inMemory) : inMemory;
      if (bytes !== null && bytes.length > 0) chunks.push(bytes);
      total = bytes?.length ?? 0;
    } else if (response.body !== null && !withBody && !measure) {
      // Nothing of it goes out (204, 304, HEAD with a declared length): do not pull a stream
      // only to throw it away.
      await response.body.cancel().catch(() => {});
    } else if (withBody && (file = claimFile(response, fields.declaredLength)) !== null) {
      done = false; // sent below, straight from the file, with the declared length
    } else if (response.body !== null) {
      try {
        // Throws if the handler already read or locked the body.
        reader = response.body.getReader();
        done = false;
        let turns = 4;
        while (total <= OUT_HIGH_WATER) {
          next = reader.read();
          const result = await soon(next, turns);
          if (result === PENDING) break;
          next = null;
          if (result.done) {
            done = true;
            break;
          }
          const chunk = toBytes(result.value);
          chunks.push(chunk);
          total += chunk.length;
          turns = 2;
        }
      } catch (error) {
        await reader?.cancel(error).catch(() => {});
        throw new UnsentBody(error);
      }
    }

    const nullBody = inMemory === null || (inMemory === undefined && response.body === null);
    const choice = chooseFraming(
      head.method,
      head.minorVersion,
      status,
      fields.declaredLength,
      done ? total : -1,
      nullBody,
    );
    if (choice.framing === "close") keepAlive = false;
    this.#queueHead(head, response, fields, keepAlive, choice.field);

    if (choice.framing === "none") {
      if (reader !== null && !done) await reader.cancel().catch(() => {});
      if (this.#out.queued >= OUT_HIGH_WATER) await this.#out.send();
      return { keepAlive, bytes: 0 };
    }

    const writer = bodyWriter(this.#out, choice.framing, choice.length);
    try {
      if (file !== null) return { keepAlive, bytes: await this.#sendFile(file) };
      for (const chunk of chunks) {
        const writing = writer.put(chunk);
        if (writing !== undefined) await writing;
      }
      if (!done) await this.#stream(reader!, next, writer);
      const ending = writer.end();
      if (ending !== undefined) await ending;
      if (this.#out.queued >= OUT_HIGH_WATER) await this.#out.send();
      return { keepAlive, bytes: writer.sent };
    } catch (error) {
      // The head is out, so the only honest signal left is closing the connection, after what
      // was queued: the client sees the body end short.
      if (reader !== null) await reader.cancel(error).catch(() => {});
      if (!isConnectionGone(error) && !this.#aborted) {
        this.#cfg.onInternalError(error);
        await this.#out.flush().catch(() => {});
      }
      this.abort();
      throw new PeerClosed("while streaming a response");
    }
  }

  /** Writes a static file's body from the file, not its stream (see FileBody). */
  async #sendFile(file: ClaimedFile): Promise<number> {
    // A connection aborted meanwhile cancels the stream, which closes the file.
    this.#streaming = file.reader;
    try {
      return await sendFileBody(file, (bytes) => this.#out.writeDirect(bytes));
    } finally {
      this.#streaming = null;
    }
  }

  /**
   * Streams the rest of a body whose end was not known yet: what is queued goes out now, then
   * each chunk as it comes, reading the next one while the previous one is written.
   */
  async #stream(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    next: Promise<ReadableStreamReadResult<Uint8Array>> | null,
    writer: BodyWriter,
  ): Promise<void> {
    this.#streaming = reader;
    try {
      await this.#out.send();
      for (;;) {
        const result = await (next ?? reader.read());
        // A failed write aborts the connection: stop pulling from the body (SSE and other
        // endless streams learn of the disconnect through their cancel callback).
        if (this.#aborted) throw new PeerClosed("while streaming a response");
        if (result.done) break;
        next = reader.read();
        const writing = writer.put(toBytes(result.value));
        if (writing !== undefined) await writing;
        await this.#out.send();
      }
    } finally {
      this.#streaming = null;
    }
  }
}

/** What the engine made of each shared field list: each is read once. */
const sharedHeads = new WeakMap<SharedFields, HandlerFields>();

/** A handler's fields as head text, read once for a list many responses share. */
function handlerFields(response: Response): HandlerFields {
  const fields = responseFields(response);
  if (fields === undefined) return readHandlerFields(response.headers);
  if (!(fields instanceof SharedFields)) return readHandlerFields(fields);
  let head = sharedHeads.get(fields);
  if (head === undefined) {
    sharedHeads.set(fields, head = Object.freeze(readHandlerFields(fields.list, true)));
  }
  return head;
}

function refuse(head: RequestHead): Response | null {
  if (head.form === "asterisk") {
    return new Response(null, { status: 200, headers: { allow: "GET, HEAD, POST, OPTIONS" } });
  }
  const method = head.method;
  if (isForbiddenMethod(method)) {
    return new Response(`${method} is not supported\n`, {
      status: 501,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  return null;
}

/** A Host for a request that had none (HTTP/1.0): the address it reached us on. */
function localHost(addr: Deno.NetAddr): string {
  return hostPort(addr.hostname, addr.port);
}
