/**
 * A streaming `multipart/form-data` reader (RFC 7578 on RFC 2046 §5.1): parts come one at a
 * time, each body as chunks read from the request as the caller asks for them, so a 1 GB upload
 * passes through a buffer of about one network read plus the delimiter, never whole. Bounded:
 * a part's header section (8 KiB), the number of parts (1,000) and the preamble (64 KiB).
 *
 * `request.formData()` would have been shorter, but it keeps every file in memory before the
 * handler sees any of it.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder(); // browsers send UTF-8 names (HTML's form encoding algorithm)

/** A multipart body that breaks the grammar or a bound: the upload answers 400. */
export class MultipartError extends Error {
  override name = "MultipartError";
}

/** Bounds on what a multipart body may make us hold. */
export interface MultipartLimits {
  /** Bytes of one part's header section. @default {8192} */
  maxHeaderBytes?: number;
  /** Parts in one body. @default {1000} */
  maxParts?: number;
  /** Bytes before the first delimiter. @default {65536} */
  maxPreambleBytes?: number;
}

/** One part: its header fields, the form field's name and file name, and its body. */
export interface MultipartPart {
  headers: Headers;
  /** The `name` parameter of Content-Disposition (null without one). */
  name: string | null;
  /** The `filename` parameter (null: not a file). */
  filename: string | null;
  /** The body, chunk by chunk; null at its end. Read it before asking for the next part. */
  read(): Promise<Uint8Array | null>;
}

/**
 * The boundary of a `multipart/form-data` Content-Type (RFC 2046 §5.1.1: 1 to 70 characters of
 * its set, the last not a space), or null when the type is not multipart/form-data or has none.
 */
export function boundaryOf(contentType: string | null): string | null {
  if (contentType === null) return null;
  const [type, ...params] = contentType.split(";");
  if (type.trim().toLowerCase() !== "multipart/form-data") return null;
  for (const param of params) {
    const eq = param.indexOf("=");
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== "boundary") continue;
    let value = param.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1);
    }
    return /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(value) ? value : null;
  }
  return null;
}

/**
 * The parameters of a Content-Disposition field value (`form-data; name="a"; filename="b.txt"`),
 * by lower-case name. Quoted strings may hold `\"`; browsers write a `"` in a name as `%22`
 * (HTML's algorithm), which is decoded for `filename` and `name`.
 */
export function dispositionParams(value: string): Map<string, string> {
  const params = new Map<string, string>();
  let i = value.indexOf(";");
  if (i < 0) return params;
  while (i < value.length) {
    i++; // past ";"
    while (value[i] === " " || value[i] === "\t") i++;
    const eq = value.indexOf("=", i);
    if (eq < 0) break;
    const name = value.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let text = "";
    if (value[i] === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        if (value[i] === "\\" && i + 1 < value.length) i++;
        text += value[i++];
      }
      i++; // past the closing quote
      const semi = value.indexOf(";", i);
      i = semi < 0 ? value.length : semi;
    } else {
      const semi = value.indexOf(";", i);
      text = value.slice(i, semi < 0 ? value.length : semi).trim();
      i = semi < 0 ? value.length : semi;
    }
    if (!params.has(name)) params.set(name, text.replaceAll("%22", '"'));
  }
  return params;
}

/** Index of `needle` in `haystack` from `from`, or -1. */
function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  for (
    let i = haystack.indexOf(first, from);
    i >= 0 && i <= last;
    i = haystack.indexOf(first, i + 1)
  ) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

const CRLF = encoder.encode("\r\n");
const CRLFCRLF = encoder.encode("\r\n\r\n");

/**
 * Reads the parts of a multipart body one after the other.
 *
 * @example
 * ```ts
 * import { MultipartReader } from "./multipart.ts";
 * const body = new Blob([
 *   '--XX\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhello\r\n--XX--\r\n',
 * ]).stream();
 * const reader = new MultipartReader(body, "XX");
 * const part = await reader.next(); // part.filename === "a.txt"
 * ```
 */
export class MultipartReader {
  readonly #source: ReadableStreamDefaultReader<Uint8Array>;
  /** "\r\n--boundary": what ends a part's body. */
  readonly #delimiter: Uint8Array;
  readonly #limits: Required<MultipartLimits>;
  /** Bytes read and not yet consumed; a CRLF is put in front so the first delimiter matches. */
  #buffer: Uint8Array = CRLF;
  #pos = 0;
  #eof = false;
  /** Where the next byte is: before the first delimiter, in a part's header section or body,
   * just past a delimiter, or past the last one. */
  #state: "start" | "headers" | "body" | "between" | "done" = "start";
  #parts = 0;

