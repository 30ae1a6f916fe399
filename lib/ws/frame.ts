/**
 * The frame grammar of RFC 6455 §5.2, without I/O:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-------+-+-------------+-------------------------------+
 *   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *   | |1|2|3|       |K|             |                               |
 *   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *   |     Extended payload length continued, if payload len == 127  |
 *   + - - - - - - - - - - - - - - - +-------------------------------+
 *   |                               |Masking-key, if MASK set to 1  |
 *   +-------------------------------+-------------------------------+
 *   | Masking-key (continued)       |          Payload Data         |
 *   +-------------------------------- - - - - - - - - - - - - - - - +
 *
 * `FrameParser` is fed byte slices cut anywhere. `next()` reports a frame's header as soon as it
 * is complete (so a size limit fails before the payload arrives), then its payload in pieces as
 * bytes come in (so invalid UTF-8 can fail before the rest of the frame arrives). `nextFrame()`
 * is the same parser returning whole frames, for callers that want them.
 */
import { protocolError, tooBig } from "./errors.ts";

/** Opcodes of §5.2; 0x3–0x7 and 0xB–0xF are reserved. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

export const isControl = (opcode: number): boolean => (opcode & 0x8) !== 0;

export interface FrameHeader {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: Opcode;
  masked: boolean;
  /** Payload length in bytes (always ≤ the parser's maxFrameSize). */
  length: number;
}

export interface Frame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: Opcode;
  /** Unmasked payload. */
  payload: Uint8Array;
}

export type FrameEvent =
  | { type: "header"; header: FrameHeader }
  /** A piece of the current frame's payload, unmasked and copied; `end` on its last piece
   *  (a frame with no payload gets one empty piece with `end`). */
  | { type: "payload"; data: Uint8Array; end: boolean };

export interface FrameParserOptions {
  /** Largest payload of one frame; a bigger header fails with 1009. Default 64 MiB. */
  maxFrameSize?: number;
  /** A server MUST fail unmasked client frames (§5.1); a client must fail masked ones. */
  role?: "server" | "client";
  /** RSV1 is allowed only when permessage-deflate was negotiated (RFC 7692 §6). */
  allowRsv1?: boolean;
  /**
   * The caller gives its bytes away with `push`: a payload that lies whole in one pushed piece is
   * unmasked where it lies and returned as a view of it, not copied. Such a view is valid until
   * the caller reuses that buffer. Default false: payloads are always copies.
   */
  inPlace?: boolean;
}

const EMPTY = new Uint8Array(0);

export class FrameParser {
  readonly #maxFrameSize: number;
  readonly #server: boolean;
  readonly #allowRsv1: boolean;
  readonly #inPlace: boolean;
  #chunks: Uint8Array[] = [];
  #offset = 0; // read position in #chunks[0]
  #buffered = 0;
  #header: FrameHeader | null = null; // non-null while the payload is being read
  #mask = new Uint8Array(4);
  #needMask = false; // the current frame's masking key is still to be read
  #remaining = 0; // payload bytes of the current frame not yet returned
  #maskPos = 0; // payload bytes returned so far, mod 4
  #error: Error | null = null;
  /** The current frame's payload buffer, when its pieces are gathered in one (see #payload). */
  #whole: Uint8Array | null = null;
  // nextFrame()'s assembly state
  #pieces: Uint8Array[] = [];

  constructor(options: FrameParserOptions = {}) {
    this.#maxFrameSize = options.maxFrameSize ?? 64 * 1024 * 1024;
    this.#server = (options.role ?? "server") === "server";
    this.#allowRsv1 = options.allowRsv1 ?? false;
    this.#inPlace = options.inPlace ?? false;
  }

  /** The payload {@link nextData} found. */
  data: Uint8Array = EMPTY;

