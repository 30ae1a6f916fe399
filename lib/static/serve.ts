/**
 * Static files as `Response`s, usable inside any handler: `serveDir` maps a URL path into a
 * directory safely, `serveFile` answers for one file with conditional requests (RFC 9110 §13),
 * ranges (§14), precompressed siblings and on-the-fly compression, streaming big files in
 * bounded memory.
 *
 * @module
 */

import { parseHttpDate } from "../h1/date.ts";
import { contentType, isCompressible } from "./mime.ts";
import {
  acceptedCodings,
  BROTLI_STREAMS,
  type Coding,
  compressBytes,
  compressStream,
  refusesIdentity,
} from "./compress.ts";
import { FileBody, FileShrank, fileSource } from "../shared/file_body.ts";
import { bytesByReference, withBytes } from "../fastpath/response.ts";
import { arrivalOf, lookedUpSince, type Lookup, lookupStarting } from "../shared/arrival.ts";

/** Options for {@link serveDir}. */
export interface ServeDirOptions {
  /** The directory to serve. */
  fsRoot: string;
  /**
   * A URL path prefix to strip before mapping into `fsRoot` (e.g. "static" serves
   * `/static/app.js` from `fsRoot/app.js`); other paths get 404.
   * @default {""}
   */
  urlRoot?: string;
  /** Answer directories without index.html with an HTML listing (404 when off). @default {true} */
  listing?: boolean;
  /** Serve files and directories whose name starts with a dot (404 when off). @default {false} */
  dotfiles?: boolean;
  /** Follow symlinks that resolve outside `fsRoot` (404 when off). @default {false} */
  followSymlinks?: boolean;
  /**
   * Single-page apps: a path that does not exist, requested by something that accepts
   * `text/html` (a browser navigation, not a script or image), gets `/index.html` with 200.
   * @default {false}
   */
  spa?: boolean;
  /**
   * `Access-Control-Allow-Origin: *` on every response, and preflights answered with 204.
   * @default {false}
   */
  cors?: boolean;
  /** Headers added to every response, replacing any of the same name. @default {[]} */
  headers?: [string, string][];
  /**
   * `Cache-Control` for files. None by default: caches revalidate with the ETag, and a changed
   * file is never served stale.
   * @default {undefined}
   */
  cacheControl?: string;
  /**
   * Content codings: precompressed `x.br`/`x.gz` siblings and on-the-fly gzip (brotli too, for
   * small files) of compressible types over 1 KiB.
   * @default {true}
   */
  compress?: boolean;
  /** A strong `ETag` from size, mtime and inode (`Last-Modified` is always sent). @default {true} */
  etag?: boolean;
}

/** Options for {@link serveFile}. */
export type ServeFileOptions = Pick<
  ServeDirOptions,
  "compress" | "etag" | "cacheControl" | "headers"
>;

/**
 * Bytes read per chunk when streaming a file. 64 KiB reads cost a third of the 1 MiB file
 * throughput in per-op overhead (bench: ~500 → ~750 MB/s); a client that stops reading still
 * holds at most one chunk.
 */
const CHUNK = 256 * 1024;
/** Files up to this size are read whole and cached. */
const SMALL_FILE = 64 * 1024;
/** The cache's budget, compressed variants included. */
const CACHE_BYTES = 16 * 1024 * 1024;
/** Smaller responses are not worth compressing: the gain is smaller than a packet. */
const COMPRESS_MIN = 1024;
/** More ranges than this in one request and the whole file is sent instead (§14.2 allows it). */
const MAX_RANGES = 16;
const ALLOW = "GET, HEAD, OPTIONS";
// Metadata calls (stat, realPath, open) are synchronous on purpose: here `Deno.statSync` takes
// about 4 µs and `Deno.stat` about 40 µs (the async op's thread-pool round trip), and a cached
// small file costs two or three of them (fewer under load: see statFor); a synchronous open took
// the 1 MiB file bench's open cost on the main thread from ~32 to ~13 µs. They are answered from
// the kernel's inode cache; a root on a slow network file system would stall the event loop
// while they wait. File contents are always read asynchronously.
const encoder = new TextEncoder();
/** Header fields by lower-case name, as a response's init takes them. */
type Fields = Record<string, string>;

/**
 * `new Response(bytes, { headers })`, built the way the runtime copies the bytes fastest. Deno
 * 2.9 copies a byte body on a quick path when the init has at most a Content-Type, and on a
 * slow one otherwise: for a 16 KiB body, ~4 µs against ~15-30 µs in a loop, and the difference
 * grows with the size. So the body goes in with the Content-Type alone and the other fields are
 * set after; the Response is the same either way.
 */
