/**
 * Static files as `Response`s, usable inside any handler: `serveDir` maps a URL path into a
 * directory safely, `serveFile` answers for one file with conditional requests (RFC 9110 §13),
 * ranges (§14), precompressed siblings and on-the-fly gzip, streaming big files in bounded
 * memory.
 *
 * @module
 */

import { contentType, isCompressible } from "./mime.ts";

/** Options for {@link serveDir}. */
export interface ServeDirOptions {
  /** The directory to serve. */
  fsRoot: string;
  /** A URL path prefix to strip before mapping into `fsRoot` (e.g. "static"). @default {""} */
  urlRoot?: string;
  /** Answer directories without index.html with an HTML listing. @default {true} */
  listing?: boolean;
  /** Serve files and directories whose name starts with a dot. @default {false} */
  dotfiles?: boolean;
  /** Follow symlinks that resolve outside `fsRoot`. @default {false} */
  followSymlinks?: boolean;
  /** Unknown paths that accept HTML get `/index.html` with status 200. @default {false} */
  spa?: boolean;
  /** Allow cross-origin requests and answer preflights. @default {false} */
  cors?: boolean;
  /** Headers added to every response. @default {[]} */
  headers?: [string, string][];
  /** `Cache-Control` for files; none means revalidation by ETag. @default {undefined} */
  cacheControl?: string;
  /** Precompressed siblings and on-the-fly gzip. @default {true} */
  compress?: boolean;
}

/** Options for {@link serveFile}. */
export type ServeFileOptions = Pick<ServeDirOptions, "compress" | "cacheControl">;

// 256 KiB per read: 64 KiB reads cost a third of the 1 MiB file throughput in per-op overhead
// (bench: ~500 → ~750 MB/s); a client that stops reading still holds at most one chunk.
const CHUNK = 256 * 1024;
const SMALL_FILE = 64 * 1024;
const CACHE_BYTES = 16 * 1024 * 1024;
const COMPRESS_MIN = 1024;
const MAX_RANGES = 16;
const encoder = new TextEncoder();

function textResponse(status: number, text: string, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "text/plain; charset=utf-8");
  h.set("x-content-type-options", "nosniff");
  return new Response(`${text}\n`, { status, headers: h });
}

/** Why a path cannot be served; mapped to 400 or 404 in one place. */
class Refused extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/**
 * Serves `request` from the directory `options.fsRoot`. Never throws: a missing file is 404,
 * an unreadable one 403, anything else 500.
 *
 * @example
 * ```ts
 * import { serve } from "./mod.ts";
 * import { serveDir } from "./static.ts";
 * serve({ port: 8080 }, (req) => serveDir(req, { fsRoot: "./public" }));
 * ```
 */
export async function serveDir(request: Request, options: ServeDirOptions): Promise<Response> {
  let response: Response;
  try {
    response = await route(request, options);
  } catch (error) {
    response = errorResponse(error);
  }
  return decorate(request, response, options);
}

/**
 * Serves one file for `request`, with ETag, Last-Modified, conditional requests, ranges and
 * compression. Never throws (404, 403 or 500 instead).
 *
 * @example
 * ```ts
 * import { serveFile } from "./static.ts";
 * const handler = (req: Request) => serveFile(req, "./README.md");
 * ```
 */
export async function serveFile(
  request: Request,
  path: string,
  options: ServeFileOptions = {},
): Promise<Response> {
  try {
    if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed();
    const info = await Deno.stat(path);
    if (!info.isFile) return textResponse(404, "404 Not Found");
    return await fileResponse(request, path, info, options);
  } catch (error) {
    return errorResponse(error);
  }
}

function errorResponse(error: unknown): Response {
  if (error instanceof Refused) {
    return textResponse(error.status, `${error.status} ${error.message}`);
  }
  if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
    return textResponse(404, "404 Not Found");
  }
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return textResponse(403, "403 Forbidden");
  }
  console.error("serveDir:", error);
  return textResponse(500, "500 Internal Server Error");
}

function methodNotAllowed(): Response {
  return textResponse(405, "405 Method Not Allowed", { allow: "GET, HEAD, OPTIONS" });
}

