/**
 * permessage-deflate (RFC 7692): negotiation, and one message compressed or decompressed at a time
 * with the runtime's `CompressionStream`/`DecompressionStream("deflate-raw")`.
 *
 * Contexts. Each message gets a fresh stream in both directions, so we always answer with
 * `server_no_context_takeover` (§7.1.1.1: a server MAY include it even if not offered) and
 * `client_no_context_takeover` (§7.1.1.2: "A server MAY include the client_no_context_takeover
 * extension parameter in an extension negotiation response" — unconditionally — "By including
 * [it] … a server prevents the peer client from using context takeover"). Without the latter a
 * client may refer back to the previous message's window, which a per-message DecompressionStream
 * cannot see. (Measured on Deno 2.9.6: one long-lived DecompressionStream does keep the window
 * across messages, and CompressionStream sync-flushes after every write, so both contexts could be
 * kept. Not done: the Compression Streams spec promises neither, and message boundaries and the
 * size limit would then have to be found inside one endless stream.)
 */
import { protocolError, tooBig, WebSocketProtocolError } from "./errors.ts";
import { concat } from "./frame.ts";

export const PERMESSAGE_DEFLATE = "permessage-deflate";

// ---------------------------------------------------------------------------------------------
// Sec-WebSocket-Extensions (RFC 6455 §9.1):
//   Sec-WebSocket-Extensions = extension-list
//   extension-list = 1#extension
//   extension = extension-token *( ";" extension-param )
//   extension-token = registered-token
//   registered-token = token
//   extension-param = token [ "=" (token | quoted-string) ]
//     ; When using the quoted-string syntax variant, the value after quoted-string unescaping
//     ; MUST conform to the 'token' ABNF.

export interface ExtensionOffer {
  /** Lower-cased extension token. */
  name: string;
  /** In order; names lower-cased; value null when the parameter had none. */
  params: [string, string | null][];
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const isTchar = (c: string) => TCHAR.test(c);

/** Parses the (comma-joined) values of `Sec-WebSocket-Extensions`; null if malformed. */
export function parseExtensions(value: string): ExtensionOffer[] | null {
  const offers: ExtensionOffer[] = [];
  let i = 0;
  const n = value.length;
  const ows = () => {
    while (i < n && (value[i] === " " || value[i] === "\t")) i++;
  };
  const token = (): string | null => {
    const start = i;
    while (i < n && isTchar(value[i])) i++;
    return i > start ? value.slice(start, i) : null;
  };
  const quoted = (): string | null => {
    i++; // opening DQUOTE
    let out = "";
    while (i < n && value[i] !== '"') {
      if (value[i] === "\\") i++;
      if (i >= n) return null;
      out += value[i++];
    }
    if (i >= n) return null;
    i++; // closing DQUOTE
    return out;
  };
  for (;;) {
    ows();
    if (i < n && value[i] === ",") { // empty list elements are allowed (RFC 9110 §5.6.1)
      i++;
      continue;
    }
    if (i >= n) break;
    const name = token();
    if (name === null) return null;
    const offer: ExtensionOffer = { name: name.toLowerCase(), params: [] };
    ows();
    while (i < n && value[i] === ";") {
      i++;
      ows();
      const param = token();
      if (param === null) return null;
      ows();
      let v: string | null = null;
      if (i < n && value[i] === "=") {
        i++;
        ows();
        v = value[i] === '"' ? quoted() : token();
        if (v === null || !TCHAR.test(v)) return null;
        ows();
      }
      offer.params.push([param.toLowerCase(), v]);
    }
    offers.push(offer);
    if (i >= n) break;
    if (value[i] !== ",") return null;
    i++;
  }
  return offers.length > 0 ? offers : null;
}

// ---------------------------------------------------------------------------------------------
// Negotiation (RFC 7692 §7.1)

/** What both ends agreed on; the client's context is never taken over (see the top comment). */
export interface DeflateParams {
  serverNoContextTakeover: true;
  clientNoContextTakeover: true;
  /** 8–15. Below 15 we only compress messages no longer than the window (see `fitsWindow`). */
  serverMaxWindowBits: number;
}

export interface DeflateNegotiation {
  params: DeflateParams;
  /** The `Sec-WebSocket-Extensions` response value. */
  response: string;
}

// §7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
const WINDOW_BITS = /^(?:[89]|1[0-5])$/;

/** Accepts the first acceptable permessage-deflate offer (offers are in the client's order of
 *  preference, RFC 6455 §9.1), or null. Per §7.1 an offer is declined — and the next one tried —
 *  when it has an unknown parameter, a parameter twice, or a bad value. */
export function negotiateDeflate(offers: ExtensionOffer[]): DeflateNegotiation | null {
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const seen = new Set<string>();
    let serverBits: number | null = null;
    let ok = true;
    for (const [name, value] of offer.params) {
      if (seen.has(name)) ok = false;
      seen.add(name);
      switch (name) {
        case "server_no_context_takeover":
        case "client_no_context_takeover":
          if (value !== null) ok = false; // §7.1.1.1/2: no value
          break;
        case "server_max_window_bits":
          if (value === null || !WINDOW_BITS.test(value)) ok = false; // §7.1.2.1: value required
          else serverBits = Number(value);
          break;
        case "client_max_window_bits":
          // §7.1.2.2: value optional. A hint we need not answer: any window up to 15 decodes.
          if (value !== null && !WINDOW_BITS.test(value)) ok = false;
          break;
        default:
          ok = false;
      }
    }
    if (!ok) continue;
    let response = `${PERMESSAGE_DEFLATE}; server_no_context_takeover; client_no_context_takeover`;
    // §7.1.2.1: accepting an offer with server_max_window_bits means echoing it (same or smaller).
    if (serverBits !== null) response += `; server_max_window_bits=${serverBits}`;
    return {
      params: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: serverBits ?? 15,
      },
      response,
    };
  }
  return null;
}

