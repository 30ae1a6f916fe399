/**
 * Raw-socket test utilities for the server tests: a client that writes bytes exactly as given
 * (at once, in pieces, or slowly) and parses the responses it reads with a tiny HTTP/1.1
 * response parser (Content-Length, chunked and close-delimited bodies), plus a server fixture.
 *
 * Every wait is bounded: a read that does not complete in time fails the test with what was
 * received so far, instead of hanging the run.
 *
 * @module
 */

import { type Handler, serve, type ServeOptions, type Server } from "../lib/mod.ts";

/** How long a single expectation may wait for the server before the test fails. */
export const WAIT_MS = 3_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of a string, one byte per char (ISO-8859-1, as HTTP heads are). */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

/** A string of bytes, one char per byte. */
export function fromLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds; fails with `what` after `timeout` ms. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeout = WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Settles like `promise`, or rejects with `what` after `timeout` ms. */
export async function within<T>(promise: Promise<T>, what: string, timeout = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeout} ms waiting for ${what}`)),
      timeout,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** One parsed response. */
export interface RawResponse {
  /** "1.1" or "1.0". */
  version: string;
  status: number;
  reason: string;
  /** Field lines in order, names lower-cased, values trimmed. */
  fields: [string, string][];
  /** The raw head, status line to the blank line included. */
  head: string;
  /** The decoded body. */
  body: Uint8Array;
  /** How the body was delimited. */
  framing: "none" | "length" | "chunked" | "close";
  /** Chunk sizes as sent (chunked bodies only, last chunk excluded). */
  chunks: number[];
  /** Trailer fields of a chunked body. */
  trailers: [string, string][];
}

/** The value of a field (repeated fields joined with ", "), or undefined. */
export function field(response: RawResponse, name: string): string | undefined {
  const values = response.fields.filter(([n]) => n === name).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(", ");
}

/** The body as UTF-8 text. */
export function text(response: RawResponse): string {
  return decoder.decode(response.body);
}

type ReadResult = { n: number | null } | { error: unknown };

/** A client on one raw TCP connection. Use with `await using`, or call {@link close}. */
export class RawClient {
  readonly conn: Deno.TcpConn;
  #buf = new Uint8Array(16 * 1024);
  #len = 0;
  #eof = false;
  /** The read in flight: a read that outlives a timeout is kept for the next fill. */
  #pending: Promise<ReadResult> | null = null;
  #scratch = new Uint8Array(64 * 1024);
  #closed = false;
  /** Whether the connection ended with a reset rather than a FIN. */
  reset = false;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    conn.setNoDelay(true); // pieces written apart must travel apart
  }

  static async connect(port: number): Promise<RawClient> {
    return new RawClient(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Writes all of `data` (a string is sent one byte per char). */
  async write(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? latin1(data) : data;
    let written = 0;
    while (written < bytes.length) written += await this.conn.write(bytes.subarray(written));
  }

  /** Writes `data` split at the given offsets, pausing `delay` ms between pieces. */
  async writeSplit(data: string | Uint8Array, offsets: number[], delay = 5): Promise<void> {
    const bytes = typeof data === "string" ? latin1(data) : data;
    let from = 0;
    for (const at of [...offsets, bytes.length]) {
      if (at > from) {
        await this.write(bytes.subarray(from, at));
        await sleep(delay);
      }
      from = Math.max(from, at);
    }
  }

  /** Writes `data` `size` bytes at a time, pausing `delay` ms between pieces. */
  async writeSlowly(data: string | Uint8Array, size = 1, delay = 1): Promise<void> {
    const bytes = typeof data === "string" ? latin1(data) : data;
    const offsets: number[] = [];
    for (let at = size; at < bytes.length; at += size) offsets.push(at);
    await this.writeSplit(bytes, offsets, delay);
  }

  /** Stops sending (TCP half-close); responses can still be read. */
  async closeWrite(): Promise<void> {
    await this.conn.closeWrite();
  }

  /** Bytes received and not yet parsed. */
  get buffered(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** Reads once more into the buffer. False at EOF; throws once `deadline` passes. */
  async #fill(deadline: number, what: () => string): Promise<boolean> {
    if (this.#eof) return false;
    this.#pending ??= this.conn.read(this.#scratch).then((n) => ({ n }), (error) => ({ error }));
    const left = deadline - Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const result = await Promise.race([
      this.#pending,
      new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), left)),
    ]);
    clearTimeout(timer);
    if (result === "timeout") {
      throw new Error(
        `timed out waiting for ${what()}; received so far: ${
          JSON.stringify(fromLatin1(this.buffered).slice(0, 600))
        }`,
      );
    }
    this.#pending = null;
    if ("error" in result) {
      if (
        result.error instanceof Deno.errors.ConnectionReset ||
        result.error instanceof Deno.errors.BrokenPipe
      ) {
        this.reset = true;
        this.#eof = true;
        return false;
      }
      throw result.error;
    }
    if (result.n === null) {
      this.#eof = true;
      return false;
    }
    const n = result.n;
    if (this.#len + n > this.#buf.length) {
      const bigger = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
      bigger.set(this.buffered);
      this.#buf = bigger;
    }
    this.#buf.set(this.#scratch.subarray(0, n), this.#len);
    this.#len += n;
    return true;
  }

  #take(n: number): Uint8Array {
    const out = this.#buf.slice(0, n);
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
    return out;
  }

  #indexOf(needle: string): number {
    const view = this.buffered;
    const first = needle.charCodeAt(0);
    outer: for (let i = view.indexOf(first); i !== -1; i = view.indexOf(first, i + 1)) {
      if (i + needle.length > view.length) return -1;
      for (let j = 1; j < needle.length; j++) {
        if (view[i + j] !== needle.charCodeAt(j)) continue outer;
      }
      return i;
    }
    return -1;
  }

  /** Reads a CRLF-terminated line (without the CRLF). */
  async #line(deadline: number, what: string): Promise<string> {
    let at: number;
    while ((at = this.#indexOf("\r\n")) === -1) {
      if (!await this.#fill(deadline, () => what)) throw new Error(`EOF inside ${what}`);
    }
    const line = fromLatin1(this.#take(at + 2)).slice(0, -2);
    if (line.includes("\n")) throw new Error(`bare LF inside ${what}: ${JSON.stringify(line)}`);
    return line;
  }

  async #exactly(n: number, deadline: number, what: string): Promise<Uint8Array> {
    while (this.#len < n) {
      if (!await this.#fill(deadline, () => `${what} (${this.#len} of ${n} bytes)`)) {
        throw new Error(`EOF inside ${what} (${this.#len} of ${n} bytes)`);
      }
    }
    return this.#take(n);
  }

  /**
   * Reads the next complete response. `head: true` says it answers a HEAD request, so it has
   * no body whatever its fields say (RFC 9112 §6.3).
   */
  async response(options: { head?: boolean; timeout?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (options.timeout ?? WAIT_MS);
    let end: number;
    while ((end = this.#indexOf("\r\n\r\n")) === -1) {
      if (!await this.#fill(deadline, () => "a response head")) {
        throw new Error(
          `connection closed before a response head; got ${
            JSON.stringify(fromLatin1(this.buffered))
          }`,
        );
      }
    }
    const head = fromLatin1(this.#take(end + 4));
    const [statusLine, ...lines] = head.slice(0, -4).split("\r\n");
    const status = /^HTTP\/(1\.[01]) ([1-5][0-9]{2}) ([^\r\n]*)$/.exec(statusLine);
    if (status === null) throw new Error(`malformed status line ${JSON.stringify(statusLine)}`);
    const fields: [string, string][] = [];
    for (const line of lines) {
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*$/.exec(line);
      if (m === null) throw new Error(`malformed field line ${JSON.stringify(line)}`);
      fields.push([m[1].toLowerCase(), m[2]]);
    }
    const response: RawResponse = {
      version: status[1],
      status: Number(status[2]),
      reason: status[3],
      fields,
      head,
      body: new Uint8Array(0),
      framing: "none",
      chunks: [],
      trailers: [],
    };
    const te = field(response, "transfer-encoding");
    const cl = field(response, "content-length");
    const code = response.status;
    if (options.head || code < 200 || code === 204 || code === 304) return response;
    if (te !== undefined) {
      if (cl !== undefined) {
        throw new Error("response has both Transfer-Encoding and Content-Length");
      }
      if (te.toLowerCase() !== "chunked") throw new Error(`unexpected transfer coding ${te}`);
      response.framing = "chunked";
      const parts: Uint8Array[] = [];
      for (;;) {
        const sizeLine = await this.#line(deadline, "a chunk-size line");
        const size = /^([0-9a-fA-F]+)(?:[ \t]*;.*)?$/.exec(sizeLine);
        if (size === null) throw new Error(`malformed chunk-size line ${JSON.stringify(sizeLine)}`);
        const n = parseInt(size[1], 16);
        if (n === 0) break;
        response.chunks.push(n);
        parts.push(await this.#exactly(n, deadline, "chunk data"));
        if (fromLatin1(await this.#exactly(2, deadline, "chunk data CRLF")) !== "\r\n") {
          throw new Error("chunk data not followed by CRLF");
        }
      }
      for (;;) {
        const line = await this.#line(deadline, "the trailer section");
        if (line === "") break;
        const colon = line.indexOf(":");
        response.trailers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
      }
      response.body = concat(parts);
    } else if (cl !== undefined) {
      if (!/^[0-9]+$/.test(cl)) throw new Error(`malformed Content-Length ${cl}`);
      response.framing = "length";
      response.body = await this.#exactly(Number(cl), deadline, "a Content-Length body");
    } else {
      response.framing = "close";
      while (await this.#fill(deadline, () => "the end of a close-delimited body")) {
        // until the server closes
      }
      response.body = this.#take(this.#len);
    }
    return response;
  }

  /** Reads `n` responses; `heads[i]` says response i answers a HEAD. */
  async responses(n: number, heads: boolean[] = []): Promise<RawResponse[]> {
    const out: RawResponse[] = [];
    for (let i = 0; i < n; i++) out.push(await this.response({ head: heads[i] }));
    return out;
  }

  /**
   * Waits until the server closes the connection and resolves with the bytes that came before
   * (none, when everything was parsed). Fails the test if it is still open after `timeout` ms.
   */
  async closedByServer(timeout = WAIT_MS): Promise<Uint8Array> {
    const deadline = Date.now() + timeout;
    while (await this.#fill(deadline, () => "the server to close the connection")) {
      // keep reading: a client that does not read could keep the server from closing
    }
    return this.#take(this.#len);
  }

  /** Reads until the received, not yet parsed bytes contain `needle` (they stay unparsed). */
  async until(needle: string, timeout = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeout;
    while (this.#indexOf(needle) === -1) {
      if (!await this.#fill(deadline, () => JSON.stringify(needle))) {
        throw new Error(`EOF before ${JSON.stringify(needle)}`);
      }
    }
  }

  /** Resolves true if nothing arrives for `ms` ms, false if bytes (or EOF) arrive. */
  async quietFor(ms: number): Promise<boolean> {
    if (this.#len > 0 || this.#eof) return false;
    try {
      await this.#fill(Date.now() + ms, () => "");
      return false;
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("timed out")) return true;
      throw error;
    }
  }

  /** Closes the socket and waits for a read in flight to end, so no op outlives the test. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#pending;
    this.#pending = null;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** UTF-8 bytes. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A server on 127.0.0.1 and a free port, quiet on start-up. */
export function start(handler: Handler, options: Partial<ServeOptions> = {}): Server {
  return serve({ hostname: "127.0.0.1", port: 0, onListen() {}, ...options }, handler);
}

/** Shuts `server` down, failing if that takes longer than `timeout` ms. */
export async function stop(server: Server, timeout = WAIT_MS): Promise<void> {
  await within(server.shutdown(), "the server to shut down", timeout);
}

/** Runs `fn` against a fresh server, then shuts it down whatever happened. */
export async function withServer(
  handler: Handler,
  fn: (port: number, server: Server) => Promise<void>,
  options: Partial<ServeOptions> = {},
): Promise<void> {
  const server = start(handler, options);
  try {
    await fn(server.addr.port, server);
  } finally {
    await stop(server);
  }
}

/** Runs `fn` with console.error silenced, collecting what would have been printed. */
export async function quietErrors<T>(fn: (logged: unknown[][]) => Promise<T>): Promise<T> {
  const original = console.error;
  const logged: unknown[][] = [];
  console.error = (...args: unknown[]) => logged.push(args);
  try {
    return await fn(logged);
  } finally {
    console.error = original;
  }
}
