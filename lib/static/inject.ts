/**
 * HTML changed or made in memory: a snippet (live reload's script) put into an HTML file before
 * `</body>`, and such bodies compressed as files are (negotiate.ts picks the coding, compress.ts
 * compresses), with their own validator and an exact length. Only whole HTML bodies are changed:
 * never another type, a range or a precompressed sibling.
 *
 * @module
 */

import { compressBytes } from "./compress.ts";
import { etagOf, evaluatePreconditions, lastModifiedOf } from "./conditional.ts";
import type { Fields } from "./fields.ts";
import { bodyCoding } from "./negotiate.ts";
import type { FileOptions } from "./options.ts";

const encoder = new TextEncoder();

/** Bigger HTML files are served as they are: an injected page is read whole into memory. */
export const INJECT_MAX = 8 * 1024 * 1024;

/** Whether a Content-Type is HTML (`text/html`, parameters aside). */
export function isHtml(type: string): boolean {
  return /^text\/html[ \t]*(?:;|$)/i.test(type);
}

/** The bytes of `</body` and `</html`, lower case, to find case-insensitively. */
const BODY_END = encoder.encode("</body");
const HTML_END = encoder.encode("</html");

/** The last index of `needle` in `bytes`, ASCII letters compared case-insensitively; -1 if none. */
function lastIndexOfTag(bytes: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = bytes.length - needle.length; i >= 0; i--) {
    for (let j = 0; j < needle.length; j++) {
      const b = bytes[i + j];
      if ((b >= 0x41 && b <= 0x5a ? b | 0x20 : b) !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * `html` with `snippet` put before its last `</body`, else its last `</html`, else at the end (a
 * fragment without either still runs the script). The page's bytes are not decoded: the tags are
 * ASCII in every charset a browser accepts for HTML.
 *
 * @example
 * ```ts
 * import { injectSnippet } from "./inject.ts";
 * const page = new TextEncoder().encode("<p>hi</p></BODY></html>");
 * new TextDecoder().decode(injectSnippet(page, "<script></script>"));
 * // "<p>hi</p><script></script></BODY></html>"
 * ```
 */
export function injectSnippet(html: Uint8Array, snippet: string): Uint8Array<ArrayBuffer> {
  const extra = encoder.encode(snippet);
  let at = lastIndexOfTag(html, BODY_END);
  if (at < 0) at = lastIndexOfTag(html, HTML_END);
  if (at < 0) at = html.length;
  const out = new Uint8Array(html.length + extra.length);
  out.set(html.subarray(0, at), 0);
  out.set(extra, at);
  out.set(html.subarray(at), at + extra.length);
  return out;
}

/** A short hash of the snippet, so a page's ETag changes when the script does. */
function snippetTag(snippet: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < snippet.length; i++) h = Math.imul(h ^ snippet.charCodeAt(i), 0x01000193);
  return `i${(h >>> 0).toString(36)}`;
}

/**
 * A body made or changed in memory, compressed as the request negotiates when `compress` (with
 * `Vary: Accept-Encoding`): the body to send and its coding. The coding is chosen first
 * ({@link bodyCoding}) so that validators can depend on it.
 */
export async function encodeBody(
  bytes: Uint8Array<ArrayBuffer>,
  coding: "br" | "gzip" | null,
): Promise<Uint8Array<ArrayBuffer>> {
  return coding === null ? bytes : await compressBytes(bytes, coding);
}

/**
 * The HTML file at `path` (already checked by the caller, `info` its stat) with
 * `options.htmlSnippet` injected: 200 with the whole page (a Range is ignored, as RFC 9110 §14.2
 * allows, and `Accept-Ranges: none` says so), its own strong ETag (the file's, the snippet's
 * hash and the coding), preconditions as for any file, compressed on the fly as negotiated.
 */
export async function injectedFile(
  request: Request,
  path: string,
  info: Deno.FileInfo,
  type: string,
  options: FileOptions,
): Promise<Response> {
  const snippet = options.htmlSnippet ?? "";
  const compress = options.compress !== false;
  const coding = compress ? bodyCoding(request, info.size + snippet.length) : null;
  const headers: Fields = {
    "content-type": type,
    "accept-ranges": "none",
    "last-modified": lastModifiedOf(info),
  };
  if (compress) headers["vary"] = "Accept-Encoding";
  if (options.cacheControl) headers["cache-control"] = options.cacheControl;
  if (coding) headers["content-encoding"] = coding;
  const etag = options.etag === false
    ? null
    : etagOf(info, coding ? `${snippetTag(snippet)}-${coding}` : snippetTag(snippet));
  if (etag) headers["etag"] = etag;

  const precondition = evaluatePreconditions(request, etag, info.mtime ?? new Date(0));
  if (precondition === 304) {
    for (const name of ["content-type", "content-encoding", "accept-ranges"]) delete headers[name];
    return new Response(null, { status: 304, headers });
  }
  if (precondition === 412) {
    return new Response("412 Precondition Failed\n", {
      status: 412,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  const page = injectSnippet(await Deno.readFile(path), snippet);
  const body = await encodeBody(page, coding);
  headers["content-length"] = String(body.length);
  return new Response(request.method === "HEAD" ? null : body, { headers });
}
