/**
 * The server side of an HTTP/2 connection (RFC 9113) as a state machine without I/O, in the
 * manner of python-hyper/h2: the engine feeds received bytes to `receive()` and gets events
 * back; it calls `respond()`, `sendData()`, ... for its side; every byte to write collects in
 * one buffer that `takeOutput()` hands over. No sockets, no timers, no promises.
 *
 * Failure is typed: a ConnectionError queues GOAWAY with its code and closes the machine (a
 * "connectionError" event says so); a StreamError queues RST_STREAM and the connection lives
 * on. Budgets bound what a peer can make us do without doing useful work itself: resets of
 * streams we were serving (CVE-2023-44487), PING/SETTINGS/PRIORITY floods, runs of empty
 * frames, and an unfinished field block (CONTINUATION floods, CVE-2024-27316) — past any of
 * them the connection ends with ENHANCE_YOUR_CALM.
 *
 * @module
 */

import { ByteWriter } from "./buffer.ts";
import { ConnectionError, ErrorCode, StreamError } from "./errors.ts";
import { CONNECTION_SPECIFIC, parseRequest, parseTrailers, type RequestPseudo } from "./fields.ts";
import {
  type DataFrame,
  DEFAULT_MAX_FRAME_SIZE,
  Flag,
  type Frame,
  FrameParser,
  FrameType,
  type HeadersFrame,
  MAX_WINDOW,
  type Priority,
  SettingId,
  type SettingsFrame,
  type WindowUpdateFrame,
  writeData,
  writeFrameHeader,
  writeGoAway,
  writeHeaders,
  writePing,
  writeRstStream,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "./frame.ts";
import { Decoder, type Field } from "./hpack/decoder.ts";
import { Encoder } from "./hpack/encoder.ts";
import { H2Stream } from "./stream.ts";

/** The client connection preface (§3.4). */
export const CLIENT_PREFACE: Uint8Array = Uint8Array.from(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  (c) => c.charCodeAt(0),
);

/** The protocol's initial window (§6.9.2) and header table size (§6.5.2). */
const DEFAULT_WINDOW = 65535;

export interface H2Settings {
  /** SETTINGS_MAX_CONCURRENT_STREAMS; more open streams are refused (default 100). */
  maxConcurrentStreams?: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE: what each stream may send us unread (default 1 MiB). */
  initialWindowSize?: number;
  /** The connection's receive window across streams (default 1 MiB). */
  connectionWindowSize?: number;
  /** SETTINGS_MAX_FRAME_SIZE we accept (default 16384). */
  maxFrameSize?: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: name + value + 32 per field (default 64 KiB). */
  maxHeaderListSize?: number;
  /** SETTINGS_HEADER_TABLE_SIZE for our decoder (default 4096). */
  headerTableSize?: number;
  /** Largest compressed field block (HEADERS + CONTINUATION) we buffer (default list size + 16 KiB). */
  maxHeaderBlockSize?: number;
  /** Dynamic table our encoder uses at most, whatever the peer allows (default 4096). */
  encoderTableSize?: number;
  /** Client resets of streams we were still answering, net of streams completed (default 200). */
  maxResets?: number;
  /** PING, SETTINGS and PRIORITY frames, net of requests and DATA received (default 1000). */
  maxControlFrames?: number;
  /** Consecutive empty DATA/HEADERS/CONTINUATION frames that end nothing (default 16). */
  maxEmptyFrames?: number;
  /** Closed stream ids remembered to answer late frames precisely (default 1000). */
  rememberClosed?: number;
}

/** The peer's settings (§6.5.2), defaults until its SETTINGS frame arrives. */
export interface PeerSettings {
  headerTableSize: number;
  enablePush: boolean;
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
}

export interface RequestEvent {
  type: "request";
  streamId: number;
  pseudo: RequestPseudo;
  headers: Field[];
  /** The request has no body (END_STREAM on its HEADERS). */
  endStream: boolean;
}
export interface DataEvent {
  type: "data";
  streamId: number;
  /** A copy the application owns; report it with `consumed()` once read. */
  data: Uint8Array;
  endStream: boolean;
}
export interface TrailersEvent {
  type: "trailers";
  streamId: number;
  headers: Field[];
}
export interface ResetEvent {
  type: "reset";
  streamId: number;
  code: number;
  /** true: the client sent RST_STREAM; false: we reset it over a stream error. */
  remote: boolean;
}
export interface WindowOpenEvent {
  type: "windowOpen";
  streamId: number;
}
export interface SettingsEvent {
  type: "settings";
  settings: PeerSettings;
}
export interface PingAckEvent {
  type: "pingAck";
  data: Uint8Array;
}
export interface GoAwayEvent {
  type: "goaway";
  lastStreamId: number;
  code: number;
  debug: Uint8Array;
}
export interface ConnectionErrorEvent {
  type: "connectionError";
  code: number;
  message: string;
}

export type H2Event =
  | RequestEvent
  | DataEvent
  | TrailersEvent
  | ResetEvent
  | WindowOpenEvent
  | SettingsEvent
  | PingAckEvent
  | GoAwayEvent
  | ConnectionErrorEvent;

const enum State {
  Preface,
  FirstSettings,
  Open,
  Closed,
}

/** Why a stream closed, for frames that arrive after (§5.1 "closed"). */
const enum Closed {
  /** Both sides ended it, or the client reset it: late frames are STREAM_CLOSED. */
  Remote,
  /** We reset it: the peer may not know yet, so late frames are ignored (§5.1). */
  Local,
}

const EMPTY = new Uint8Array(0);
const MAX_DEBUG = 256;
/** Output buffers larger than this are dropped once written rather than reused. */
const MAX_KEPT_OUTPUT = 1 << 20;

interface PendingBlock {
  streamId: number;
  endStream: boolean;
  priority: Priority | null;
}

export class H2ServerConnection {
  #out = new ByteWriter(16384);
  /** The other output buffer, for `takeOutputView`: the two take turns. */
  #spare: ByteWriter | null = null;
  readonly #block = new ByteWriter(1024);
  readonly #scratch = new ByteWriter(1024);
  readonly #parser: FrameParser;
  readonly #decoder: Decoder;
  readonly #encoder: Encoder;
  readonly #streams = new Map<number, H2Stream>();
  /**
   * Closed-stream memory: stream id N lives in slot (N >>> 1) % size, so the most recent ids
   * are remembered without a map to maintain (client ids only grow).
   */
  readonly #closedIds: Uint32Array;
  readonly #closedWhy: Uint8Array;
  #events: H2Event[] = [];
  #state = State.Preface;
  #prefaceAt = 0;
  #cont: PendingBlock | null = null;
  #lastStreamId = 0;
  #goAwaySent = false;
  #goAwayLastId = 0;
  #goAwayReceived = false;

  // Flow control (§5.2, §6.9).
  #connSendWindow = DEFAULT_WINDOW;
  #connRecvWindow = DEFAULT_WINDOW;
  #connUnacked = 0;
  /** Stream receive window the peer currently assumes: ours only once it ACKs (§6.5.3). */
  #effectiveInitialWindow = DEFAULT_WINDOW;
  #acksPending = 1;

  // Budgets.
  #resetBudget: number;
  #controlBudget: number;
  #emptyRun = 0;

  readonly #settings: Required<H2Settings>;
  readonly peerSettings: PeerSettings = {
    headerTableSize: 4096,
    enablePush: true,
    maxConcurrentStreams: Infinity,
    initialWindowSize: DEFAULT_WINDOW,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    maxHeaderListSize: Infinity,
  };

  constructor(settings: H2Settings = {}) {
    const maxHeaderListSize = settings.maxHeaderListSize ?? 65536;
    const s: Required<H2Settings> = {
      maxConcurrentStreams: settings.maxConcurrentStreams ?? 100,
      initialWindowSize: settings.initialWindowSize ?? 1 << 20,
      connectionWindowSize: settings.connectionWindowSize ?? 1 << 20,
      maxFrameSize: settings.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE,
      maxHeaderListSize,
      headerTableSize: settings.headerTableSize ?? 4096,
      maxHeaderBlockSize: settings.maxHeaderBlockSize ?? maxHeaderListSize + 16384,
      encoderTableSize: settings.encoderTableSize ?? 4096,
      maxResets: settings.maxResets ?? 200,
      maxControlFrames: settings.maxControlFrames ?? 1000,
      maxEmptyFrames: settings.maxEmptyFrames ?? 16,
      rememberClosed: settings.rememberClosed ?? 1000,
    };
    if (s.initialWindowSize > MAX_WINDOW || s.connectionWindowSize > MAX_WINDOW) {
      throw new RangeError("window sizes must be at most 2^31-1");
    }
    this.#settings = s;
    this.#closedIds = new Uint32Array(Math.max(1, s.rememberClosed));
    this.#closedWhy = new Uint8Array(this.#closedIds.length);
    this.#parser = new FrameParser(s.maxFrameSize);
    this.#decoder = new Decoder(s.headerTableSize);
    this.#encoder = new Encoder({ maxTableSize: s.encoderTableSize });
    this.#resetBudget = s.maxResets;
    this.#controlBudget = s.maxControlFrames;

    // Our preface (§3.4): SETTINGS first, then the connection window opened past 65535.
    const out: [number, number][] = [
      [SettingId.ENABLE_PUSH, 0],
      [SettingId.MAX_CONCURRENT_STREAMS, s.maxConcurrentStreams],
      [SettingId.INITIAL_WINDOW_SIZE, s.initialWindowSize],
      [SettingId.MAX_HEADER_LIST_SIZE, s.maxHeaderListSize],
    ];
    if (s.headerTableSize !== 4096) out.unshift([SettingId.HEADER_TABLE_SIZE, s.headerTableSize]);
    if (s.maxFrameSize !== DEFAULT_MAX_FRAME_SIZE) {
      out.push([SettingId.MAX_FRAME_SIZE, s.maxFrameSize]);
    }
    writeSettings(this.#out, out);
    if (s.connectionWindowSize > DEFAULT_WINDOW) {
      writeWindowUpdate(this.#out, 0, s.connectionWindowSize - DEFAULT_WINDOW);
      this.#connRecvWindow = s.connectionWindowSize;
    }
  }

  // --- State the engine may look at. ---

  /**
   * Nothing more will happen: after a connection error, or after GOAWAY either way once the
   * last stream finished. Write what `takeOutput()` returns, then close the socket.
   */
  get closed(): boolean {
    return this.#state === State.Closed ||
      ((this.#goAwaySent || this.#goAwayReceived) && this.#streams.size === 0);
  }

  /** Streams open or half-closed (the ones MAX_CONCURRENT_STREAMS counts). */
  get activeStreams(): number {
    return this.#streams.size;
  }

  /** The highest client stream id seen (what GOAWAY reports). */
  get lastStreamId(): number {
    return this.#lastStreamId;
  }

  get hasOutput(): boolean {
    return this.#out.length > 0;
  }

  /** Octets queued for `takeOutput()`: what an engine bounds to apply backpressure. */
  get outputLength(): number {
    return this.#out.length;
  }

  /** Octets `sendData` would accept now on this stream (0 if unknown or blocked). */
  sendWindow(streamId: number): number {
    const s = this.#streams.get(streamId);
    if (!s || s.localClosed) return 0;
    return Math.max(0, Math.min(s.sendWindow, this.#connSendWindow));
  }

  /** Everything queued to write, as one buffer the caller owns; empties the queue. */
  takeOutput(): Uint8Array {
    return this.#out.length === 0 ? EMPTY : this.#out.take();
  }

  /**
   * Everything queued to write, as a view of the connection's own buffer, valid until the next
   * `takeOutputView()` or `takeOutput()` call; empties the queue. Two buffers take turns, so an
   * engine that writes one batch before it takes the next never copies its output (a batch of
   * file responses is hundreds of KiB).
   */
  takeOutputView(): Uint8Array {
    const out = this.#out;
    if (out.length === 0) return EMPTY;
    let next = this.#spare;
    // A buffer grown past a burst's size is not kept for an idle connection's lifetime.
    if (next === null || next.buf.length > MAX_KEPT_OUTPUT) next = new ByteWriter(16384);
    next.clear();
    this.#spare = out;
    this.#out = next;
    return out.view();
  }

  // --- Input. ---

  /** Feeds received bytes; returns what they meant. */
  receive(bytes: Uint8Array): H2Event[] {
    if (this.#state === State.Closed) return [];
    const events: H2Event[] = this.#events = [];
    try {
      let off = 0;
      if (this.#state === State.Preface) {
        off = this.#matchPreface(bytes);
        if (this.#state === State.Preface) return events;
      }
      this.#parser.push(off === 0 ? bytes : bytes.subarray(off), this.#onFrame);
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      this.#fail(e);
    }
    this.#events = [];
    return events;
  }

  #matchPreface(bytes: Uint8Array): number {
    let i = 0;
    while (i < bytes.length && this.#prefaceAt < CLIENT_PREFACE.length) {
      if (bytes[i] !== CLIENT_PREFACE[this.#prefaceAt]) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "invalid connection preface");
      }
      i++;
      this.#prefaceAt++;
    }
    if (this.#prefaceAt === CLIENT_PREFACE.length) this.#state = State.FirstSettings;
    return i;
  }

  readonly #onFrame = (f: Frame): void => {
    try {
      this.#frame(f);
    } catch (e) {
      if (!(e instanceof StreamError)) throw e;
      this.#streamError(e);
    }
  };

  #frame(f: Frame): void {
    if (this.#state === State.FirstSettings) {
      // §3.4: the preface is followed by a SETTINGS frame (not an ACK).
      if (f.type !== FrameType.SETTINGS || f.ack) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "preface not followed by SETTINGS");
      }
      this.#state = State.Open;
    }
    const cont = this.#cont;
    if (cont !== null && (f.type !== FrameType.CONTINUATION || f.streamId !== cont.streamId)) {
      // §6.10: a field block is contiguous; nothing may come between its frames.
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "frame inside a field block");
    }
    switch (f.type) {
      case FrameType.DATA:
        return this.#data(f);
      case FrameType.HEADERS:
        return this.#headers(f);
      case FrameType.CONTINUATION: {
        if (cont === null) {
          throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS");
        }
        if (f.fragment.length === 0 && !f.endHeaders) this.#empty();
        this.#appendBlock(f.fragment);
        if (!f.endHeaders) return;
        this.#cont = null;
        return this.#fieldBlock(cont.streamId, this.#block.view(), cont.endStream, cont.priority);
      }
      case FrameType.PRIORITY:
        this.#control();
        if (f.priority === null) {
          throw new StreamError(f.streamId, ErrorCode.FRAME_SIZE_ERROR, "PRIORITY length");
        }
        if (f.priority.dependency === f.streamId) {
          throw new StreamError(f.streamId, ErrorCode.PROTOCOL_ERROR, "depends on itself");
        }
        return; // RFC 9113 §5.3.2: the priority signals are deprecated; we ignore them.
      case FrameType.RST_STREAM:
        return this.#rstStream(f.streamId, f.code);
      case FrameType.SETTINGS:
        return this.#settingsFrame(f);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE from a client");
      case FrameType.PING:
        if (f.ack) {
          this.#events.push({ type: "pingAck", data: f.data.slice() });
          return;
        }
        this.#control();
        writePing(this.#out, f.data, true);
        return;
      case FrameType.GOAWAY:
        this.#goAwayReceived = true;
        this.#events.push({
          type: "goaway",
          lastStreamId: f.lastStreamId,
          code: f.code,
          debug: f.debug.slice(),
        });
        return;
      case FrameType.WINDOW_UPDATE:
        return this.#windowUpdate(f);
      default:
        return; // unknown types are ignored (§5.5)
    }
  }

  // --- Field blocks. ---

  #headers(f: HeadersFrame): void {
    if (f.fragment.length > 0) this.#emptyRun = 0;
    if (f.endHeaders) {
      return this.#fieldBlock(f.streamId, f.fragment, f.endStream, f.priority);
    }
    if (f.fragment.length === 0) this.#empty();
    this.#cont = { streamId: f.streamId, endStream: f.endStream, priority: f.priority };
    this.#block.clear();
    this.#appendBlock(f.fragment);
  }

  /** Buffers a fragment, bounded as it arrives, not once the block is complete. */
  #appendBlock(fragment: Uint8Array): void {
    if (fragment.length > 0) this.#emptyRun = 0;
    if (this.#block.length + fragment.length > this.#settings.maxHeaderBlockSize) {
      // The block cannot be decoded without all of it, and HPACK state must stay in sync
      // (RFC 9113 §4.3), so the connection goes.
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "field block too large");
    }
    this.#block.bytes(fragment);
  }

  #fieldBlock(id: number, block: Uint8Array, endStream: boolean, prio: Priority | null): void {
    if ((id & 1) === 0) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "even stream id from a client");
    }
    // Decode first, always: the dynamic table must see every block (§4.3).
    const fields = this.#decoder.decode(block, this.#settings.maxHeaderListSize);
    const stream = this.#streams.get(id);
    if (stream !== undefined) return this.#trailers(stream, fields, endStream);
    if (id <= this.#lastStreamId) {
      const why = this.#closedOf(id);
      if (why === Closed.Local) return;
      if (why === Closed.Remote) {
        throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      }
      // §5.1.1: new stream ids must increase.
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `stream id ${id} not increasing`);
    }
    this.#lastStreamId = id;
    if (this.#goAwaySent && id > this.#goAwayLastId) {
      this.#remember(id, Closed.Local); // §6.8: not processed; its later frames are ignored too
      return;
    }
    if (prio !== null && prio.dependency === id) {
      throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, "depends on itself"); // §5.3.1
    }
    if (fields === null) return this.#tooLarge(id, endStream);
    if (this.#streams.size >= this.#settings.maxConcurrentStreams) {
      // §5.1.2; REFUSED_STREAM tells the client it may retry (§8.7).
      throw new StreamError(id, ErrorCode.REFUSED_STREAM, "too many concurrent streams");
    }
    const req = parseRequest(id, fields);
    if (endStream && req.contentLength > 0) {
      throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, "malformed: content-length, no body");
    }
    const s = new H2Stream(id, this.peerSettings.initialWindowSize, this.#effectiveInitialWindow);
    s.contentLength = req.contentLength;
    s.remoteClosed = endStream;
    this.#streams.set(id, s);
    this.#refund();
    this.#events.push({
      type: "request",
      streamId: id,
      pseudo: req.pseudo,
      headers: req.headers,
      endStream,
    });
  }

  #trailers(s: H2Stream, fields: Field[] | null, endStream: boolean): void {
    if (s.remoteClosed) {
      throw new StreamError(s.id, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM"); // §5.1
    }
    if (!endStream) {
      throw new StreamError(
        s.id,
        ErrorCode.PROTOCOL_ERROR,
        "malformed: trailers without END_STREAM",
      );
    }
    if (fields === null) {
      throw new StreamError(s.id, ErrorCode.PROTOCOL_ERROR, "trailers too large");
    }
    const headers = parseTrailers(s.id, fields);
    this.#checkLength(s, true);
    s.remoteClosed = true;
    this.#events.push({ type: "trailers", streamId: s.id, headers });
    this.#maybeFinish(s);
  }

  /** A request whose fields pass SETTINGS_MAX_HEADER_LIST_SIZE: 431 (§10.5.1), not a reset. */
  #tooLarge(id: number, endStream: boolean): void {
    const w = this.#scratch;
    w.clear();
    this.#encoder.beginBlock(w);
    this.#encoder.status(w, 431);
    writeHeaders(this.#out, id, w.view(), true, this.peerSettings.maxFrameSize);
    // §8.1: a complete response may be followed by RST_STREAM NO_ERROR to stop the upload.
    if (!endStream) writeRstStream(this.#out, id, ErrorCode.NO_ERROR);
    this.#remember(id, endStream ? Closed.Remote : Closed.Local);
  }

  // --- DATA and flow control. ---

  #data(f: DataFrame): void {
    const id = f.streamId, n = f.flowLength;
    // §6.9.1: every flow-controlled frame counts against the connection window.
    if (n > this.#connRecvWindow) {
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window exceeded");
    }
    this.#connRecvWindow -= n;
    if (f.data.length > 0) {
      this.#emptyRun = 0;
      this.#refund();
    } else if (!f.endStream) this.#empty();
    const s = this.#streams.get(id);
    if (s === undefined) {
      this.#creditConnection(n); // nobody will consume it
      if (id > this.#lastStreamId || (id & 1) === 0) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`); // §5.1
      }
      if (this.#closedOf(id) === Closed.Local) return;
      throw new StreamError(id, ErrorCode.STREAM_CLOSED, "DATA on a closed stream");
    }
    if (s.remoteClosed) {
      this.#creditConnection(n);
      throw new StreamError(id, ErrorCode.STREAM_CLOSED, "DATA after END_STREAM"); // §5.1
    }
    if (n > s.recvWindow) {
      this.#creditConnection(n);
      throw new StreamError(id, ErrorCode.FLOW_CONTROL_ERROR, "stream window exceeded");
    }
    s.recvWindow -= n;
    const len = f.data.length;
    if (n > len) this.#consumedOn(s, n - len); // padding: nobody else will return it
    s.received += len;
    s.unconsumed += len; // counted before any reset below, which then returns it
    if (f.endStream) s.remoteClosed = true;
    this.#checkLength(s, f.endStream);
    this.#events.push({ type: "data", streamId: id, data: f.data.slice(), endStream: f.endStream });
    if (f.endStream) this.#maybeFinish(s);
  }

  /** §8.1.1: DATA must add up to content-length, never exceed it. */
  #checkLength(s: H2Stream, ended: boolean): void {
    const cl = s.contentLength;
    if (cl < 0) return;
    if (s.received > cl || (ended && s.received !== cl)) {
      throw new StreamError(s.id, ErrorCode.PROTOCOL_ERROR, "malformed: content-length mismatch");
    }
  }

  /**
   * The application has read `n` octets of a stream's data: the client may send that much
   * again. WINDOW_UPDATEs go out once half a window is owed, not per call.
   */
  consumed(streamId: number, n: number): void {
    if (this.#state === State.Closed || n <= 0) return;
    const s = this.#streams.get(streamId);
    if (s === undefined) return; // closed: its unread octets went back to the connection then
    n = Math.min(n, s.unconsumed);
    s.unconsumed -= n;
    this.#consumedOn(s, n);
  }

  #consumedOn(s: H2Stream, n: number): void {
    if (!s.remoteClosed) {
      s.unacked += n;
      if (s.unacked >= this.#settings.initialWindowSize >>> 1) {
        writeWindowUpdate(this.#out, s.id, s.unacked);
        s.recvWindow += s.unacked;
        s.unacked = 0;
      }
    }
    this.#creditConnection(n);
  }

  #creditConnection(n: number): void {
    this.#connUnacked += n;
    if (this.#connUnacked >= this.#settings.connectionWindowSize >>> 1) {
      writeWindowUpdate(this.#out, 0, this.#connUnacked);
      this.#connRecvWindow += this.#connUnacked;
      this.#connUnacked = 0;
    }
  }

  #windowUpdate(f: WindowUpdateFrame): void {
    const id = f.streamId, inc = f.increment;
    if (id === 0) {
      if (inc === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.#connSendWindow += inc;
      if (this.#connSendWindow > MAX_WINDOW) {
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window overflow");
      }
      this.#wake();
      return;
    }
    const s = this.#streams.get(id);
    if (s === undefined) {
      if (id > this.#lastStreamId || (id & 1) === 0) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      }
      return; // closed streams may still get WINDOW_UPDATE for a while (§5.1)
    }
    if (inc === 0) throw new StreamError(id, ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
    s.sendWindow += inc;
    if (s.sendWindow > MAX_WINDOW) {
      throw new StreamError(id, ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow");
    }
    if (s.blocked && s.sendWindow > 0 && this.#connSendWindow > 0) {
      s.blocked = false;
      this.#events.push({ type: "windowOpen", streamId: id });
    }
  }

  /** Tells every stream that was short of window and now has some. */
  #wake(): void {
    if (this.#connSendWindow <= 0) return;
    for (const s of this.#streams.values()) {
      if (s.blocked && s.sendWindow > 0) {
        s.blocked = false;
        this.#events.push({ type: "windowOpen", streamId: s.id });
      }
    }
  }

  // --- Control frames. ---

  #settingsFrame(f: SettingsFrame): void {
    if (f.ack) {
      if (this.#acksPending === 0) return;
      this.#acksPending--;
      // Our INITIAL_WINDOW_SIZE applies from the ACK on (§6.5.3); the peer has been
      // counting from 65535 until now.
      const delta = this.#settings.initialWindowSize - this.#effectiveInitialWindow;
      this.#effectiveInitialWindow = this.#settings.initialWindowSize;
      if (delta !== 0) { for (const s of this.#streams.values()) s.recvWindow += delta; }
      return;
    }
    this.#control();
    const p = this.peerSettings;
    let grew = false;
    for (const [id, value] of f.settings) {
      switch (id) {
        case SettingId.HEADER_TABLE_SIZE:
          p.headerTableSize = value;
          this.#encoder.setPeerMaxTableSize(value);
          break;
        case SettingId.ENABLE_PUSH:
          p.enablePush = value === 1;
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          p.maxConcurrentStreams = value;
          break;
        case SettingId.INITIAL_WINDOW_SIZE: {
          // §6.9.2: applies to every stream's window, which may go negative or overflow.
          const delta = value - p.initialWindowSize;
          p.initialWindowSize = value;
          for (const s of this.#streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) {
              throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow");
            }
          }
          if (delta > 0) grew = true;
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          p.maxFrameSize = value;
          break;
        case SettingId.MAX_HEADER_LIST_SIZE:
          p.maxHeaderListSize = value;
          break;
      }
    }
    writeSettingsAck(this.#out);
    this.#events.push({ type: "settings", settings: { ...p } });
    if (grew) this.#wake();
  }

  #rstStream(id: number, code: number): void {
    const s = this.#streams.get(id);
    if (s === undefined) {
      if (id > this.#lastStreamId || (id & 1) === 0) {
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      }
      return;
    }
    this.#drop(s, Closed.Remote);
    this.#events.push({ type: "reset", streamId: id, code, remote: true });
    if (!s.localClosed && --this.#resetBudget < 0) {
      // CVE-2023-44487: requests opened and cancelled at once cost us, not the client.
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many stream resets");
    }
  }

  #control(): void {
    if (--this.#controlBudget < 0) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many control frames");
    }
  }

  #empty(): void {
    if (++this.#emptyRun > this.#settings.maxEmptyFrames) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "too many empty frames");
    }
  }

  /** Useful work from the peer earns back control-frame budget. */
  #refund(): void {
    if (this.#controlBudget < this.#settings.maxControlFrames) this.#controlBudget++;
  }

  // --- Our side. ---

  /**
   * Sends response HEADERS. A status below 200 is informational and may repeat; the final one
   * may end the stream. Returns false if the stream is gone (reset, or connection closed).
   * Connection-specific fields (§8.2.2) are dropped; names should be lower case.
   */
  respond(
    streamId: number,
    status: number,
    headers: Iterable<readonly [string, string]> = [],
    endStream = false,
  ): boolean {
    const s = this.#streams.get(streamId);
    if (s === undefined || this.#state === State.Closed) return false;
    if (s.responded) throw new Error(`stream ${streamId} already has a response`);
    if (status < 200 && endStream) throw new Error("an informational response cannot end a stream");
    const w = this.#scratch;
    w.clear();
    this.#encoder.beginBlock(w);
    this.#encoder.status(w, status);
    for (const [name, value] of headers) {
      if (CONNECTION_SPECIFIC.has(name)) continue;
      this.#encoder.field(w, name, value);
    }
    writeHeaders(this.#out, streamId, w.view(), endStream, this.peerSettings.maxFrameSize);
    if (status >= 200) s.responded = true;
    if (endStream) this.#endLocal(s);
    return true;
  }

  /**
   * Sends as much of `data` as the windows allow, in frames of the peer's maximum size.
   * Returns the octets taken (the rest waits for a windowOpen event), or -1 if the stream is
   * gone. `endStream` applies only once all of `data` is taken.
   */
  sendData(streamId: number, data: Uint8Array, endStream = false): number {
    const s = this.#streams.get(streamId);
    if (s === undefined || this.#state === State.Closed) return -1;
    if (!s.responded) throw new Error(`stream ${streamId}: DATA before the response HEADERS`);
    if (s.localClosed) throw new Error(`stream ${streamId} already ended`);
    const n = Math.max(0, Math.min(data.length, s.sendWindow, this.#connSendWindow));
    const max = this.peerSettings.maxFrameSize;
    const end = endStream && n === data.length;
    if (n === 0 && end) writeData(this.#out, streamId, EMPTY, true);
    for (let off = 0; off < n;) {
      const len = Math.min(max, n - off);
      writeFrameHeader(
        this.#out,
        len,
        FrameType.DATA,
        end && off + len === n ? Flag.END_STREAM : 0,
        streamId,
      );
      this.#out.bytes(data.subarray(off, off + len));
      off += len;
    }
    s.sendWindow -= n;
    this.#connSendWindow -= n;
    if (n < data.length) s.blocked = true;
    if (end) this.#endLocal(s);
    return n;
  }

  /** Sends trailers (HEADERS with END_STREAM) after the data. */
  sendTrailers(streamId: number, headers: Iterable<readonly [string, string]>): boolean {
    const s = this.#streams.get(streamId);
    if (s === undefined || this.#state === State.Closed) return false;
    if (!s.responded || s.localClosed) throw new Error(`stream ${streamId}: no trailers now`);
    const w = this.#scratch;
    w.clear();
    this.#encoder.beginBlock(w);
    for (const [name, value] of headers) {
      if (!CONNECTION_SPECIFIC.has(name)) this.#encoder.field(w, name, value);
    }
    writeHeaders(this.#out, streamId, w.view(), true, this.peerSettings.maxFrameSize);
    this.#endLocal(s);
    return true;
  }

  /** Resets a stream (RST_STREAM, default CANCEL). No event: the caller knows. */
  reset(streamId: number, code: number = ErrorCode.CANCEL): void {
    const s = this.#streams.get(streamId);
    if (s === undefined || this.#state === State.Closed) return;
    writeRstStream(this.#out, streamId, code);
    this.#drop(s, Closed.Local);
  }

  /**
   * Sends GOAWAY (§6.8). With NO_ERROR the streams already opened may finish (`closed` turns
   * true once they have); streams the client opens later are ignored. Pass
   * `lastStreamId: 2 ** 31 - 1` first for the two-step shutdown (§6.8), then call again.
   * Any other code ends the connection now.
   */
  goAway(code: number = ErrorCode.NO_ERROR, debug = "", lastStreamId = this.#lastStreamId): void {
    if (this.#state === State.Closed) return;
    // §6.8: a later GOAWAY may lower the last stream id, never raise it.
    const last = this.#goAwaySent ? Math.min(lastStreamId, this.#goAwayLastId) : lastStreamId;
    writeGoAway(this.#out, last, code, asciiBytes(debug));
    this.#goAwaySent = true;
    this.#goAwayLastId = last;
    if (code !== ErrorCode.NO_ERROR) this.#state = State.Closed;
  }

  /** Sends a PING (8 octets); its ACK comes back as a pingAck event. */
  ping(data: Uint8Array = new Uint8Array(8)): void {
    if (this.#state === State.Closed) return;
    const payload = new Uint8Array(8);
    payload.set(data.subarray(0, 8));
    writePing(this.#out, payload, false);
  }

  // --- Stream lifecycle. ---

  #endLocal(s: H2Stream): void {
    s.localClosed = true;
    s.blocked = false;
    this.#maybeFinish(s);
  }

  #maybeFinish(s: H2Stream): void {
    if (!s.remoteClosed || !s.localClosed) return;
    this.#drop(s, Closed.Remote);
    if (this.#resetBudget < this.#settings.maxResets) this.#resetBudget++;
  }

  #drop(s: H2Stream, why: Closed): void {
    this.#streams.delete(s.id);
    this.#remember(s.id, why);
    // Data never read still holds connection window: give it back.
    if (s.unconsumed > 0) {
      this.#creditConnection(s.unconsumed);
      s.unconsumed = 0;
    }
  }

  /** Why stream `id` closed, if it is still remembered. */
  #closedOf(id: number): Closed | undefined {
    const slot = (id >>> 1) % this.#closedIds.length;
    return this.#closedIds[slot] === id ? this.#closedWhy[slot] as Closed : undefined;
  }

  #remember(id: number, why: Closed): void {
    const ids = this.#closedIds;
    const slot = (id >>> 1) % ids.length;
    // A stream that outlived `rememberClosed` newer ones does not push a newer one out.
    if (ids[slot] > id) return;
    ids[slot] = id;
    this.#closedWhy[slot] = why;
  }

  #streamError(e: StreamError): void {
    writeRstStream(this.#out, e.streamId, e.code);
    const s = this.#streams.get(e.streamId);
    if (s !== undefined) {
      this.#drop(s, Closed.Local);
      this.#events.push({ type: "reset", streamId: s.id, code: e.code, remote: false });
    } else {
      this.#remember(e.streamId, Closed.Local);
    }
  }

  #fail(e: ConnectionError): void {
    writeGoAway(this.#out, this.#lastStreamId, e.code, asciiBytes(e.message));
    this.#goAwaySent = true;
    this.#state = State.Closed;
    this.#cont = null;
    this.#events.push({ type: "connectionError", code: e.code, message: e.message });
  }
}

function asciiBytes(s: string): Uint8Array {
  const n = Math.min(s.length, MAX_DEBUG);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i) & 0x7f;
  return out;
}
