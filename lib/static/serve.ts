/**
 * Static files as `Response`s, usable inside any handler: `serveDir` maps a URL path into a
 * directory safely, `serveFile` answers for one file. This file only puts the pieces together,
 * in the order a request meets them: method, path (paths.ts), stat (stat.ts), representation
 * (negotiate.ts), validators and preconditions (conditional.ts), ranges (range.ts), then the
 * bytes: the small-file cache (cache.ts) or the file itself, streamed in bounded memory.
 *
 * @module
 */

import { FileBody } from "../shared/file_body.ts";
import {
  cachedResponse,
  type CacheEntry,
  cacheGet,
  SMALL_FILE,
  smallFile,
  smallFileEncoded,
} from "./cache.ts";
import { compressStream } from "./compress.ts";
import { etagOf, evaluatePreconditions, lastModifiedOf, rangeApplies } from "./conditional.ts";
import {
  ALLOW,
  decorate,
  decorateResponse,
  type Fields,
  finished,
  preflightFields,
} from "./fields.ts";
import { INJECT_MAX, injectedFile, isHtml } from "./inject.ts";
import { listing } from "./listing.ts";
import { contentType, isCompressible } from "./mime.ts";
import { acceptsHtml, type Representation, selectRepresentation } from "./negotiate.ts";
import type { FileOptions, ServeDirOptions, ServeFileOptions } from "./options.ts";
import { type Guard, knownRoot, realRoot, Refused, rootGuard, safeSegments } from "./paths.ts";
import { byteranges, byterangesStream, parseRange } from "./range.ts";
import { openAt, statFor, statOrNull } from "./stat.ts";
import { init, withStatusText } from "./status.ts";

export type { ServeDirOptions, ServeFileOptions } from "./options.ts";

const encoder = new TextEncoder();

/**
 * Serves `request` from the directory `options.fsRoot`. Never throws: a missing file is 404,
 * an unreadable one 403, anything unexpected 500 (and logged).
 *
 * @example
 * ```ts ignore
 * import { serve } from "../mod.ts";
 * import { serveDir } from "./serve.ts";
 * serve({ port: 8080 }, (req) => serveDir(req, { fsRoot: "./public" }));
 * ```
 *
 * @example Under a prefix, next to an API
 * ```ts
 * import { serveDir } from "./serve.ts";
 * const handler = (req: Request) =>
 *   new URL(req.url).pathname.startsWith("/assets/")
 *     ? serveDir(req, { fsRoot: "./dist", urlRoot: "assets", cacheControl: "max-age=3600" })
 *     : Response.json({ ok: true });
 * ```
 */
export async function serveDir(request: Request, options: ServeDirOptions): Promise<Response> {
  let response: Response;
  try {
    response = await route(request, options);
  } catch (error) {
    response = errorResponse(error);
  }
  if (finished.has(response)) return response;
  // Responses made here carry their status text already; one made elsewhere gets it here.
  return decorateResponse(withStatusText(response), options, true, request.method);
}

/**
 * Serves the file at `path` for `request`, with ETag, Last-Modified, conditional requests,
 * ranges and compression. Unlike {@link serveDir} it does not check where `path` leads: pass
 * only paths you chose. Never throws (404, 403 or 500 instead).
 *
 * @example
 * ```ts
 * import { serveFile } from "./serve.ts";
 * const handler = (req: Request) => serveFile(req, "./README.md");
 * ```
 */
export async function serveFile(
  request: Request,
  path: string,
  options: ServeFileOptions = {},
): Promise<Response> {
  let response: Response;
  try {
    if (request.method === "OPTIONS") {
      response = new Response(null, init(204, { allow: ALLOW }));
    } else if (request.method !== "GET" && request.method !== "HEAD") {
      response = methodNotAllowed();
    } else {
      const info = statFor(path, request);
      response = info.isFile
        ? await fileResponse(request, path, info, options, null, false)
        : notFound();
    }
  } catch (error) {
    response = errorResponse(error);
  }
  if (finished.has(response)) return response;
  return decorateResponse(withStatusText(response), options, false, request.method);
}

// ---- Errors -----------------------------------------------------------------------------------

function textResponse(status: number, text: string, headers: HeadersInit = {}): Response {
  const body = encoder.encode(`${text}\n`);
  const h = new Headers(headers);
  h.set("content-type", "text/plain; charset=utf-8");
  h.set("content-length", String(body.length));
  h.set("x-content-type-options", "nosniff");
  return new Response(body, init(status, h));
}

const notFound = () => textResponse(404, "404 Not Found");

function methodNotAllowed(): Response {
  return textResponse(405, "405 Method Not Allowed", { allow: ALLOW });
}