async function route(request: Request, options: ServeDirOptions): Promise<Response> {
  if (request.method === "OPTIONS") {
    const preflight = options.cors && request.headers.has("access-control-request-method");
    return new Response(null, {
      status: 204,
      headers: preflight ? preflightHeaders(request) : { allow: "GET, HEAD, OPTIONS" },
    });
  }
  if (request.method !== "GET" && request.method !== "HEAD") return methodNotAllowed();

  const url = new URL(request.url);
  const segments = safeSegments(url.pathname, options);
  const root = await realRoot(options.fsRoot);
  const path = [root, ...segments].join("/");

  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
    await checkContained(path, root, options);
  } catch (error) {
    if (options.spa && acceptsHtml(request) && error instanceof Deno.errors.NotFound) {
      const index = `${root}/index.html`;
      return await fileResponse(request, index, await Deno.stat(index), options);
    }
    throw error;
  }

  if (info.isDirectory) {
    if (!url.pathname.endsWith("/")) {
      // A relative Location keeps the query and cannot point off-site, unlike "//host/dir/".
      const last = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
      return new Response(null, {
        status: 301,
        headers: { location: `./${last}/${url.search}` },
      });
    }
    const index = `${path}/index.html`;
    try {
      const indexInfo = await Deno.stat(index);
      if (indexInfo.isFile) return await fileResponse(request, index, indexInfo, options);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (options.listing === false) return textResponse(404, "404 Not Found");
    return await listing(request, path, url.pathname, options);
  }
  if (!info.isFile) return textResponse(404, "404 Not Found");
  return await fileResponse(request, path, info, options);
}

/**
 * The URL path as file-system segments, refusing anything that could step outside the root:
 * `..`, encoded slashes and backslashes, NUL, drive letters, invalid percent-encoding.
 */
function safeSegments(pathname: string, options: ServeDirOptions): string[] {
  let rest = pathname;
  const prefix = (options.urlRoot ?? "").replace(/^\/+|\/+$/g, "");
  if (prefix) {
    if (rest !== `/${prefix}` && !rest.startsWith(`/${prefix}/`)) {
      throw new Refused(404, "Not Found");
    }
    rest = rest.slice(prefix.length + 1) || "/";
  }
  const segments: string[] = [];
  for (const raw of rest.split("/")) {
    if (raw === "") continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw new Refused(400, "Bad Request: invalid percent-encoding");
    }
    if (
      segment === "." || segment === ".." || /[\/\\\0]/.test(segment) ||
      /^[A-Za-z]:/.test(segment)
    ) {
      throw new Refused(400, "Bad Request: invalid path");
    }
    if (segment.startsWith(".") && !options.dotfiles) throw new Refused(404, "Not Found");
    segments.push(segment);
  }
  return segments;
}

const rootCache = new Map<string, string>();
async function realRoot(fsRoot: string): Promise<string> {
  let root = rootCache.get(fsRoot);
  if (root === undefined) {
    root = (await Deno.realPath(fsRoot)).replace(/\/+$/, "");
    if (rootCache.size > 64) rootCache.clear();
    rootCache.set(fsRoot, root);
  }
  return root;
}

/** Symlinks may only lead outside the root when the options allow it. */
async function checkContained(path: string, root: string, options: ServeDirOptions) {
  if (options.followSymlinks) return;
  const real = await Deno.realPath(path);
  if (real !== root && !real.startsWith(`${root}/`)) throw new Refused(404, "Not Found");
  if (!options.dotfiles && real.slice(root.length).split("/").some((s) => s.startsWith("."))) {
    throw new Refused(404, "Not Found");
  }
}

function acceptsHtml(request: Request): boolean {
  return (request.headers.get("accept") ?? "").includes("text/html");
}

function preflightHeaders(request: Request): HeadersInit {
  const asked = request.headers.get("access-control-request-headers");
  return {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, HEAD, OPTIONS",
    "access-control-allow-headers": asked ?? "Range, Authorization, Content-Type",
    "access-control-max-age": "86400",
  };
}

/** Headers every response gets: the user's, CORS, nosniff. */
function decorate(request: Request, response: Response, options: ServeDirOptions): Response {
  const headers = response.headers;
  if (!headers.has("x-content-type-options")) headers.set("x-content-type-options", "nosniff");
  if (options.cors) {
    headers.set("access-control-allow-origin", "*");
    headers.set(
      "access-control-expose-headers",
      "Content-Length, Content-Range, Content-Encoding, ETag, Accept-Ranges, Last-Modified",
    );
    if (request.method === "OPTIONS") headers.append("vary", "Access-Control-Request-Headers");
  }
  for (const [name, value] of options.headers ?? []) headers.set(name, value);
  return response;
}

