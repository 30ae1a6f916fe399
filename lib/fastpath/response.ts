/**
 * Fast paths for reading a handler's `Response`: bodies that are already in memory, and the
 * header fields.
 *
 * A `Response` built from a string or bytes holds them in memory, but the only public way to
 * read them is through `response.body`, a `ReadableStream` created on demand and read with two
 * promise round trips. That costs more than writing the bytes to the socket. `Deno.serve` reads
 * such bodies directly from the response's internal state; this module does the same, guarded:
 * at start-up it probes what the runtime stores and only uses what it finds exactly as expected.
 * If a Deno release stores bodies differently, the probe fails and every body takes the public
 * stream path, which is always correct, only slower.
 *
 * Header fields: iterating `response.headers` sorts and lower-cases a copy of the list through a
 * WebIDL iterator. The runtime's own list, in the order the handler set the fields, is what
 * `Deno.serve` writes; `responseFields` returns it, after the same kind of probe.
 *
 * Bodies we hold ourselves: `new Response(bytes)` copies the bytes, as Fetch requires, and
 * validates every field it is given. `withBytes` makes a response from a prepared bodiless one
 * and bytes that stay where they are, kept in the slot where the runtime keeps the text of
 * `new Response("text")` until somebody reads it. Reading it through the public API (`body`,
 * `bytes()`, `headers`, `clone()`, or `Deno.serve` sending it) copies the bytes first, so nobody
 * can change them through the response; the connection writes them from where they are.
 *
 * @module
 */

import { BoundedMap } from "../shared/bounded_map.ts";
import { probeFastPath } from "./mode.ts";

interface InnerBody {
  streamOrStatic: { body: Uint8Array | string; consumed: boolean } | ReadableStream;
}

interface Probe {
  inner: symbol;
  /** The body kept unread: text from `new Response("text")`, or bytes from `withBytes`. */
  lazy: symbol;
  /** The response's `Headers`, null until something reads `response.headers`. */
  headers: symbol;
  /** The content type of a lazily built body (`Response.json`), null for plain text. */
  lazyType: symbol;
  /** Whether bytes kept in the `lazy` slot are copied when read publicly (see `withBytes`). */
  lazyBytes: boolean;
}

/** Response fields as name and value pairs, names as the handler gave them. */
export type Fields = readonly (readonly [name: string, value: string])[];

/**
 * A field list that many responses share and nobody changes: a prepared static file response's,
 * or a lone Content-Type. Whoever reads it may keep what it made of it, keyed by this object.
 */
export class SharedFields {
  readonly list: Fields;
  constructor(list: Fields) {
    this.list = Object.freeze(list.map(([name, value]) => Object.freeze([name, value] as const)));
  }
}

/** The shared list of one Content-Type. */
function typeOnly(type: string): SharedFields {
  let fields = typeFields.get(type);
  if (fields === undefined) {
    typeFields.set(type, fields = new SharedFields([["content-type", type]]));
  }
  return fields;
}
const typeFields = new BoundedMap<string, SharedFields>(64);

/**
 * Where a `withBytes` response keeps its template's fields, one {@link SharedFields} for every
 * response made from that template, so the connection turns them into a head once.
 */
const templateFields = Symbol("template fields");
const sharedLists = new WeakMap<Response, SharedFields>();

function find(response: Response, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(response).find((s) => s.description === description);
}

function probe(): Probe | null {
  try {
    const text = new Response("probe");
    const bytes = new Response(new Uint8Array([7, 8]));
    const inner = find(bytes, "response");
    const lazy = find(text, "lazy static body");
    const headers = find(text, "headers");
    const lazyType = find(text, "lazy static content type");
    if (!inner || !lazy || !headers || !lazyType) return null;
    // deno-lint-ignore no-explicit-any
    if ((text as any)[lazy] !== "probe") return null;
    // deno-lint-ignore no-explicit-any
    const body = (bytes as any)[inner]?.body as InnerBody | null | undefined;
    const source = body?.streamOrStatic;
    if (
      source === undefined || source instanceof ReadableStream ||
      !(source.body instanceof Uint8Array) ||
      source.body[0] !== 7 || source.consumed !== false
    ) return null;
    // Reading the public stream must clear what we would read, or we could send a body twice.
    text.body;
    // deno-lint-ignore no-explicit-any
    if ((text as any)[lazy] !== null && (text as any)[lazy] !== undefined) return null;
    const found = { inner, lazy, headers, lazyType, lazyBytes: false };
    found.lazyBytes = lazyBytesCopied(found);
    if (!fieldsMatch(found)) return null;
    return found;
  } catch {
    return null;
  }
}

/**
 * Whether bytes put in the `lazy` slot of a bodiless response's clone come out of every public
 * reading as a copy, with the fields unchanged and the slot emptied.
 */
function lazyBytesCopied(found: Probe): boolean {
  const bytes = new Uint8Array([1, 2, 3]);
  const template = new Response(null, { headers: { "x-probe": "1" } });
  const make = () => lazyClone(found, template, bytes);
  // deno-lint-ignore no-explicit-any
  const copied = (response: any) => {
    const body = response[found.inner]?.body;
    const held = [body?.source, body?.streamOrStatic?.body].filter((b) => b instanceof Uint8Array);
    return held.length > 0 &&
      held.every((b) => b.buffer !== bytes.buffer && b.join() === "1,2,3") &&
      response[found.lazy] === null;
  };
  const read = make();
  read.body;
  const withFields = make();
  const fields = JSON.stringify([...withFields.headers]);
  const original = make();
  const clone = original.clone();
  return copied(read) && copied(withFields) && copied(original) && copied(clone) &&
    fields === '[["x-probe","1"]]' && bytes.join() === "1,2,3";
}

