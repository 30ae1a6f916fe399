/**
 * Building the `Request` a handler receives, cheaply.
 *
 * `new Request(url)` parses the URL, converts an init dictionary and builds a `Headers` object
 * that a handler may never look at: the largest single cost of a small exchange
 * (docs/architecture.md has the figures). `Deno.serve` skips all of that: it creates the request object directly from its internal
 * parts, with the URL and the headers computed only when first read. This module does the same,
 * guarded like `response.ts`: at start-up it checks that the runtime's `Request` is made of exactly
 * the parts it knows, builds one request its own way and compares it with what the constructor
 * gives. Anything unexpected and every request takes the public constructor, which is always
 * correct, only slower.
 *
 * The URL is normalised here rather than by the `Request` constructor: most request targets are
 * already in the form the URL parser would give back, and those skip it.
 *
 * @module
 */

import { probeFastPath } from "./mode.ts";
import type { HeaderList } from "../h1/grammar.ts";
import { HttpError } from "../h1/errors.ts";

// ---- The URL ------------------------------------------------------------------------------

// A path or query made only of these characters comes back from the WHATWG URL parser
// unchanged: none is percent-encoded in a special URL, "\" (read as "/") is not among them, and
// a lone "%" is kept as it is. "'" is encoded in the query of special URLs, so only the path
// may have it.
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*$/;
// Dot segments ("." or "..", also spelled with %2e) are resolved by the parser (RFC 3986
// §5.2.4). Any segment starting with a dot, plain or encoded, takes the slow path.
const MAYBE_DOT_SEGMENT = /\/(\.|%2e)/i;

const ORIGIN_CACHE_SIZE = 64;
/** `scheme://host` as sent, to the same as the URL parser serialises it (or null: invalid). */
const origins = new Map<string, string | null>();

let last = { scheme: "", host: "", origin: null as string | null };

function normalOrigin(raw: string): string | null {
  let origin = origins.get(raw);
  if (origin !== undefined) return origin;
  try {
    // Hosts never contain "/", "?" or "#" (the parser checked), so the path is always "/".
    const href = new URL(`${raw}/`).href;
    origin = href.endsWith("/") ? href.slice(0, -1) : null;
  } catch {
    origin = null;
  }
  // Clients send few distinct Hosts; one that sends many random ones only loses the cache.
  if (origins.size >= ORIGIN_CACHE_SIZE) origins.clear();
  origins.set(raw, origin);
  return origin;
}

/**
 * The request's URL, serialised as `new URL()` would (what `Request.url` gives). `target` is an
 * origin-form request-target (RFC 9112 §3.2.1), `host` the validated, non-empty Host. Throws a 400
 * `HttpError` when the URL parser refuses the host or the target.
 */
export function originFormUrl(scheme: string, host: string, target: string): string {
  // Most requests carry the Host of the one before: skip building the cache key for them.
  if (host !== last.host || scheme !== last.scheme) {
    last = { scheme, host, origin: normalOrigin(`${scheme}://${host}`) };
  }
  const origin = last.origin;
  if (origin === null) throw new HttpError(400, "invalid Host header");
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  if (
    PLAIN_PATH.test(path) && !MAYBE_DOT_SEGMENT.test(path) &&
    (q === -1 || PLAIN_QUERY.test(target.slice(q + 1)))
  ) {
    return origin + target;
  }
  try {
    return new URL(origin + target).href;
  } catch {
    throw new HttpError(400, "invalid request target");
  }
}

/** The URL of an absolute-form target (RFC 9112 §3.2.2), serialised; 400 if it does not parse. */
export function absoluteFormUrl(target: string): string {
  try {
    return new URL(target).href;
  } catch {
    throw new HttpError(400, "invalid request target");
  }
}

// ---- The Request --------------------------------------------------------------------------

/** Where a request learns that its client went away (the engine's per-request info). */
export interface Cancellation {
  /** Calls `abort` when the client leaves before the response is written (now, if it has). */
  onCancel(abort: () => void): void;
}

