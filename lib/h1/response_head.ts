/**
 * The response head (RFC 9112 §4, §6), as text: status line, the fields every response gets,
 * the handler's fields, and the one framing field chosen for the body. No I/O: the engine queues
 * what these functions return.
 *
 * A head is written in two parts: its start (status line, Date, Server, the connection field
 * and the handler's fields), then the framing field and the blank line. When many responses share
 * one field list (a static file's prepared response, a lone Content-Type), the start is the same
 * bytes for every one of them in the same second, and is kept rather than made again.
 *
 * @module
 */

import { httpDate } from "./date.ts";
import { encodeLatin1Into } from "./grammar.ts";

/** Reason phrases for the status line (RFC 9110 §15). The phrase is informative only. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: "Continue",
  101: "Switching Protocols",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  207: "Multi-Status",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  418: "I'm a teapot",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  507: "Insufficient Storage",
  511: "Network Authentication Required",
};

/** Whether a response to `method` with `status` carries content (RFC 9110 §6.4.1, §9.3.2). */
export function responseHasBody(method: string, status: number): boolean {
  return method !== "HEAD" && status >= 200 && status !== 204 && status !== 304;
}

/** Hop-by-hop and framing fields the connection sets itself; a handler's copies are dropped. */
export const CONNECTION_MANAGED: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "upgrade",
  "proxy-connection",
]);

/** How a response's content is delimited (RFC 9112 §6.3), chosen once per response. */
export type Framing =
  /** No content: HEAD, 1xx, 204, 304. */
  | "none"
  /** Exactly `Content-Length` bytes. */
  | "length"
  /** The chunked transfer coding (HTTP/1.1 only). */
  | "chunked"
  /** Until the connection closes: an HTTP/1.0 client and a body of unknown length. */
  | "close";

/** The framing of one response and the field that announces it. */
export interface FramingChoice {
  framing: Framing;
  /** `content-length: N\r\n`, `transfer-encoding: chunked\r\n`, or empty. */
  field: string;
  /** The length a "length" body must have. */
  length: number;
}

/**
 * Chooses the framing of a response to `method` from an HTTP/1.`minorVersion` client.
 * `declared` is the handler's valid Content-Length (or -1); `length` is the body's size when all
 * of it is already known (or -1); `nullBody` says the response has no body at all.
 *
 * A declared length is a promise: it is kept even when the body turns out to differ, and the
 * writer then cuts the connection rather than relabel the body (RFC 9112 §6.3 ¶5).
 */
export function chooseFraming(
  method: string,
  minorVersion: 0 | 1,
  status: number,
  declared: number,
  length: number,
  nullBody: boolean,
): FramingChoice {
  if (!responseHasBody(method, status)) {
    // HEAD and 304 may state the length a GET would have had (RFC 9110 §8.6); 204 and 1xx
    // must not. A null body tells nothing of what a GET would have sent.
    let field = "";
    if (status >= 200 && status !== 204) {
      const known = declared >= 0 ? declared : method === "HEAD" && !nullBody ? length : -1;
      if (known >= 0) field = contentLength(known);
    }
    return { framing: "none", field, length: 0 };
  }
  if (declared >= 0) return { framing: "length", field: contentLength(declared), length: declared };
  if (nullBody) return { framing: "length", field: contentLength(0), length: 0 };
  if (length >= 0) return { framing: "length", field: contentLength(length), length };
  if (minorVersion === 1) {
    return { framing: "chunked", field: "transfer-encoding: chunked\r\n", length: -1 };
  }
  return { framing: "close", field: "", length: -1 };
}

function contentLength(n: number): string {
  return `content-length: ${n}\r\n`;
}

/** The connection field a response carries: none, keep-alive (for HTTP/1.0) or close. */
export type ConnectionField = 0 | 1 | 2;

/**
 * HTTP/1.1 is persistent unless it says close; HTTP/1.0 only if it says keep-alive (RFC 9112
 * §9.3), so a kept HTTP/1.0 connection is said to be.
 */
export function connectionField(keepAlive: boolean, minorVersion: 0 | 1): ConnectionField {
  return !keepAlive ? 2 : minorVersion === 0 ? 1 : 0;
}

const CONNECTION_TEXT = ["", "connection: keep-alive\r\n", "connection: close\r\n"] as const;

