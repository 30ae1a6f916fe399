/**
 * One HTTP/2 exchange: a request stream turned into the handler's `Request`, the handler run
 * with the same contract as over HTTP/1.1, and its `Response` put on the stream as HEADERS and
 * DATA (RFC 9113 §8.1), within the peer's windows and frame size.
 *
 * Bodies leave by the cheapest way they allow, as on HTTP/1.1: text and bytes held in memory are
 * framed at once, without a promise when the windows allow; a static file's body is copied from
 * the file; any other stream is read chunk by chunk, each one only after the previous one was
 * taken by flow control, so a client that stops reading stops the handler's stream too.
 *
 * A stream the client resets, or that we reset, is finished here: its request's signal aborts,
 * its request body fails, a body being sent is cancelled, and a response the handler returns
 * later is dropped.
 *
 * @module
 */

import { inScratch, toBytes, utf8 } from "./body_bytes.ts";
import { HttpError } from "../h1/errors.ts";
import { httpDate } from "../h1/date.ts";
import { CONNECTION_MANAGED, responseHasBody } from "../h1/response_head.ts";
import { ErrorCode, type H2ServerConnection, type RequestEvent } from "../h2/mod.ts";
import { type Arrival, noteArrival } from "../shared/arrival.ts";
import type { ClaimedFile } from "../shared/file_body.ts";
import { SwitchingProtocols } from "../shared/handover.ts";
import { hostPort } from "../shared/address.ts";
import { type Fields, responseFields, SharedFields, staticBody } from "../fastpath/response.ts";
import { createRequest, isForbiddenMethod, originFormUrl } from "../fastpath/request.ts";
import type { ConnectionConfig } from "./connection.ts";
import { internalError, isConnectionGone, PeerClosed } from "./errors.ts";
import { ExchangeInfo } from "./exchange_info.ts";
import { H2RequestBody } from "./h2_request_body.ts";
import { claimFile, sendFileBody } from "./send_file.ts";

/** What a stream needs from its session. */
export interface StreamHost {
  readonly core: H2ServerConnection;
  readonly cfg: ConnectionConfig;
  readonly remoteAddr: Deno.NetAddr;
  readonly localAddr: Deno.NetAddr;
  /** When the bytes being handled arrived (lib/shared/arrival.ts). */
  readonly arrival: Arrival;
  /** Output was queued: write it once the current turn is over. */
  flushSoon(): void;
  /** Resolves once the queued output is below the high-water mark; undefined when it is. */
  writable(): Promise<void> | undefined;
  /** Settles `info.completed` once the output queued so far is written. */
  settleWhenWritten(info: ExchangeInfo): void;
  /** The exchange is over (its response sent, or dropped). */
  finished(stream: H2Exchange): void;
}

/** `info` for a request that came over HTTP/2. */
export class H2Info extends ExchangeInfo {
  override get protocol(): "HTTP/2" {
    return "HTTP/2";
  }
}

// :path is origin-form, or "*" for OPTIONS (RFC 9113 §8.3.1); the bytes HTTP/1.1 allows in a
// request target (RFC 9112 §3.2): visible ASCII, no fragment.
const PATH_CHAR = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) PATH_CHAR[c] = 1;
PATH_CHAR[0x23] = 0;
// :authority = uri-host [ ":" port ] without userinfo (§8.3.1): what a Host may hold.
const HOST_CHAR = new Uint8Array(256);
for (const c of "-._~!$&'()*+,;=%:[]0123456789") HOST_CHAR[c.charCodeAt(0)] = 1;
for (let c = 0x41; c <= 0x5a; c++) HOST_CHAR[c] = HOST_CHAR[c + 0x20] = 1;

function allowed(text: string, table: Uint8Array): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || table[c] === 0) return false;
  }
  return true;
}

const EMPTY = new Uint8Array(0);
/** The most of one body chunk put in the output at once (the session's high-water mark). */
const PIECE = 256 * 1024;

/** A handler's response fields for HTTP/2: lower-case names, no connection-specific ones. */
interface H2Fields {
  list: [string, string][];
  /** A valid content-length the handler set, else -1. */
  declaredLength: number;
  date: boolean;
  server: boolean;
}