/** What `Request`'s accessors read, shaped like the runtime's own inner request. */
class InnerRequest {
  methodInner: string;
  headerListInner: HeaderList;
  body: unknown;
  redirectMode = "follow";
  redirectCount = 0;
  urlList: (() => string)[];
  urlListProcessed: string[] = [];
  clientRid = null;
  blobUrlEntry = null;
  #cancellation: Cancellation | null;

  constructor(
    method: string,
    url: string,
    headers: HeaderList,
    body: unknown,
    cancellation: Cancellation | null,
  ) {
    this.methodInner = method;
    this.headerListInner = headers;
    this.body = body;
    this.urlList = [() => url];
    this.#cancellation = cancellation;
  }
  /** Called by the runtime when `signal` is first read, with what aborts it. */
  onCancel(abort: () => void): void {
    this.#cancellation?.onCancel(abort);
  }
  get method(): string {
    return this.methodInner;
  }
  set method(value: string) {
    this.methodInner = value;
  }
  get headerList(): HeaderList {
    return this.headerListInner;
  }
  set headerList(value: HeaderList) {
    this.headerListInner = value;
  }
  url(): string {
    return this.urlListProcessed[0] ??= this.urlList[0]();
  }
  currentUrl(): string {
    const last = this.urlList.length - 1;
    return this.urlListProcessed[last] ??= this.urlList[last]();
  }
}

const INNER_KEYS = [
  "methodInner",
  "method",
  "headerListInner",
  "headerList",
  "body",
  "redirectMode",
  "redirectCount",
  "urlList",
  "urlListProcessed",
  "clientRid",
  "blobUrlEntry",
  "url",
  "currentUrl",
];

/** The own symbol-keyed fields of a `Request`, by description. */
const REQUEST_FIELDS = [
  "request",
  "headers cache",
  "get headers",
  "headers guard",
  "signalCache",
  "url",
  "method",
  "[[webidl.brand]]",
] as const;

type Field = typeof REQUEST_FIELDS[number];
type Internals = {
  fields: Record<Field, symbol>;
  brand: unknown;
  InnerBody: new (stream: ReadableStream<Uint8Array>) => unknown;
};

function build(
  internals: Internals,
  method: string,
  url: string,
  headers: HeaderList,
  body: ReadableStream<Uint8Array> | null,
  cancellation: Cancellation | null = null,
): Request {
  const f = internals.fields;
  const inner = new InnerRequest(
    method,
    url,
    headers,
    body === null ? null : new internals.InnerBody(body),
    cancellation,
  );
  const request = Object.create(Request.prototype);
  request[f["request"]] = inner;
  // Left undefined, `headers` is built from the inner header list on first use.
  request[f["headers cache"]] = undefined;
  request[f["get headers"]] = undefined;
  request[f["headers guard"]] = "request";
  request[f["signalCache"]] = undefined;
  request[f["url"]] = undefined;
  request[f["method"]] = undefined;
  request[f["[[webidl.brand]]"]] = internals.brand;
  return request;
}

function sameRequest(a: Request, b: Request): boolean {
  const entries = (r: Request) => JSON.stringify([...r.headers]);
  return a instanceof Request && a.url === b.url && a.method === b.method &&
    entries(a) === entries(b) && a.headers.get("X-Probe") === b.headers.get("x-probe") &&
    a.bodyUsed === b.bodyUsed && (a.body === null) === (b.body === null) &&
    a.signal instanceof AbortSignal && !a.signal.aborted &&
    a.headers.get("content-type") === b.headers.get("content-type") &&
    a.redirect === b.redirect && a.cache === b.cache;
}

