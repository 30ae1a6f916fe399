/**
 * HTTP/2 field rules for requests (RFC 9113 §8.2, §8.3): pseudo-header fields, field name
 * and value characters, connection-specific fields, cookie crumbs, content-length. A request
 * that breaks one is malformed: a stream error of type PROTOCOL_ERROR (§8.1.1).
 *
 * @module
 */

import { ErrorCode, StreamError } from "./errors.ts";
import type { Field } from "./hpack/decoder.ts";

/** The request pseudo-header fields (§8.3.1); absent ones are undefined. */
export interface RequestPseudo {
  method: string;
  scheme: string | undefined;
  path: string | undefined;
  authority: string | undefined;
}

export interface ParsedRequest {
  pseudo: RequestPseudo;
  /** Regular fields in order, cookie crumbs joined into one field (§8.2.3). */
  headers: Field[];
  /** The content-length value, or -1 when absent. */
  contentLength: number;
}

/** Fields that only mean something to one HTTP/1.1 connection (§8.2.2). */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

// tchar (RFC 9110 §5.6.2) minus upper case (RFC 9113 §8.2.1).
// 1: a tchar allowed in field names; 2: an upper-case tchar (fine in a method).
const NAME_CHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") {
  NAME_CHAR[c.charCodeAt(0)] = 1;
}
for (let c = 0x41; c <= 0x5a; c++) NAME_CHAR[c] = 2;

function malformed(streamId: number, why: string): StreamError {
  return new StreamError(streamId, ErrorCode.PROTOCOL_ERROR, `malformed: ${why}`);
}

/** A regular field name: a lower-case token (§8.2.1). */
export function validName(name: string, from = 0): boolean {
  if (name.length <= from) return false;
  for (let i = from; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff || NAME_CHAR[c] !== 1) return false;
  }
  return true;
}

/** A token (RFC 9110 §5.6.2), as methods are: upper case allowed. */
function validToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || NAME_CHAR[c] === 0) return false;
  }
  return true;
}

/** No NUL, CR or LF anywhere; no SP or HTAB at either end (§8.2.1). */
export function validValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  let c = value.charCodeAt(0);
  if (c === 0x20 || c === 0x09) return false;
  c = value.charCodeAt(n - 1);
  if (c === 0x20 || c === 0x09) return false;
  for (let i = 0; i < n; i++) {
    c = value.charCodeAt(i);
    if (c === 0x00 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

/** Checks a request's field list and splits it into pseudo-header fields and the rest. */
export function parseRequest(streamId: number, fields: Field[]): ParsedRequest {
  let method: string | undefined, scheme: string | undefined;
  let path: string | undefined, authority: string | undefined;
  const headers: Field[] = [];
  let regular = false;
  let contentLength = -1;
  let cookieAt = -1;
  let host: string | undefined;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    const name = field[0], value = field[1];
    if (!validValue(value)) throw malformed(streamId, `bad value for ${name}`);
    if (name.charCodeAt(0) === 0x3a) {
      // ":" — pseudo-header fields come first, once each, only the defined ones (§8.3).
      if (regular) throw malformed(streamId, `${name} after a regular field`);
      switch (name) {
        case ":method":
          if (method !== undefined) throw malformed(streamId, "duplicate :method");
          if (!validToken(value)) throw malformed(streamId, "bad :method");
          method = value;
          break;
        case ":scheme":
          if (scheme !== undefined) throw malformed(streamId, "duplicate :scheme");
          scheme = value;
          break;
        case ":path":
          if (path !== undefined) throw malformed(streamId, "duplicate :path");
          path = value;
          break;
        case ":authority":
          if (authority !== undefined) throw malformed(streamId, "duplicate :authority");
          authority = value;
          break;
        default:
          throw malformed(streamId, `pseudo-header ${name} not allowed in a request`);
      }
      continue;
    }
    regular = true;
    if (!validName(name)) throw malformed(streamId, `bad field name ${JSON.stringify(name)}`);
    if (CONNECTION_SPECIFIC.has(name)) throw malformed(streamId, `connection-specific ${name}`);
    switch (name) {
      case "te":
        if (value !== "trailers") throw malformed(streamId, "te other than trailers");
        break;
      case "content-length": {
        const n = parseLength(value);
        if (n < 0 || (contentLength >= 0 && n !== contentLength)) {
          throw malformed(streamId, "bad or conflicting content-length");
        }
        contentLength = n;
        break;
      }
      case "host":
        host = value;
        break;
      case "cookie":
        // Crumbs are joined with "; " for HTTP/1.1-minded consumers (§8.2.3).
        if (cookieAt >= 0) {
          headers[cookieAt] = ["cookie", headers[cookieAt][1] + "; " + value];
          continue;
        }
        cookieAt = headers.length;
        break;
    }
    headers.push(field);
  }
  if (method === undefined) throw malformed(streamId, "no :method");
  if (method === "CONNECT") {
    // §8.5: only :method and :authority.
    if (scheme !== undefined || path !== undefined) {
      throw malformed(streamId, "CONNECT with :scheme or :path");
    }
    if (authority === undefined) throw malformed(streamId, "CONNECT without :authority");
  } else {
    if (scheme === undefined || scheme === "") throw malformed(streamId, "no :scheme");
    if (path === undefined || path === "") throw malformed(streamId, "no :path");
    if (path === "*" && method !== "OPTIONS") throw malformed(streamId, ":path * without OPTIONS");
  }
  if (authority !== undefined && host !== undefined && host !== authority) {
    // §8.3.1: a server SHOULD treat a Host that differs from :authority as malformed.
    throw malformed(streamId, "host differs from :authority");
  }
  return { pseudo: { method, scheme, path, authority }, headers, contentLength };
}

/** Checks trailers (§8.1): no pseudo-header fields, the same name and value rules. */
export function parseTrailers(streamId: number, fields: Field[]): Field[] {
  for (const [name, value] of fields) {
    if (!validName(name)) throw malformed(streamId, `bad trailer name ${JSON.stringify(name)}`);
    if (!validValue(value)) throw malformed(streamId, `bad value for ${name}`);
    if (CONNECTION_SPECIFIC.has(name)) throw malformed(streamId, `connection-specific ${name}`);
  }
  return fields;
}

/** A content-length value as a number, or -1 if it is not 1*DIGIT (RFC 9110 §8.6). */
function parseLength(value: string): number {
  if (value.length === 0 || value.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
