/**
 * The HTTP/2 frame layer (RFC 9113 §4.1, §6): a parser fed byte slices cut anywhere, calling
 * back with typed frames, and writers for every frame a server sends.
 *
 * The parser checks what a frame alone can violate: its length against SETTINGS_MAX_FRAME_SIZE
 * and its type's fixed sizes (FRAME_SIZE_ERROR), the stream identifier its type requires
 * (PROTOCOL_ERROR), padding, and SETTINGS values (§6.5.2). What depends on stream state is
 * the connection's business. Payload views (`data`, `fragment`, ...) alias the input or the
 * parser's buffer: valid only during the callback.
 *
 * @module
 */

import type { ByteWriter } from "./buffer.ts";
import { ConnectionError, ErrorCode } from "./errors.ts";

/** Frame types (§6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** SETTINGS parameters (§6.5.2). */
export const SettingId = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
  ENABLE_CONNECT_PROTOCOL: 0x8, // RFC 8441
} as const;

export const FRAME_HEADER_SIZE = 9;
export const DEFAULT_MAX_FRAME_SIZE = 16384;
export const MAX_MAX_FRAME_SIZE = 16777215;
export const MAX_WINDOW = 2 ** 31 - 1;

export interface Priority {
  dependency: number;
  exclusive: boolean;
  weight: number; // 1-256
}

export interface DataFrame {
  type: typeof FrameType.DATA;
  streamId: number;
  data: Uint8Array;
  endStream: boolean;
  /** The whole payload length, padding included: what flow control counts (§6.9.1). */
  flowLength: number;
}
export interface HeadersFrame {
  type: typeof FrameType.HEADERS;
  streamId: number;
  fragment: Uint8Array;
  endStream: boolean;
  endHeaders: boolean;
  priority: Priority | null;
}
export interface PriorityFrame {
  type: typeof FrameType.PRIORITY;
  streamId: number;
  /** null when the length was not 5: a stream error FRAME_SIZE_ERROR (§6.3). */
  priority: Priority | null;
}
export interface RstStreamFrame {
  type: typeof FrameType.RST_STREAM;
  streamId: number;
  code: number;
}
export interface SettingsFrame {
  type: typeof FrameType.SETTINGS;
  streamId: 0;
  ack: boolean;
  /** [identifier, value] in the order received (§6.5.3: processed in order). */
  settings: [number, number][];
}
export interface PushPromiseFrame {
  type: typeof FrameType.PUSH_PROMISE;
  streamId: number;
  promisedId: number;
  fragment: Uint8Array;
  endHeaders: boolean;
}
export interface PingFrame {
  type: typeof FrameType.PING;
  streamId: 0;
  ack: boolean;
  data: Uint8Array;
}
export interface GoAwayFrame {
  type: typeof FrameType.GOAWAY;
  streamId: 0;
  lastStreamId: number;
  code: number;
  debug: Uint8Array;
}
export interface WindowUpdateFrame {
  type: typeof FrameType.WINDOW_UPDATE;
  streamId: number;
  increment: number;
}
export interface ContinuationFrame {
  type: typeof FrameType.CONTINUATION;
  streamId: number;
  fragment: Uint8Array;
  endHeaders: boolean;
}
/** A frame of a type we do not know: ignored (§5.5), except inside a field block. */
export interface UnknownFrame {
  type: -1;
  rawType: number;
  streamId: number;
  flags: number;
  payload: Uint8Array;
}

export type Frame =
  | DataFrame
  | HeadersFrame
  | PriorityFrame
  | RstStreamFrame
  | SettingsFrame
  | PushPromiseFrame
  | PingFrame
  | GoAwayFrame
  | WindowUpdateFrame
  | ContinuationFrame
  | UnknownFrame;