function lazyClone(found: Probe, template: Response, bytes: Uint8Array): Response {
  const response = template.clone();
  // deno-lint-ignore no-explicit-any
  (response as any)[found.lazy] = bytes;
  return response;
}

/** The fields of `response` by our reading of its internals, or undefined. */
function fieldsOf(found: Probe, response: Response): Fields | SharedFields | undefined {
  // deno-lint-ignore no-explicit-any
  const r = response as any;
  const list = r[found.inner]?.headerList;
  if (!Array.isArray(list)) return undefined;
  if (r[found.headers] === null && r[found.lazy] instanceof Uint8Array) {
    // Made by `withBytes`, and nobody has read it: its fields are still the template's.
    return r[templateFields] ?? list;
  }
  // Nobody has read the headers of a lazily built body: the runtime keeps its content type aside.
  if (r[found.headers] === null && typeof r[found.lazy] === "string" && list.length === 0) {
    const type = r[found.lazyType];
    return typeOnly(type ?? "text/plain;charset=UTF-8");
  }
  // Reading `headers` moves any field kept aside into the list, which `Headers` then shares.
  response.headers;
  // Content-Type alone is the usual case (`new Response(html, { headers: { "content-type": ...
  // } })`): the shared list for it says the same.
  if (list.length === 1) {
    const [name, value] = list[0];
    if (
      name === "content-type" || name === "Content-Type" || name.toLowerCase() === "content-type"
    ) {
      return typeOnly(value);
    }
  }
  return list;
}

/** Whether `fieldsOf` gives what the public iterator gives, for the kinds of responses we know. */
function fieldsMatch(found: Probe): boolean {
  const samples = () => {
    const changed = new Response("x", { status: 201, headers: { "X-A": "1" } });
    changed.headers.append("x-b", "2");
    changed.headers.set("x-a", "3");
    changed.headers.delete("content-type");
    return [
      new Response("text"),
      Response.json({ a: 1 }),
      new Response(new Uint8Array(1)),
      new Response(null, { status: 204 }),
      new Response("x", { headers: { "Content-Type": "text/html", "Set-Cookie": "a=1" } }),
      Response.redirect("http://probe.invalid/", 302),
      changed,
      ...(found.lazyBytes ? [lazyClone(found, prepared, new Uint8Array(2))] : []),
    ];
  };
  const prepared = new Response(null, { headers: { "Content-Type": "a/b", etag: '"1"' } });
  const normal = (fields: Iterable<readonly [string, string]>) =>
    JSON.stringify([...fields].map(([n, v]) => [n.toLowerCase(), v]).sort());
  const ours = samples();
  const theirs = samples();
  for (let i = 0; i < ours.length; i++) {
    const fields = fieldsOf(found, ours[i]);
    if (fields === undefined) return false;
    if (
      normal(fields instanceof SharedFields ? fields.list : fields) !== normal(theirs[i].headers)
    ) {
      return false;
    }
  }
  return true;
}

const found = probeFastPath("response", probe);

/** Whether the fast path is in use on this runtime. */
export const fastBodiesAvailable: boolean = found !== null;

/** Whether `withBytes` works on this runtime (it returns null when not). */
export const bytesByReference: boolean = found?.lazyBytes === true;

/**
 * The body of `response` if it is a string or bytes that nobody has started reading, else
 * undefined (read `response.body` instead). `null` means the response has no body.
 */
export function staticBody(response: Response): string | Uint8Array | null | undefined {
  if (found === null) return undefined;
  // deno-lint-ignore no-explicit-any
  const r = response as any;
  const lazy = r[found.lazy];
  if (typeof lazy === "string" || lazy instanceof Uint8Array) return lazy;
  const body = r[found.inner]?.body as InnerBody | null | undefined;
  if (body === null) return null;
  const source = body?.streamOrStatic;
  if (source === undefined || source instanceof ReadableStream || source.consumed) return undefined;
  // Text given with an init dictionary is kept as a string until read.
  if (typeof source.body === "string") return source.body;
  if (!(source.body instanceof Uint8Array)) return undefined;
  return source.body;
}

/**
 * A response like `template`, a bodiless 200 response made for this and never handed out, with
 * `bytes` as its body, without copying them: they are copied only if somebody reads the body or
 * the fields through the public API (`Deno.serve` included), so the response can never be used
 * to change them. Null when this runtime does not keep bodies the way we expect: build the
 * response with `new Response(bytes, ...)` instead.
 */
export function withBytes(template: Response, bytes: Uint8Array): Response | null {
  if (found === null || !found.lazyBytes) return null;
  const response = lazyClone(found, template, bytes);
  // deno-lint-ignore no-explicit-any
  (response as any)[templateFields] = sharedFieldsOf(found, template);
  return response;
}

function sharedFieldsOf(found: Probe, template: Response): SharedFields {
  let fields = sharedLists.get(template);
  if (fields === undefined) {
    // deno-lint-ignore no-explicit-any
    fields = new SharedFields((template as any)[found.inner].headerList);
    sharedLists.set(template, fields);
  }
  return fields;
}

/**
 * The header fields of `response` as the handler set them: names as given (not lower-cased),
 * repeated fields not combined, in the order they were set. Undefined when the runtime's
 * internals are not as expected: iterate `response.headers` instead. Do not change the list.
 * A response whose only field is Content-Type gets the {@link SharedFields} of that type (the
 * name lower-cased), and one from `withBytes` its template's.
 */
export function responseFields(response: Response): Fields | SharedFields | undefined {
  return found === null ? undefined : fieldsOf(found, response);
}
