/**
 * The request head (RFC 9112 §2-§6): an incremental parser fed the connection's unread bytes,
 * and the rules that turn the fields into what the engine needs: target form, Host, body framing,
 * persistence and Expect. No I/O: every rule can be tested by feeding bytes, split anywhere.
 *
 * @module
 */

import { DEFAULT_LIMITS, HttpError, type Limits } from "./errors.ts";
import { fieldNames, fieldTexts } from "./interned.ts";
import {
  COLON,
  CR,
  FIELD_CHAR,
  type HeaderList,
  HTAB,
  isToken,
  latin1,
  LF,
  listTokens,
  SP,
  TCHAR,
  trimOws,
} from "./grammar.ts";

/** How the request body is delimited (RFC 9112 §6.3). Requests are never read until close. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

/** The request-target forms of RFC 9112 §3.2. */
export type TargetForm = "origin" | "absolute" | "authority" | "asterisk";

/** A parsed and validated request head. */
export interface RequestHead {
  method: string;
  target: string;
  form: TargetForm;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: 0 | 1;
  headers: HeaderList;
  /** The Host field value, or "" when an HTTP/1.0 request has none. */
  host: string;
  framing: BodyFraming;
  /** Whether the client allows the connection to stay open after this exchange (RFC 9112 §9.3). */
  keepAlive: boolean;
  /** `Expect: 100-continue` from an HTTP/1.1 client (RFC 9110 §10.1.1). */
  expectContinue: boolean;
}

// A request-target is ASCII without controls or spaces: origin-form is built from RFC 3986
// pchar, "/" and "?", which never need anything outside VCHAR. Raw UTF-8 is refused rather than
// guessed at; clients percent-encode it.
const TARGET_CHAR = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET_CHAR[c] = 1;
TARGET_CHAR[0x23] = 0; // "#": a fragment is never part of a request target (RFC 9112 §3.2)

// reg-name = *( unreserved / pct-encoded / sub-delims )                    (RFC 3986 §3.2.2)
// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
const REG_NAME_CHAR = new Uint8Array(256);
for (const c of "-._~!$&'()*+,;=0123456789") REG_NAME_CHAR[c.charCodeAt(0)] = 1;
for (let c = 0x41; c <= 0x5a; c++) REG_NAME_CHAR[c] = REG_NAME_CHAR[c + 0x20] = 1;

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * `text[start, end)` as uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2-3): an IP-literal
 * in brackets, or a reg-name (which an IPv4 address also is), then "%" only as pct-encoded and a
 * port of digits only.
 * @returns the length of the uri-host (0 when empty), or -1 when the text is not one
 */
function hostLength(text: string, start: number, end: number): number {
  let i = start;
  if (i < end && text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf("]", i);
    if (close === -1 || close >= end || !isIpLiteral(text.slice(i + 1, close))) return -1;
    i = close + 1;
  } else {
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c === 0x25) {
        // pct-encoded = "%" HEXDIG HEXDIG
        if (i + 2 >= end || !isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) {
          return -1;
        }
        i += 3;
      } else if (c < 0x100 && REG_NAME_CHAR[c]) {
        i++;
      } else {
        break;
      }
    }
  }
  const length = i - start;
  if (i === end) return length;
  if (text.charCodeAt(i) !== COLON) return -1;
  for (i++; i < end; i++) if (!isDigit(text.charCodeAt(i))) return -1; // port = *DIGIT
  return length;
}

const IPV4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
const H16 = /^[0-9A-Fa-f]{1,4}$/;
// IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
const IPV_FUTURE = /^[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/;

/**
 * IP-literal = "[" ( IPv6address / IPvFuture ) "]", without the brackets (RFC 3986 §3.2.2):
 * eight h16 groups, or fewer around one "::", the last two of which may be an IPv4 address.
 */
function isIpLiteral(text: string): boolean {
  if (IPV_FUTURE.test(text)) return true;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => (half === "" ? [] : half.split(":")));
  const tailEmpty = halves.length === 2 && halves[1] === "";
  let count = 0;
  for (let k = 0; k < groups.length; k++) {
    const g = groups[k];
    if (k === groups.length - 1 && !tailEmpty && IPV4.test(g)) count += 2;
    else if (H16.test(g)) count++;
    else return false;
  }
  return halves.length === 2 ? count <= 7 : count === 8;
}