const DIGITS = /^[0-9]+$/;

function readFields(fields: Iterable<readonly [string, string]>): H2Fields {
  const out: H2Fields = { list: [], declaredLength: -1, date: false, server: false };
  for (const [given, value] of fields) {
    const name = given.toLowerCase();
    if (CONNECTION_MANAGED.has(name)) {
      // §8.2.2: connection-specific fields have no place in HTTP/2; the length is ours to send.
      if (name === "content-length" && DIGITS.test(value)) out.declaredLength = Number(value);
      continue;
    }
    if (name === "date") out.date = true;
    else if (name === "server") out.server = true;
    out.list.push([name, value]);
  }
  return out;
}

/** What each shared field list became, read once for every response that shares it. */
const sharedFields = new WeakMap<SharedFields, H2Fields>();

function h2Fields(response: Response): H2Fields {
  const fields: Fields | SharedFields | undefined = responseFields(response);
  if (fields === undefined) return readFields(response.headers);
  if (!(fields instanceof SharedFields)) return readFields(fields);
  let read = sharedFields.get(fields);
  if (read === undefined) sharedFields.set(fields, read = readFields(fields.list));
  return read;
}

function plain(status: number, message: string, extra: [string, string][] = []): Response {
  return new Response(message === "" ? null : `${status} ${message}\n`, {
    status,
    headers: message === "" ? extra : [["content-type", "text/plain; charset=utf-8"], ...extra],
  });
}

const PENDING = Symbol("pending");
/** `promise`'s value if it settles within a few microtask turns, else PENDING. */
function soon<T>(promise: Promise<T>, turns: number): Promise<T | typeof PENDING> {
  let marker: Promise<typeof PENDING> = Promise.resolve(PENDING);
  for (let i = 1; i < turns; i++) marker = marker.then((v) => v);
  return Promise.race([promise, marker]);
}

/** Bytes a response body has ready without waiting; past this, the rest is streamed. */
const READY_LIMIT = 64 * 1024;

interface Ready {
  chunks: Uint8Array[];
  total: number;
  /** The whole body is in `chunks`. */
  done: boolean;
  /** A read under way that did not settle at once. */
  next: Promise<ReadableStreamReadResult<Uint8Array>> | null;
}

/**
 * Reads what a body has ready: chunks that come within a few microtask turns (all of a
 * `new Response("text")` read through the public API), stopping at the first read that has to
 * wait, or past READY_LIMIT bytes.
 */
