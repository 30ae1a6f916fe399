/**
 * The small-file cache: files up to {@link SMALL_FILE} kept in memory with their compressed forms
 * and prepared responses, least recently used evicted past a byte budget. An entry is valid while
 * size, mtime and inode match a fresh stat, so a hit costs one stat and no open.
 *
 * @module
 */

import { bytesByReference, withBytes } from "../fastpath/response.ts";
import { type Coding, compressBytes } from "./compress.ts";
import type { Fields } from "./fields.ts";
import { init } from "./status.ts";

/** Files up to this size are read whole and cached. */
export const SMALL_FILE = 64 * 1024;
/** The cache's budget, compressed forms and prepared responses included. */
const CACHE_BYTES = 16 * 1024 * 1024;

/** One cached file. */
export interface CacheEntry {
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

/** By path, least recently used first (a Map iterates in insertion order). */
const cache = new Map<string, CacheEntry>();
let cachedBytes = 0;
/**
 * What an entry and a template cost besides the file's bytes, rounded up from the heap's growth
 * (docs/static.md): a site of tiny files must not grow the heap past the budget through them.
 */
const ENTRY_BYTES = 512;
const TEMPLATE_BYTES = 2048;
/** The most field sets a cached file keeps a template for (codings, options in use). */
const TEMPLATES = 4;

function entryBytes(entry: CacheEntry): number {
  return ENTRY_BYTES + entry.bytes.length + (entry.encoded.br?.length ?? 0) +
    (entry.encoded.gzip?.length ?? 0) + entry.templates.length * TEMPLATE_BYTES;
}

/** The small-file cache's size now, by the same count as its budget (for tests and diagnosis). */
export function smallFileCache(): { entries: number; bytes: number; budget: number } {
  return { entries: cache.size, bytes: cachedBytes, budget: CACHE_BYTES };
}

/** The entry for `path` if it still holds the file `info` describes; a stale one is dropped. */
export function cacheGet(path: string, info: Deno.FileInfo): CacheEntry | undefined {
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

/** The cached entry for a small file, read (and cached) when missing or stale. */
export async function smallFile(path: string, info: Deno.FileInfo): Promise<CacheEntry> {
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

/** A small file's entry and its bytes compressed with `coding`, compressed once per version. */
export async function smallFileEncoded(
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

/**
 * A cached file's bytes (`entry.bytes`, or a compressed form) as a response with `fields`, which
 * are final. Checking and copying fields, and copying the bytes, cost more than the rest of
 * serving the file: so a bodiless response with these fields is made once and kept with the
 * entry, and each request gets a clone of it that holds the bytes by reference (`withBytes`).
 */
export function cachedResponse(entry: CacheEntry, bytes: Uint8Array, fields: Fields): Response {
  if (bytesByReference) {
    let template = entry.templates.find((t) => sameFields(t.fields, fields));
    if (template === undefined) {
      template = { fields, response: new Response(null, init(200, fields)) };
      if (entry.templates.length >= TEMPLATES) entry.templates.shift();
      entry.templates.push(template);
      if (cache.get(entry.path) === entry) cachePut(entry);
    }
    const response = withBytes(template.response, bytes);
    if (response !== null) return response;
  }
  return bytesResponse(bytes, fields);
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

/**
 * `new Response(bytes, { headers })` when bytes cannot be held by reference, built the way the
 * runtime copies them fastest: Deno copies a byte body on a quick path only when the init has at
 * most a Content-Type, so the other fields are set after. The Response is the same either way.
 */
function bytesResponse(bytes: Uint8Array, fields: Fields): Response {
  const type = fields["content-type"];
  const response = new Response(
    bytes as Uint8Array<ArrayBuffer>,
    init(200, type === undefined ? undefined : { "content-type": type }),
  );
  const headers = response.headers;
  for (const name in fields) if (name !== "content-type") headers.set(name, fields[name]);
  return response;
}