  constructor(body: ReadableStream<Uint8Array>, boundary: string, limits: MultipartLimits = {}) {
    this.#source = body.getReader();
    this.#delimiter = encoder.encode(`\r\n--${boundary}`);
    this.#limits = {
      maxHeaderBytes: limits.maxHeaderBytes ?? 8192,
      maxParts: limits.maxParts ?? 1000,
      maxPreambleBytes: limits.maxPreambleBytes ?? 65536,
    };
  }

  /** Reads more into the buffer; false at the end of the body. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const { value, done } = await this.#source.read();
    if (done) {
      this.#eof = true;
      return false;
    }
    const rest = this.#buffer.length - this.#pos;
    const next = new Uint8Array(rest + value.length);
    next.set(this.#buffer.subarray(this.#pos), 0);
    next.set(value, rest);
    this.#buffer = next;
    this.#pos = 0;
    return true;
  }

  /** Past a delimiter: "--" ends the body; else transport padding and CRLF start a part. */
  async #afterDelimiter(): Promise<boolean> {
    for (;;) {
      const b = this.#buffer;
      let i = this.#pos;
      if (b.length - i >= 2 && b[i] === 0x2d && b[i + 1] === 0x2d) {
        this.#state = "done";
        return false;
      }
      while (i < b.length && (b[i] === 0x20 || b[i] === 0x09)) i++;
      if (b.length - i >= 2) {
        if (b[i] !== 0x0d || b[i + 1] !== 0x0a) throw new MultipartError("bad delimiter line");
        this.#pos = i + 2;
        this.#state = "headers";
        return true;
      }
      if (i - this.#pos > 256) throw new MultipartError("bad delimiter line");
      if (!await this.#fill()) throw new MultipartError("body ends inside a delimiter");
    }
  }

  /** The next part, or null after the last one. An unread body of the previous part is skipped. */
  async next(): Promise<MultipartPart | null> {
    while (this.#state === "body") await this.#readBody();
    if (this.#state === "start") {
      for (;;) {
        const at = indexOf(this.#buffer, this.#delimiter, this.#pos);
        if (at >= 0) {
          this.#pos = at + this.#delimiter.length;
          this.#state = "between";
          break;
        }
        if (this.#buffer.length > this.#limits.maxPreambleBytes) {
          throw new MultipartError("no boundary in the body");
        }
        if (!await this.#fill()) throw new MultipartError("no boundary in the body");
      }
    }
    if (this.#state === "between" && !await this.#afterDelimiter()) return null;
    if (this.#state === "done") return null;
    if (++this.#parts > this.#limits.maxParts) throw new MultipartError("too many parts");
    const headers = await this.#readHeaders();
    this.#state = "body";
    const params = dispositionParams(headers.get("content-disposition") ?? "");
    return {
      headers,
      name: params.get("name") ?? null,
      filename: params.get("filename") ?? null,
      read: () => this.#state === "body" ? this.#readBody() : Promise.resolve(null),
    };
  }

  async #readHeaders(): Promise<Headers> {
    for (;;) {
      const b = this.#buffer;
      // No header fields at all: the blank line comes at once.
      if (b.length - this.#pos >= 2 && b[this.#pos] === 0x0d && b[this.#pos + 1] === 0x0a) {
        this.#pos += 2;
        return new Headers();
      }
      const end = indexOf(b, CRLFCRLF, this.#pos);
      if (end - this.#pos > this.#limits.maxHeaderBytes) {
        throw new MultipartError("part header too large");
      }
      if (end >= 0) {
        const text = decoder.decode(b.subarray(this.#pos, end));
        this.#pos = end + 4;
        const headers = new Headers();
        for (const line of text.split("\r\n")) {
          const colon = line.indexOf(":");
          if (colon <= 0) throw new MultipartError("bad part header");
          try {
            headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
          } catch {
            throw new MultipartError("bad part header");
          }
        }
        return headers;
      }
      if (b.length - this.#pos > this.#limits.maxHeaderBytes) {
        throw new MultipartError("part header too large");
      }
      if (!await this.#fill()) throw new MultipartError("body ends inside a part header");
    }
  }

  /** The next chunk of the current part's body; null at its delimiter. */
  async #readBody(): Promise<Uint8Array | null> {
    for (;;) {
      const b = this.#buffer;
      const at = indexOf(b, this.#delimiter, this.#pos);
      if (at >= 0) {
        const chunk = b.subarray(this.#pos, at);
        this.#pos = at + this.#delimiter.length;
        this.#state = "between";
        if (chunk.length > 0) return chunk;
        return null;
      }
      // What cannot be the start of a delimiter is body.
      const safe = b.length - (this.#delimiter.length - 1);
      if (safe > this.#pos) {
        const chunk = b.subarray(this.#pos, safe);
        this.#pos = safe;
        return chunk;
      }
      if (!await this.#fill()) throw new MultipartError("body ends inside a part");
    }
  }
}
