/**
 * One loop per connection, after Go's `conn.serve`: read a request head, run the handler, write
 * the response, finish the request body, decide whether to reuse the connection, repeat. Every
 * wire error ends in one place, {@link Connection.serve}'s catch.
 *
 * Pipelined requests are answered in order. Responses are queued in an output buffer and sent
 * when the loop would otherwise wait (for more request bytes, or for an async handler), so a
 * batch of pipelined requests costs one `write`. At most one write is in flight, and the loop
 * does not wait for it before reading again.
 *
 * Deno connections have no deadlines, so a connection publishes when its current wait must end
 * ({@link Connection.expired}) and the server's reaper closes it if that passes.
 *
 * Each request gets its own `info`, as with `Deno.serve`: `info.completed` settles when the
 * response has been written, and the request's `signal` aborts if the client leaves first.
 *
 * @module
 */

import { CONNECTION_MANAGED, responseHasBody, STATUS_TEXT } from "../h1/response_head.ts";
import { encodeLatin1Into } from "../h1/grammar.ts";
import { HttpError, type Limits } from "../h1/errors.ts";
import { type RequestHead, RequestHeadParser } from "../h1/request_head.ts";
import { ChunkedDecoder } from "../h1/chunked.ts";
import { dateValue, httpDate } from "../h1/date.ts";
import { hostPort } from "../shared/address.ts";
import type { ExchangeRecord, Handler, ServeHandlerInfo } from "../shared/types.ts";
import { responseFields, staticBody } from "../fastpath/response.ts";
import { type Arrival, noteArrival, readDelivered, readStarting } from "../shared/arrival.ts";
import { claimFile, sendFileBody } from "./send_file.ts";
import type { ClaimedFile } from "../shared/file_body.ts";
import { absoluteFormUrl, createRequest, originFormUrl } from "../fastpath/request.ts";

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
}

/** Body bytes read per `conn.read` when a body is not already buffered. */
const BODY_READ_SIZE = 64 * 1024;
/**
 * The read buffer a connection waits for its next request in: what an idle connection holds.
 * Most heads (and wrk's 16 pipelined GETs) fit; if not, the rest goes to the working buffer.
 */
const IDLE_BUFFER_SIZE = 1024;
/** The working read buffer, for heads and chunked bodies; it grows up to the head limit. */
const READ_BUFFER_SIZE = 4 * 1024;
/**
 * Initial output buffer; it grows for larger responses. Small, because an idle connection keeps
 * it until the reaper's next pass (and its memory stays resident after).
 */
const OUT_BUFFER_SIZE = 1024;
/** Queued response bytes that trigger a write even if more pipelined requests wait. */
const OUT_HIGH_WATER = 64 * 1024;
/** Chunks larger than this are written directly instead of being copied into the queue. */
const COPY_LIMIT = 16 * 1024;
/** Queued response text is encoded into the output buffer once it reaches this length. */
const TEXT_BATCH = 4 * 1024;
/** Text up to this long is encoded by a loop rather than by a call into the runtime. */
const SHORT_TEXT = 64;
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
/** How long, and how much, to read and discard after an error response before closing. */
const LINGER_MS = 500;
const LINGER_BYTES = 64 * 1024;

const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const LAST_CHUNK = encoder.encode("0\r\n\r\n");
const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * Buffers of closed connections, kept for new ones. Allocating an ArrayBuffer costs about a
 * microsecond, and more garbage collection after: with these pooled, a new connection per request
 * took ~15% less CPU. Go's net/http pools its per-connection bufio readers and writers likewise.
 */
class BufferPool {
  readonly #size: number;
  readonly #max: number;
  readonly #free: Uint8Array[] = [];

  constructor(size: number, max: number) {
    this.#size = size;
    this.#max = max;
  }

  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.#size);
  }

  /** Only when nothing can still read into it or write from it. */
  give(buffer: Uint8Array | null): void {
    if (buffer === null || buffer.length !== this.#size || this.#free.length >= this.#max) return;
    // Only [start, end) of a read buffer and [0, length) of output are ever used, so stale bytes
    // could not leak to the next connection; zeroing makes sure of it for a few nanoseconds.
    this.#free.push(buffer.fill(0));
  }
}

const idleBuffers = new BufferPool(IDLE_BUFFER_SIZE, 256);
const outBuffers = new BufferPool(OUT_BUFFER_SIZE, 256);

/** What a head's start depends on, and its bytes. */
interface PrefixKey {
  fields: ResponseHead;
  status: number;
  reason: string;
  /** The connection field: none, keep-alive (HTTP/1.0) or close. */
  connection: 0 | 1 | 2;
  server: string | null;
  /** The Date it holds: the entry is good for that second only. */
  date: string;
}

/** A head's start, as text and as bytes. */
interface Prefix {
  text: string;
  bytes: Uint8Array;
}

/** The last few heads' starts, replaced in turn. */
const prefixes: (PrefixKey & Prefix)[] = [];
const PREFIXES = 8;
let nextPrefix = 0;

function findPrefix(
  fields: ResponseHead,
  status: number,
  reason: string,
  connection: 0 | 1 | 2,
  server: string | null,
): Prefix | null {
  const date = httpDate(Date.now());
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i];
    if (
      p.fields === fields && p.status === status && p.date === date && p.reason === reason &&
      p.connection === connection && p.server === server
    ) return p;
  }
  return null;
}