function probe(): Internals | null {
  try {
    const stream = new ReadableStream<Uint8Array>();
    const init = { method: "POST", body: stream, duplex: "half" };
    const sample = new Request("http://probe.invalid/p?q", init as RequestInit);
    const own = Object.getOwnPropertySymbols(sample);
    if (own.length !== REQUEST_FIELDS.length || Object.keys(sample).length !== 0) return null;
    const fields = {} as Record<Field, symbol>;
    for (const name of REQUEST_FIELDS) {
      const symbol = own.find((s) => s.description === name);
      if (symbol === undefined) return null;
      fields[name] = symbol;
    }
    // deno-lint-ignore no-explicit-any
    const s = sample as any;
    const inner = s[fields["request"]];
    if (JSON.stringify(Object.keys(inner)) !== JSON.stringify(INNER_KEYS)) return null;
    if (typeof inner.header === "function" || inner.body?.streamOrStatic !== stream) return null;
    const internals: Internals = {
      fields,
      brand: s[fields["[[webidl.brand]]"]],
      InnerBody: inner.body.constructor,
    };

    const headers: HeaderList = [["x-probe", "1"], ["content-type", "text/plain"]];
    const expected = new Request("http://probe.invalid/p?q", init as RequestInit);
    for (const [name, value] of headers) expected.headers.append(name, value);
    const ours = build(internals, "POST", "http://probe.invalid/p?q", [...headers], stream);
    if (!sameRequest(ours, expected) || ours.body !== stream) return null;
    const get = build(internals, "GET", "http://probe.invalid/", [], null);
    if (!sameRequest(get, new Request("http://probe.invalid/")) || get.body !== null) return null;
    if (!sameRequest(get.clone(), get)) return null;
    return internals;
  } catch {
    return null;
  }
}

const internals = probeFastPath("request", probe);

/** Whether requests are built without the `Request` constructor on this runtime. */
export const fastRequestsAvailable: boolean = internals !== null;

// Request normalises these, and only these, to upper case (Fetch "normalize a method").
const NORMALISED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
// Fetch forbids these in a Request, in any letter case; the constructor throws on them.
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/**
 * Whether Fetch forbids `method` in a `Request` (CONNECT, TRACE, TRACK, compared without case):
 * a server answers such requests itself, since no handler can be given one.
 */
export function isForbiddenMethod(method: string): boolean {
  return (method.length === 5 || method.length === 7) &&
    FORBIDDEN_METHODS.has(method.toUpperCase());
}

/**
 * A `Request` with an already serialised `url`, the parsed `headers` (which it takes over) and,
 * unless null, a body stream. The same as the `Request` constructor would give, only cheaper
 * when the runtime allows; then its `signal` aborts when `cancellation` says the client left.
 * Throws a TypeError for a method Fetch forbids.
 */
export function createRequest(
  method: string,
  url: string,
  headers: HeaderList,
  body: ReadableStream<Uint8Array> | null,
  cancellation: Cancellation | null = null,
): Request {
  if (internals !== null) {
    const upper = method.toUpperCase();
    if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`${method} is a forbidden method`);
    if (NORMALISED_METHODS.has(upper)) method = upper;
    return build(internals, method, url, headers, body, cancellation);
  }
  return constructRequest(method, url, headers, body, cancellation);
}

/**
 * The public way to build the same request (used when the probe fails or the public API is
 * forced, and by tests). With a `cancellation`, its `signal` aborts when the client leaves, as
 * the fast path's does; without one it never aborts.
 */
export function constructRequest(
  method: string,
  url: string,
  headers: HeaderList,
  body: ReadableStream<Uint8Array> | null,
  cancellation: Cancellation | null = null,
): Request {
  let signal: AbortSignal | undefined;
  if (cancellation !== null) {
    const controller = new AbortController();
    cancellation.onCancel(() => controller.abort());
    signal = controller.signal;
  }
  let request: Request;
  if (body !== null) {
    const init = { method, body, duplex: "half", signal };
    request = new Request(url, init as RequestInit);
  } else if (signal !== undefined) {
    request = new Request(url, { method, signal });
  } else {
    // Without an init dictionary when possible: converting one is the costliest part.
    request = method === "GET" ? new Request(url) : new Request(url, { method });
  }
  const list = request.headers;
  for (const [name, value] of headers) list.append(name, value);
  return request;
}