// ---- Files ------------------------------------------------------------------------------------

interface CacheEntry {
  size: number;
  mtime: number;
  ino: number | null;
  bytes: Uint8Array<ArrayBuffer>;
  gzip?: Uint8Array<ArrayBuffer>;
}

/** Small files' bytes, least recently used first; checked against size, mtime and inode. */
const cache = new Map<string, CacheEntry>();
let cachedBytes = 0;

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

function cachePut(path: string, entry: CacheEntry): void {
  cacheDelete(path);
  cache.set(path, entry);
  cachedBytes += entry.bytes.length + (entry.gzip?.length ?? 0);
  for (const [oldest] of cache) {
    if (cachedBytes <= CACHE_BYTES) break;
    cacheDelete(oldest);
  }
}

function cacheDelete(path: string): void {
  const entry = cache.get(path);
  if (entry === undefined) return;
  cachedBytes -= entry.bytes.length + (entry.gzip?.length ?? 0);
  cache.delete(path);
}

/** A strong validator from what changes when the file changes (RFC 9110 §8.8.3). */
function etagOf(info: Deno.FileInfo, encoding = ""): string {
  const mtime = info.mtime?.getTime() ?? 0;
  return `"${info.size.toString(36)}-${mtime.toString(36)}-${(info.ino ?? 0).toString(36)}${
    encoding ? `-${encoding}` : ""
  }"`;
}

/** Accept-Encoding's q-values (RFC 9110 §12.5.3): is `coding` acceptable? */
function accepts(request: Request, coding: string): boolean {
  const header = request.headers.get("accept-encoding");
  if (!header) return false;
  let star: number | undefined;
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (name.trim() === coding) return weight > 0;
    if (name.trim() === "*") star = weight;
  }
  return star !== undefined && star > 0;
}

async function fileResponse(
  request: Request,
  path: string,
  info: Deno.FileInfo,
  options: ServeFileOptions,
): Promise<Response> {
  const type = contentType(path) ?? "application/octet-stream";
  const compress = options.compress !== false && isCompressible(type);
  let servedPath = path;
  let servedInfo = info;
  let encoding = "";

  // Precompressed siblings: x.js.br / x.js.gz, with their own length and validator.
  if (compress) {
    for (const [coding, suffix] of [["br", ".br"], ["gzip", ".gz"]] as const) {
      if (!accepts(request, coding)) continue;
      try {
        const sibling = await Deno.stat(path + suffix);
        if (sibling.isFile) {
          servedPath = path + suffix;
          servedInfo = sibling;
          encoding = coding;
          break;
        }
      } catch {
        // no such sibling
      }
    }
  }

  const size = servedInfo.size;
  const mtime = info.mtime ?? new Date(0);
  const headers = new Headers({
    "content-type": type,
    "accept-ranges": "bytes",
    "last-modified": mtime.toUTCString(),
  });
  if (compress) headers.set("vary", "Accept-Encoding");
  if (options.cacheControl) headers.set("cache-control", options.cacheControl);
  if (encoding) headers.set("content-encoding", encoding);

  // On-the-fly gzip for compressible types, never for ranges.
  const gzip = compress && !encoding && size >= COMPRESS_MIN && !request.headers.has("range") &&
    accepts(request, "gzip");
  const etag = etagOf(servedInfo, encoding || (gzip ? "gzip" : ""));
  headers.set("etag", etag);

  const precondition = evaluatePreconditions(request, etag, mtime);
  if (precondition === 304) {
    headers.delete("content-type");
    return new Response(null, { status: 304, headers });
  }
  if (precondition === 412) return textResponse(412, "412 Precondition Failed");

  if (gzip) {
    headers.set("content-encoding", "gzip");
    if (request.method === "HEAD") return new Response(null, { headers });
    if (size <= SMALL_FILE) {
      const entry = await smallFile(servedPath, servedInfo);
      entry.gzip ??= await gzipBytes(entry.bytes);
      headers.set("content-length", String(entry.gzip.length));
      return new Response(entry.gzip, { headers });
    }
    const stream = fileStream(await Deno.open(servedPath), 0, size);
    return new Response(stream.pipeThrough(new CompressionStream("gzip")), { headers });
  }

  const ranges = request.method === "GET" && rangeApplies(request, etag, mtime)
    ? parseRange(request.headers.get("range")!, size)
    : null;
  if (ranges === "unsatisfiable") {
    return textResponse(416, "416 Range Not Satisfiable", { "content-range": `bytes */${size}` });
  }

  if (ranges === null) {
    headers.set("content-length", String(size));
    if (request.method === "HEAD") return new Response(null, { headers });
    if (size <= SMALL_FILE) {
      return new Response((await smallFile(servedPath, servedInfo)).bytes, { headers });
    }
    return new Response(fileStream(await Deno.open(servedPath), 0, size), { headers });
  }

  if (ranges.length === 1) {
    const [start, end] = ranges[0];
    headers.set("content-range", `bytes ${start}-${end}/${size}`);
    headers.set("content-length", String(end - start + 1));
    const file = await Deno.open(servedPath);
    return new Response(fileStream(file, start, end + 1), { status: 206, headers });
  }

  // Several ranges: multipart/byteranges (RFC 9110 §14.6).
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
  headers.set("content-type", `multipart/byteranges; boundary=${boundary}`);
  headers.set("content-length", String(length));
  const file = await Deno.open(servedPath);
  return new Response(multipartStream(file, parts, tail), { status: 206, headers });
}