function keepPrefix(key: PrefixKey, text: string): Prefix {
  const bytes = new Uint8Array(text.length);
  encodeLatin1Into(text, bytes, 0);
  const prefix = { ...key, text, bytes };
  prefixes[nextPrefix] = prefix;
  nextPrefix = (nextPrefix + 1) % PREFIXES;
  return prefix;
}

/** Errors that only mean the peer went away or the connection was closed under us. */
function isConnectionGone(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.NotConnected ||
    error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.Interrupted ||
    // A TLS handshake the client failed (plain HTTP on the HTTPS port, an untrusted cert).
    error instanceof Deno.errors.InvalidData ||
    error instanceof PeerClosed;
}

/** A response body failed before any of the response was sent. */
class UnsentBody extends Error {
  constructor(cause: unknown) {
    super("the response body failed before it was sent", { cause });
    this.name = "UnsentBody";
  }
}

function internalError(): Response {
  return new Response("Internal Server Error\n", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** The peer closed its side in the middle of a message. */
class PeerClosed extends Error {
  constructor(what: string) {
    super(`connection closed ${what}`);
    this.name = "PeerClosed";
  }
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

/** The state of one request body as it is read. */
interface BodyState {
  /** Bytes left for a Content-Length body. */
  remaining: number;
  decoder: ChunkedDecoder | null;
  done: boolean;
  /** 100 Continue was sent, or was never asked for. */
  continued: boolean;
  /** A read is in flight through the stream. */
  pulling: boolean;
  /** The exchange is over; the body can no longer be read. */
  detached: boolean;
  error: unknown;
  stream: ReadableStream<Uint8Array>;
}

/** Serves the requests arriving on one accepted connection. */
export class Connection {
  readonly conn: Deno.Conn;
  readonly remoteAddr: Deno.NetAddr;
  readonly #cfg: ConnectionConfig;
  readonly #parser: RequestHeadParser;

  /** The buffer bytes are read into: `#idleBuf` or `#work`; `[#start, #end)` is unread. */
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  /** Where a connection with nothing buffered waits for its next request. */
  readonly #idleBuf = idleBuffers.take();
  /** The working buffer, made when needed and dropped when idle (see releaseBuffers). */
  #work: Uint8Array | null = null;

  #out: Uint8Array | null = null;
  #outLen = 0;
  /** Response text queued after the `#outLen` bytes, not yet encoded (see `#queueText`). */
  #text = "";
  /** The buffer the in-flight write is sending from; it becomes the next `#out`. */
  #spare: Uint8Array | null = null;
  #writing: Promise<void> | null = null;
  /** What the write in flight has still to send. */
  #writingData: Uint8Array | null = null;
  #writeDeadline = Infinity;

  /** When the current wait for the peer must end (ms since epoch). */
  #readDeadline = Infinity;
  /** Waiting for a new request with nothing of it received yet. */
  #idle = false;
  /** Finish the current exchange, then close (graceful shutdown). */
  #closing = false;
  #closed = false;
  /** Closed by us (timeout, shutdown deadline, failed write): errors that follow are expected. */
  #aborted = false;
  /** Reads into `#buf` under way (or failed): the idle buffer is pooled only at zero. */
  #reading = 0;
  /**
   * When the read in flight was started, and when the bytes in the buffer arrived (until a read
   * has returned some: never, so no lookup counts for them).
   */
  #readStarted = 0;
  #arrival: Arrival = { started: Infinity, turn: Infinity };
  /** A read started while a handler ran (see #watch), not yet taken by #read. */
  #pendingRead: Promise<number | null> | null = null;
  /** The handler's `info` for the exchange in progress; told if its response is not sent. */
  #info: ExchangeInfo | null = null;
  /** Infos whose responses end in the queued bytes, and in the write in flight. */
  #unsent: ExchangeInfo[] = [];
  #inFlight: ExchangeInfo[] = [];
  /** The head of the exchange in progress, for the log line of an error that ends it. */
  #current: RequestHead | null = null;
  /** Whether the last request's body was left partly unread. */
  #bodyLeft = false;
  /** The response body being streamed, if any. */
  #streaming: ReadableStreamDefaultReader<Uint8Array> | null = null;

  constructor(conn: Deno.Conn, config: ConnectionConfig) {
    this.conn = conn;
    this.#cfg = config;
    this.#parser = new RequestHeadParser(config.limits);
    this.#buf = this.#idleBuf;
    this.remoteAddr = conn.remoteAddr as Deno.NetAddr;
    if ("setNoDelay" in conn) {
      // Nagle would hold back the second segment of a response for ~40 ms (darkhttpd PR #7).
      (conn as Deno.TcpConn).setNoDelay(true);
    }
  }

  /** Whether the connection is between requests with nothing received. */
  get idle(): boolean {
    return this.#idle;
  }

  /** True when a read or write has waited past its deadline. */
  expired(now: number): boolean {
    return now > this.#readDeadline || now > this.#writeDeadline;
  }

  /** Graceful shutdown: close now if idle, otherwise after the response in progress. */
  closeGracefully(): void {
    this.#closing = true;
    // Idle with a write in flight: the write's end closes it (see #send), not this, or the
    // client would lose the tail of a response it was promised.
    if (this.#idle && this.#writing === null) this.abort();
  }

  /** Close the socket now; pending reads and writes fail and the loop ends. */
  abort(): void {
    this.#aborted = true;
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
  }

  /** Runs the connection to its end. Never rejects. */
  async serve(): Promise<void> {
    try {
      let mayHaveMore = false;
      for (;;) {
        // A pipelined head already buffered is taken without a promise round trip.
        const head = this.#bufferedHead() ?? await this.#readHead();
        if (head === null) break;
        this.#current = head;
        const reuse = await this.#exchange(head);
        this.#current = this.#info = null;
        if (!reuse) {
          // A client that asked to close, and whose request was read in full, has nothing more
          // to send. Any other may have (pipelined requests, an unread body): see #linger.
          mayHaveMore = head.keepAlive || this.#bodyLeft || this.#start < this.#end;
          break;
        }
      }
      await this.#flush();
      if (mayHaveMore) await this.#linger();
    } catch (error) {
      await this.#fail(error);
    } finally {
      if (this.#writing) await this.#writing;
      this.#close();
      // A read may still be under way into the idle buffer: one #watch started, or one a
      // request body's reader took over and the handler left behind.
      if (this.#reading === 0) idleBuffers.give(this.#idleBuf);
      outBuffers.give(this.#out);
      outBuffers.give(this.#spare);
      this.#out = this.#spare = null;
      // Whatever was not delivered by now never will be. (The error is made only when needed:
      // an Error captures a stack, which costs more than the rest of closing a connection.)
      const undelivered = [this.#info, ...this.#inFlight, ...this.#unsent];
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
    let total = 0;
    if (this.#pendingRead !== null) {
      // Its buffer must not be read into twice at once.
      if (await this.#read().catch(() => null) === null) return;
    }
    while (total < LINGER_BYTES) {
      const n = await this.conn.read(this.#buf);
      if (n === null) break;
      total += n;
    }
  }

  // ---- Reading ----------------------------------------------------------------------------

  /**
   * Reads more bytes into the buffer. With nothing buffered between requests (`waiting`), that is
   * the small idle buffer; otherwise the working buffer, compacted or grown first if full.
   */
  #read(waiting = false): Promise<number | null> {
    const pending = this.#pendingRead;
    if (pending === null) return this.#readMore(waiting);
    // Started while a handler ran: its bytes land where this read's would have.
    this.#pendingRead = null;
    return pending;
  }

  async #readMore(waiting: boolean): Promise<number | null> {
    return this.#readDone(await this.#startRead(waiting));
  }

  /**
   * Starts a read into the buffer; the caller awaits it and hands the result to `#readDone` (not
   * on a failed read: then the buffer is never pooled, which is safe). Split so that the loop
   * waiting for the next request awaits the socket itself, with no async frame between.
   */
  #startRead(waiting: boolean): Promise<number | null> {
    if (waiting && this.#start === this.#end) {
      this.#buf = this.#idleBuf;
      this.#start = this.#end = 0;
    } else if (this.#buf === this.#idleBuf) {
      this.#moveTo(this.#work ??= new Uint8Array(READ_BUFFER_SIZE));
    } else if (this.#end === this.#buf.length) {
      if (this.#start > 0) this.#moveTo(this.#buf);
      else this.#moveTo(this.#work = new Uint8Array(this.#buf.length * 2));
    }
    // The whole buffer when empty: no view object to make, the usual case between requests.
    this.#reading++;
    this.#readStarted = readStarting();
    return this.conn.read(this.#end === 0 ? this.#buf : this.#buf.subarray(this.#end));
  }

  #readDone(n: number | null): number | null {
    this.#reading--;
    if (n !== null) {
      this.#end += n;
      this.#arrival = readDelivered(this.#readStarted);
    }
    return n;
  }

  /** Moves the unread bytes to the start of `to` (which may be the current buffer). */
  #moveTo(to: Uint8Array): void {
    if (to === this.#buf) to.copyWithin(0, this.#start, this.#end);
    else to.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buf = to;
  }

  #consume(n: number): void {
    this.#start += n;
    // A pending read fills from #end on: the offsets must stay where it will find them.
    if (this.#start === this.#end && this.#pendingRead === null) this.#start = this.#end = 0;
  }

  /**
   * While an asynchronous handler works on a request without a body, keeps a read pending, as
   * the loop would do next anyway: bytes of the next request are kept for later, and the end of
   * the connection (EOF or a reset) aborts the request's `signal`. Go's server cancels the
   * request's context the same way, a client's half-close included.
   */
  #watch(info: ExchangeInfo): void {
    if (this.#pendingRead !== null || this.#closed) return;
    const read = this.#pendingRead = this.#readMore(this.#start === this.#end);
    read.then((n) => {
      if (n === null) info.cancel(); // kept as pending: the next #read sees the end too
      else if (this.#pendingRead === read) this.#pendingRead = null; // its bytes are in the buffer
    }, () => info.cancel()); // kept as pending: the next #read throws it
  }

  /** The next request head if the buffer holds all of it, else null. */
  #bufferedHead(): RequestHead | null {
    const parsed = this.#parser.parse(this.#buf, this.#start, this.#end);
    if (parsed === null) return null;
    this.#consume(parsed.consumed);
    this.#readDeadline = Infinity;
    return parsed.head;
  }

  /** The next request head, or null when the peer closes (or we are closing) between requests. */
  async #readHead(): Promise<RequestHead | null> {
    const t = this.#cfg.timeouts;
    let headDeadline = 0;
    for (;;) {
      const head = this.#bufferedHead();
      if (head !== null) return head;
      const partial = this.#parser.inProgress;
      if (!partial && this.#closing) return null;
      // Send queued responses while waiting: the client may be waiting for them.
      const sending = this.#send();
      if (sending !== undefined) await sending;
      // Shutdown may have begun while a write held us here, unseen as idle: stop now, or we
      // would wait for a request until the idle timeout or the grace period.
      if (!partial && this.#closing) return null;
      if (partial && headDeadline === 0) headDeadline = Date.now() + t.headerTimeout;
      this.#readDeadline = partial ? headDeadline : Date.now() + t.idleTimeout;
      this.#idle = !partial;
      const n = this.#pendingRead === null
        ? this.#readDone(await this.#startRead(!partial))
        : await this.#read(!partial);
      this.#idle = false;
      if (n === null) {
        this.#readDeadline = Infinity;
        return null; // closed between requests, or mid-head: nothing to answer either way
      }
    }
  }

  // ---- One exchange -----------------------------------------------------------------------

  /** Answers one request. Resolves with whether the connection can carry another. */
  async #exchange(head: RequestHead): Promise<boolean> {
    const started = this.#cfg.onExchange ? performance.now() : 0;
    let keepAlive = head.keepAlive;
    const body = head.framing.kind === "none" ? null : this.#openBody(head);

    let request: Request | null = null;
    let info: ExchangeInfo | null = null;
    let response: Response;
    const refusal = refuse(head);
    if (refusal !== null) {
      response = refusal;
      // A CONNECT client may already be sending tunnel bytes after the head (RFC 9110 §9.3.6):
      // refused, they are not requests and must not be parsed as the next one.
      if (head.method === "CONNECT") keepAlive = false;
    } else {
      info = this.#info = new ExchangeInfo(this.remoteAddr);
      request = this.#toRequest(head, body, info);
      try {
        const result = this.#cfg.handler(request, info);
        if (result instanceof Response) {
          response = result;
        } else {
          // A slow handler must not hold back the responses queued before it.
          if (this.#queued > 0) await this.#send();
          if (body === null) this.#watch(info);
          response = await result;
          if (!(response instanceof Response)) {
            throw new TypeError("the handler did not return a Response");
          }
        }
      } catch (error) {
        if (body?.error instanceof HttpError) throw body.error;
        if (body !== null && isConnectionGone(body.error)) throw body.error;
        response = await this.#handlerFailed(error, request);
      }
    }

    if (body !== null && !body.done) {
      // The client still waits for 100 Continue and will send the body only after it, or we
      // cannot afford to read what is left: either way the connection cannot be reused.
      if (!body.continued || body.remaining > this.#cfg.maxDrainBytes) keepAlive = false;
    }
    if (body?.error) keepAlive = false;
    if (this.#closing) keepAlive = false;

    let sent: { keepAlive: boolean; bytes: number };
    try {
      const writing = this.#writeResponse(head, response, keepAlive);
      sent = writing instanceof Promise ? await writing : writing;
    } catch (error) {
      if (!(error instanceof UnsentBody)) throw error;
      // Nothing of this response was sent, so the client can still get an honest 500 rather
      // than a bare close (RFC 9110 §15.6.1).
      this.#cfg.onInternalError(error.cause);
      response = internalError();
      sent = await this.#writeResponse(head, response, keepAlive);
    }
    keepAlive = sent.keepAlive;
    if (info !== null) this.#settleWhenWritten(info);
    if (body !== null) {
      if (keepAlive && !body.done) keepAlive = await this.#drainBody(body);
      this.#bodyLeft = !body.done;
      body.detached = true;
    }
    this.#cfg.onExchange?.({
      request,
      method: head.method,
      target: head.target,
      minorVersion: head.minorVersion,
      status: response.status,
      bytes: sent.bytes,
      remoteAddr: this.remoteAddr,
      duration: performance.now() - started,
    });
    return keepAlive && !this.#closing;
  }

  #toRequest(head: RequestHead, body: BodyState | null, info: ExchangeInfo): Request {
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
    noteArrival(request, this.#arrival);
    return request;
  }

  async #handlerFailed(error: unknown, request: Request): Promise<Response> {
    try {
      const response = await this.#cfg.onError(error, request);
      if (response instanceof Response) return response;
      throw new TypeError("onError did not return a Response");
    } catch (inner) {
      this.#cfg.onInternalError(inner);
      return internalError();
    }
  }

  // ---- Request bodies ---------------------------------------------------------------------

  #openBody(head: RequestHead): BodyState {
    const body: BodyState = {
      remaining: head.framing.kind === "length" ? head.framing.length : 0,
      decoder: head.framing.kind === "chunked" ? new ChunkedDecoder(this.#cfg.limits) : null,
      done: false,
      continued: !head.expectContinue,
      pulling: false,
      detached: false,
      error: undefined,
      stream: null as unknown as ReadableStream<Uint8Array>,
    };
    // A byte stream that reads from the socket only when the handler asks (highWaterMark 0),
    // so an unread body is never pulled in and 100 Continue is sent only on demand.
    body.stream = new ReadableStream({
      type: "bytes",
      pull: async (controller) => {
        if (body.detached) {
          controller.error(new Error("the request body was read after the response was sent"));
          return;
        }
        body.pulling = true;
        try {
          const chunk = await this.#readBodyChunk(body);
          if (chunk === null) {
            controller.close();
            controller.byobRequest?.respond(0);
          } else {
            controller.enqueue(chunk);
          }
        } catch (error) {
          body.error = error;
          controller.error(error);
        } finally {
          body.pulling = false;
        }
      },
    });
    return body;
  }

  /** The next piece of a request body (a copy the handler may keep), or null at its end. */
  async #readBodyChunk(body: BodyState, sendFirst = false): Promise<Uint8Array | null> {
    if (body.done) return null;
    if (!body.continued) {
      body.continued = true;
      this.#queue(CONTINUE);
      await this.#flush();
    }
    const decoder = body.decoder;
    if (decoder === null) {
      if (this.#end === this.#start && this.#pendingRead !== null) {
        // A read the previous handler left out comes first (#watch).
        await this.#readBody(() => this.#read(), sendFirst, "before the request body ended");
      }
      let chunk: Uint8Array;
      if (this.#end > this.#start) {
        const n = Math.min(body.remaining, this.#end - this.#start);
        chunk = this.#buf.slice(this.#start, this.#start + n);
        this.#consume(n);
      } else {
        // Read straight into the chunk handed out: no copy, and never past this body.
        const fresh = new Uint8Array(Math.min(body.remaining, BODY_READ_SIZE));
        const n = await this.#readBody(
          () => this.conn.read(fresh),
          sendFirst,
          "before the request body ended",
        );
        chunk = fresh.subarray(0, n);
      }
      body.remaining -= chunk.length;
      if (body.remaining === 0) body.done = true;
      return chunk;
    }
    for (;;) {
      const parts: Uint8Array[] = [];
      const used = decoder.decode(this.#buf, this.#start, this.#end, parts);
      const chunk = parts.length === 0 ? null : concat(parts);
      this.#consume(used);
      if (decoder.done) body.done = true;
      if (chunk !== null) return chunk;
      if (body.done) return null;
      await this.#readBody(() => this.#read(), sendFirst, "before the chunked body ended");
    }
  }

  /**
   * One read of request body bytes on the body clock. With `sendFirst`, what is queued goes out
   * before the wait. Resolves with the byte count; a peer that closes is an error here.
   */
  async #readBody(
    read: () => Promise<number | null>,
    sendFirst: boolean,
    closedWhen: string,
  ): Promise<number> {
    if (sendFirst) await this.#send();
    this.#readDeadline = Date.now() + this.#cfg.timeouts.bodyTimeout;
    const n = await read();
    this.#readDeadline = Infinity;
    if (n === null) throw new PeerClosed(closedWhen);
    return n;
  }

  /**
   * Reads and discards what the handler left of the body, so the next request is framed from
   * the right byte. Resolves false when the connection must close instead.
   */
  async #drainBody(body: BodyState): Promise<boolean> {
    if (body.pulling || body.error) return false; // the handler is still reading, or it broke
    let budget = this.#cfg.maxDrainBytes;
    try {
      while (!body.done) {
        // The response is complete: send it before waiting for the rest of the body. A client
        // may wait for it before sending more (it answered after part of an upload), and a
        // body that stalls would end in the body timeout with the response never sent.
        const chunk = await this.#readBodyChunk(body, true);
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

  // ---- Writing ----------------------------------------------------------------------------

  /** Appends bytes to the output queue. */
  #queue(bytes: Uint8Array): void {
    this.#encodeText();
    const out = this.#reserve(bytes.length);
    out.set(bytes, this.#outLen);
    this.#outLen += bytes.length;
  }

  /**
   * Appends ISO-8859-1 text (a response head) to the output queue. Text is gathered as a string
   * and encoded once, when bytes follow it or it is sent: encoding is a call into the runtime,
   * and a batch of pipelined responses would otherwise make two of them per response.
   */
  #queueText(text: string): void {
    this.#text += text;
    if (this.#text.length >= TEXT_BATCH) this.#encodeText();
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

  /** Bytes waiting to be sent. */
  get #queued(): number {
    return this.#outLen + this.#text.length;
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

  /** Lets an idle connection drop its output buffers (the server's reaper calls this). */
  releaseBuffers(): void {
    if (!this.#idle) return;
    // Idle, it reads into the idle buffer: the working one is free.
    this.#work = null;
    if (this.#queued === 0) {
      outBuffers.give(this.#out); // never the buffer a write is sending from: that is #spare
      this.#out = null;
    }
    if (this.#writing === null) {
      outBuffers.give(this.#spare);
      this.#spare = null;
    }
  }

  /** Settles `info.completed` once the bytes of its response are written (or now, if they are). */
  #settleWhenWritten(info: ExchangeInfo): void {
    if (this.#queued > 0) this.#unsent.push(info);
    else if (this.#writing !== null) this.#inFlight.push(info);
    else info.settle(null);
  }

  /**
   * Starts sending the queued bytes without waiting for the write to finish. At most one write
   * is in flight, and its buffer is not touched until it has finished.
   */
  #send(): Promise<void> | undefined {
    // Without a write in flight (the usual case) this returns at once, with no promise to await.
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
    // Double buffering: the spare's write has finished (see #send), so it is free again.
    this.#out = this.#spare;
    this.#spare = out;
    this.#outLen = 0;
    // The infos whose responses end in this write trade places with the emptied list of the
    // last write's (see #written): two lists, reused, rather than a new one per write.
    const delivering = this.#unsent;
    this.#unsent = this.#inFlight;
    this.#inFlight = delivering;
    this.#writeDeadline = Date.now() + this.#cfg.timeouts.writeTimeout;
    this.#writing = this.#writeFrom(data);
  }

  /**
   * `conn.write` itself with handlers made once, no async frame or closures per write; the
   * chain settles once all of `data` is written or the write failed.
   */
  #writeFrom(data: Uint8Array): Promise<void> {
    this.#writingData = data;
    return this.conn.write(data).then(this.#written, this.#writeFailed);
  }

  /** A write in flight took `n` bytes: send the rest, or settle what it carried. */
  readonly #written = (n: number): Promise<void> | undefined => {
    const data = this.#writingData!;
    // The kernel took part of it (a full send buffer): the rest goes on in the same chain.
    if (n < data.length) return this.#writeFrom(data.subarray(n));
    this.#writeEnded();
    const delivered = this.#inFlight;
    for (let i = 0; i < delivered.length; i++) delivered[i].settle(null);
    delivered.length = 0;
    // Shutdown came while idle with this write in flight: it is out, so close now.
    if (this.#closing && this.#idle && this.#queued === 0) this.abort();
  };

  /** The loop learns of a failed write from its next read or write on the closed socket. */
  readonly #writeFailed = (): void => {
    this.#writeEnded();
    this.abort();
  };

  /** The write in flight is over, all of it sent or failed. */
  #writeEnded(): void {
    this.#writingData = null;
    this.#writeDeadline = Infinity;
    this.#writing = null;
  }

  /** Sends everything queued and waits until it has been written. */
  async #flush(): Promise<void> {
    await this.#send();
    if (this.#writing !== null) await this.#writing;
    if (this.#aborted) throw new PeerClosed("while writing");
  }

  async #writeAll(data: Uint8Array): Promise<void> {
    this.#writeDeadline = Date.now() + this.#cfg.timeouts.writeTimeout;
    try {
      let written = 0;
      while (written < data.length) {
        written += await this.conn.write(written === 0 ? data : data.subarray(written));
      }
    } finally {
      this.#writeDeadline = Infinity;
    }
  }

  /** Writes one chunk of a streamed body directly (flushing what is queued first). */
  async #writeDirect(bytes: Uint8Array): Promise<void> {
    await this.#flush();
    await this.#writeAll(bytes);
  }

  /**
   * The head fields every response gets: Date and Server (unless the handler set its own) and
   * connection management.
   */
  #commonFields(keepAlive: boolean, minorVersion: 0 | 1, date = true, server = true): string {
    let fields = date ? `date: ${httpDate(Date.now())}\r\n` : "";
    if (server && this.#cfg.serverName !== null) fields += `server: ${this.#cfg.serverName}\r\n`;
    // HTTP/1.1 is persistent unless it says close; HTTP/1.0 only if it says keep-alive
    // (RFC 9112 §9.3).
    if (!keepAlive) fields += "connection: close\r\n";
    else if (minorVersion === 0) fields += "connection: keep-alive\r\n";
    return fields;
  }

  /**
   * Queues the response to a request we refuse outright, with the connection closing after.
   * Returns the body bytes sent: none to a HEAD request, which gets the fields only (RFC 9110
   * §9.3.2).
   */
  #queueError(error: HttpError, toHead: boolean): number {
    const text = `${error.status} ${STATUS_TEXT[error.status]}: ${error.message}\n`;
    const body = encoder.encode(text);
    this.#queueText(
      `HTTP/1.1 ${error.status} ${STATUS_TEXT[error.status]}\r\n` +
        this.#commonFields(false, 1) +
        `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    if (toHead) return 0;
    this.#queue(body);
    return body.length;
  }

  /**
   * Writes a handler's response. Bodies that are available at once (any `new Response(bytes or
   * text)`) get a Content-Length and go out with the head in one write; others are streamed,
   * chunked for HTTP/1.1 and delimited by close for HTTP/1.0 (RFC 9112 §6.3). A small body in
   * memory is queued without waiting, and the result comes back without a promise.
   */
  #writeResponse(head: RequestHead, response: Response, keepAlive: boolean): Sent | Promise<Sent> {
    // Before the headers: reading them can move an in-memory body into a stream.
    const inMemory = staticBody(response);
    if (inMemory === undefined) return this.#writeAnyResponse(head, response, keepAlive, inMemory);
    const text = typeof inMemory === "string" && isAscii(inMemory) ? inMemory : null;
    const bytes = typeof inMemory === "string" ? null : inMemory;
    const total = text?.length ?? bytes?.length ?? 0;
    // Anything else (UTF-8 to encode, large, or a full queue to send first) waits its turn.
    if (
      (text === null && bytes === null && inMemory !== null) || total > COPY_LIMIT ||
      this.#queued + total >= OUT_HIGH_WATER
    ) {
      return this.#writeAnyResponse(head, response, keepAlive, inMemory);
    }
    const status = response.status;
    const withBody = responseHasBody(head.method, status);
    const fields = responseHead(response);
    keepAlive &&= !fields.close;
    const length = withBody ? `content-length: ${total}\r\n` : noBodyLength(
      head,
      status,
      fields.declaredLength,
      inMemory === null ? -1 : total,
    );
    this.#queueHead(head, response, fields, keepAlive, length);
    if (!withBody) return { keepAlive, bytes: 0 };
    if (text !== null) this.#queueText(text);
    else if (bytes !== null && total > 0) this.#queue(bytes);
    return { keepAlive, bytes: total };
  }

  /** Queues the status line, the fields every response gets, the handler's, and `framing`. */
  #queueHead(
    head: RequestHead,
    response: Response,
    fields: ResponseHead,
    keepAlive: boolean,
    framing: string,
  ): void {
    const status = response.status;
    const reason = response.statusText || STATUS_TEXT[status] || "";
    if (Object.isFrozen(fields)) {
      // A shared field list (see `responseHead`): the head's start is the same bytes for every
      // response with this status in this second, so they are kept rather than made again.
      const connection = !keepAlive ? 2 : head.minorVersion === 0 ? 1 : 0;
      let prefix = findPrefix(fields, status, reason, connection, this.#cfg.serverName);
      if (prefix === null) {
        const common = this.#commonFields(
          keepAlive,
          head.minorVersion,
          !fields.date,
          !fields.server,
        );
        prefix = keepPrefix(
          { fields, status, reason, connection, server: this.#cfg.serverName, date: dateValue },
          `HTTP/1.1 ${status} ${reason}\r\n${common}${fields.text}`,
        );
      }
      // Behind text still to encode (pipelined responses), the text joins that batch instead.
      if (this.#text.length > 0) this.#queueText(`${prefix.text}${framing}\r\n`);
      else {
        this.#queue(prefix.bytes);
        this.#queueText(`${framing}\r\n`);
      }
      return;
    }
    const common = this.#commonFields(keepAlive, head.minorVersion, !fields.date, !fields.server);
    this.#queueText(`HTTP/1.1 ${status} ${reason}\r\n${common}${fields.text}${framing}\r\n`);
  }

  /** {@link #writeResponse} for every kind of body: streams, files, and what must wait. */
  async #writeAnyResponse(
    head: RequestHead,
    response: Response,
    keepAlive: boolean,
    inMemory: string | Uint8Array | null | undefined,
  ): Promise<Sent> {
    const status = response.status;
    const withBody = responseHasBody(head.method, status);
    const handlerFields = responseHead(response);
    const declaredLength = handlerFields.declaredLength;
    keepAlive &&= !handlerFields.close;
    /** Content-Length or Transfer-Encoding, as decided below. */
    let framingField = "";

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
    } else if (response.body !== null && !withBody) {
      // Nothing of it goes out (HEAD, 204, 304): do not pull a stream only to throw it away.
      await response.body.cancel().catch(() => {});
    } else if ((file = claimFile(response, declaredLength)) !== null) {
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

    let framing: "none" | "length" | "chunked" | "close";
    let length = total;
    if (!withBody) {
      framing = "none";
      const known = done && (reader !== null || (inMemory !== undefined && inMemory !== null));
      framingField = noBodyLength(head, status, declaredLength, known ? total : -1);
    } else if (done) {
      framing = "length";
      framingField = `content-length: ${total}\r\n`;
    } else if (declaredLength >= 0) {
      framing = "length";
      length = declaredLength;
      framingField = `content-length: ${declaredLength}\r\n`;
    } else if (head.minorVersion === 1) {
      framing = "chunked";
      framingField = "transfer-encoding: chunked\r\n";
    } else {
      framing = "close";
      keepAlive = false;
    }
    this.#queueHead(head, response, handlerFields, keepAlive, framingField);

    if (framing === "none") {
      if (reader !== null && !done) await reader.cancel().catch(() => {});
      if (this.#queued >= OUT_HIGH_WATER) await this.#send();
      return { keepAlive, bytes: 0 };
    }

    try {
      if (done) {
        // All in memory: it goes out with the head, in the same write when small.
        for (const chunk of chunks) {
          if (chunk.length <= COPY_LIMIT) this.#queue(chunk);
          else await this.#writeDirect(chunk);
        }
        if (framing === "close") await this.#flush();
        else if (this.#queued >= OUT_HIGH_WATER) await this.#send();
        return { keepAlive, bytes: total };
      }
      if (file !== null) return { keepAlive, bytes: await this.#sendFile(file) };
      const sent = await this.#stream(reader!, next, chunks, framing, length);
      return { keepAlive, bytes: sent };
    } catch (error) {
      // The head is out, so the only honest signal left is closing the connection.
      if (reader !== null) await reader.cancel(error).catch(() => {});
      if (!isConnectionGone(error) && !this.#aborted) this.#cfg.onInternalError(error);
      this.abort();
      throw new PeerClosed("while streaming a response");
    }
  }

  /** Writes a static file's body from the file, not its stream (see FileBody). */
  async #sendFile(file: ClaimedFile): Promise<number> {
    // A connection aborted meanwhile cancels the stream, which closes the file.
    this.#streaming = file.reader;
    try {
      return await sendFileBody(file, (bytes) => this.#writeDirect(bytes));
    } finally {
      this.#streaming = null;
    }
  }

  /**
   * Streams a body whose end is not known yet: the head and the chunks read so far go out now,
   * then each chunk as it comes, reading the next one while the previous one is written.
   * Resolves with the body bytes sent.
   */
  async #stream(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    next: Promise<ReadableStreamReadResult<Uint8Array>> | null,
    chunks: Uint8Array[],
    framing: "length" | "chunked" | "close",
    length: number,
  ): Promise<number> {
    let sent = 0;
    const put = async (chunk: Uint8Array) => {
      if (chunk.length === 0) return;
      if (framing === "length" && sent + chunk.length > length) {
        throw new Error("response body longer than its Content-Length");
      }
      sent += chunk.length;
      if (framing === "chunked") this.#queueText(`${chunk.length.toString(16)}\r\n`);
      if (chunk.length <= COPY_LIMIT) this.#queue(chunk);
      else await this.#writeDirect(chunk);
      if (framing === "chunked") this.#queue(CRLF);
    };
    this.#streaming = reader;
    try {
      for (const chunk of chunks) await put(chunk);
      await this.#send();
      for (;;) {
        const result = await (next ?? reader.read());
        // A failed write aborts the connection: stop pulling from the body (SSE and other
        // endless streams learn of the disconnect through their cancel callback).
        if (this.#aborted) throw new PeerClosed("while streaming a response");
        if (result.done) break;
        next = reader.read();
        await put(toBytes(result.value));
        await this.#send();
      }
    } finally {
      this.#streaming = null;
    }
    if (framing === "length" && sent !== length) {
      throw new Error("response body shorter than its Content-Length");
    }
    if (framing === "chunked") this.#queue(LAST_CHUNK);
    if (framing === "close") await this.#flush();
    return sent;
  }
}

type Sent = { keepAlive: boolean; bytes: number };

/**
 * The `info` a handler gets, one per request as with `Deno.serve`: the peer's address, and
 * `completed`, which settles once the response has been written to the socket (or rejects with
 * `Deno.errors.Interrupted` when it could not be). The promise is made only if asked for.
 */
class ExchangeInfo implements ServeHandlerInfo {
  readonly remoteAddr: Deno.NetAddr;
  #completion: PromiseWithResolvers<void> | null = null;
  /** Undefined while the response is on its way, null once written, the error if it failed. */
  #outcome: Error | null | undefined = undefined;
  #cancelled = false;
  #aborts: (() => void)[] | null = null;

  constructor(remoteAddr: Deno.NetAddr) {
    this.remoteAddr = remoteAddr;
  }

  get completed(): Promise<void> {
    if (this.#completion === null) {
      this.#completion = Promise.withResolvers<void>();
      // A failure nobody listens for must not become an unhandled rejection.
      this.#completion.promise.catch(() => {});
      this.#apply();
    }
    return this.#completion.promise;
  }

  settle(error: Error | null): void {
    if (this.#outcome !== undefined) return;
    if (error !== null) this.cancel();
    this.#outcome = error;
    this.#aborts = null; // delivered or not, nothing is left to cancel
    this.#apply();
  }

  /** Registers what aborts the request's signal (the runtime asks when `signal` is first read). */
  onCancel(abort: () => void): void {
    if (this.#cancelled) abort();
    else if (this.#outcome === undefined) (this.#aborts ??= []).push(abort);
  }

  /** The client left before the response was written: abort the request's signal. */
  cancel(): void {
    if (this.#cancelled || this.#outcome !== undefined) return;
    this.#cancelled = true;
    for (const abort of this.#aborts ?? []) abort();
    this.#aborts = null;
  }

  #apply(): void {
    if (this.#completion === null || this.#outcome === undefined) return;
    if (this.#outcome === null) this.#completion.resolve();
    else this.#completion.reject(this.#outcome);
  }
}

/** A handler's response fields, as head text, less those the engine writes itself. */
interface ResponseHead {
  text: string;
  /** A valid Content-Length the handler set, else -1. */
  declaredLength: number;
  /** The handler asked to close the connection (`connection: close`). */
  close: boolean;
  date: boolean;
  server: boolean;
}

/** What shared, frozen field lists (see `responseFields`) come to: each is read once. */
const sharedHeads = new WeakMap<object, ResponseHead>();

function responseHead(response: Response): ResponseHead {
  const fields = responseFields(response);
  if (fields === undefined || !Object.isFrozen(fields)) return readHead(fields ?? response.headers);
  let head = sharedHeads.get(fields);
  if (head === undefined) sharedHeads.set(fields, head = Object.freeze(readHead(fields)));
  return head;
}

function readHead(fields: Iterable<readonly [string, string]>): ResponseHead {
  const head: ResponseHead = {
    text: "",
    declaredLength: -1,
    close: false,
    date: false,
    server: false,
  };
  for (const [given, value] of fields) {
    const name = given.toLowerCase();
    if (CONNECTION_MANAGED.has(name)) {
      if (name === "content-length" && /^[0-9]+$/.test(value)) head.declaredLength = Number(value);
      else if (name === "connection" && /(^|[\s,])close($|[\s,])/i.test(value)) head.close = true;
      continue;
    }
    if (name === "date") head.date = true;
    else if (name === "server") head.server = true;
    head.text += `${name}: ${value}\r\n`;
  }
  return head;
}

/**
 * The Content-Length field of a response without content: HEAD and 304 may state the length a
 * GET would have had (RFC 9110 §8.6), the handler's or the one `known` (-1: none); 204 and 1xx
 * must not.
 */
function noBodyLength(head: RequestHead, status: number, declared: number, known: number): string {
  if (status === 204 || status < 200) return "";
  if (declared >= 0) return `content-length: ${declared}\r\n`;
  if (head.method === "HEAD" && known >= 0) return `content-length: ${known}\r\n`;
  return "";
}

/**
 * Requests the Fetch API cannot represent are answered here: CONNECT (we are not a tunnel),
 * TRACE/TRACK (refused by `Request`, and a cross-site tracing risk), and `OPTIONS *`, which asks
 * about the server itself (RFC 9110 §9.3.7).
 */
function refuse(head: RequestHead): Response | null {
  if (head.form === "asterisk") {
    return new Response(null, { status: 200, headers: { allow: "GET, HEAD, POST, OPTIONS" } });
  }
  const method = head.method;
  if (method === "CONNECT" || method === "TRACE" || method === "TRACK") {
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

const scratch = new Uint8Array(COPY_LIMIT);
/**
 * UTF-8 bytes of a text body. Short texts are encoded into a shared scratch buffer, which is
 * cheaper than allocating; the caller copies them out before it next awaits.
 */
function utf8(text: string): Uint8Array {
  if (text.length * 3 > scratch.length) return encoder.encode(text);
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
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

/** Body chunks must be bytes; strings are encoded, as many stream producers enqueue them. */
function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return encoder.encode(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError("a response body chunk must be a Uint8Array");
}