  /**
   * The usual frame, cheaply: when the next frame is a whole unfragmented text or binary frame
   * (FIN, no RSV bit, masked as a client's must be, a 7- or 16-bit length within
   * `maxFrameSize` and `maxLength`) and its bytes lie in the first piece pushed, takes it and returns its
   * opcode, with the payload unmasked in `data` (a view with `inPlace`, else a copy). Returns 0
   * otherwise, taking nothing: `next()` then reads the frame, and fails it if it must.
   */
  nextData(maxLength: number): number {
    if (this.#header !== null || this.#error !== null || this.#chunks.length === 0) return 0;
    const chunk = this.#chunks[0];
    const at = this.#offset;
    const left = chunk.length - at;
    if (left < 6) return 0;
    const b0 = chunk[at];
    if ((b0 !== 0x81 && b0 !== 0x82) || !this.#server) return 0;
    const b1 = chunk[at + 1];
    let length = b1 & 0x7f;
    let start = at + 6;
    if (b1 < 0x80 || length === 127) return 0;
    if (length === 126) {
      if (left < 8) return 0;
      length = (chunk[at + 2] << 8) | chunk[at + 3];
      // A non-minimal length (§5.2) goes to next(), which fails it.
      if (length < 126) return 0;
      start += 2;
    }
    if (length > this.#maxFrameSize || length > maxLength || chunk.length - start < length) {
      return 0;
    }
    const key = start - 4;
    const mask = this.#mask;
    mask[0] = chunk[key], mask[1] = chunk[key + 1], mask[2] = chunk[key + 2];
    mask[3] = chunk[key + 3];
    const data = this.#inPlace
      ? chunk.subarray(start, start + length)
      : chunk.slice(start, start + length);
    unmask(data, mask, 0);
    this.data = data;
    this.#skip(start + length - at);
    return b0 & 0x0f;
  }

  /** Bytes received but not yet returned. */
  get buffered(): number {
    return this.#buffered;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
  }

  /** The next header or payload piece, or null when more bytes are needed. Throws
   *  `WebSocketProtocolError` (and keeps throwing it: a failed connection stays failed). */
  next(): FrameEvent | null {
    if (this.#error) throw this.#error;
    try {
      return this.#header ? this.#payload() : this.#readHeader();
    } catch (e) {
      this.#error = e as Error;
      throw e;
    }
  }

  /** The next whole frame, or null when more bytes are needed. Do not mix with `next()`. */
  nextFrame(): Frame | null {
    for (;;) {
      const header = this.#header;
      const event = this.next();
      if (event === null) return null;
      if (event.type === "header") continue;
      this.#pieces.push(event.data);
      if (!event.end) continue;
      const h = header!;
      const payload = concat(this.#pieces);
      this.#pieces = [];
      const { fin, rsv1, rsv2, rsv3, opcode } = h;
      return { fin, rsv1, rsv2, rsv3, opcode, payload };
    }
  }

  #readHeader(): FrameEvent | null {
    if (this.#buffered < 2) return null;
    const head = this.#peek(2);
    const b0 = head[0], b1 = head[1];
    const fin = (b0 & 0x80) !== 0;
    const rsv1 = (b0 & 0x40) !== 0, rsv2 = (b0 & 0x20) !== 0, rsv3 = (b0 & 0x10) !== 0;
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    // Everything decidable from the first two bytes fails here, before waiting for more.
    if ((opcode > 0x2 && opcode < 0x8) || opcode > 0xa) {
      throw protocolError(`reserved opcode 0x${opcode.toString(16)}`); // §5.2
    }
    if (rsv2 || rsv3 || (rsv1 && !this.#allowRsv1)) {
      throw protocolError("reserved bit set without a negotiated extension"); // §5.2
    }
    if (isControl(opcode)) {
      if (!fin) throw protocolError("fragmented control frame"); // §5.5
      if (len7 > 125) throw protocolError("control frame longer than 125 bytes"); // §5.5
    }
    if (masked !== this.#server) {
      // §5.1: a server MUST close on an unmasked frame, a client on a masked one.
      throw protocolError(this.#server ? "unmasked client frame" : "masked server frame");
    }
    const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    if (this.#buffered < 2 + extra) return null;
    let length = len7;
    if (extra === 2) {
      const b = this.#peek(4);
      length = (b[2] << 8) | b[3];
      // §5.2: "the minimal number of bytes MUST be used to encode the length".
      if (length < 126) throw protocolError("payload length not minimally encoded");
    } else if (extra === 8) {
      const b = this.#peek(10);
      if (b[2] & 0x80) throw protocolError("64-bit payload length with the top bit set"); // §5.2
      const high = ((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0;
      const low = ((b[6] << 24) | (b[7] << 16) | (b[8] << 8) | b[9]) >>> 0;
      if (high >= 0x200000) {
        throw tooBig("frame larger than 2^53 bytes"); // no JS number can count it
      }
      length = high * 0x100000000 + low;
      if (length < 0x10000) throw protocolError("payload length not minimally encoded");
    }
    if (length > this.#maxFrameSize) {
      throw tooBig(`frame of ${length} bytes exceeds the limit of ${this.#maxFrameSize}`);
    }
    // The header is reported now; the masking key is read with the payload, so that limits the
    // caller checks on the header (the message size) fail before even the key arrives.
    this.#skip(2 + extra);
    this.#needMask = masked;
    const header: FrameHeader = {
      fin,
      rsv1,
      rsv2,
      rsv3,
      opcode: opcode as Opcode,
      masked,
      length,
    };
    this.#header = header;
    this.#remaining = length;
    this.#maskPos = 0;
    return { type: "header", header };
  }

  #payload(): FrameEvent | null {
    if (this.#needMask) {
      if (this.#buffered < 4) return null;
      this.#mask.set(this.#peek(4));
      this.#skip(4);
      this.#needMask = false;
    }
    if (this.#remaining === 0) {
      this.#header = null;
      return { type: "payload", data: EMPTY, end: true };
    }
    if (this.#buffered === 0) return null;
    const header = this.#header!;
    const chunk = this.#chunks[0];
    const take = Math.min(this.#remaining, chunk.length - this.#offset);
    // Copied (unless the caller gave its bytes away, `inPlace`, and the payload lies whole in
    // this piece): the caller may reuse its read buffer, and unmasking must not touch it then.
    // Into one buffer for the whole payload when that is cheap to hold (a small frame, or half
    // of a big one here already): its pieces are then consecutive views that `concat` joins
    // without copying again. A big frame announced ahead of its bytes is copied piece by piece,
    // so memory grows only with what arrives.
    const done = header.length - this.#remaining;
    if (done === 0 && take < header.length) {
      this.#whole = header.length <= PAYLOAD_BUFFER || this.#buffered * 2 >= header.length
        ? new Uint8Array(header.length)
        : null;
    }
    let data: Uint8Array;
    if (take === header.length) {
      data = this.#inPlace
        ? chunk.subarray(this.#offset, this.#offset + take)
        : chunk.slice(this.#offset, this.#offset + take);
    } else if (this.#whole !== null) {
      data = this.#whole.subarray(done, done + take);
      data.set(chunk.subarray(this.#offset, this.#offset + take));
    } else data = chunk.slice(this.#offset, this.#offset + take);
    if (header.masked) this.#maskPos = unmask(data, this.#mask, this.#maskPos);
    this.#skip(take);
    this.#remaining -= take;
    const end = this.#remaining === 0;
    if (end) {
      this.#header = null;
      this.#whole = null;
    }
    return { type: "payload", data, end };
  }

  /** The next n buffered bytes (n ≤ 14, so gathering across chunks is cheap). */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.length - this.#offset >= n) return first.subarray(this.#offset, this.#offset + n);
    const out = new Uint8Array(n);
    let filled = 0, offset = this.#offset;
    for (const c of this.#chunks) {
      const part = c.subarray(offset, offset + (n - filled));
      out.set(part, filled);
      filled += part.length;
      offset = 0;
      if (filled === n) break;
    }
    return out;
  }

  #skip(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const left = this.#chunks[0].length - this.#offset;
      if (n < left) {
        this.#offset += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#offset = 0;
    }
    if (this.#chunks.length > 0 && this.#offset === this.#chunks[0].length) {
      this.#chunks.shift();
      this.#offset = 0;
    }
  }
}

/** A payload up to this size gets one buffer as soon as its first piece arrives. */
const PAYLOAD_BUFFER = 64 * 1024;

const word = new Uint8Array(4);
const wordView = new Uint32Array(word.buffer);

/** XORs `data` with the mask from position `p`, four bytes at a time where the view is 4-byte
 *  aligned in its buffer; returns the position after it. */
function unmask(data: Uint8Array, mask: Uint8Array, p: number): number {
  const n = data.length;
  let i = 0;
  if (n >= 32) {
    const lead = (4 - (data.byteOffset & 3)) & 3;
    for (; i < lead; i++) {
      data[i] ^= mask[p];
      p = (p + 1) & 3;
    }
    // The key rotated to start at `p`, as one 32-bit word in the platform's byte order.
    for (let k = 0; k < 4; k++) word[k] = mask[(p + k) & 3];
    const key = wordView[0];
    const words = (n - i) >>> 2;
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] ^= key;
    i += words << 2; // a multiple of 4: the mask position is unchanged
  }
  for (; i < n; i++) {
    data[i] ^= mask[p];
    p = (p + 1) & 3;
  }
  return p;
}

export interface EncodeOptions {
  /** Last frame of the message (default true). */
  fin?: boolean;
  /** "Per-message compressed" (RFC 7692 §6): first frame of a compressed message only. */
  rsv1?: boolean;
  /** Masking key: clients only (§5.3). Servers never mask (§5.1); used by tests. */
  mask?: Uint8Array;
}

/** One frame's bytes. Server frames are unmasked (§5.1); lengths use the minimal form (§5.2). */
export function encodeFrame(
  opcode: Opcode,
  payload: Uint8Array,
  options: EncodeOptions = {},
): Uint8Array {
  const { fin = true, rsv1 = false, mask } = options;
  const n = payload.length;
  if (isControl(opcode) && (n > 125 || !fin)) {
    throw new RangeError("control frames carry at most 125 bytes and are never fragmented");
  }
  const extra = n < 126 ? 0 : n < 0x10000 ? 2 : 8;
  const keyLength = mask ? 4 : 0;
  const out = new Uint8Array(2 + extra + keyLength + n);
  out[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  out[1] = (mask ? 0x80 : 0) | (extra === 0 ? n : extra === 2 ? 126 : 127);
  if (extra === 2) {
    out[2] = n >>> 8;
    out[3] = n & 0xff;
  } else if (extra === 8) {
    const high = Math.floor(n / 0x100000000), low = n >>> 0;
    new DataView(out.buffer).setUint32(2, high);
    new DataView(out.buffer).setUint32(6, low);
  }
  const start = 2 + extra + keyLength;
  out.set(payload, start);
  if (mask) {
    out.set(mask.subarray(0, 4), 2 + extra);
    for (let i = 0; i < n; i++) out[start + i] ^= mask[i & 3];
  }
  return out;
}

/** Joins byte arrays (returns the only one as is, and consecutive views of one buffer as one
 *  view of it). */
export function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  if (parts.length > 1 && consecutive(parts)) {
    const first = parts[0], last = parts[parts.length - 1];
    return new Uint8Array(
      first.buffer,
      first.byteOffset,
      last.byteOffset + last.length - first.byteOffset,
    );
  }
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function consecutive(parts: Uint8Array[]): boolean {
  for (let i = 1; i < parts.length; i++) {
    const prev = parts[i - 1], part = parts[i];
    if (part.buffer !== prev.buffer || part.byteOffset !== prev.byteOffset + prev.length) {
      return false;
    }
  }
  return true;
}