/**
 * Conditional requests in the order of RFC 9110 §13.2.2: If-Match, If-Unmodified-Since,
 * If-None-Match, If-Modified-Since. Resolves to 304, 412, or null to go on.
 */
function evaluatePreconditions(request: Request, etag: string, mtime: Date): 304 | 412 | null {
  const h = request.headers;
  const seconds = Math.floor(mtime.getTime() / 1000);
  const ifMatch = h.get("if-match");
  if (ifMatch !== null) {
    if (!matches(ifMatch, etag, true)) return 412;
  } else {
    const since = parseDate(h.get("if-unmodified-since"));
    if (since !== null && seconds > since) return 412;
  }
  const ifNoneMatch = h.get("if-none-match");
  const safe = request.method === "GET" || request.method === "HEAD";
  if (ifNoneMatch !== null) {
    if (matches(ifNoneMatch, etag, false)) return safe ? 304 : 412;
  } else if (safe) {
    const since = parseDate(h.get("if-modified-since"));
    if (since !== null && seconds <= since) return 304;
  }
  return null;
}

/** Whether an entity-tag list matches; strong comparison refuses weak tags (§8.8.3.2). */
function matches(list: string, etag: string, strong: boolean): boolean {
  if (list.trim() === "*") return true;
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

/** An HTTP-date in whole seconds, or null when absent or invalid. */
function parseDate(value: string | null): number | null {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** Range applies when present and, with If-Range, the validator still holds (§13.1.5). */
function rangeApplies(request: Request, etag: string, mtime: Date): boolean {
  if (!request.headers.has("range")) return false;
  const ifRange = request.headers.get("if-range");
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) return value === etag;
  if (value.startsWith("W/")) return false;
  return parseDate(value) === Math.floor(mtime.getTime() / 1000);
}

/**
 * `bytes=` ranges as inclusive [start, end] pairs, sorted and coalesced. Null for a header we
 * ignore (bad syntax, another unit, too many ranges: the full file is served instead),
 * "unsatisfiable" when no range overlaps the file (416).
 *
 * @example
 * ```ts
 * import { parseRange } from "./static.ts";
 * parseRange("bytes=0-99", 1000); // [[0, 99]]
 * parseRange("bytes=-100", 1000); // [[900, 999]]
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
      const suffix = Number(r[2]);
      if (suffix === 0) continue;
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = Number(r[1]);
      end = r[2] === "" ? size - 1 : Math.min(Number(r[2]), size - 1);
      if (r[2] !== "" && Number(r[2]) < start) return null;
    }
    if (start >= size || end < start) continue;
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
  // A range covering the whole file still gets 206: media players (Safari's first of all) probe
  // with "bytes=0-" and expect a partial response.
  return merged;
}

async function smallFile(path: string, info: Deno.FileInfo): Promise<CacheEntry> {
  const hit = cacheGet(path, info);
  if (hit) return hit;
  const bytes = await Deno.readFile(path);
  const entry: CacheEntry = {
    size: bytes.length,
    mtime: info.mtime?.getTime() ?? 0,
    ino: info.ino,
    bytes,
  };
  // A file that changed between stat and read is served but not cached.
  if (bytes.length === info.size) cachePut(path, entry);
  return entry;
}

async function gzipBytes(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Reads `[start, end)` of a file on demand: one chunk per pull, so a client that stops reading
 * stops the reading too. The file is closed at the end and when the stream is cancelled.
 */
function fileStream(
  file: Deno.FsFile,
  start: number,
  end: number,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let position = start;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream({
    async start() {
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    },
    async pull(controller) {
      try {
        const want = Math.min(CHUNK, end - position);
        if (want <= 0) {
          close();
          controller.close();
          return;
        }
        const buffer = new Uint8Array(want);
        const n = await file.read(buffer);
        if (n === null) throw new Error("file ended early (it changed while being served)");
        position += n;
        controller.enqueue(n === want ? buffer : buffer.subarray(0, n));
        if (position >= end) {
          close();
          controller.close();
        }
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}

function multipartStream(
  file: Deno.FsFile,
  parts: { start: number; end: number; head: Uint8Array<ArrayBuffer> }[],
  tail: Uint8Array<ArrayBuffer>,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  let index = 0;
  let current: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>> | null = null;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream({
    async pull(controller) {
      try {
        // A pull must enqueue something, or the stream stalls: loop past finished parts.
        for (;;) {
          if (current === null) {
            if (index === parts.length) {
              controller.enqueue(tail);
              close();
              controller.close();
              return;
            }
            const part = parts[index++];
            await file.seek(part.start, Deno.SeekMode.Start);
            current = rangeReader(file, part.end + 1 - part.start).getReader();
            controller.enqueue(part.head);
            return;
          }
          const { value, done } = await current.read();
          if (!done) return controller.enqueue(value);
          current = null;
        }
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  }, { highWaterMark: 0 });
}

/** `length` bytes from the file's current position, without closing it. */
function rangeReader(file: Deno.FsFile, length: number): ReadableStream<Uint8Array<ArrayBuffer>> {
  let left = length;
  return new ReadableStream({
    async pull(controller) {
      if (left === 0) return controller.close();
      const buffer = new Uint8Array(Math.min(CHUNK, left));
      const n = await file.read(buffer);
      if (n === null) throw new Error("file ended early");
      left -= n;
      controller.enqueue(buffer.subarray(0, n));
    },
  }, { highWaterMark: 0 });
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

async function listing(
  request: Request,
  dir: string,
  pathname: string,
  options: ServeDirOptions,
): Promise<Response> {
  const entries: { name: string; dir: boolean; size: number; mtime: Date | null }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".") && !options.dotfiles) continue;
    let info: Deno.FileInfo | null = null;
    try {
      info = await Deno.stat(`${dir}/${entry.name}`);
    } catch {
      // a dangling symlink or a file that vanished: list it without details
    }
    entries.push({
      name: entry.name,
      dir: info?.isDirectory ?? entry.isDirectory,
      size: info?.size ?? 0,
      mtime: info?.mtime ?? null,
    });
  }
  entries.sort((
    a,
    b,
  ) => (a.dir === b.dir ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.dir ? -1 : 1));
  const title = escapeHtml(decodeURIComponent(pathname));
  const rows = entries.map((e) => {
    const href = encodeURIComponent(e.name) + (e.dir ? "/" : "");
    const label = escapeHtml(e.name) + (e.dir ? "/" : "");
    const size = e.dir ? "-" : formatSize(e.size);
    const date = e.mtime ? e.mtime.toISOString().replace("T", " ").slice(0, 16) : "-";
    return `<tr><td><a href="${href}">${label}</a></td><td>${size}</td><td>${date}</td></tr>`;
  });
  if (pathname !== "/" && pathname !== `/${(options.urlRoot ?? "").replace(/^\/+|\/+$/g, "")}/`) {
    rows.unshift(`<tr><td><a href="../">../</a></td><td></td><td></td></tr>`);
  }
  const html = `<!DOCTYPE html>
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
`;
  const headers = { "content-type": "text/html; charset=utf-8" };
  return new Response(request.method === "HEAD" ? null : html, { headers });
}
