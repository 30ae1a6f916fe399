/**
 * The HTTP grammar shared by every part of the server: tokens, field values and list elements
 * (RFC 9110 §5.5, §5.6), and the ISO-8859-1 text header fields are made of. Written once here;
 * the request parser, the router, the CLI and the client-address rules all use it.
 *
 * @module
 */

/** Header fields in arrival order, duplicates kept, names lower-cased. */
export type HeaderList = [name: string, value: string][];

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;

// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
//       / DIGIT / ALPHA                                                      (RFC 9110 §5.6.2)
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = TCHAR[c + 0x20] = 1;

/** Whether `text` is a non-empty token (RFC 9110 §5.6.2). */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || !TCHAR[c]) return false;
  }
  return true;
}

// field-value = *field-content; field-vchar = VCHAR / obs-text; plus SP and HTAB between them
// (RFC 9110 §5.5). CR, LF, NUL and the other controls are never allowed.
export const FIELD_CHAR = new Uint8Array(256);
FIELD_CHAR[HTAB] = 1;
for (let c = 0x20; c <= 0xff; c++) FIELD_CHAR[c] = c === 0x7f ? 0 : 1;

/** Whether `text` is a valid field value: no CR, LF, NUL or other controls (RFC 9110 §5.5). */
export function isFieldValue(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || !FIELD_CHAR[c]) return false;
  }
  return true;
}

/**
 * `text` without optional whitespace at either end. OWS is SP and HTAB only (RFC 9110 §5.6.3):
 * `String.prototype.trim` also strips U+00A0, U+2028 and the like, which would let a framing
 * field such as `Transfer-Encoding: \xa0chunked` pass for `chunked`.
 */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/**
 * The elements of a list-based field value (`#element`, RFC 9110 §5.6.1), OWS trimmed and
 * lower-cased; empty elements are skipped, as a recipient MUST accept them.
 */
export function listTokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(",")) {
    const t = trimOws(part);
    if (t) out.push(t.toLowerCase());
  }
  return out;
}

/** Bytes to a string, one char per byte: header bytes are ISO-8859-1 (RFC 9110 §5.5). */
export function latin1(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const CHUNK = 4096; // keeps the spread below engine argument limits
  if (end - start <= 12) {
    // Methods, short targets and values: a loop beats making a view to spread. Not longer: from
    // 13 chars on, V8 joins strings as a rope, which every later read must flatten first.
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  if (end - start <= CHUNK) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  let s = "";
  for (let i = start; i < end; i += CHUNK) {
    s += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(i + CHUNK, end)) as unknown as number[],
    );
  }
  return s;
}

const encoder = new TextEncoder();

/**
 * Writes `text` into `out` at `offset` as ISO-8859-1 (one byte per char, the encoding of header
 * fields) and returns the number of bytes written, or -1 if `out` is too small.
 */
export function encodeLatin1Into(text: string, out: Uint8Array, offset: number): number {
  if (out.length - offset < text.length) return -1;
  // Bounded to the text's length: "é" as UTF-8 is two bytes, and the second must not land on
  // whatever the caller keeps after the text before the latin1 rewrite below.
  const { read, written } = encoder.encodeInto(text, out.subarray(offset, offset + text.length));
  if (read === text.length && written === text.length) return written; // all ASCII
  for (let i = 0; i < text.length; i++) out[offset + i] = text.charCodeAt(i) & 0xff;
  return text.length;
}