function bytesResponse(bytes: Uint8Array, headers: Fields): Response {
  const type = headers["content-type"];
  const response = new Response(bytes as Uint8Array<ArrayBuffer>, {
    headers: type === undefined ? undefined : { "content-type": type },
  });
  const fields = response.headers;
  for (const name in headers) if (name !== "content-type") fields.set(name, headers[name]);
  return response;
}

function textResponse(status: number, text: string, headers: HeadersInit = {}): Response {
  const body = encoder.encode(`${text}\n`);
  const h = new Headers(headers);
  h.set("content-type", "text/plain; charset=utf-8");
  h.set("content-length", String(body.length));
  h.set("x-content-type-options", "nosniff");
  return new Response(body, { status, headers: h });
}

const notFound = () => textResponse(404, "404 Not Found");

/** Why a request path cannot be served; mapped to 400 or 404 in one place. */
class Refused extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

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
  return finished.has(response) ? response : decorate(request, response, options);
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
      response = new Response(null, { status: 204, headers: { allow: ALLOW } });
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
  for (const [name, value] of options.headers ?? []) response.headers.set(name, value);
  return response;
}

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

function methodNotAllowed(): Response {
  return textResponse(405, "405 Method Not Allowed", { allow: ALLOW });
}

// ---- Mapping a URL path into the root ---------------------------------------------------------

async function route(request: Request, options: ServeDirOptions): Promise<Response> {
  if (request.method === "OPTIONS") {
    const preflight = options.cors && request.headers.has("access-control-request-method");
    return new Response(null, {
      status: 204,
      headers: preflight ? preflightHeaders(request) : { allow: ALLOW },
    });
  }
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed();

  const url = new URL(request.url);
  const segments = safeSegments(url.pathname, options);
  const root = rootCache.get(options.fsRoot) ?? await realRoot(options.fsRoot);
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
      return new Response(null, { status: 301, headers: { location: `./${last}/${url.search}` } });
    }
    const index = `${path}/index.html`;
    const indexInfo = statOrNull(index, request);
    if (indexInfo?.isFile && guard(index, indexInfo)) {
      return await fileResponse(request, index, indexInfo, options, guard, true);
    }
    if (options.listing === false) return notFound();
    return await listing(request, path, segments, options, guard);
  }
  if (!info.isFile) return notFound(); // sockets, FIFOs, devices
  return await fileResponse(request, path, info, options, guard, true);
}

/**
 * The URL path as file-system names, refusing anything that could step outside the root: `..`,
 * encoded slashes and backslashes, NUL, drive letters, invalid percent-encoding (400); names
 * starting with a dot unless `dotfiles` (404). `urlRoot`'s segments are stripped first.
 */
function safeSegments(pathname: string, options: ServeDirOptions): readonly string[] {
  // A pure function of these three, so its answers are kept: decoding and checking each segment
  // cost ~1 µs a request, a few percent of serving a cached file.
  const key = `${options.dotfiles ? "d" : "-"}${options.urlRoot ?? ""}\0${pathname}`;
  let answer = segmentAnswers.get(key);
  if (answer === undefined) {
    try {
      answer = Object.freeze(splitSegments(pathname, options));
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      answer = error;
    }
    if (pathname.length <= SEGMENTS_KEY_MAX) {
      if (segmentAnswers.size >= SEGMENTS_ENTRIES) segmentAnswers.clear();
      segmentAnswers.set(key, answer);
    }
  }
  if (answer instanceof Refused) throw answer;
  return answer;
}

const segmentAnswers = new Map<string, readonly string[] | Refused>();
const SEGMENTS_ENTRIES = 1024;
/** Longer paths are checked every time, so the map stays small (at most ~1 MiB of keys). */
const SEGMENTS_KEY_MAX = 1024;

function splitSegments(pathname: string, options: ServeDirOptions): string[] {
  const segments: string[] = [];
  for (const raw of pathname.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw new Refused(400, "Bad Request: invalid percent-encoding");
    }
    // A URL parser removes dot segments before we see them, but not every caller builds its
    // Request with one, and "%2e%2e" may survive: refuse rather than resolve.
    if (segment === "." || segment === ".." || /[\/\\\0]|^[A-Za-z]:/.test(segment)) {
      throw new Refused(400, "Bad Request: invalid path");
    }
    segments.push(segment);
  }
  const prefix = (options.urlRoot ?? "").split("/").filter((s) => s !== "");
  if (prefix.some((s, i) => segments[i] !== s)) throw new Refused(404, "Not Found");
  const names = segments.slice(prefix.length);
  if (!options.dotfiles && names.some((s) => s.startsWith("."))) {
    throw new Refused(404, "Not Found");
  }
  return names;
}