/**
 * An incremental request-head parser. Feed it the unconsumed bytes of the connection's buffer
 * each time more arrive; it remembers how far it has scanned and where each line ended, so a head
 * that trickles in byte by byte is scanned once, not once per read (picohttpparser's `last_len`).
 *
 * Offsets are kept relative to the start of the unconsumed bytes, so the caller may move those
 * bytes to the front of its buffer between calls.
 */
export class RequestHeadParser {
  readonly #limits: Limits;
  /** Bytes already scanned for line ends. */
  #scanned = 0;
  /** Where the request line starts (leading empty lines are skipped, RFC 9112 §2.2). */
  #headStart = 0;
  /**
   * [start, end) of each complete line of the head, relative to the unconsumed bytes; end is
   * where the line's LF is, less one (see `parse`). Reused: `#count` entries are in use.
   */
  #lines: number[] = [];
  #count = 0;
  /**
   * Per field line, checked as it completed: where its name ends and its value starts and ends,
   * relative like `#lines`; and its value bytes OR-ed together (0x80 or more: obs-text).
   */
  #fields: number[] = [];
  #bits = 0;
  /** The request line's checked shape, relative like `#lines` (see `requestLine`). */
  readonly #requestLine: RequestLineMarks = {
    methodEnd: 0,
    targetStart: 0,
    targetEnd: 0,
    minor: 1,
  };

  constructor(limits: Limits = DEFAULT_LIMITS) {
    this.#limits = limits;
  }

  /** Whether part of a head has been received (for choosing idle vs header timeouts). */
  get inProgress(): boolean {
    // Skipped empty lines count: a client trickling CRLFs is on the header clock, not idle.
    return this.#scanned > 0;
  }

  /** Drops the line table between heads: an idle connection need not keep it. */
  release(): void {
    if (this.#scanned !== 0) return;
    this.#lines = [];
    this.#fields = [];
  }

  /** Forget a partial head (the connection is starting over). */
  reset(): void {
    this.#scanned = 0;
    this.#headStart = 0;
    this.#count = 0;
    this.#bits = 0;
  }

  /**
   * Parse a request head from `buf[start, end)`.
   * @returns the head and the number of bytes it took, or `null` when more bytes are needed.
   * @throws {HttpError} when the bytes cannot be a request we accept.
   */
  parse(
    buf: Uint8Array,
    start: number,
    end: number,
  ): { head: RequestHead; consumed: number } | null {
    const lines = this.#lines;
    const limits = this.#limits;
    let count = this.#count;
    let pos = start + this.#scanned;
    for (;;) {
      // A loop rather than indexOf: lines are short, and indexOf would not stop at `end`.
      let lf = pos;
      while (lf < end && buf[lf] !== LF) lf++;
      if (lf === end) {
        this.#count = count;
        this.#scanned = end - start;
        this.#checkPartial(buf, start, end);
        return null;
      }
      const rel = lf - start;
      const lineStart = count === 0 ? this.#headStart : lines[count - 1] + 2;
      let lineEnd = rel;
      if (lineEnd > lineStart && buf[lf - 1] === CR) lineEnd--;
      // Offsets are stored so that "end + 2" finds the next line's start, whatever the ending.
      const nextStart = rel + 1;
      // The target's 414 is decided before the head's 431, as it is when the line trickles in.
      if (count === 0) checkRequestLineLength(buf, start, start + lineStart, lf, limits);
      // Leading empty lines count toward the limit: RFC 9112 §2.2 asks us to skip at least one,
      // not an endless run of them that would never be answered and would fill the buffer.
      if (rel >= limits.maxHeadBytes) {
        throw new HttpError(431, "request head too large");
      }
      // The request line is checked as soon as it is complete, so a malformed one is answered
      // at once rather than when (if ever) the head's blank line arrives. Its verdict cannot
      // depend on how the bytes were split: line by line, it is always the first error found.
      if (count === 0 && lineEnd > lineStart) {
        requestLine(buf, start + lineStart, start + lineEnd, limits, this.#requestLine, start);
      }
      if (lineEnd === lineStart) {
        if (count === 0) {
          // An empty line before the request line: robustness rule of RFC 9112 §2.2.
          this.#headStart = nextStart;
          pos = lf + 1;
          continue;
        }
        // The bytes stay put while the head is parsed: its offsets can be absolute.
        for (let k = 0; k < count; k++) lines[k] += start;
        try {
          const head = parseHead(
            buf,
            lines,
            count,
            limits,
            this.#requestLine,
            this.#fields,
            this.#bits,
            start,
          );
          return { head, consumed: nextStart };
        } finally {
          this.reset();
        }
      }
      // A field line too is checked as soon as it is complete, for the same reason.
      if (count > 0) this.#fieldLine(buf, start, lineStart, lineEnd, count / 2 - 1);
      lines[count++] = lineStart;
      lines[count++] = nextStart - 2;
      // The stored "end" is nextStart - 2 so the next line starts at end + 2; the true end of
      // the content (without CR) is recomputed from the bytes when the head is parsed.
      pos = lf + 1;
    }
  }

  /** Checks the `index`th field line, `buf[start + lineStart, start + lineEnd)`. */
  #fieldLine(
    buf: Uint8Array,
    start: number,
    lineStart: number,
    lineEnd: number,
    index: number,
  ): void {
    const fields = this.#fields;
    const at = index * 3;
    try {
      if (index >= this.#limits.maxHeaders) throw new HttpError(431, "too many header fields");
      // field-line = field-name ":" OWS field-value OWS                      (RFC 9112 §5)
      this.#bits |= scanFieldLine(buf, start + lineStart, start + lineEnd, fields, at);
    } catch (error) {
      if (error instanceof HttpError) {
        // For the log line: the request line was checked when it completed.
        const line = this.#requestLine;
        error.requestLine = {
          method: latin1(buf, start + this.#headStart, start + line.methodEnd),
          target: latin1(buf, start + line.targetStart, start + line.targetEnd),
          minorVersion: line.minor,
        };
      }
      throw error;
    }
    fields[at] -= start;
    fields[at + 1] -= start;
    fields[at + 2] -= start;
  }

  /** Bounds that must hold before the head is complete, so a huge head fails early. */
  #checkPartial(buf: Uint8Array, start: number, end: number): void {
    const limits = this.#limits;
    if (this.#count === 0) {
      checkRequestLineLength(buf, start, start + this.#headStart, end, limits);
    }
    if (end - start > limits.maxHeadBytes) throw new HttpError(431, "request head too large");
  }
}

/**
 * 414 as soon as the target alone is longer than allowed, even before the line ends.
 * `start` is where the request line starts in `buf` and `end` where its bytes stop so far (its
 * LF, or the last byte received); `base` is where the unconsumed bytes start.
 *
 * The answer must not depend on how the bytes were split, so it looks only at what the
 * byte-by-byte path could have seen before the head limit stopped it (the first
 * `maxHeadBytes + 1` bytes after `base`), and never counts a final CR, which may be the start of
 * the CRLF (RFC 9112 §2.2) rather than part of the target.
 */
function checkRequestLineLength(
  buf: Uint8Array,
  base: number,
  start: number,
  end: number,
  limits: Limits,
): void {
  end = Math.min(end, base + limits.maxHeadBytes + 1);
  if (end > start && buf[end - 1] === CR) end--;
  if (end - start <= limits.maxTargetBytes) return;
  const sp = buf.indexOf(SP, start);
  if (sp === -1 || sp >= end) return;
  let targetEnd = buf.indexOf(SP, sp + 1);
  if (targetEnd === -1 || targetEnd >= end) targetEnd = end;
  if (targetEnd - sp - 1 > limits.maxTargetBytes) {
    throw new HttpError(414, "request target too long");
  }
}

/** The end of a line's content: `end` as stored may still include a CR before the LF. */
function contentEnd(view: Uint8Array, start: number, storedEnd: number): number {
  // storedEnd = lf - 1. If view[storedEnd] is CR the content ends there, else it ends at lf.
  return storedEnd >= start && view[storedEnd] === CR ? storedEnd : storedEnd + 1;
}

/**
 * Heads at least this long are decoded with one TextDecoder call and cut into substrings, which
 * are nearly free: the call costs a fixed amount, whatever the head's length, where decoding
 * byte by byte grows with it. Shorter heads are decoded by a loop.
 */
const DECODE_WHOLE_MIN = 64;
const utf8Decoder = new TextDecoder();

/** Where a checked request line's parts end, relative to the unconsumed bytes. */
interface RequestLineMarks {
  methodEnd: number;
  targetStart: number;
  targetEnd: number;
  minor: 0 | 1;
}

/**
 * Checks the request line `view[lineStart, lineEnd)` and records its parts in `marks`, relative
 * to `base`. request-line = method SP request-target SP HTTP-version (RFC 9112 §3).
 */
function requestLine(
  view: Uint8Array,
  lineStart: number,
  lineEnd: number,
  limits: Limits,
  marks: RequestLineMarks,
  base: number,
): void {
  let i = lineStart;
  while (i < lineEnd && TCHAR[view[i]]) i++;
  if (i === lineStart || i >= lineEnd || view[i] !== SP) {
    throw new HttpError(400, "malformed request line");
  }
  const methodEnd = i;
  const targetStart = ++i;
  while (i < lineEnd && TARGET_CHAR[view[i]]) i++;
  if (i === targetStart || i >= lineEnd || view[i] !== SP) {
    throw new HttpError(400, "malformed request target");
  }
  if (i - targetStart > limits.maxTargetBytes) {
    throw new HttpError(414, "request target too long");
  }
  marks.minor = parseVersion(view, i + 1, lineEnd);
  marks.methodEnd = methodEnd - base;
  marks.targetStart = targetStart - base;
  marks.targetEnd = i - base;
}

/**
 * Makes the head of checked lines: `lines` holds `count` offsets into `view`, two per line; the
 * request line was checked into `marks` and each field line into `fields` (three offsets each,
 * both relative to `base`) as it completed; `bits` is every value byte OR-ed together.
 */
function parseHead(
  view: Uint8Array,
  lines: number[],
  count: number,
  limits: Limits,
  marks: RequestLineMarks,
  fields: number[],
  bits: number,
  base: number,
): RequestHead {
  const lineStart = lines[0];
  const lineEnd = contentEnd(view, lineStart, lines[1]);
  const methodEnd = marks.methodEnd + base;
  const targetStart = marks.targetStart + base;
  const targetEnd = marks.targetEnd + base;
  const minorVersion = marks.minor;

  try {
    const fieldCount = count / 2 - 1;
    const headEnd = count > 2 ? contentEnd(view, lines[count - 2], lines[count - 1]) : lineEnd;
    // Only ASCII decodes the same as UTF-8 and as ISO-8859-1; obs-text takes the slow path.
    const text = headEnd - lineStart >= DECODE_WHOLE_MIN && bits < 0x80
      ? utf8Decoder.decode(view.subarray(lineStart, headEnd))
      : null;
    const method = methodEnd - lineStart === 3 && view[lineStart] === 0x47 &&
        view[lineStart + 1] === 0x45 && view[lineStart + 2] === 0x54
      ? "GET"
      : piece(view, text, lineStart, lineStart, methodEnd);
    const target = piece(view, text, lineStart, targetStart, targetEnd);
    const headers: HeaderList = new Array(fieldCount);
    for (let n = 0, l = 2, m = 0; l < count; l += 2, m += 3, n++) {
      headers[n] = [
        fieldNames.get(view, lines[l], fields[m] + base),
        piece(view, text, lineStart, fields[m + 1] + base, fields[m + 2] + base),
      ];
    }
    return interpretHead(method, target, minorVersion, headers, limits);
  } catch (error) {
    if (error instanceof HttpError) {
      const method = latin1(view, lineStart, methodEnd);
      error.requestLine = { method, target: latin1(view, targetStart, targetEnd), minorVersion };
    }
    throw error;
  }
}

/**
 * `view[start, end)` as a string: cut from the head's decoded `text` (at `base`) if any, which
 * costs next to nothing; else the string made before from the same bytes, if any.
 */
function piece(
  view: Uint8Array,
  text: string | null,
  base: number,
  start: number,
  end: number,
): string {
  return text === null
    ? fieldTexts.get(view, start, end)
    : text.substring(start - base, end - base);
}

// HTTP-version = HTTP-name "/" DIGIT "." DIGIT                               (RFC 9112 §2.3)
function parseVersion(view: Uint8Array, start: number, end: number): 0 | 1 {
  const ok = end - start === 8 && view[start] === 0x48 && view[start + 1] === 0x54 &&
    view[start + 2] === 0x54 && view[start + 3] === 0x50 && view[start + 4] === 0x2f &&
    isDigit(view[start + 5]) && view[start + 6] === 0x2e && isDigit(view[start + 7]);
  if (!ok) throw new HttpError(400, "malformed HTTP version");
  if (view[start + 5] !== 0x31) throw new HttpError(505, "HTTP version not supported");
  // A higher 1.x is handled as the highest 1.x we implement (RFC 9110 §6.2).
  return view[start + 7] === 0x30 ? 0 : 1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Checks one field line and records, at `marks[at]`, where its name ends and where its value
 * starts and ends. No whitespace is allowed between the name
 * and the colon (RFC 9112 §5.1), a line starting with whitespace is obs-fold and refused (§5.2),
 * and the value may not contain CR, LF, NUL or other controls (RFC 9110 §5.5).
 * @returns the value's bytes OR-ed together: 0x80 or more when it holds obs-text
 */
function scanFieldLine(
  bytes: Uint8Array,
  start: number,
  end: number,
  marks: number[],
  at: number,
): number {
  let i = start;
  while (i < end && TCHAR[bytes[i]]) i++;
  if (i === start) {
    const c = bytes[start];
    throw new HttpError(
      400,
      c === SP || c === HTAB ? "obsolete line folding" : "malformed header field name",
    );
  }
  if (i >= end || bytes[i] !== COLON) {
    throw new HttpError(400, "malformed header field name");
  }
  let vs = i + 1;
  let ve = end;
  while (vs < ve && (bytes[vs] === SP || bytes[vs] === HTAB)) vs++;
  while (ve > vs && (bytes[ve - 1] === SP || bytes[ve - 1] === HTAB)) ve--;
  let bits = 0;
  for (let j = vs; j < ve; j++) {
    const c = bytes[j];
    if (!FIELD_CHAR[c]) throw new HttpError(400, "invalid character in header value");
    bits |= c;
  }
  marks[at] = i;
  marks[at + 1] = vs;
  marks[at + 2] = ve;
  return bits;
}

/** One field line (see {@link scanFieldLine}) as a lower-cased name and its value. */
export function parseFieldLine(
  bytes: Uint8Array,
  start: number,
  end: number,
): [string, string] {
  const marks: number[] = [];
  scanFieldLine(bytes, start, end, marks, 0);
  return [fieldNames.get(bytes, start, marks[0]), latin1(bytes, marks[1], marks[2])];
}

/** Shared by every request without a body; frozen, as nothing may change it. */
const NO_BODY: BodyFraming = Object.freeze({ kind: "none" });

const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const DIGITS = /^[0-9]+$/;

function interpretHead(
  method: string,
  target: string,
  minorVersion: 0 | 1,
  headers: HeaderList,
  limits: Limits,
): RequestHead {
  let host: string | undefined;
  let hostCount = 0;
  let contentLength: string | undefined;
  let transferCodings: string[] | undefined;
  let connectionClose = false;
  let connectionKeepAlive = false;
  let expect: string | undefined;

  for (let i = 0; i < headers.length; i++) {
    const field = headers[i];
    const value = field[1];
    switch (field[0]) {
      case "host":
        hostCount++;
        host = value;
        break;
      case "content-length":
        // Content-Length = 1*DIGIT, once. A repeated value, as a list or in several fields, MAY
        // be taken as one (RFC 9110 §8.6); we refuse it, as nginx and Deno.serve do: a front
        // end that reads it differently is a smuggling precondition (Go issue 16490).
        if (contentLength !== undefined) throw new HttpError(400, "repeated Content-Length");
        if (!DIGITS.test(value)) throw new HttpError(400, "invalid Content-Length");
        contentLength = value.replace(/^0+(?=.)/, "");
        break;
      case "transfer-encoding": {
        // transfer-coding = token *( OWS ";" OWS transfer-parameter )     (RFC 9112 §7)
        // A field with no coding, even beside one that has, and an empty list element are
        // refused, as nginx and Deno.serve do: a front end that reads them differently frames
        // the body differently (smuggling). RFC 9110 §5.6.1.2 asks recipients of lists to
        // ignore empty elements; for the one field that frames a request, we do not.
        const codings = listTokens(value);
        if (codings.length === 0) throw new HttpError(400, "empty Transfer-Encoding");
        if (value.split(",").length !== codings.length) {
          throw new HttpError(400, "empty element in Transfer-Encoding");
        }
        for (const coding of codings) {
          const semicolon = coding.indexOf(";");
          const name = semicolon === -1 ? coding : trimOws(coding.slice(0, semicolon));
          if (!isToken(name)) throw new HttpError(400, "malformed Transfer-Encoding");
        }
        (transferCodings ??= []).push(...codings);
        break;
      }
      case "connection":
        for (const t of listTokens(value)) {
          if (t === "close") connectionClose = true;
          else if (t === "keep-alive") connectionKeepAlive = true;
        }
        break;
      case "expect":
        expect = expect === undefined ? value : `${expect},${value}`;
        break;
    }
  }

  // A client MUST send exactly one Host in HTTP/1.1; a server MUST answer 400 to none, more
  // than one, or an invalid one (RFC 9112 §3.2).
  if (hostCount > 1) throw new HttpError(400, "more than one Host header");
  if (minorVersion === 1 && hostCount === 0) throw new HttpError(400, "missing Host header");
  host ??= "";
  if (hostLength(host, 0, host.length) < 0) throw new HttpError(400, "invalid Host header");

  const form = targetForm(method, target);

  // Message body length, RFC 9112 §6.3.
  let framing: BodyFraming = NO_BODY;
  if (transferCodings !== undefined) {
    if (contentLength !== undefined) {
      // §6.3 ¶3: a server MAY reject both; doing so closes the smuggling door outright.
      throw new HttpError(400, "both Transfer-Encoding and Content-Length");
    }
    if (minorVersion === 0) {
      // §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
      throw new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
    }
    for (const coding of transferCodings) {
      if (coding !== "chunked") throw new HttpError(501, `unsupported transfer coding`);
    }
    // §7: chunked is applied once, and last; otherwise the length cannot be determined.
    if (transferCodings.length !== 1) throw new HttpError(400, "chunked applied more than once");
    framing = { kind: "chunked" };
  } else if (contentLength !== undefined) {
    if (contentLength.length > 15 || Number(contentLength) > limits.maxBodyBytes) {
      throw new HttpError(413, "request body too large");
    }
    const length = Number(contentLength);
    if (length > 0) framing = { kind: "length", length };
  }

  let expectContinue = false;
  if (expect !== undefined && minorVersion === 1) {
    // §10.1.1: only 100-continue is defined; a server MAY answer 417 to anything else.
    // An HTTP/1.0 client cannot have meant it, so it is ignored there.
    for (const t of listTokens(expect)) {
      if (t === "100-continue") expectContinue = true;
      else throw new HttpError(417, "unsupported expectation");
    }
  }

  const keepAlive = minorVersion === 1 ? !connectionClose : connectionKeepAlive && !connectionClose;
  return {
    method,
    target,
    form,
    minorVersion,
    headers,
    host,
    framing,
    keepAlive,
    expectContinue,
  };
}

/** RFC 9112 §3.2: which form the target takes, and whether it fits the method. */
function targetForm(method: string, target: string): TargetForm {
  if (method === "CONNECT") {
    // authority-form = uri-host ":" port, for CONNECT only (§3.2.3).
    // The pattern is narrower than uri-host; hostLength checks an IP-literal's groups.
    const shape = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/;
    if (!shape.test(target) || hostLength(target, 0, target.length) <= 0) {
      throw new HttpError(400, "CONNECT needs an authority-form target");
    }
    return "authority";
  }
  if (target.charCodeAt(0) === 0x2f) return "origin"; // "/"
  if (target === "*") {
    if (method !== "OPTIONS") throw new HttpError(400, "asterisk-form is for OPTIONS only");
    return "asterisk";
  }
  if (ABSOLUTE_URI.test(target)) {
    const scheme = target.slice(0, target.indexOf(":")).toLowerCase();
    if (scheme !== "http" && scheme !== "https") {
      throw new HttpError(400, "absolute-form target must be http or https");
    }
    // http-URI = "http" "://" authority path-abempty [ "?" query ] (RFC 9110 §4.2.1), and the
    // authority is uri-host [ ":" port ] here: "A recipient that processes such a URI reference
    // [with an empty host] MUST reject it as invalid" (§4.2.1), and userinfo is refused as §4.2.4
    // advises ("treat its presence as an error"): "@" is not a uri-host character.
    const authority = scheme.length + 3;
    let end = authority;
    while (end < target.length && target[end] !== "/" && target[end] !== "?") end++;
    if (hostLength(target, authority, end) <= 0) {
      throw new HttpError(400, "absolute-form target without a valid host");
    }
    return "absolute";
  }
  throw new HttpError(400, "malformed request target");
}