/** Whether a message of this size may be compressed under the agreed server window. The runtime
 *  compresses with a 32 KiB window, but without context takeover no back-reference reaches
 *  further than the message itself, so a message ≤ 2^bits bytes honours any smaller window. */
export function fitsWindow(params: DeflateParams, size: number): boolean {
  return params.serverMaxWindowBits >= 15 || size <= 2 ** params.serverMaxWindowBits;
}

// ---------------------------------------------------------------------------------------------
// Compression (RFC 7692 §7.2.1)

const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);

const endsWith = (bytes: Uint8Array, tail: number[]) =>
  bytes.length >= tail.length && tail.every((b, k) => bytes[bytes.length - tail.length + k] === b);

// ---------------------------------------------------------------------------------------------
// The synchronous codec (node:zlib), when loaded
//
// A CompressionStream or DecompressionStream per message costs about 48 and 38 µs for a 100-byte
// message (stream set-up and promise turns; measured on Deno 2.9.6), node:zlib's deflateRawSync
// and inflateRawSync about 17 and 9 µs: with browsers compressing every message once
// permessage-deflate is agreed, that is most of a small message's cost. But loading node:zlib
// costs a process about 20 ms and 10 MB, so it is loaded in the background when a connection
// first agrees to compress (`loadZlib`), and until it is there the streams do the work. Messages
// over SYNC_LIMIT, and outputs past SYNC_OUTPUT, also take the streams, which work in slices.

type Zlib = typeof import("node:zlib");
let zlib: Zlib | null = null;
let loading: Promise<void> | null = null;
const SYNC_LIMIT = 1024 * 1024;
const SYNC_OUTPUT = 16 * 1024 * 1024;

let syncAllowed = true;

/** Tests: turns the synchronous codec off (the streams do everything) or back on. */
export function useSyncCodec(on: boolean): void {
  syncAllowed = on;
}

/** Starts loading the synchronous codec (once); resolves when it is there (or unavailable). */
export function loadZlib(): Promise<void> {
  return loading ??= import("node:zlib").then((module) => {
    zlib = module;
  }, () => {});
}

/** {@link deflateMessage} at once, or null when the synchronous codec cannot do it. */
export function deflateMessageSync(data: Uint8Array): Uint8Array | null {
  if (zlib === null || !syncAllowed || data.length > SYNC_LIMIT) return null;
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  // Z_SYNC_FLUSH ends the output with the empty stored block §7.2.1 says to remove.
  const end = endsWith(out, [0x00, 0x00, 0xff, 0xff]) ? out.length - 4 : out.length;
  return new Uint8Array(out.buffer, out.byteOffset, end);
}

/**
 * {@link inflateMessage} at once, or null when the synchronous codec cannot do it (then the
 * streams must). The output is checked against `limit` as it is produced (zlib stops there), and
 * handed to `onData` in one piece.
 */
