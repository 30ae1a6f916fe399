/**
 * Conditional requests (RFC 9110 §13): the validators a file is served with (a strong ETag and
 * Last-Modified, §8.8), preconditions evaluated in the order of §13.2.2, and If-Range (§13.1.5).
 *
 * @module
 */

import { parseHttpDate } from "../h1/date.ts";
import { trimOws } from "../h1/grammar.ts";

interface Validators {
  info: Deno.FileInfo;
  lastModified: string;
  /** By content coding, "" for none. */
  etags: Record<string, string>;
}
/** The last FileInfo's: one entry is enough to serve a run of requests given the same stat. */
let lastValidators: Validators | null = null;

/** Last-Modified and ETags, worked out once per FileInfo: statFor hands one stat to many. */
function validatorsOf(info: Deno.FileInfo): Validators {
  if (lastValidators?.info !== info) {
    const lastModified = (info.mtime ?? new Date(0)).toUTCString();
    lastValidators = { info, lastModified, etags: {} };
  }
  return lastValidators;
}

/** The file's Last-Modified (§8.8.2), an IMF-fixdate; the epoch when the OS gives no mtime. */
export function lastModifiedOf(info: Deno.FileInfo): string {
  return validatorsOf(info).lastModified;
}

/**
 * A strong validator from what changes when the file changes, without reading it (§8.8.3). Each
 * content coding gets its own (`coding`, "" for none): gzip and identity bytes differ.
 */
export function etagOf(info: Deno.FileInfo, coding: string): string {
  const known = validatorsOf(info);
  let etag = known.etags[coding];
  if (etag === undefined) {
    const mtime = info.mtime?.getTime() ?? 0;
    const ino = info.ino ?? 0;
    etag = `"${info.size.toString(36)}-${mtime.toString(36)}-${ino.toString(36)}${
      coding ? `-${coding}` : ""
    }"`;
    known.etags[coding] = etag;
  }
  return etag;
}

/**
 * Preconditions in the order of §13.2.2: If-Match, else If-Unmodified-Since (412 when false);
 * then If-None-Match, else If-Modified-Since (304 when false; only GET and HEAD reach here).
 */
export function evaluatePreconditions(
  request: Request,
  etag: string | null,
  mtime: Date,
): 304 | 412 | null {
  const h = request.headers;
  const seconds = Math.floor(mtime.getTime() / 1000);
  const ifMatch = h.get("if-match");
  if (ifMatch !== null) {
    if (!matches(ifMatch, etag, true)) return 412;
  } else {
    const since = parseHttpDate(h.get("if-unmodified-since"));
    if (since !== null && seconds > since) return 412;
  }
  const ifNoneMatch = h.get("if-none-match");
  if (ifNoneMatch !== null) {
    if (matches(ifNoneMatch, etag, false)) return 304;
  } else {
    const since = parseHttpDate(h.get("if-modified-since"));
    if (since !== null && seconds <= since) return 304;
  }
  return null;
}

/**
 * Whether an entity-tag list matches. `*` matches any current representation; strong comparison
 * (If-Match) never matches a weak tag, weak comparison (If-None-Match) ignores `W/` (§8.8.3.2).
 */
function matches(list: string, etag: string | null, strong: boolean): boolean {
  if (trimOws(list) === "*") return true;
  if (etag === null) return false;
  for (const element of list.split(",")) {
    let tag = trimOws(element);
    if (tag.startsWith("W/")) {
      if (strong) continue;
      tag = tag.slice(2);
    }
    if (tag === etag) return true;
  }
  return false;
}

/**
 * A Range applies when present and, with If-Range, when the validator still holds (§13.1.5): an
 * entity-tag must match strongly, a date must equal Last-Modified exactly.
 */
export function rangeApplies(request: Request, etag: string | null, mtime: Date): boolean {
  if (!request.headers.has("range")) return false;
  const ifRange = request.headers.get("if-range");
  if (ifRange === null) return true;
  const value = trimOws(ifRange);
  if (value.startsWith('"')) return value === etag;
  if (value.startsWith("W/")) return false;
  return parseHttpDate(value) === Math.floor(mtime.getTime() / 1000);
}
