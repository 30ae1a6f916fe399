/**
 * Which representation of a file a request gets (RFC 9110 §12): the content codings its
 * `Accept-Encoding` takes, best first (§12.5.3), a fresh precompressed sibling (`x.js.br`,
 * `x.js.gz`) or compression on the fly; and whether its `Accept` takes HTML, for the SPA
 * fallback.
 *
 * @module
 */

import { trimOws } from "../h1/grammar.ts";
import { SMALL_FILE } from "./cache.ts";
import { BROTLI_STREAMS, type Coding } from "./compress.ts";
import { allowed, type Guard } from "./paths.ts";
import { statOrNull } from "./stat.ts";

/** Smaller responses are not worth compressing: the gain is smaller than a packet. */
const COMPRESS_MIN = 1024;

/** Preference among equally weighted codings: brotli is smaller, gzip understood everywhere. */
const PREFERENCE: readonly Coding[] = ["br", "gzip"];

/**
 * A list element's name and parameters, split on ";" with OWS trimmed (§5.6.3: SP and HTAB
 * only) and lower-cased.
 */
function element(text: string): string[] {
  return text.split(";").map((s) => trimOws(s).toLowerCase());
}

/**
 * The content codings a request accepts, best first: those with a non-zero q-value, ranked by it
 * (brotli before gzip on a tie), and never below an explicitly weighted `identity` (RFC 9110
 * §12.5.3). `*` stands for any coding not named. No header means no coding.
 *
 * @example
 * ```ts
 * import { acceptedCodings } from "./negotiate.ts";
 * acceptedCodings("gzip, deflate, br, zstd"); // ["br", "gzip"]
 * acceptedCodings("br;q=0.5, gzip"); // ["gzip", "br"]
 * acceptedCodings("gzip;q=0.5, identity"); // [] (identity is preferred)
 * acceptedCodings(null); // []
 * ```
 */
export function acceptedCodings(header: string | null): Coding[] {
  if (header === null) return [];
  const weights = new Map<string, number>();
  for (const text of header.split(",")) {
    const [raw, ...params] = element(text);
    if (raw === "") continue;
    const name = raw === "x-gzip" ? "gzip" : raw; // the same coding (RFC 9110 §8.4.1.3)
    let q = 1;
    for (const param of params) {
      const [key, value = ""] = param.split("=").map(trimOws);
      // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (RFC 9110 §12.4.2); a
      // malformed one counts as 0, the safe reading.
      if (key === "q") q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(value) ? Number(value) : 0;
    }
    // The same coding twice: take the first, as most servers do.
    if (!weights.has(name)) weights.set(name, q);
  }
  const weight = (name: string) => weights.get(name) ?? weights.get("*");
  // identity is acceptable unless excluded; its weight matters only when the client gave one.
  const identity = weights.get("identity") ?? weights.get("*");
  return PREFERENCE
    .filter((coding) => {
      const q = weight(coding) ?? 0;
      return q > 0 && (identity === undefined || q >= identity);
    })
    .sort((a, b) => (weight(b) ?? 0) - (weight(a) ?? 0));
}

/**
 * Whether the request refuses an unencoded response (`identity;q=0`, or `*;q=0` without a
 * weight for identity). Such a client gets a compressed response even below the size threshold.
 *
 * @example
 * ```ts
 * import { refusesIdentity } from "./negotiate.ts";
 * refusesIdentity("gzip, identity;q=0"); // true
 * refusesIdentity("gzip, br"); // false
 * ```
 */
export function refusesIdentity(header: string | null): boolean {
  if (header === null) return false;
  let star: boolean | undefined;
  for (const text of header.split(",")) {
    const [name, ...params] = element(text);
    const zero = params.some((p) => /^q[ \t]*=[ \t]*0(?:\.0{0,3})?$/.test(p));
    if (name === "identity") return zero;
    if (name === "*") star ??= zero;
  }
  return star === true;
}

/**
 * Whether `Accept` takes HTML (`text/html` as one of its media ranges, parameters aside), as a
 * browser navigation's does and a script's, image's or fetch's does not (RFC 9110 §12.5.1).
 */
export function acceptsHtml(request: Request): boolean {
  const accept = request.headers.get("accept");
  if (accept === null) return false;
  for (const text of accept.split(",")) {
    const semicolon = text.indexOf(";");
    const range = trimOws(semicolon < 0 ? text : text.slice(0, semicolon));
    if (range.toLowerCase() === "text/html") return true;
  }
  return false;
}

/** What is sent for a file: the file itself, a precompressed sibling, or either compressed now. */
export interface Representation {
  path: string;
  info: Deno.FileInfo;
  coding: Coding | null;
  onTheFly: boolean;
}

/**
 * Picks the representation by Accept-Encoding (RFC 9110 §12.5.3): for each acceptable coding,
 * best first, a fresh precompressed sibling, else compression on the fly (gzip; brotli only for
 * small files, which are compressed once and cached). Ranges apply to a sibling's bytes but are
 * never compressed on the fly. Siblings go through `guard`, as every path opened does.
 */
export function selectRepresentation(
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
 * The coding for a body made in memory (a listing, a page with a script injected), chosen as
 * {@link selectRepresentation} chooses one for a file compressed on the fly: the request's best
 * acceptable coding, when the body is worth compressing (1 KiB or more, or identity refused);
 * brotli only up to the small-file size. Null: send it as it is.
 *
 * @example
 * ```ts
 * import { bodyCoding } from "./negotiate.ts";
 * const request = new Request("http://x/", { headers: { "accept-encoding": "gzip" } });
 * bodyCoding(request, 5000); // "gzip"
 * bodyCoding(request, 100); // null
 * ```
 */
export function bodyCoding(request: Request, size: number): Coding | null {
  const header = request.headers.get("accept-encoding");
  if (size < COMPRESS_MIN && !refusesIdentity(header)) return null;
  for (const coding of acceptedCodings(header)) {
    if (coding === "gzip" || (BROTLI_STREAMS && size <= SMALL_FILE)) return coding;
  }
  return null;
}