export function inflateMessageSync(
  payload: Uint8Array,
  limit: number,
  onData?: (piece: Uint8Array) => void,
): Uint8Array | null {
  if (zlib === null || !syncAllowed || payload.length > SYNC_LIMIT) return null;
  const input = new Uint8Array(payload.length + TAIL.length);
  input.set(payload);
  input.set(TAIL, payload.length);
  let out: Uint8Array;
  try {
    const result = zlib.inflateRawSync(
      input,
      {
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
        maxOutputLength: Math.min(limit, SYNC_OUTPUT),
        info: true, // with the engine, which tells how much input it took
      } as Parameters<Zlib["inflateRawSync"]>[1],
    ) as unknown as {
      buffer: Uint8Array;
      engine: { bytesWritten: number };
    };
    // zlib stops at a BFINAL block and ignores the rest; the streams' rule, kept: a few stray
    // bytes after it are §7.2.3.4's leftover, more is not DEFLATE (1002).
    if (payload.length - result.engine.bytesWritten >= BYTEWISE_TAIL) {
      throw protocolError("permessage-deflate data continues past the end of its DEFLATE stream");
    }
    out = result.buffer;
  } catch (e) {
    if (e instanceof WebSocketProtocolError) throw e;
    if ((e as { code?: string }).code !== "ERR_BUFFER_TOO_LARGE") {
      throw protocolError("permessage-deflate data could not be decompressed");
    }
    if (limit <= SYNC_OUTPUT) throw tooBig(`decompressed message exceeds ${limit} bytes`);
    return null; // a big message within a big limit: the streams, in slices
  }
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.length);
  if (bytes.length > 0) onData?.(bytes);
  return bytes;
}

/** Compresses one message's payload into what goes on the wire (RSV1 set on its first frame). */
export async function deflateMessage(data: Uint8Array): Promise<Uint8Array> {
  const sync = deflateMessageSync(data);
  if (sync !== null) return sync;
  const cs = new CompressionStream("deflate-raw");
  const writer = (cs.writable as WritableStream<Uint8Array>).getWriter();
  const done = readAll(cs.readable);
  writer.write(data).catch(() => {}); // errors surface through the readable
  writer.close().catch(() => {});
  const out = await done;
  // §7.2.1: the data must end with an empty stored block, whose 00 00 ff ff is then removed.
  // Deno sync-flushes after each write, so the stream ends `00 00 ff ff` + `03 00` (an empty
  // final fixed block from close): drop both.
  if (endsWith(out, [0x00, 0x00, 0xff, 0xff, 0x03, 0x00])) return out.subarray(0, out.length - 6);
  if (endsWith(out, [0x00, 0x00, 0xff, 0xff])) return out.subarray(0, out.length - 4);
  // A runtime that does not flush ends with a BFINAL block instead; §7.2.3.4 allows that, and
  // appending the empty stored block's header bits then dropping 00 00 ff ff leaves at most one
  // zero byte more (the RFC's example is `f3 48 cd c9 c9 07 00 00`).
  return concat([out, new Uint8Array(1)]);
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of stream) parts.push(part);
  return parts.length === 0 ? new Uint8Array(0) : concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Decompression (RFC 7692 §7.2.2), bounded

// DEFLATE's best ratio is about 1032:1 (a 258-byte match per ~2 bits), and the runtime turns one
// written chunk into one output chunk however big (measured: 265 KB in one write gave one
// 268 MB chunk, +540 MB RSS). So input is written in slices small enough that one slice cannot
// overshoot the remaining budget by much, and output is counted between slices.
const MAX_RATIO = 1032;
const MIN_SLICE = 256;
const MAX_SLICE = 64 * 1024;
// On a retry, the last bytes of a message are written one at a time, see below.
const BYTEWISE_TAIL = 8;

/**
 * Decompresses one message's payload (the frames' payloads joined), appending 00 00 ff ff as
 * §7.2.2 says. Throws `WebSocketProtocolError` 1009 as soon as the output passes `limit`, 1002 if
 * the data is not DEFLATE, and whatever `onData` throws (e.g. 1007 from a UTF-8 check). `onData`
 * sees each output piece once, as it is produced.
 *
 * §7.2.3.4 lets a sender end a message with a BFINAL block, after which our 00 00 ff ff (and the
 * sender's leftover zero byte) are trailing garbage. Deno's DecompressionStream then throws
 * "failed to write whole buffer" and drops the output of the write that held the end (measured
 * on 2.9.6: the RFC's `f3 48 cd c9 c9 07 00 00` + 00 00 ff ff in one write gives an error and no
 * "Hello"). So when that happens the message is decompressed again with its last bytes written
 * one at a time, which keeps the end and the garbage in different writes; output already passed
 * to `onData` is not passed again. (Always writing byte-wise costs 57 µs instead of 25 µs for a
 * small message, measured, hence only on a retry.)
 */