/** A handler's response fields as head text, less those the connection writes itself. */
export interface HandlerFields {
  /** `name: value\r\n` lines, names lower-cased. */
  text: string;
  /** A valid Content-Length the handler set, else -1. */
  declaredLength: number;
  /** The handler asked to close the connection (`connection: close`). */
  close: boolean;
  /** The handler set its own Date. */
  date: boolean;
  /** The handler set its own Server. */
  server: boolean;
  /** Read from a field list many responses share: the head's start may be kept (see below). */
  shared: boolean;
}

const DIGITS = /^[0-9]+$/;
const CLOSE_TOKEN = /(?:^|[ \t,])close(?:$|[ \t,])/i;

/** Reads a handler's fields (in any case, as given) into head text. */
export function readHandlerFields(
  fields: Iterable<readonly [string, string]>,
  shared = false,
): HandlerFields {
  const head: HandlerFields = {
    text: "",
    declaredLength: -1,
    close: false,
    date: false,
    server: false,
    shared,
  };
  for (const [given, value] of fields) {
    const name = given.toLowerCase();
    if (CONNECTION_MANAGED.has(name)) {
      if (name === "content-length" && DIGITS.test(value)) head.declaredLength = Number(value);
      else if (name === "connection" && CLOSE_TOKEN.test(value)) head.close = true;
      continue;
    }
    if (name === "date") head.date = true;
    else if (name === "server") head.server = true;
    head.text += `${name}: ${value}\r\n`;
  }
  return head;
}

/**
 * The head up to its framing field: status line, Date and Server (unless the handler set its
 * own), the connection field and the handler's fields.
 */
export function headStart(
  status: number,
  reason: string,
  connection: ConnectionField,
  server: string | null,
  fields: HandlerFields,
): string {
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  if (!fields.date) text += `date: ${httpDate(Date.now())}\r\n`;
  if (!fields.server && server !== null) text += `server: ${server}\r\n`;
  return text + CONNECTION_TEXT[connection] + fields.text;
}

/** A kept head start, as text and as bytes. */
export interface KeptHeadStart {
  readonly text: string;
  readonly bytes: Uint8Array;
}

interface KeptEntry extends KeptHeadStart {
  fields: HandlerFields;
  status: number;
  reason: string;
  connection: ConnectionField;
  server: string | null;
  /** The Date it holds: the entry is good for that second only. */
  date: string;
}

/** The last few kept starts, replaced in turn. */
const kept: KeptEntry[] = [];
const KEPT = 8;
let nextKept = 0;

/**
 * {@link headStart} for shared fields, kept as text and bytes for the second it was made in:
 * the same status, reason, connection field and server name give the same bytes.
 */
export function sharedHeadStart(
  status: number,
  reason: string,
  connection: ConnectionField,
  server: string | null,
  fields: HandlerFields,
): KeptHeadStart {
  const date = httpDate(Date.now());
  for (let i = 0; i < kept.length; i++) {
    const k = kept[i];
    if (
      k.fields === fields && k.status === status && k.date === date && k.reason === reason &&
      k.connection === connection && k.server === server
    ) return k;
  }
  const text = headStart(status, reason, connection, server, fields);
  const bytes = new Uint8Array(text.length);
  encodeLatin1Into(text, bytes, 0);
  const entry = { fields, status, reason, connection, server, date, text, bytes };
  kept[nextKept] = entry;
  nextKept = (nextKept + 1) % KEPT;
  return entry;
}

/**
 * The whole head and body of a plain-text answer the server gives itself (an error, a refusal),
 * closing the connection after it. `toHead`: a HEAD request gets the fields only (RFC 9110
 * §9.3.2). Returns the head and the body text (empty for HEAD).
 */
export function plainResponse(
  status: number,
  message: string,
  server: string | null,
  toHead = false,
  extraFields = "",
): { head: string; body: string } {
  const body = `${status} ${STATUS_TEXT[status] ?? ""}: ${message}\n`;
  const fields: HandlerFields = {
    text: `${extraFields}content-type: text/plain; charset=utf-8\r\n`,
    declaredLength: -1,
    close: true,
    date: false,
    server: false,
    shared: false,
  };
  const head = headStart(status, STATUS_TEXT[status] ?? "", 2, server, fields) +
    `content-length: ${new TextEncoder().encode(body).length}\r\n\r\n`;
  return { head, body: toHead ? "" : body };
}
