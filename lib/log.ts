/**
 * Access logs: one line per request in NCSA common or combined format, JSON lines, or a short
 * coloured line for terminals. Lines are batched into one stdout write per event-loop turn, so
 * logging does not cost a system call per request.
 *
 * @module
 */

import type { ExchangeRecord } from "./connection.ts";
import { clientAddress, TrustedProxies } from "./clientip.ts";

/** The formats {@link createAccessLogger} writes. */
export type LogFormat = "pretty" | "common" | "combined" | "json";

/** Options for {@link createAccessLogger}. */
export interface AccessLoggerOptions {
  /** The line format. */
  format: LogFormat;
  /** Where lines go (without a newline). @default batched writes to stdout */
  write?: (line: string) => void;
  /** Proxies whose forwarding headers name the client. @default none */
  trusted?: TrustedProxies;
  /** The time of the entry (tests inject one). @default {() => new Date()} */
  now?: () => Date;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

/** `10/Oct/2000:13:55:36 +0000`, in UTC. */
function clfTime(date: Date): string {
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/**
 * Escapes a field taken from the request so it cannot break out of its quotes or forge a line:
 * `"` and `\` are backslash-escaped, control and non-ASCII characters become `\xHH`.
 */
export function escapeField(text: string): string {
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  return text.replace(/[\x00-\x1f"\\\x7f-\uffff]/g, (c) => {
    if (c === '"' || c === "\\") return `\\${c}`;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : encodeURIComponent(c);
  });
}

/**
 * Formats one exchange as a log line.
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
): string {
  const version = `HTTP/1.${record.minorVersion}`;
  const requestLine = escapeField(`${record.method} ${record.target} ${version}`);
  const referer = record.request?.headers.get("referer") ?? "";
  const agent = record.request?.headers.get("user-agent") ?? "";
  switch (format) {
    case "json":
      return JSON.stringify({
        time: time.toISOString(),
        remote: client,
        method: record.method,
        target: record.target,
        version,
        status: record.status,
        bytes: record.bytes,
        duration_ms: Math.round(record.duration * 1000) / 1000,
        referer,
        user_agent: agent,
      });
    case "pretty": {
      const color = Deno.noColor
        ? ""
        : record.status >= 500
        ? "\x1b[31m"
        : record.status >= 400
        ? "\x1b[33m"
        : record.status >= 300
        ? "\x1b[36m"
        : "\x1b[32m";
      const reset = color ? "\x1b[0m" : "";
      const clock = time.toISOString().slice(11, 19);
      return `${clock} ${escapeField(record.method)} ${escapeField(record.target)} ` +
        `${color}${record.status}${reset} ${record.duration.toFixed(1)} ms ${record.bytes} B`;
    }
    case "common":
    case "combined": {
      const bytes = record.bytes > 0 ? String(record.bytes) : "-";
      const line = `${client} - - [${clfTime(time)}] "${requestLine}" ${record.status} ${bytes}`;
      if (format === "common") return line;
      return `${line} "${escapeField(referer || "-")}" "${escapeField(agent || "-")}"`;
    }
  }
}

const encoder = new TextEncoder();
let pending: string[] = [];
let pendingBytes = 0;
let scheduled = false;
let writing: Promise<void> = Promise.resolve();

function writeOut(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const text = pending.join("\n") + "\n";
  pending = [];
  pendingBytes = 0;
  const bytes = encoder.encode(text);
  writing = writing.then(async () => {
    let written = 0;
    while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
  }).catch(() => {});
}

function stdoutLine(line: string): void {
  pending.push(line);
  pendingBytes += line.length + 1;
  if (pendingBytes >= 16 * 1024) writeOut();
  else if (!scheduled) {
    scheduled = true;
    setTimeout(writeOut, 0);
  }
}

/** Writes out every batched log line; call before exiting. */
export async function flushLog(): Promise<void> {
  writeOut();
  await writing;
}

/**
 * An `onExchange` hook for `serve()` that logs each request.
 *
 * @example
 * ```ts
 * import { serve } from "./mod.ts";
 * import { createAccessLogger } from "./log.ts";
 * serve({ port: 8080, onExchange: createAccessLogger({ format: "combined" }) }, () => new Response("ok"));
 * ```
 */
export function createAccessLogger(options: AccessLoggerOptions): (record: ExchangeRecord) => void {
  const write = options.write ?? stdoutLine;
  const trusted = options.trusted ?? new TrustedProxies();
  const now = options.now ?? (() => new Date());
  return (record) => {
    const client = record.request && !trusted.empty
      ? clientAddress(record.request, record.remoteAddr, trusted)
      : record.remoteAddr.hostname;
    write(formatEntry(options.format, record, client, now()));
  };
}