export async function inflateMessage(
  payload: Uint8Array,
  limit: number,
  onData?: (piece: Uint8Array) => void,
): Promise<Uint8Array> {
  const sync = inflateMessageSync(payload, limit, onData);
  if (sync !== null) return sync;
  const sink = new Sink(limit, onData);
  if (!(await inflatePass(payload, sink, false))) {
    sink.rewind();
    if (!(await inflatePass(payload, sink, true))) {
      throw protocolError("permessage-deflate data continues past the end of its DEFLATE stream");
    }
  }
  return sink.parts.length === 0 ? new Uint8Array(0) : concat(sink.parts);
}

/** Output of one or two passes: counts it against the limit and hands on only what is new. */
class Sink {
  parts: Uint8Array[] = [];
  #seen = 0; // output bytes of the current pass
  #delivered = 0; // output bytes handed on, over all passes

  constructor(readonly limit: number, readonly onData?: (piece: Uint8Array) => void) {}

  get seen(): number {
    return this.#seen;
  }

  push(piece: Uint8Array): void {
    const start = this.#seen;
    this.#seen += piece.length;
    if (this.#seen > this.limit) {
      throw tooBig(`decompressed message exceeds ${this.limit} bytes`);
    }
    if (this.#seen <= this.#delivered) return;
    const fresh = piece.subarray(Math.max(0, this.#delivered - start));
    this.onData?.(fresh);
    this.parts.push(fresh);
    this.#delivered = this.#seen;
  }

  rewind(): void {
    this.#seen = 0;
  }
}

/** One decompression of the payload; false when the DEFLATE stream ended before the input did
 *  and a byte-wise pass could tell where. */
async function inflatePass(payload: Uint8Array, sink: Sink, bytewise: boolean): Promise<boolean> {
  const ds = new DecompressionStream("deflate-raw");
  const writer = (ds.writable as WritableStream<Uint8Array>).getWriter();
  const reader = ds.readable.getReader();
  let ours: unknown = null; // our own verdict (limit, onData): wins over what the stream says
  let streamError: unknown = null;

  const pump = (async () => {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        streamError ??= e;
        return;
      }
      if (next.done) return;
      try {
        sink.push(next.value);
      } catch (e) {
        ours = e;
        reader.cancel().catch(() => {}); // errors the writable side: pending writes reject
        return;
      }
    }
  })();

  // Backpressure (the readable's high-water mark is 0) means a write is transformed only after
  // the pump has taken the previous output, so checking `ours` between writes is enough.
  let late = false; // writing the byte-wise tail or the 00 00 ff ff
  let endedEarly = false; // the stream ended, the rest was garbage
  try {
    const cut = bytewise ? Math.max(0, payload.length - BYTEWISE_TAIL) : payload.length;
    let offset = 0;
    while (offset < cut && ours === null) {
      const budget = Math.floor((sink.limit - sink.seen) / MAX_RATIO);
      const end = Math.min(cut, offset + Math.min(MAX_SLICE, Math.max(MIN_SLICE, budget)));
      await writer.write(payload.subarray(offset, end));
      offset = end;
    }
    late = true;
    for (let k = cut; k < payload.length && ours === null; k++) {
      await writer.write(payload.subarray(k, k + 1));
    }
    if (ours === null) await writer.write(TAIL);
    if (ours === null) await writer.close();
  } catch (e) {
    if (isTrailingDataError(e) && (late || !bytewise)) endedEarly = true;
    else streamError ??= e;
  }
  await pump;
  if (ours !== null) throw ours;
  if (endedEarly) return bytewise; // byte-wise: nothing was lost; otherwise: retry
  if (streamError !== null) {
    throw isTrailingDataError(streamError)
      ? protocolError("permessage-deflate data continues past the end of its DEFLATE stream")
      : protocolError("permessage-deflate data could not be decompressed");
  }
  return true;
}

// Deno's inflater (Rust's write_all) reports input after the end of the DEFLATE stream this way.
function isTrailingDataError(e: unknown): boolean {
  return e instanceof TypeError && e.message.includes("failed to write whole buffer");
}
