/**
 * The fields serveDir and serveFile add to their responses (nosniff, CORS, the user's headers),
 * written once: {@link decorate} adds them to a field record, the form a cached file's response
 * is prepared from, and {@link decorateResponse} fills any other response's `Headers` from the
 * same record, so the two can never disagree.
 *
 * @module
 */

import { isToken, trimOws } from "../h1/grammar.ts";
import type { FileOptions } from "./options.ts";

/** Header fields by lower-case name, as a response's init takes them. */
export type Fields = Record<string, string>;

/** The methods static files answer (RFC 9110 §10.2.1 `Allow`). */
export const ALLOW = "GET, HEAD, OPTIONS";

/** The response fields a cross-origin script may read (CORS). */
const EXPOSED =
  "Content-Length, Content-Range, Content-Encoding, ETag, Accept-Ranges, Last-Modified";

/** What a preflight may always send: what range requests and authenticated fetches need. */
const ALWAYS_ALLOWED = ["range", "authorization", "content-type", "if-none-match"];

/**
 * Adds to `fields` what every response for `method` gets: nosniff and CORS when `decorated` (it
 * comes from serveDir), then the user's headers, which replace any of the same name. Returns
 * `fields`.
 */
export function decorate(
  fields: Fields,
  options: FileOptions,
  decorated: boolean,
  method: string,
): Fields {
  if (decorated) {
    fields["x-content-type-options"] ??= "nosniff";
    if (options.cors) {
      fields["access-control-allow-origin"] = "*";
      fields["access-control-expose-headers"] = EXPOSED;
      // A preflight's answer lists the headers it asked for, so caches must key on them.
      if (method === "OPTIONS") appendVary(fields, "Access-Control-Request-Headers");
    }
  }
  for (const [name, value] of options.headers ?? []) fields[name.toLowerCase()] = value;
  return fields;
}

function appendVary(fields: Fields, name: string): void {
  const vary = fields["vary"];
  fields["vary"] = vary === undefined ? name : `${vary}, ${name}`;
}

/**
 * {@link decorate} for a response already made: its fields are set from a record `decorate`
 * fills. Setting gives what the record form gives: a response made here that has nosniff has that
 * same value, and none for OPTIONS has a Vary to append to.
 */
export function decorateResponse(
  response: Response,
  options: FileOptions,
  decorated: boolean,
  method: string,
): Response {
  const fields = decorate({}, options, decorated, method);
  const headers = response.headers;
  for (const name in fields) headers.set(name, fields[name]);
  return response;
}

/** Responses whose fields are final: serveDir and serveFile add nothing to them. */
export const finished = new WeakSet<Response>();

/**
 * A CORS preflight's answer: the methods, and the request headers allowed, which are the ones
 * always needed plus each field name the request asked for (`Access-Control-Request-Headers`,
 * a list of tokens; anything else in it is left out).
 */
export function preflightFields(request: Request): Fields {
  const allowed = new Set(ALWAYS_ALLOWED);
  const asked = request.headers.get("access-control-request-headers");
  if (asked !== null) {
    for (const element of asked.split(",")) {
      const name = trimOws(element);
      if (isToken(name)) allowed.add(name.toLowerCase());
    }
  }
  return {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": ALLOW,
    "access-control-allow-headers": [...allowed].join(", "),
    "access-control-max-age": "86400",
  };
}