function protocolError(why: string): ConnectionError {
  return new ConnectionError(ErrorCode.PROTOCOL_ERROR, why);
}
function frameSizeError(why: string): ConnectionError {
  return new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, why);
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Parses frames out of byte slices; keeps a partial frame between calls. */
export class FrameParser {
  /** Largest payload accepted: our advertised SETTINGS_MAX_FRAME_SIZE (§4.2). */
  maxFrameSize: number;
  #pending: Uint8Array = new Uint8Array(0);
  #pendingLength = 0;

  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {
    this.maxFrameSize = maxFrameSize;
  }

  /** Bytes held back as part of an incomplete frame. */
  get buffered(): number {
    return this.#pendingLength;
  }

  /**
   * Parses every complete frame in `pending + chunk`, calling `onFrame` for each; keeps the
   * rest. Throws ConnectionError (and stops) on the first frame that breaks a framing rule.
   */
  push(chunk: Uint8Array, onFrame: (frame: Frame) => void): void {
    let off = 0;
    if (this.#pendingLength > 0) {
      // Complete the held frame from the front of the chunk, copying only what it needs.
      off = this.#fill(chunk, 0, FRAME_HEADER_SIZE);
      if (this.#pendingLength < FRAME_HEADER_SIZE) return;
      const total = FRAME_HEADER_SIZE + this.#checkHeader(this.#pending, 0);
      off = this.#fill(chunk, off, total);
      if (this.#pendingLength < total) return;
      this.#pendingLength = 0;
      onFrame(this.#decode(this.#pending, 0, total - FRAME_HEADER_SIZE));
    }
    while (chunk.length - off >= FRAME_HEADER_SIZE) {
      const length = this.#checkHeader(chunk, off);
      if (chunk.length - off - FRAME_HEADER_SIZE < length) break;
      const at = off;
      off += FRAME_HEADER_SIZE + length;
      onFrame(this.#decode(chunk, at, length));
    }
    if (off < chunk.length) this.#fill(chunk, off, chunk.length - off);
  }

  /** Appends chunk[off..] to the pending frame until it holds `upTo` bytes; returns new off. */
  #fill(chunk: Uint8Array, off: number, upTo: number): number {
    const n = Math.min(upTo - this.#pendingLength, chunk.length - off);
    if (n <= 0) return off;
    if (this.#pending.length < this.#pendingLength + n) {
      const grown = new Uint8Array(
        Math.max(this.#pendingLength + n, FRAME_HEADER_SIZE + Math.min(this.maxFrameSize, 16384)),
      );
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(chunk.subarray(off, off + n), this.#pendingLength);
    this.#pendingLength += n;
    return off + n;
  }

  /** The payload length, once checked against the maximum before any payload is buffered. */
  #checkHeader(b: Uint8Array, at: number): number {
    const length = (b[at] << 16) | (b[at + 1] << 8) | b[at + 2];
    if (length > this.maxFrameSize) {
      throw frameSizeError(`frame of ${length} octets exceeds SETTINGS_MAX_FRAME_SIZE`);
    }
    return length;
  }

  #decode(b: Uint8Array, at: number, length: number): Frame {
    const type = b[at + 3], flags = b[at + 4];
    const streamId = u32(b, at + 5) & 0x7fffffff; // the reserved bit is ignored (§4.1)
    let p = at + FRAME_HEADER_SIZE;
    let end = p + length;
    switch (type) {
      case FrameType.DATA: {
        if (streamId === 0) throw protocolError("DATA on stream 0");
        if (flags & Flag.PADDED) [p, end] = unpad(b, p, end, "DATA");
        return {
          type,
          streamId,
          data: b.subarray(p, end),
          endStream: (flags & Flag.END_STREAM) !== 0,
          flowLength: length,
        };
      }
      case FrameType.HEADERS: {
        if (streamId === 0) throw protocolError("HEADERS on stream 0");
        if (flags & Flag.PADDED) [p, end] = unpad(b, p, end, "HEADERS");
        let priority: Priority | null = null;
        if (flags & Flag.PRIORITY) {
          if (end - p < 5) throw frameSizeError("HEADERS too short for its priority fields");
          priority = readPriority(b, p);
          p += 5;
        }
        return {
          type,
          streamId,
          fragment: b.subarray(p, end),
          endStream: (flags & Flag.END_STREAM) !== 0,
          endHeaders: (flags & Flag.END_HEADERS) !== 0,
          priority,
        };
      }
      case FrameType.PRIORITY:
        if (streamId === 0) throw protocolError("PRIORITY on stream 0");
        return { type, streamId, priority: length === 5 ? readPriority(b, p) : null };
      case FrameType.RST_STREAM:
        if (streamId === 0) throw protocolError("RST_STREAM on stream 0");
        if (length !== 4) throw frameSizeError("RST_STREAM length is not 4");
        return { type, streamId, code: u32(b, p) };
      case FrameType.SETTINGS: {
        if (streamId !== 0) throw protocolError("SETTINGS on a stream");
        const ack = (flags & Flag.ACK) !== 0;
        if (ack && length !== 0) throw frameSizeError("SETTINGS ACK with a payload");
        if (length % 6 !== 0) throw frameSizeError("SETTINGS length is not a multiple of 6");
        const settings: [number, number][] = [];
        for (; p < end; p += 6) {
          const id = (b[p] << 8) | b[p + 1], value = u32(b, p + 2);
          checkSetting(id, value);
          settings.push([id, value]);
        }
        return { type, streamId: 0, ack, settings };
      }
      case FrameType.PUSH_PROMISE: {
        if (streamId === 0) throw protocolError("PUSH_PROMISE on stream 0");
        if (flags & Flag.PADDED) [p, end] = unpad(b, p, end, "PUSH_PROMISE");
        if (end - p < 4) throw frameSizeError("PUSH_PROMISE too short");
        return {
          type,
          streamId,
          promisedId: u32(b, p) & 0x7fffffff,
          fragment: b.subarray(p + 4, end),
          endHeaders: (flags & Flag.END_HEADERS) !== 0,
        };
      }
      case FrameType.PING:
        if (streamId !== 0) throw protocolError("PING on a stream");
        if (length !== 8) throw frameSizeError("PING length is not 8");
        return { type, streamId: 0, ack: (flags & Flag.ACK) !== 0, data: b.subarray(p, end) };
      case FrameType.GOAWAY:
        if (streamId !== 0) throw protocolError("GOAWAY on a stream");
        if (length < 8) throw frameSizeError("GOAWAY shorter than 8");
        return {
          type,
          streamId: 0,
          lastStreamId: u32(b, p) & 0x7fffffff,
          code: u32(b, p + 4),
          debug: b.subarray(p + 8, end),
        };
      case FrameType.WINDOW_UPDATE:
        if (length !== 4) throw frameSizeError("WINDOW_UPDATE length is not 4");
        return { type, streamId, increment: u32(b, p) & 0x7fffffff };
      case FrameType.CONTINUATION:
        if (streamId === 0) throw protocolError("CONTINUATION on stream 0");
        return {
          type,
          streamId,
          fragment: b.subarray(p, end),
          endHeaders: (flags & Flag.END_HEADERS) !== 0,
        };
      default:
        return { type: -1, rawType: type, streamId, flags, payload: b.subarray(p, end) };
    }
  }
}

/** Strips padding (§6.1): the pad length must leave room for itself. */
function unpad(b: Uint8Array, p: number, end: number, what: string): [number, number] {
  if (end - p < 1) throw frameSizeError(`${what} too short for its pad length`);
  const pad = b[p];
  if (pad >= end - p) throw protocolError(`${what} padding exceeds the payload`);
  return [p + 1, end - pad];
}

function readPriority(b: Uint8Array, p: number): Priority {
  const dep = u32(b, p);
  return { dependency: dep & 0x7fffffff, exclusive: dep >>> 31 === 1, weight: b[p + 4] + 1 };
}

/** Value rules of §6.5.2; unknown identifiers are ignored (§6.5.2: "MUST ignore"). */
function checkSetting(id: number, value: number): void {
  switch (id) {
    case SettingId.ENABLE_PUSH:
      if (value > 1) throw protocolError("SETTINGS_ENABLE_PUSH is not 0 or 1");
      break;
    case SettingId.INITIAL_WINDOW_SIZE:
      if (value > MAX_WINDOW) {
        throw new ConnectionError(
          ErrorCode.FLOW_CONTROL_ERROR,
          "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
        );
      }
      break;
    case SettingId.MAX_FRAME_SIZE:
      if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_MAX_FRAME_SIZE) {
        throw protocolError("SETTINGS_MAX_FRAME_SIZE outside 2^14..2^24-1");
      }
      break;
    case SettingId.ENABLE_CONNECT_PROTOCOL:
      if (value > 1) throw protocolError("SETTINGS_ENABLE_CONNECT_PROTOCOL is not 0 or 1");
      break;
  }
}

// --- Writers: each appends one frame (header + payload) to `w`. ---

export function writeFrameHeader(
  w: ByteWriter,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  w.ensure(FRAME_HEADER_SIZE + length);
  const b = w.buf, p = w.length;
  b[p] = length >>> 16;
  b[p + 1] = length >>> 8;
  b[p + 2] = length;
  b[p + 3] = type;
  b[p + 4] = flags;
  b[p + 5] = streamId >>> 24;
  b[p + 6] = streamId >>> 16;
  b[p + 7] = streamId >>> 8;
  b[p + 8] = streamId;
  w.length = p + FRAME_HEADER_SIZE;
}

/** One DATA frame, no padding; `data.length` must fit the peer's max frame size. */
export function writeData(w: ByteWriter, streamId: number, data: Uint8Array, endStream: boolean) {
  writeFrameHeader(w, data.length, FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId);
  w.bytes(data);
}

/** A field block as HEADERS plus as many CONTINUATIONs as `maxFrameSize` requires (§4.3). */
export function writeHeaders(
  w: ByteWriter,
  streamId: number,
  block: Uint8Array,
  endStream: boolean,
  maxFrameSize: number,
): void {
  let first = Math.min(block.length, maxFrameSize);
  let flags = endStream ? Flag.END_STREAM : 0;
  if (first === block.length) flags |= Flag.END_HEADERS;
  writeFrameHeader(w, first, FrameType.HEADERS, flags, streamId);
  w.bytes(block.subarray(0, first));
  while (first < block.length) {
    const n = Math.min(block.length - first, maxFrameSize);
    const last = first + n === block.length;
    writeFrameHeader(w, n, FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, streamId);
    w.bytes(block.subarray(first, first + n));
    first += n;
  }
}

export function writeSettings(w: ByteWriter, settings: readonly [number, number][]): void {
  writeFrameHeader(w, settings.length * 6, FrameType.SETTINGS, 0, 0);
  for (const [id, value] of settings) {
    w.u8(id >>> 8);
    w.u8(id & 0xff);
    w.u32(value);
  }
}

export function writeSettingsAck(w: ByteWriter): void {
  writeFrameHeader(w, 0, FrameType.SETTINGS, Flag.ACK, 0);
}

export function writePing(w: ByteWriter, data: Uint8Array, ack: boolean): void {
  writeFrameHeader(w, 8, FrameType.PING, ack ? Flag.ACK : 0, 0);
  w.bytes(data.subarray(0, 8));
}

export function writeGoAway(
  w: ByteWriter,
  lastStreamId: number,
  code: number,
  debug: Uint8Array = new Uint8Array(0),
): void {
  writeFrameHeader(w, 8 + debug.length, FrameType.GOAWAY, 0, 0);
  w.u32(lastStreamId);
  w.u32(code);
  w.bytes(debug);
}

export function writeRstStream(w: ByteWriter, streamId: number, code: number): void {
  writeFrameHeader(w, 4, FrameType.RST_STREAM, 0, streamId);
  w.u32(code);
}

export function writeWindowUpdate(w: ByteWriter, streamId: number, increment: number): void {
  writeFrameHeader(w, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  w.u32(increment);
}