async function readReady(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Ready> {
  const ready: Ready = { chunks: [], total: 0, done: false, next: null };
  let turns = 4;
  while (ready.total <= READY_LIMIT) {
    const next = reader.read();
    const result = await soon(next, turns);
    if (result === PENDING) {
      ready.next = next;
      break;
    }
    if (result.done) {
      ready.done = true;
      break;
    }
    const chunk = toBytes(result.value);
    ready.chunks.push(chunk);
    ready.total += chunk.length;
    turns = 2;
  }
  return ready;
}

/** One request stream and its response. */
export class H2Exchange {
  readonly id: number;
  readonly #host: StreamHost;
  #method = "";
  #target = "";
  #request: Request | null = null;
  #info: H2Info | null = null;
  /** The request body the handler reads, or null (none, or one nobody will read). */
  body: H2RequestBody | null = null;
  /** Reset (either way) or the connection was lost: nothing more goes out. */
  #gone = false;
  /** The response is fully queued: what follows from the client no longer matters. */
  #done = false;
  /** The client may still send on the stream (no END_STREAM yet). */
  #receiving = false;
  #started = 0;
  /** A response body being read, cancelled if the stream goes. */
  #reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  #window: PromiseWithResolvers<void> | null = null;
  /** When a write waiting for the peer's window gives up (the write timeout). */
  windowDeadline = Infinity;

  constructor(id: number, host: StreamHost) {
    this.id = id;
    this.#host = host;
  }

  // ---- Events from the session -----------------------------------------------------------

  /** The request's HEADERS arrived: build the request and run the handler. */
  start(ev: RequestEvent): void {
    const host = this.#host;
    const cfg = host.cfg;
    if (cfg.onExchange !== undefined) this.#started = performance.now();
    const { method, path, authority } = ev.pseudo;
    this.#method = method;
    this.#target = path ?? authority ?? "";
    this.#receiving = !ev.endStream;

    const refusal = this.#refuse(ev);
    if (refusal !== null) {
      this.#answer(refusal);
      return;
    }
    const headers = ev.headers;
    let hostField: string | undefined;
    for (let i = 0; i < headers.length; i++) {
      if (headers[i][0] === "host") hostField = headers[i][1];
    }
    let url: string;
    try {
      const name = authority ?? hostField ?? hostPort(host.localAddr.hostname, host.localAddr.port);
      url = originFormUrl(cfg.scheme, name, path!);
    } catch (error) {
      this.#answer(plain(400, error instanceof HttpError ? error.message : "bad request"));
      return;
    }
    // HTTP/1.1-minded handlers look for Host; HTTP/2 carries it as :authority (§8.3.1).
    if (hostField === undefined && authority !== undefined) headers.push(["host", authority]);

    const info = this.#info = new H2Info(host.remoteAddr);
    let stream: ReadableStream<Uint8Array> | null = null;
    if (!ev.endStream) {
      const body = this.body = new H2RequestBody(
        {
          consumed: (n) => host.core.consumed(this.id, n),
          tooLarge: () => this.#tooLarge(),
        },
        cfg.limits.maxBodyBytes,
        cfg.timeouts.bodyTimeout,
      );
      // As over HTTP/1.1 and with Deno.serve, GET and HEAD bodies are not the handler's.
      if (method !== "GET" && method !== "HEAD") stream = body.stream;
      else body.stream.cancel().catch(() => {});
    }
    let request: Request;
    try {
      request = this.#request = createRequest(method, url, headers, stream, info);
    } catch (error) {
      this.#answer(plain(400, error instanceof Error ? error.message : "bad request"));
      return;
    }
    noteArrival(request, host.arrival);
    let result: Response | Promise<Response>;
    try {
      result = cfg.handler(request, info);
    } catch (error) {
      this.#afterHandler(this.#failed(error, request));
      return;
    }
    if (result instanceof Response) this.#answer(result);
    else this.#afterHandler(result);
  }

  /** DATA for this stream. */
  data(data: Uint8Array, end: boolean): void {
    if (end) this.#receiving = false;
    const body = this.body;
    if (body === null || this.#done) {
      // Nobody reads it: give the window back at once.
      this.#host.core.consumed(this.id, data.length);
      return;
    }
    body.push(data, end);
  }

  /** Trailers ended the request body (they are not passed on, as with Deno.serve). */
  trailers(): void {
    this.#receiving = false;
    this.body?.end();
  }

  /** The peer may take more DATA. */
  windowOpen(): void {
    const waiter = this.#window;
    if (waiter === null) return;
    this.#window = null;
    this.windowDeadline = Infinity;
    waiter.resolve();
  }

  /** The stream was reset (by the client, by us over a stream error) or the connection lost. */
  gone(): void {
    if (this.#gone) return;
    this.#gone = true;
    const lost = new PeerClosed("before the response was sent");
    this.#info?.cancel();
    this.body?.fail(lost);
    const waiter = this.#window;
    this.#window = null;
    this.windowDeadline = Infinity;
    waiter?.reject(lost);
    this.#reader?.cancel(lost).catch(() => {});
    if (!this.#done) {
      this.#info?.settle(new Deno.errors.Interrupted("the stream was reset"));
      this.#host.finished(this);
    }
  }

  /** Past a deadline (the peer's window never opened, or the body never came): reset. */
  timedOut(): void {
    this.#host.core.reset(this.id, ErrorCode.CANCEL);
    this.#host.flushSoon();
    this.gone();
  }

  // ---- The handler ---------------------------------------------------------------------

  /** The answer to a request we do not hand to the handler, or null. */
  #refuse(ev: RequestEvent): Response | null {
    const { method, path, authority } = ev.pseudo;
    const limits = this.#host.cfg.limits;
    if (isForbiddenMethod(method!)) {
      return plain(501, `${method} is not supported`);
    }
    if (path === "*") return plain(200, "", [["allow", "GET, HEAD, POST, OPTIONS"]]);
    if (ev.headers.length > limits.maxHeaders) return plain(431, "too many header fields");
    if (path!.length > limits.maxTargetBytes) return plain(414, "request target too long");
    if (path!.charCodeAt(0) !== 0x2f || !allowed(path!, PATH_CHAR)) {
      return plain(400, "invalid :path");
    }
    if (authority !== undefined && (authority === "" || !allowed(authority, HOST_CHAR))) {
      return plain(400, "invalid :authority");
    }
    for (const [name, value] of ev.headers) {
      if (name === "content-length" && Number(value) > limits.maxBodyBytes) {
        return plain(413, `request body larger than ${limits.maxBodyBytes} bytes`);
      }
    }
    return null;
  }

  /** The body passed maxBodyBytes while the handler was still at work. */
  #tooLarge(): void {
    if (this.#gone || this.#done) return;
    // Whether the handler still answers or not, the client is told now and the upload stops.
    this.#host.core.reset(this.id, ErrorCode.CANCEL);
    this.#host.flushSoon();
    this.gone();
  }

  async #afterHandler(result: Promise<Response>): Promise<void> {
    let response: Response;
    try {
      response = await result;
      if (!(response instanceof Response)) {
        throw new TypeError("the handler did not return a Response");
      }
    } catch (error) {
      response = await this.#failed(error, this.#request!);
    }
    await this.#answer(response);
  }

  async #failed(error: unknown, request: Request): Promise<Response> {
    const body = this.body;
    if (body?.error instanceof HttpError) return plain(body.error.status, body.error.message);
    const cfg = this.#host.cfg;
    try {
      const response = await cfg.onError(error, request);
      if (response instanceof Response) return response;
      throw new TypeError("onError did not return a Response");
    } catch (inner) {
      cfg.onInternalError(inner);
      return internalError();
    }
  }

  // ---- The response --------------------------------------------------------------------

  /** Sends `response`; never rejects. */
  #answer(response: Response): void | Promise<void> {
    let sent: number | Promise<number>;
    try {
      sent = this.#send(response);
    } catch (error) {
      return this.#sendFailed(error, response);
    }
    if (typeof sent === "number") return this.#complete(response, sent);
    return sent.then(
      (bytes) => this.#complete(response, bytes),
      (error) => this.#sendFailed(error, response),
    );
  }

  #sendFailed(error: unknown, response: Response): void {
    if (this.#gone) {
      this.#host.finished(this);
      return;
    }
    if (!isConnectionGone(error)) this.#host.cfg.onInternalError(error);
    const core = this.#host.core;
    if (!this.#headersSent) {
      // Nothing of it went out: the client can still get an honest 500.
      response.body?.cancel().catch(() => {});
      this.#answer(internalError());
      return;
    }
    // The head is out, so the only honest signal left is a reset: the body ends short.
    core.reset(this.id, ErrorCode.INTERNAL_ERROR);
    this.#host.flushSoon();
    this.gone();
  }

  #complete(response: Response, bytes: number): void {
    if (this.#gone) {
      this.#host.finished(this);
      return;
    }
    this.#done = true;
    const host = this.#host;
    const info = this.#info;
    if (info !== null) host.settleWhenWritten(info);
    // §8.1: the response is complete; a body the client is still sending is not needed.
    if (this.#receiving) {
      this.body?.fail(new PeerClosed("the response was sent before the request body"));
      host.core.reset(this.id, ErrorCode.NO_ERROR);
    }
    host.finished(this);
    host.flushSoon();
    const onExchange = host.cfg.onExchange;
    if (onExchange === undefined) return;
    try {
      onExchange({
        request: this.#request,
        method: this.#method,
        target: this.#target,
        minorVersion: 1,
        protocol: "HTTP/2",
        status: response.status,
        bytes,
        remoteAddr: host.remoteAddr,
        duration: performance.now() - this.#started,
      });
    } catch (error) {
      host.cfg.onInternalError(error);
    }
  }

  #headersSent = false;

  /** Sends HEADERS; false when the stream is gone. */
  #head(status: number, fields: H2Fields, length: number, end: boolean): boolean {
    const host = this.#host;
    const list = fields.list.slice();
    if (length >= 0) list.push(["content-length", String(length)]);
    if (!fields.date) list.push(["date", httpDate(Date.now())]);
    const server = host.cfg.serverName;
    if (!fields.server && server !== null) list.push(["server", server]);
    if (!host.core.respond(this.id, status, list, end)) return false;
    this.#headersSent = true;
    return true;
  }

  /**
   * Puts the response on the stream. Returns the body bytes sent, at once when everything fit
   * the windows, else once the rest has been taken.
   */
  #send(response: Response): number | Promise<number> {
    if (this.#gone) {
      // Dropped: the stream was reset while the handler worked.
      response.body?.cancel().catch(() => {});
      return 0;
    }
    const status = response.status;
    if (response instanceof SwitchingProtocols || status < 200) {
      throw new TypeError(`a ${status} response cannot be sent over HTTP/2`);
    }
    // Before the fields: reading them can move an in-memory body into a stream.
    const inMemory = staticBody(response);
    const fields = h2Fields(response);
    const declared = fields.declaredLength;
    if (!responseHasBody(this.#method, status)) {
      // HEAD and 304 may state the length a GET would have had (RFC 9110 §8.6); 204 must not.
      let length = -1;
      if (status !== 204) {
        length = declared >= 0
          ? declared
          : this.#method === "HEAD" && typeof inMemory === "string"
          ? utf8(inMemory).length
          : this.#method === "HEAD" && inMemory instanceof Uint8Array
          ? inMemory.length
          : -1;
      }
      const body = inMemory === undefined ? response.body : null;
      if (body !== null && length < 0 && this.#method === "HEAD" && status !== 204) {
        return this.#measureHead(status, fields, body);
      }
      body?.cancel().catch(() => {});
      this.#head(status, fields, length, true);
      return 0;
    }
    if (inMemory !== undefined) {
      const bytes = inMemory === null
        ? EMPTY
        : typeof inMemory === "string"
        ? utf8(inMemory)
        : inMemory;
      if (declared >= 0 && declared !== bytes.length) {
        return this.#sendMismatched(status, fields, bytes);
      }
      if (!this.#head(status, fields, bytes.length, bytes.length === 0)) return 0;
      if (bytes.length === 0) return 0;
      const core = this.#host.core;
      if (bytes.length > PIECE) return this.#write(bytes, true).then(() => bytes.length);
      const n = core.sendData(this.id, bytes, true);
      if (n === bytes.length) return n;
      // Short of window: the rest waits (copied, if it lives in the shared scratch buffer).
      const rest = inScratch(bytes) ? bytes.slice(n) : bytes.subarray(Math.max(n, 0));
      if (n < 0) return 0;
      this.#host.flushSoon();
      return this.#write(rest, true).then(() => bytes.length);
    }
    const file = declared >= 0 ? claimFile(response, declared) : null;
    if (file !== null) return this.#sendFile(status, fields, file);
    return this.#sendStream(status, fields, declared, response.body!);
  }

  /** HEAD: the length a GET would have had, when its body is all there at once. */
  async #measureHead(
    status: number,
    fields: H2Fields,
    body: ReadableStream<Uint8Array>,
  ): Promise<number> {
    const reader = body.getReader();
    const ready = await readReady(reader);
    reader.cancel().catch(() => {});
    if (!this.#gone) this.#head(status, fields, ready.done ? ready.total : -1, true);
    return 0;
  }

  /** A declared length the body does not have: what fits goes out, then a reset. */
  async #sendMismatched(status: number, fields: H2Fields, bytes: Uint8Array): Promise<number> {
    const declared = fields.declaredLength;
    const copy = bytes.slice(0, Math.min(declared, bytes.length));
    if (!this.#head(status, fields, declared, declared === 0)) return 0;
    if (copy.length > 0) await this.#write(copy, false);
    throw new TypeError(
      `the response body has ${bytes.length} bytes, its content-length says ${declared}`,
    );
  }

  async #sendFile(status: number, fields: H2Fields, file: ClaimedFile): Promise<number> {
    this.#reader = file.reader;
    try {
      if (!this.#head(status, fields, file.length, file.length === 0)) {
        await file.reader.cancel().catch(() => {});
        return 0;
      }
      let sent = 0;
      return await sendFileBody(file, async (bytes) => {
        sent += bytes.length;
        await this.#write(bytes, sent === file.length);
      });
    } finally {
      this.#reader = null;
    }
  }

  async #sendStream(
    status: number,
    fields: H2Fields,
    declared: number,
    body: ReadableStream<Uint8Array>,
  ): Promise<number> {
    // Throws if the handler already read or locked the body: nothing is sent yet, so a 500.
    const reader = this.#reader = body.getReader();
    try {
      // What the body has ready now: all of it, for most bodies, and then its length is known.
      const ready = await readReady(reader);
      if (this.#gone) throw new PeerClosed("before the response was sent");
      const length = declared >= 0 ? declared : ready.done ? ready.total : -1;
      if (declared >= 0 && (ready.total > declared || ready.done && ready.total !== declared)) {
        // As with an in-memory body: the declared length is kept, the stream reset.
        const all = new Uint8Array(ready.total);
        let at = 0;
        for (const chunk of ready.chunks) all.set(chunk, (at += chunk.length) - chunk.length);
        return await this.#sendMismatched(status, fields, all);
      }
      if (!this.#head(status, fields, length, ready.done && ready.total === 0)) return 0;
      const chunks = ready.chunks;
      for (let i = 0; i < chunks.length; i++) {
        await this.#write(chunks[i], ready.done && i === chunks.length - 1);
      }
      if (ready.done) return ready.total;
      let sent = ready.total;
      let next = ready.next ?? reader.read();
      for (;;) {
        const result = await next;
        if (this.#gone) throw new PeerClosed("while streaming a response");
        if (result.done) {
          if (declared >= 0 && sent !== declared) {
            throw new TypeError("the response body is shorter than its content-length");
          }
          await this.#write(EMPTY, true);
          return sent;
        }
        const chunk = toBytes(result.value);
        sent += chunk.length;
        if (declared >= 0 && sent > declared) {
          throw new TypeError("the response body is longer than its content-length");
        }
        // The end of the body, if it is known at once, goes with its last chunk.
        next = reader.read();
        const ahead = await soon(next, 2);
        const end = ahead !== PENDING && ahead.done;
        if (end && declared >= 0 && sent !== declared) {
          throw new TypeError("the response body is shorter than its content-length");
        }
        if (chunk.length > 0 || end) await this.#write(chunk, end);
        if (end) return sent;
        if (ahead !== PENDING) next = Promise.resolve(ahead);
      }
    } catch (error) {
      await reader.cancel(error).catch(() => {});
      throw error;
    } finally {
      this.#reader = null;
    }
  }

  /** Sends all of `bytes` as the windows open; then waits while the output is too full. */
  async #write(bytes: Uint8Array, end: boolean): Promise<void> {
    const host = this.#host;
    let off = 0;
    for (;;) {
      // At most PIECE at a time: a large chunk is not copied into the output all at once.
      const piece = off === 0 && bytes.length <= PIECE ? bytes : bytes.subarray(off, off + PIECE);
      const last = off + piece.length === bytes.length;
      const n = host.core.sendData(this.id, piece, end && last);
      if (n < 0 || this.#gone) throw new PeerClosed("while sending the response");
      off += n;
      host.flushSoon();
      if (off < bytes.length && n === piece.length) {
        const writable = host.writable();
        if (writable !== undefined) await writable;
        continue;
      }
      if (off >= bytes.length) break;
      this.#window = Promise.withResolvers<void>();
      this.windowDeadline = Date.now() + host.cfg.timeouts.writeTimeout;
      await this.#window.promise;
    }
    const writable = host.writable();
    if (writable !== undefined) await writable;
  }
}