/** Every failure as a one-line plain-text answer: what the client can fix, or 500 (logged). */
function errorResponse(error: unknown): Response {
  if (error instanceof Refused) {
    return textResponse(error.status, `${error.status} ${error.message}`);
  }
  if (
    error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory ||
    error instanceof Deno.errors.FilesystemLoop ||
    (error as { code?: string })?.code === "ENAMETOOLONG"
  ) {
    return notFound();
  }
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return textResponse(403, "403 Forbidden");
  }
  console.error("serveDir:", error);
  return textResponse(500, "500 Internal Server Error");
}

// ---- A request path in the root ---------------------------------------------------------------

async function route(request: Request, options: ServeDirOptions): Promise<Response> {
  if (request.method === "OPTIONS") {
    const preflight = options.cors && request.headers.has("access-control-request-method");
    return new Response(null, init(204, preflight ? preflightFields(request) : { allow: ALLOW }));
  }
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed();

  const url = new URL(request.url);
  const segments = safeSegments(url.pathname, options);
  const root = knownRoot(options.fsRoot) ?? await realRoot(options.fsRoot);
  const guard = rootGuard(root, options);
  const path = [root, ...segments].join("/");

  let info: Deno.FileInfo;
  try {
    info = statFor(path, request);
  } catch (error) {
    const missing = error instanceof Deno.errors.NotFound ||
      error instanceof Deno.errors.NotADirectory;
    if (missing && options.spa && acceptsHtml(request)) {
      return await spaIndex(request, root, options, guard);
    }
    throw error;
  }
  if (!guard(path, info)) return notFound();

  if (info.isDirectory) {
    if (!url.pathname.endsWith("/")) {
      // A relative Location keeps the query and cannot leave the site: "//evil.example/dir"
      // would redirect to "./dir/", never to "//evil.example/dir/" (RFC 9110 §10.2.2).
      const last = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
      return new Response(null, init(301, { location: `./${last}/${url.search}` }));
    }
    const index = `${path}/index.html`;
    const indexInfo = statOrNull(index, request);
    if (indexInfo?.isFile && guard(index, indexInfo)) {
      return await fileResponse(request, index, indexInfo, options, guard, true);
    }
    if (options.listing === false) return notFound();
    return await listing(request, path, segments, options, guard);
  }
  // Sockets, FIFOs and devices are not served; nor is a file under a directory-style URL
  // ("/a.txt/", and "/a.txt/." which the URL parser makes the same), as nginx answers: relative
  // links in it would resolve against a directory that does not exist.
  if (!info.isFile || url.pathname.endsWith("/")) return notFound();
  return await fileResponse(request, path, info, options, guard, true);
}

/** The SPA fallback: the root's index.html, which depends on Accept, so caches must know. */
async function spaIndex(
  request: Request,
  root: string,
  options: ServeDirOptions,
  guard: Guard,
): Promise<Response> {
  const index = `${root}/index.html`;
  const info = statFor(index, request);
  if (!info.isFile || !guard(index, info)) return notFound();
  const response = await fileResponse(request, index, info, options, guard, true);
  response.headers.append("vary", "Accept");
  return response;
}

// ---- One file ---------------------------------------------------------------------------------

/** Times a file found changing while it is served is looked at again before a 503. */
const CHANGED_RETRIES = 3;
/** What {@link fileAttempt} gives for a file that changed between its stat and its read. */
const CHANGED = Symbol("changed");

/**
 * The response for a file, `decorated` when it comes from serveDir. Cached files' responses
 * come out with all their fields, the decorations included, and are marked `finished`.
 *
 * A file that changed between its stat and its read (an editor saving, a deploy) would get
 * fields that do not describe the bytes read: it is looked at again with a fresh stat.
 */
async function fileResponse(
  request: Request,
  path: string,
  info: Deno.FileInfo,
  options: FileOptions,
  guard: Guard | null,
  decorated: boolean,
): Promise<Response> {
  for (let attempt = 0;; attempt++) {
    const response = await fileAttempt(request, path, info, options, guard, decorated);
    if (response !== CHANGED) return response;
    if (attempt === CHANGED_RETRIES) {
      return textResponse(503, "503 Service Unavailable: the file keeps changing", {
        "retry-after": "1",
      });
    }
    const fresh = statOrNull(path);
    if (fresh === null || !fresh.isFile || (guard !== null && !guard(path, fresh))) {
      return notFound();
    }
    info = fresh;
  }
}

