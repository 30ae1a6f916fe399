/**
 * Drives wrk and reads its `--latency` report.
 *
 * @module
 */

import type { Children } from "./procs.ts";

/** wrk threads: one, because wrk and the server under test share the machine's two cores. */
export const WRK_THREADS = 1;

/** What one wrk run is asked to do. */
export interface WrkLoad {
  /** The URL to load, on 127.0.0.1. */
  url: string;
  /** Open connections. */
  connections: number;
  /** How long to load, in seconds. */
  seconds: number;
  /** A wrk Lua script (e.g. the pipelining one). */
  script?: string;
  /** Extra request headers, as "Name: value". */
  headers?: string[];
}

/**
 * What wrk reported. Latencies are in milliseconds, null where wrk printed 0: its
 * coordinated-omission correction can add samples below the smallest one recorded, which its
 * percentile scan never reaches, so a high percentile comes out as 0 (bench/README.md has the
 * details; it happens with pipelining).
 */
export interface WrkReport {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  bytesPerSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number;
  /** The error counts as wrk words them, e.g. "read 12, non-2xx 3"; empty when none. */
  errorDetail: string;
}

/** Runs wrk with `load`; kills it if it runs well past its duration. */
export async function runWrk(load: WrkLoad, children: Children): Promise<WrkReport> {
  const args = [
    `-t${WRK_THREADS}`,
    `-c${load.connections}`,
    `-d${load.seconds}s`,
    "--latency",
    ...(load.headers ?? []).flatMap((header) => ["-H", header]),
    ...(load.script ? ["-s", load.script] : []),
    load.url,
  ];
  const child = children.spawn("wrk", args, { stdout: "piped", stderr: "piped" });
  const watchdog = setTimeout(() => child.kill("SIGKILL"), (load.seconds + 15) * 1_000);
  const { success, stdout, stderr } = await child.output().finally(() => clearTimeout(watchdog));
  const text = new TextDecoder().decode(stdout);
  if (!success) {
    throw new Error(`wrk ${args.join(" ")} failed:\n${text}${new TextDecoder().decode(stderr)}`);
  }
  return parseWrk(text);
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const BYTE_UNITS: Record<string, number> = {
  B: 1,
  KB: 2 ** 10,
  MB: 2 ** 20,
  GB: 2 ** 30,
  TB: 2 ** 40,
};

/** Reads wrk's text report (run with `--latency`). */
export function parseWrk(text: string): WrkReport {
  const total = need(text, /^\s*(\d+) requests in ([\d.]+)(\w+),/m, "the request count");
  const socket = text.match(
    /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/,
  );
  const non2xx = text.match(/Non-2xx or 3xx responses: (\d+)/);
  const counts: [string, number][] = [
    ["connect", Number(socket?.[1] ?? 0)],
    ["read", Number(socket?.[2] ?? 0)],
    ["write", Number(socket?.[3] ?? 0)],
    ["timeout", Number(socket?.[4] ?? 0)],
    ["non-2xx", Number(non2xx?.[1] ?? 0)],
  ];
  const errors = counts.filter(([, n]) => n > 0);
  return {
    requests: Number(total[1]),
    seconds: Number(total[2]) * TIME_UNITS[total[3]] / 1_000,
    requestsPerSecond: Number(need(text, /^Requests\/sec:\s+([\d.]+)/m, "Requests/sec")[1]),
    bytesPerSecond: bytes(need(text, /^Transfer\/sec:\s+([\d.]+)(\w+)/m, "Transfer/sec")),
    p50Ms: time(need(text, /^\s+50%\s+([\d.]+)(\w+)/m, "the 50% latency")),
    p99Ms: time(need(text, /^\s+99%\s+([\d.]+)(\w+)/m, "the 99% latency")),
    errors: errors.reduce((sum, [, n]) => sum + n, 0),
    errorDetail: errors.map(([what, n]) => `${what} ${n}`).join(", "),
  };
}

function need(text: string, pattern: RegExp, what: string): RegExpMatchArray {
  const match = text.match(pattern);
  if (!match) throw new Error(`no ${what} in wrk's report:\n${text}`);
  return match;
}

function time([, value, unit]: RegExpMatchArray): number | null {
  if (!(unit in TIME_UNITS)) throw new Error(`unknown wrk time unit ${unit}`);
  const ms = Number(value) * TIME_UNITS[unit];
  return ms === 0 ? null : ms;
}

function bytes([, value, unit]: RegExpMatchArray): number {
  if (!(unit in BYTE_UNITS)) throw new Error(`unknown wrk size unit ${unit}`);
  return Number(value) * BYTE_UNITS[unit];
}

/** wrk's version line, e.g. "wrk debian/4.1.0-3+b2 [epoll]"; null when wrk is not installed. */
export async function wrkVersion(): Promise<string | null> {
  try {
    // `wrk -v` prints its version and usage, and exits non-zero.
    const { stdout, stderr } = await new Deno.Command("wrk", { args: ["-v"] }).output();
    const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    return text.split("\n")[0].replace(/\s*Copyright.*$/, "").trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