/** File-system paths with forward slashes, so containment is one prefix test on every OS. */
const slashes = Deno.build.os === "windows"
  ? (path: string) => path.replaceAll("\\", "/")
  : (path: string) => path;

/** Roots resolved before: looked up without an `await`, which costs a turn of the event loop. */
const rootCache = new Map<string, string>();
async function realRoot(fsRoot: string): Promise<string> {
  const root = slashes(await Deno.realPath(fsRoot)).replace(/\/+$/, "");
  if (rootCache.size >= 64) rootCache.clear();
  rootCache.set(fsRoot, root);
  return root;
}

/**
 * Whether a path that exists may be served (every file opened goes through it first). Given the
 * path's fresh `stat`, a path that passed before and still names the same file (device, inode,
 * mtime) passes without resolving it again.
 */
type Guard = (path: string, info?: Deno.FileInfo) => boolean;

/** Paths the guard let through, with the identity of the file they named then. */
const verified = new Map<string, string>();
const VERIFIED_ENTRIES = 4096;

function identity(info: Deno.FileInfo | undefined): string | null {
  // Without an inode (Windows) a file cannot be told apart from one swapped in its place.
  if (info?.ino === null || info?.ino === undefined) return null;
  return `${info.dev}:${info.ino}:${info.mtime?.getTime()}`;
}

/**
 * Resolves symlinks: the real path must lie inside the root, unless `followSymlinks`, and, unless
 * `dotfiles`, must not pass through a dot-name (a link to `.env` is still `.env`). Note that
 * `--allow-read=ROOT` does not stop a symlink out of ROOT: Deno checks the path asked for, not
 * where it leads, so this check is the one that counts.
 */
function rootGuard(root: string, options: ServeDirOptions): Guard {
  if (options.followSymlinks && options.dotfiles) return () => true;
  const policy = `${options.followSymlinks ? "s" : "-"}${options.dotfiles ? "d" : "-"}:`;
  const check = (path: string) => {
    const real = slashes(Deno.realPathSync(path));
    if (real !== root && !real.startsWith(`${root}/`)) return options.followSymlinks === true;
    return options.dotfiles === true ||
      !real.slice(root.length).split("/").some((s) => s.startsWith("."));
  };
  return (path, info) => {
    // Resolving every component costs more than the rest of serving a cached file. If the path
    // still names the file that passed (a link swapped in would name another inode, or the same
    // file, which was allowed), the verdict stands.
    const id = identity(info);
    const key = policy + path;
    if (id !== null && verified.get(key) === id) return true;
    const ok = check(path);
    if (ok && id !== null) {
      if (verified.size >= VERIFIED_ENTRIES) verified.clear();
      verified.set(key, id);
    }
    return ok;
  };
}

/** The guard's verdict, with a path that vanished or loops counted as not allowed. */
function allowed(guard: Guard, path: string, info?: Deno.FileInfo): boolean {
  try {
    return guard(path, info);
  } catch {
    return false;
  }
}

function statOrNull(path: string, request?: Request): Deno.FileInfo | null {
  try {
    return statFor(path, request);
  } catch {
    return null;
  }
}

/** A stat's outcome, kept for the requests that arrived before it was made. */
interface RecentStat {
  lookup: Lookup;
  info: Deno.FileInfo | null;
  error: unknown;
}
const recentStats = new Map<string, RecentStat>();
const RECENT_STATS = 1024;

/**
 * `Deno.statSync(path)` (throwing what it throws) as of a moment after `request` arrived: a stat
 * made since then, for another request, serves this one too (see lib/arrival.ts), so a server
 * busy with one file stats it about once per turn of the event loop, not once per request.
 * Without a request, or one our connection did not make, the stat is made now.
 */