/** {@link fileResponse} with one stat: CHANGED if the file is no longer what it describes. */
async function fileAttempt(
  request: Request,
  path: string,
  info: Deno.FileInfo,
  options: FileOptions,
  guard: Guard | null,
  decorated: boolean,
): Promise<Response | typeof CHANGED> {
  const type = contentType(path) ?? "application/octet-stream";
  if (options.htmlSnippet !== undefined && isHtml(type) && info.size <= INJECT_MAX) {
    return await injectedFile(request, path, info, type, options);
  }
  const negotiated = options.compress !== false && isCompressible(type);
  const rep: Representation = negotiated
    ? selectRepresentation(request, path, info, guard)
    : { path, info, coding: null, onTheFly: false };
  const mtime = info.mtime ?? new Date(0);
  // A plain record, not a Headers: the Response makes its own list from it either way.
  const headers: Fields = {
    "content-type": type,
    "accept-ranges": "bytes",
    "last-modified": lastModifiedOf(info),
  };
  if (negotiated) headers["vary"] = "Accept-Encoding";
  if (options.cacheControl) headers["cache-control"] = options.cacheControl;
  if (rep.coding) headers["content-encoding"] = rep.coding;
  const etag = options.etag === false ? null : etagOf(rep.info, rep.coding ?? "");
  if (etag) headers["etag"] = etag;

  const precondition = evaluatePreconditions(request, etag, mtime);
  if (precondition === 304) {
    // A 304 carries the validators and what caches key on, not the content's metadata (§15.4.5).
    for (const name of ["content-type", "content-encoding", "accept-ranges"]) delete headers[name];
    return new Response(null, init(304, headers));
  }
  if (precondition === 412) return textResponse(412, "412 Precondition Failed");

  const head = request.method === "HEAD";
  const size = rep.info.size;

  if (rep.onTheFly) {
    const coding = rep.coding!;
    if (size <= SMALL_FILE) {
      // Compressed once into the cache, so the length is known, for HEAD too.
      const [entry, bytes] = await smallFileEncoded(rep.path, rep.info, coding);
      if (entry.size !== size) return CHANGED;
      headers["content-length"] = String(bytes.length);
      if (head) return new Response(null, init(200, headers));
      return cached(entry, bytes, headers, options, decorated);
    }
    // Streamed: the length is unknown, and the engine sends it chunked.
    if (head) return new Response(null, init(200, headers));
    const file = await openSame(rep, 0);
    if (file === null) return CHANGED;
    return new Response(compressStream(new FileBody(file, size), coding), init(200, headers));
  }

  const ranges = request.method === "GET" && rangeApplies(request, etag, mtime)
    ? parseRange(request.headers.get("range")!, size)
    : null;
  if (ranges === "unsatisfiable") {
    return textResponse(416, "416 Range Not Satisfiable", { "content-range": `bytes */${size}` });
  }

  if (ranges === null) {
    headers["content-length"] = String(size);
    if (head) return new Response(null, init(200, headers));
    if (size <= SMALL_FILE) {
      // A cache hit is taken without an await.
      const entry = cacheGet(rep.path, rep.info) ?? await smallFile(rep.path, rep.info);
      if (entry.size !== size) return CHANGED;
      return cached(entry, entry.bytes, headers, options, decorated);
    }
    const file = await openSame(rep, 0);
    if (file === null) return CHANGED;
    return new Response(new FileBody(file, size), init(200, headers));
  }

  if (ranges.length === 1) {
    const [start, end] = ranges[0];
    headers["content-range"] = `bytes ${start}-${end}/${size}`;
    headers["content-length"] = String(end - start + 1);
    const file = await openSame(rep, start);
    if (file === null) return CHANGED;
    return new Response(new FileBody(file, end - start + 1), init(206, headers));
  }

  const plan = byteranges(ranges, type, size);
  headers["content-type"] = plan.type;
  headers["content-length"] = String(plan.length);
  const file = await openSame(rep, 0);
  if (file === null) return CHANGED;
  return new Response(byterangesStream(file, plan), init(206, headers));
}

/**
 * The representation's file, opened at `start`, if it is still the one its stat described: the
 * same inode, at least as long (a growing log is served as far as the stat saw). Null if it was
 * replaced, renamed away or cut short meanwhile.
 */
async function openSame(rep: Representation, start: number): Promise<Deno.FsFile | null> {
  let file: Deno.FsFile;
  try {
    file = await openAt(rep.path, start);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null; // renamed away meanwhile
    throw error;
  }
  const now = await file.stat();
  if (now.ino === rep.info.ino && now.size >= rep.info.size) return file;
  file.close();
  return null;
}

/**
 * A cached file's response with its final fields (`decorate`d here, before the response is made
 * from them), marked `finished` so serveDir and serveFile add nothing after. Only a GET's body
 * comes from the cache (HEAD gets none).
 */
function cached(
  entry: CacheEntry,
  bytes: Uint8Array,
  fields: Fields,
  options: FileOptions,
  decorated: boolean,
): Response {
  const response = cachedResponse(entry, bytes, decorate(fields, options, decorated, "GET"));
  finished.add(response);
  return response;
}
