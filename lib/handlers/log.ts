/**
 * Access logs: one line per request in NCSA common or combined format, JSON lines, or a short
 * coloured line for terminals. Lines written to stdout are batched: one write per event-loop
 * turn (or per 16 KiB), so logging does not cost a system call per request.
 *
 * @module
 */

import { MONTHS } from "../h1/date.ts";
import type { ExchangeRecord } from "../shared/types.ts";
import { clientAddress, TrustedProxies } from "./clientip.ts";

/** The formats {@link createAccessLogger} writes. */
export type LogFormat = "pretty" | "common" | "combined" | "json";

const FORMATS: readonly LogFormat[] = ["pretty", "common", "combined", "json"];

/** Options for {@link createAccessLogger}. */
export interface AccessLoggerOptions {
  /** The line format. */
  format: LogFormat;
  /** Where lines go, without a newline. @default batched writes to stdout */
  write?: (line: string) => void;
  /** Proxies whose forwarding headers name the client (see `clientAddress`). @default none */
  trusted?: TrustedProxies;
  /** The time of an entry (tests inject one). @default {() => new Date()} */
  now?: () => Date;
  /** Colour the `pretty` format with ANSI escapes. @default true unless NO_COLOR is set */
  color?: boolean;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

let clfSecond = NaN;
let clfValue = "";
/** `10/Oct/2000:13:55:36 +0000`, in UTC; formatted at most once a second under load. */
function clfTime(date: Date): string {
  const second = Math.floor(date.getTime() / 1000);
  if (second !== clfSecond) {
    clfSecond = second;
    clfValue = `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/` +
      `${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:` +
      `${pad(date.getUTCSeconds())} +0000`;
  }
  return clfValue;
}

const encoder = new TextEncoder();

// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE = /[\x00-\x1f"\\\x7f-\xff]|[\ud800-\udbff][\udc00-\udfff]|[\u0100-\uffff]/g;

/**
 * Escapes text taken from a request so it cannot leave its quotes or forge a log line, as
 * Apache does: `"` and `\` get a backslash, control bytes and bytes past ASCII become `\xHH`.
 * Header values and targets arrive as Latin-1 (one character per byte), so `\xHH` shows the
 * byte that was sent; wider characters are shown as their UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { escapeField } from "./log.ts";
 * escapeField('curl" "x\n'); // 'curl\\" \\"x\\x0a'
 * ```
 */
export function escapeField(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === '"' || c === "\\") return `\\${c}`;
    const code = c.charCodeAt(0);
    if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
    let out = "";
    for (const byte of encoder.encode(c)) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    return out;
  });
}

const COLORS = { dim: "\x1b[2m", reset: "\x1b[0m" };

/** 2xx green, 3xx cyan, 4xx yellow, 5xx red; 1xx plain. */
function statusColor(status: number): string {
  if (status >= 500) return "\x1b[31m";
  if (status >= 400) return "\x1b[33m";
  if (status >= 300) return "\x1b[36m";
  if (status >= 200) return "\x1b[32m";
  return "";
}

function humanBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function humanDuration(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/**
 * Formats one exchange as a log line (without the newline).
 *
 * - `common`: NCSA Common Log Format, `host ident authuser [time] "request" status bytes`, with
 *   the time in UTC and `-` for no body;
 * - `combined`: common, then `"referer" "user-agent"`;
 * - `json`: one object with `time` (ISO 8601), `remote`, `method`, `target`, `version`,
 *   `status`, `bytes`, `duration_ms`, `referer` and `user_agent`;
 * - `pretty`: local `HH:MM:SS`, method, target, status coloured by class, duration, size.
 *
 * @param client the client's address, as `clientAddress` resolved it
 * @param color colour the `pretty` format (ANSI escapes); the others never are
 *
 * @example
 * ```ts
 * import { formatEntry } from "./log.ts";
 * const line = formatEntry("common", {
 *   request: null, method: "GET", target: "/", minorVersion: 1, status: 200, bytes: 5,
 *   remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 }, duration: 1,
 * }, "127.0.0.1", new Date(0));
 * // 127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/1.1" 200 5
 * ```
 */
export function formatEntry(
  format: LogFormat,
  record: ExchangeRecord,
  client: string,
  time: Date,
  color: boolean = !Deno.noColor,
): string {
  const version = record.protocol === "HTTP/2" ? "HTTP/2.0" : `HTTP/1.${record.minorVersion}`;
  // A request refused before its head could be parsed has no request line to show.
  const requestLine = record.method === ""
    ? "-"
    : escapeField(`${record.method} ${record.target} ${version}`);
  switch (format) {
    case "common":
    case "combined": {
      const bytes = record.bytes > 0 ? String(record.bytes) : "-";
      const line = `${escapeField(client)} - - [${clfTime(time)}] ` +
        `"${requestLine}" ${record.status} ${bytes}`;
      if (format === "common") return line;
      const referer = record.request?.headers.get("referer") || "-";
      const agent = record.request?.headers.get("user-agent") || "-";
      return `${line} "${escapeField(referer)}" "${escapeField(agent)}"`;
    }
    case "json":
      // JSON.stringify escapes quotes, controls and lone surrogates: a line stays one line.
      return JSON.stringify({
        time: time.toISOString(),
        remote: client,
        method: record.method,
        target: record.target,
        version,
        status: record.status,
        bytes: record.bytes,
        duration_ms: Math.round(record.duration * 1000) / 1000,
        referer: record.request?.headers.get("referer") ?? "",
        user_agent: record.request?.headers.get("user-agent") ?? "",
      });
    case "pretty": {
      const clock = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
      const tail = `${humanDuration(record.duration)} ${humanBytes(record.bytes)}`;
      const what = record.method === ""
        ? "-"
        : `${escapeField(record.method)} ${escapeField(record.target)}`;
      if (!color) return `${clock} ${what} ${record.status} ${tail}`;
      const status = statusColor(record.status);
      return `${COLORS.dim}${clock}${COLORS.reset} ${what} ` +
        `${status}${record.status}${status && COLORS.reset} ${COLORS.dim}${tail}${COLORS.reset}`;
    }
    default:
      throw new TypeError(`unknown log format: ${format}`);
  }
}

// Batched stdout: lines gather in `pending` and go out as one write per macrotask (or as soon
// as 16 KiB are waiting). One write is in flight at a time; lines logged meanwhile join the next.
const BATCH_BYTES = 16 * 1024;
/** Waiting bytes past which lines are dropped: a stalled stdout must not grow memory forever. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/**
 * `--workers` isolates share one stdout. A pipe (journald, Docker) keeps writes of up to
 * PIPE_BUF bytes whole, but may interleave longer ones byte by byte with another writer's: in a
 * worker, batches go out in pieces of at most PIPE_BUF that end at a line end.
 */
const IN_WORKER = "WorkerGlobalScope" in globalThis;
const PIPE_BUF = 4096;
const NEWLINE = 0x0a;
let pending: string[] = [];
let pendingBytes = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let inFlight: Promise<void> | null = null;
let dropped = 0;
let broken = false;

function stdoutLine(line: string): void {
  if (broken) return;
  if (pendingBytes >= MAX_PENDING_BYTES) {
    dropped++;
    return;
  }
  pending.push(line);
  pendingBytes += line.length + 1;
  if (inFlight !== null) return; // the running write loop takes it next
  if (pendingBytes >= BATCH_BYTES) startWriting();
  else timer ??= setTimeout(startWriting, 0);
}

function startWriting(): void {
  clearTimeout(timer);
  timer = undefined;
  if (inFlight === null && pending.length > 0) inFlight = writeLoop();
}

async function writeAll(bytes: Uint8Array): Promise<void> {
  for (let n = 0; n < bytes.length;) n += await Deno.stdout.write(bytes.subarray(n));
}

async function writeLoop(): Promise<void> {
  try {
    while (pending.length > 0) {
      const bytes = encoder.encode(pending.join("\n") + "\n");
      pending = [];
      pendingBytes = 0;
      if (!IN_WORKER) await writeAll(bytes);
      else {
        for (let start = 0, end; start < bytes.length; start = end) {
          end = start + PIPE_BUF >= bytes.length
            ? bytes.length
            : bytes.lastIndexOf(NEWLINE, start + PIPE_BUF - 1) + 1;
          // A single line longer than PIPE_BUF cannot be atomic: write it whole at least.
          if (end <= start) end = bytes.indexOf(NEWLINE, start) + 1 || bytes.length;
          await writeAll(bytes.subarray(start, end));
        }
      }
      if (dropped > 0) {
        console.error(`tcp-http: ${dropped} access log lines dropped: stdout was not keeping up`);
        dropped = 0;
      }
    }
  } catch {
    // stdout is gone (a closed pipe): logging stops, serving goes on.
    broken = true;
    pending = [];
    pendingBytes = 0;
  } finally {
    inFlight = null;
  }
}

/**
 * Writes out every access log line batched for stdout; resolves once they are written. Call it
 * before the process exits, or the last few lines may be lost.
 *
 * @example
 * ```ts
 * import { flush } from "./log.ts";
 * // after `await server.finished`, before `Deno.exit()`:
 * await flush();
 * ```
 */
export async function flush(): Promise<void> {
  startWriting();
  while (inFlight !== null) await inFlight;
}

/**
 * The same as {@link flush} (the name the CLI uses).
 *
 * @example
 * ```ts
 * import { flushLog } from "./log.ts";
 * await flushLog();
 * ```
 */
export const flushLog: () => Promise<void> = flush;

/**
 * An `onExchange` hook for `serve()` that logs each answered request. With `trusted` proxies
 * the logged address is the forwarded client's (see `clientAddress`). A throwing `write` is
 * reported once on stderr and never disturbs the connection.
 *
 * @example
 * ```ts
 * import { serve } from "../mod.ts";
 * import { createAccessLogger, flush } from "./log.ts";
 * const server = serve(
 *   { port: 8080, onExchange: createAccessLogger({ format: "combined" }) },
 *   () => new Response("ok"),
 * );
 * await server.finished;
 * await flush();
 * ```
 */
export function createAccessLogger(
  options: AccessLoggerOptions,
): (record: ExchangeRecord) => void {
  const { format } = options;
  if (!FORMATS.includes(format)) throw new TypeError(`unknown log format: ${format}`);
  const write = options.write ?? stdoutLine;
  const trusted = options.trusted ?? new TrustedProxies();
  const now = options.now ?? (() => new Date());
  const color = format === "pretty" && (options.color ?? !Deno.noColor);
  let reported = false;
  return (record) => {
    try {
      const client = record.request !== null && !trusted.empty
        ? clientAddress(record.request, record.remoteAddr, trusted)
        : record.remoteAddr.hostname;
      write(formatEntry(format, record, client, now(), color));
    } catch (error) {
      if (!reported) {
        reported = true;
        console.error("tcp-http: access log failed:", error);
      }
    }
  };
}