function statFor(path: string, request?: Request): Deno.FileInfo {
  const arrival = request && arrivalOf(request);
  if (arrival === undefined) return Deno.statSync(path);
  let stat = recentStats.get(path);
  if (stat === undefined || !lookedUpSince(stat.lookup, arrival)) {
    const lookup = lookupStarting();
    try {
      stat = { lookup, info: Deno.statSync(path), error: null };
    } catch (error) {
      stat = { lookup, info: null, error };
    }
    if (recentStats.size >= RECENT_STATS) recentStats.clear();
    recentStats.set(path, stat);
  }
  if (stat.info === null) throw stat.error;
  return stat.info;
}

function acceptsHtml(request: Request): boolean {
  return /\btext\/html\b/i.test(request.headers.get("accept") ?? "");
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

function preflightHeaders(request: Request): HeadersInit {
  // Always allow what range requests and authenticated fetches need, plus whatever was asked.
  const allowed = new Set(["range", "authorization", "content-type", "if-none-match"]);
  for (const name of (request.headers.get("access-control-request-headers") ?? "").split(",")) {
    if (name.trim()) allowed.add(name.trim().toLowerCase());
  }
  return {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": ALLOW,
    "access-control-allow-headers": [...allowed].join(", "),
    "access-control-max-age": "86400",
  };
}

/** The response fields a cross-origin script may read (CORS). */
const EXPOSED =
  "Content-Length, Content-Range, Content-Encoding, ETag, Accept-Ranges, Last-Modified";

/** Headers every response from serveDir gets: nosniff, CORS, the user's. */
function decorate(request: Request, response: Response, options: ServeDirOptions): Response {
  const headers = response.headers;
  if (!headers.has("x-content-type-options")) headers.set("x-content-type-options", "nosniff");
  if (options.cors) {
    headers.set("access-control-allow-origin", "*");
    headers.set("access-control-expose-headers", EXPOSED);
    if (request.method === "OPTIONS") headers.append("vary", "Access-Control-Request-Headers");
  }
  for (const [name, value] of options.headers ?? []) headers.set(name, value);
  return response;
}

/**
 * What `decorate` (for serveDir) or serveFile adds to a GET's response, put in its field record
 * before the response is made. The two must agree: a test compares every cached GET's fields
 * with its HEAD's, which go through `decorate`.
 */
function finishFields(
  fields: Fields,
  options: ServeFileOptions & Pick<ServeDirOptions, "cors">,
  decorated: boolean,
): void {
  if (decorated) {
    fields["x-content-type-options"] ??= "nosniff";
    if (options.cors) {
      fields["access-control-allow-origin"] = "*";
      fields["access-control-expose-headers"] = EXPOSED;
    }
  }
  for (const [name, value] of options.headers ?? []) fields[name.toLowerCase()] = value;
}

/** Responses whose fields are final: serveDir and serveFile add nothing to them. */
const finished = new WeakSet<Response>();

// ---- The small-file cache ---------------------------------------------------------------------

interface CacheEntry {
  path: string;
  size: number;
  mtime: number;
  ino: number | null;
  bytes: Uint8Array<ArrayBuffer>;
  /** Compressed once, on first demand. */
  encoded: Partial<Record<Coding, Uint8Array<ArrayBuffer>>>;
  /** Bodiless responses with the fields this file was last served with (see cachedResponse). */
  templates: { fields: Fields; response: Response }[];
  /** What `cachedBytes` counts for it while it is in the cache. */
  counted: number;
}

/**
 * Small files' bytes, least recently used first (a Map iterates in insertion order). An entry is
 * valid while size, mtime and inode match a fresh stat, so a hit costs one stat and no open.
 */
const cache = new Map<string, CacheEntry>();
let cachedBytes = 0;
/**
 * What an entry and a template cost besides the file's bytes, rounded up from the heap's growth
 * over 20,000 of them (2.2 KiB for an entry with one template of eight fields, its field record
 * and frozen field list included): a site of tiny files must not grow the heap past the budget
 * through them.
 */
const ENTRY_BYTES = 512;
const TEMPLATE_BYTES = 2048;

function entryBytes(entry: CacheEntry): number {
  return ENTRY_BYTES + entry.bytes.length + (entry.encoded.br?.length ?? 0) +
    (entry.encoded.gzip?.length ?? 0) + entry.templates.length * TEMPLATE_BYTES;
}

/** The small-file cache's size now, by the same count as its budget (for tests and diagnosis). */
export function smallFileCache(): { entries: number; bytes: number; budget: number } {
  return { entries: cache.size, bytes: cachedBytes, budget: CACHE_BYTES };
}

function cacheGet(path: string, info: Deno.FileInfo): CacheEntry | undefined {
  const entry = cache.get(path);
  if (entry === undefined) return undefined;
  if (
    entry.size !== info.size || entry.mtime !== (info.mtime?.getTime() ?? 0) ||
    entry.ino !== info.ino
  ) {
    cacheDelete(path);
    return undefined;
  }
  cache.delete(path);
  cache.set(path, entry);
  return entry;
}

/**
 * Inserts `entry`, or counts it anew after it grew (a compressed form, a template), then evicts
 * the least recently used past the budget.
 */
function cachePut(entry: CacheEntry): void {
  cacheDelete(entry.path);
  cache.set(entry.path, entry);
  entry.counted = entryBytes(entry);
  cachedBytes += entry.counted;
  for (const [oldest] of cache) {
    if (cachedBytes <= CACHE_BYTES) break;
    cacheDelete(oldest);
  }
}

function cacheDelete(path: string): void {
  const entry = cache.get(path);
  if (entry === undefined) return;
  cachedBytes -= entry.counted;
  cache.delete(path);
}

async function smallFile(path: string, info: Deno.FileInfo): Promise<CacheEntry> {
  const hit = cacheGet(path, info);
  if (hit) return hit;
  const bytes = await Deno.readFile(path);
  const entry: CacheEntry = {
    path,
    size: bytes.length,
    mtime: info.mtime?.getTime() ?? 0,
    ino: info.ino,
    bytes,
    encoded: {},
    templates: [],
    counted: 0,
  };
  // A file that changed between stat and read is served but not cached.
  if (bytes.length === info.size) cachePut(entry);
  return entry;
}

async function smallFileEncoded(
  path: string,
  info: Deno.FileInfo,
  coding: Coding,
): Promise<[CacheEntry, Uint8Array<ArrayBuffer>]> {
  const entry = await smallFile(path, info);
  let bytes = entry.encoded[coding];
  if (bytes === undefined) {
    bytes = await compressBytes(entry.bytes, coding);
    entry.encoded[coding] = bytes;
    if (cache.get(path) === entry) cachePut(entry);
  }
  return [entry, bytes];
}

/** The most field sets a cached file keeps a template for (codings, options in use). */
const TEMPLATES = 4;

/**
 * A cached file's bytes (`entry.bytes`, or a compressed form) as a response with `fields` and
 * what serveDir or serveFile adds (finishFields), marked `finished`. Checking and copying fields,
 * and copying the bytes, cost more than the rest of serving the file: so a bodiless response with
 * these fields is made once and kept with the entry, and each request gets a clone of it that
 * holds the bytes by reference (`withBytes`).
 */
function cachedResponse(
  entry: CacheEntry,
  bytes: Uint8Array,
  fields: Fields,
  options: ServeFileOptions & Pick<ServeDirOptions, "cors">,
  decorated: boolean,
): Response {
  finishFields(fields, options, decorated);
  let response: Response | null = null;
  if (bytesByReference) {
    let template = entry.templates.find((t) => sameFields(t.fields, fields));
    if (template === undefined) {
      template = { fields, response: new Response(null, { headers: fields }) };
      if (entry.templates.length >= TEMPLATES) entry.templates.shift();
      entry.templates.push(template);
      if (cache.get(entry.path) === entry) cachePut(entry);
    }
    response = withBytes(template.response, bytes);
  }
  response ??= bytesResponse(bytes, fields);
  finished.add(response);
  return response;
}

function sameFields(a: Fields, b: Fields): boolean {
  let count = 0;
  for (const name in a) {
    if (a[name] !== b[name]) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

// ---- One file ---------------------------------------------------------------------------------

/** What is sent for a file: the file itself, a precompressed sibling, or either compressed now. */
interface Representation {
  path: string;
  info: Deno.FileInfo;
  coding: Coding | null;
  onTheFly: boolean;
}

/**
 * Picks the representation by Accept-Encoding (RFC 9110 §12.5.3): for each acceptable coding,
 * best first, a fresh precompressed sibling (`x.js.br`, `x.js.gz`), else compression on the fly
 * (gzip; brotli only for small files, which are compressed once and cached). Ranges apply to a
 * sibling's bytes but are never compressed on the fly.
 */
function selectRepresentation(
  request: Request,
  path: string,
  info: Deno.FileInfo,
  guard: Guard | null,
): Representation {
  const header = request.headers.get("accept-encoding");
  const ranged = request.method === "GET" && request.headers.has("range");
  const worthIt = info.size >= COMPRESS_MIN || refusesIdentity(header);
  for (const coding of acceptedCodings(header)) {
    const sibling = precompressed(request, path, info, coding, guard);
    if (sibling) return { path: sibling.path, info: sibling.info, coding, onTheFly: false };
    const canCompress = coding === "gzip" || (BROTLI_STREAMS && info.size <= SMALL_FILE);
    if (!ranged && worthIt && canCompress) return { path, info, coding, onTheFly: true };
  }
  return { path, info, coding: null, onTheFly: false };
}

const SUFFIX: Record<Coding, string> = { br: ".br", gzip: ".gz" };

/** A sibling no older than its source (a stale `.gz` left after an edit is skipped). */
function precompressed(
  request: Request,
  path: string,
  source: Deno.FileInfo,
  coding: Coding,
  guard: Guard | null,
): { path: string; info: Deno.FileInfo } | null {
  const sibling = path + SUFFIX[coding];
  const info = statOrNull(sibling, request);
  if (info === null || !info.isFile) return null;
  if ((info.mtime?.getTime() ?? 0) < (source.mtime?.getTime() ?? 0)) return null;
  if (guard !== null && !allowed(guard, sibling, info)) return null;
  return { path: sibling, info };
}

/**
 * The response for a file, `decorated` when it comes from serveDir. Cached files' responses
 * come out with all their fields, the decorations included, and are marked `finished`.
 */
async function fileResponse(
  request: Request,
  path: string,
  info: Deno.FileInfo,
  options: ServeFileOptions & Pick<ServeDirOptions, "cors">,
  guard: Guard | null,
  decorated: boolean,
): Promise<Response> {
  const type = contentType(path) ?? "application/octet-stream";
  const negotiated = options.compress !== false && isCompressible(type);
  const rep = negotiated
    ? selectRepresentation(request, path, info, guard)
    : { path, info, coding: null, onTheFly: false };
  const mtime = info.mtime ?? new Date(0);
  // A plain record, not a Headers: the Response makes its own list from it either way, and
  // building a Headers first cost ~1.2 µs more per file served.
  const headers: Fields = {
    "content-type": type,
    "accept-ranges": "bytes",
    "last-modified": validatorsOf(info).lastModified,
  };
  if (negotiated) headers["vary"] = "Accept-Encoding";
  if (options.cacheControl) headers["cache-control"] = options.cacheControl;
  if (rep.coding) headers["content-encoding"] = rep.coding;
  // Each representation has its own validator (§8.8.3): gzip and identity bytes differ.
  const etag = options.etag === false ? null : etagOf(rep.info, rep.coding ?? "");
  if (etag) headers["etag"] = etag;

  const precondition = evaluatePreconditions(request, etag, mtime);
  if (precondition === 304) {
    // A 304 carries the validators and what caches key on, not the content's metadata (§15.4.5).
    for (const name of ["content-type", "content-encoding", "accept-ranges"]) delete headers[name];
    return new Response(null, { status: 304, headers });
  }
  if (precondition === 412) return textResponse(412, "412 Precondition Failed");

  const head = request.method === "HEAD";
  const size = rep.info.size;

  if (rep.onTheFly) {
    const coding = rep.coding!;
    if (size <= SMALL_FILE) {
      // Compressed once into the cache, so the length is known, for HEAD too.
      const [entry, bytes] = await smallFileEncoded(rep.path, rep.info, coding);
      headers["content-length"] = String(bytes.length);
      if (head) return new Response(null, { headers });
      return cachedResponse(entry, bytes, headers, options, decorated);
    }
    // Streamed: the length is unknown, and the engine sends it chunked.
    if (head) return new Response(null, { headers });
    const file = await openAt(rep.path, 0);
    return new Response(compressStream(new FileBody(file, size), coding), { headers });
  }

  const ranges = request.method === "GET" && rangeApplies(request, etag, mtime)
    ? parseRange(request.headers.get("range")!, size)
    : null;
  if (ranges === "unsatisfiable") {
    return textResponse(416, "416 Range Not Satisfiable", { "content-range": `bytes */${size}` });
  }

  if (ranges === null) {
    headers["content-length"] = String(size);
    if (head) return new Response(null, { headers });
    if (size <= SMALL_FILE) {
      // A cache hit is taken without an await.
      const entry = cacheGet(rep.path, rep.info) ?? await smallFile(rep.path, rep.info);
      return cachedResponse(entry, entry.bytes, headers, options, decorated);
    }
    const file = await openAt(rep.path, 0);
    return new Response(new FileBody(file, size), { headers });
  }

  if (ranges.length === 1) {
    const [start, end] = ranges[0];
    headers["content-range"] = `bytes ${start}-${end}/${size}`;
    headers["content-length"] = String(end - start + 1);
    const file = await openAt(rep.path, start);
    return new Response(new FileBody(file, end - start + 1), { status: 206, headers });
  }

  // Several ranges: multipart/byteranges, each part with its own Content-Range (§14.6).
  const boundary = crypto.randomUUID().replaceAll("-", "");
  const parts = ranges.map(([start, end]) => ({
    start,
    end,
    head: encoder.encode(
      `\r\n--${boundary}\r\ncontent-type: ${type}\r\ncontent-range: bytes ${start}-${end}/${size}\r\n\r\n`,
    ),
  }));
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const length = parts.reduce((n, p) => n + p.head.length + p.end - p.start + 1, tail.length);
  headers["content-type"] = `multipart/byteranges; boundary=${boundary}`;
  headers["content-length"] = String(length);
  const file = await openAt(rep.path, 0);
  return new Response(multipartStream(file, parts, tail), { status: 206, headers });
}

/**
 * A strong validator from what changes when the file changes, without reading it (§8.8.3).
 * Worked out once per FileInfo, like Last-Modified: statFor hands one stat to many requests.
 */
function etagOf(info: Deno.FileInfo, coding: string): string {
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

interface Validators {
  info: Deno.FileInfo;
  lastModified: string;
  /** By content coding, "" for none. */
  etags: Record<string, string>;
}
/** The last FileInfo's: one entry is enough to serve a run of requests given the same stat. */
let lastValidators: Validators | null = null;

function validatorsOf(info: Deno.FileInfo): Validators {
  if (lastValidators?.info !== info) {
    const lastModified = (info.mtime ?? new Date(0)).toUTCString();
    lastValidators = { info, lastModified, etags: {} };
  }
  return lastValidators;
}

// ---- Conditional requests (RFC 9110 §13) ------------------------------------------------------

/**
 * Preconditions in the order of §13.2.2: If-Match, else If-Unmodified-Since (412 when false);
 * then If-None-Match, else If-Modified-Since (304 when false; only GET and HEAD reach here).
 */
function evaluatePreconditions(
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
  if (list.trim() === "*") return true;
  if (etag === null) return false;
  for (const raw of list.split(",")) {
    let tag = raw.trim();
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
function rangeApplies(request: Request, etag: string | null, mtime: Date): boolean {
  if (!request.headers.has("range")) return false;
  const ifRange = request.headers.get("if-range");
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) return value === etag;
  if (value.startsWith("W/")) return false;
  return parseHttpDate(value) === Math.floor(mtime.getTime() / 1000);
}

// ---- Ranges (RFC 9110 §14) --------------------------------------------------------------------

/**
 * `bytes=` ranges (§14.1.2) as inclusive [start, end] pairs, sorted, with overlapping and
 * adjacent ones merged (§14.6 allows it; it also defuses "bytes=0-,0-,0-…" amplification).
 *
 * Null means "ignore the header and send the whole file" (§14.2): bad syntax, another unit, or
 * more than 16 ranges. "unsatisfiable" (416) means no range overlaps the file. A range covering
 * the whole file is still a range: media players (Safari first of all) probe with `bytes=0-` and
 * want a 206.
 *
 * @example
 * ```ts
 * import { parseRange } from "./serve.ts";
 * parseRange("bytes=0-99", 1000); // [[0, 99]]
 * parseRange("bytes=-100", 1000); // [[900, 999]]
 * parseRange("bytes=0-9,5-19,50-", 100); // [[0, 19], [50, 99]]
 * parseRange("bytes=2000-", 1000); // "unsatisfiable"
 * parseRange("bytes=9-1", 1000); // null
 * ```
 */
export function parseRange(
  header: string,
  size: number,
): [number, number][] | null | "unsatisfiable" {
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return null;
  const specs = m[1].split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length === 0 || specs.length > MAX_RANGES) return null;
  const ranges: [number, number][] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === "" && r[2] === "")) return null;
    let start: number;
    let end: number;
    if (r[1] === "") {
      // suffix-range: the last N bytes; "-0" asks for nothing and cannot be satisfied.
      const suffix = Number(r[2]);
      if (suffix === 0) continue;
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = Number(r[1]);
      if (r[2] !== "" && Number(r[2]) < start) return null; // last < first: invalid (§14.1.1)
      end = r[2] === "" ? size - 1 : Math.min(Number(r[2]), size - 1);
    }
    if (start >= size) continue;
    ranges.push([start, end]);
  }
  if (ranges.length === 0) return "unsatisfiable";
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [ranges[0]];
  for (const [start, end] of ranges.slice(1)) {
    const last = merged[merged.length - 1];
    if (start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

// ---- Streaming --------------------------------------------------------------------------------

/** Opens a file positioned at `start`; closed again if the seek fails. */
async function openAt(path: string, start: number): Promise<Deno.FsFile> {
  const file = Deno.openSync(path); // synchronous: see "Metadata calls" above
  try {
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    return file;
  } catch (error) {
    file.close();
    throw error;
  }
}

/** The parts of a multipart/byteranges body, one range at a time from one open file. */
function multipartStream(
  file: Deno.FsFile,
  parts: { start: number; end: number; head: Uint8Array<ArrayBuffer> }[],
  tail: Uint8Array<ArrayBuffer>,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let index = 0;
  let position = 0;
  let end = 0;
  return new ReadableStream(
    fileSource(file, async (controller) => {
      if (position < end) {
        const buffer = new Uint8Array(Math.min(CHUNK, end - position));
        const n = await file.read(buffer);
        if (n === null) throw new FileShrank();
        position += n;
        controller.enqueue(buffer.subarray(0, n));
        return false;
      }
      if (index < parts.length) {
        const part = parts[index++];
        await file.seek(part.start, Deno.SeekMode.Start);
        position = part.start;
        end = part.end + 1;
        controller.enqueue(part.head);
        return false;
      }
      controller.enqueue(tail);
      return true;
    }),
    { highWaterMark: 0 },
  );
}

// ---- Listings ---------------------------------------------------------------------------------

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}

interface ListingEntry {
  name: string;
  dir: boolean;
  size: number;
  mtime: Date | null;
}

/**
 * An HTML index of `dir`: directories first, then files, each by name; size and date; a parent
 * link below the top. Left out: dotfiles (unless `dotfiles`), symlinks that lead out of the root
 * (unless `followSymlinks`), and names no URL could reach (a backslash, say).
 */
async function listing(
  request: Request,
  dir: string,
  segments: readonly string[],
  options: ServeDirOptions,
  guard: Guard,
): Promise<Response> {
  const entries: ListingEntry[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const { name } = entry;
    if (name.startsWith(".") && !options.dotfiles) continue;
    if (/[\\\0]|^[A-Za-z]:/.test(name)) continue;
    const path = `${dir}/${name}`;
    if (entry.isSymlink && !allowed(guard, path)) continue;
    const info = statOrNull(path); // null: it vanished, or a dangling symlink
    entries.push({
      name,
      dir: info?.isDirectory ?? entry.isDirectory,
      size: info?.size ?? 0,
      mtime: info?.mtime ?? null,
    });
  }
  entries.sort((a, b) => a.dir !== b.dir ? (a.dir ? -1 : 1) : a.name < b.name ? -1 : 1);

  const prefix = (options.urlRoot ?? "").split("/").filter((s) => s !== "");
  const title = escapeHtml(`/${[...prefix, ...segments].map((s) => `${s}/`).join("")}`);
  const rows = entries.map((e) => {
    const href = encodeURIComponent(e.name) + (e.dir ? "/" : "");
    const label = escapeHtml(e.name) + (e.dir ? "/" : "");
    const size = e.dir ? "-" : formatSize(e.size);
    const date = e.mtime ? e.mtime.toISOString().replace("T", " ").slice(0, 16) : "-";
    return `<tr><td><a href="${href}">${label}</a></td><td>${size}</td><td>${date}</td></tr>`;
  });
  if (segments.length > 0) {
    rows.unshift(`<tr><td><a href="../">../</a></td><td></td><td></td></tr>`);
  }
  const html = encoder.encode(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Index of ${title}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td{padding:.2rem 1.2rem .2rem 0}td:nth-child(2){text-align:right}</style>
</head>
<body>
<h1>Index of ${title}</h1>
<table>
<tr><th align="left">Name</th><th>Size</th><th align="left">Modified</th></tr>
${rows.join("\n")}
</table>
</body>
</html>
`);
  const headers = {
    "content-type": "text/html; charset=utf-8",
    "content-length": String(html.length),
  };
  return new Response(request.method === "HEAD" ? null : html, { headers });
}
