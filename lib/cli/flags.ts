/**
 * The command line: flags to a checked configuration. Parsing is separate from running so every
 * flag and every bad value can be tested without starting a server.
 *
 * @module
 */

import { ArgumentError, parseArgsChecked, refuseDirectoryFlags } from "./args.ts";
import { isFieldValue, isToken, trimOws } from "../h1/grammar.ts";
import { TrustedProxies } from "../handlers/clientip.ts";

/** A command line that cannot be run; the message is the one line shown to the user. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Everything the command line can ask for. */
export interface CliConfig {
  help: boolean;
  version: boolean;
  host: string;
  port: number;
  /** Directory to serve; undefined serves the demo site (or the app). */
  root?: string;
  /** Module whose default export has `fetch(request, info)`. */
  app?: string;
  listing: boolean;
  dotfiles: boolean;
  followSymlinks: boolean;
  spa: boolean;
  cors: boolean;
  compress: boolean;
  etag: boolean;
  headers: [string, string][];
  cacheControl?: string;
  cert?: string;
  key?: string;
  /** HTTP/2 (ALPN h2 over TLS, prior knowledge in cleartext); false: HTTP/1.1 only. */
  http2: boolean;
  /** Requests per second per client; undefined means no limit. */
  rateLimit?: number;
  rateBurst?: number;
  trustedProxies: string[];
  maxConnections?: number;
  maxConnectionsPerIp?: number;
  logFormat: "pretty" | "common" | "combined" | "json";
  quiet: boolean;
  /** Seconds in-flight requests get after SIGINT/SIGTERM. */
  gracePeriod: number;
  workers: number;
  /** Milliseconds. */
  headerTimeout?: number;
  idleTimeout?: number;
  maxBodyBytes?: number;
  /** Watch the served directory and live-reload pages (stylesheets swapped in place). */
  watch: boolean;
  /** Accept PUT and multipart POST uploads into the served directory. */
  upload: boolean;
  /** Uploads may replace existing files. */
  overwrite: boolean;
  /** HTTP Basic auth: the accepted user/password pairs (none: no auth). */
  auth: [string, string][];
}

/** The `--help` text. */
export const USAGE = `Usage: server.ts [options] [DIR]

Serves DIR as static files, or the demo site when no DIR (or --app) is given.

Options:
  --host HOST               address to listen on (default: localhost)
  -p, --port PORT           port to listen on, 0 for any free port (default: 8080)
  --root DIR                directory to serve (same as the DIR argument)
  --app FILE                serve a module whose default export has fetch(request, info)

Static files:
  --no-listing              no directory listings (404 instead)
  --dotfiles                serve dotfiles (hidden by default)
  --follow-symlinks         follow symlinks that lead outside DIR
  --spa                     unknown paths that accept HTML get /index.html
  --cors                    allow cross-origin requests (answers preflights)
  -H, --header "N: V"       add a header to every response (repeatable)
  --cache-control VALUE     Cache-Control for files (default: none, ETag revalidation)
  --no-compress             no on-the-fly compression
  --no-etag                 no ETag (Last-Modified only)
  --watch                   live reload: pages reload when DIR changes (CSS swapped in place)
  --upload                  accept uploads into DIR (PUT /path, multipart POST; a form in listings)
  --overwrite               uploads may replace existing files (409 otherwise)
  --auth USER:PASSWORD      require HTTP Basic auth with this login (repeatable)

Security and operations:
  --cert FILE, --key FILE   serve HTTPS with this PEM certificate and key
  --no-http2                HTTP/1.1 only (default: HTTP/2 too, h2 by ALPN and h2c)
  --rate-limit N            requests per second per client (429 past it)
  --rate-burst N            burst size for --rate-limit (default: 2 x N)
  --trusted-proxy CIDR      trust X-Forwarded-For/Forwarded from this peer (repeatable)
  --max-connections N       open connections at most (default: 10000)
  --max-connections-per-ip N  open connections per client address at most
  --header-timeout SECONDS  time to receive a request head (default: 10)
  --idle-timeout SECONDS    keep-alive idle time (default: 30)
  --max-body-size SIZE      largest request body, e.g. 10M (default: 100M)
  --log-format FORMAT       pretty, common, combined or json (default: pretty on a
                            terminal, common otherwise)
  -q, --quiet               no access log
  --grace-period SECONDS    time in-flight requests get on shutdown (default: 10)
  --workers N|auto          serve from N isolates sharing the port (default: 1)

  -h, --help                show this help
  -V, --version             show the version
`;

/** Parses `args` (without the program name). Throws {@link CliError} for anything unusable. */
export function parseCommandLine(args: string[], isTerminal = false): CliConfig {
  let parsed;
  try {
    parsed = parseArgsChecked({
      args,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
      options: {
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", short: "V", default: false },
        host: { type: "string", default: "localhost" },
        port: { type: "string", short: "p", default: "8080" },
        root: { type: "string" },
        app: { type: "string" },
        listing: { type: "boolean", default: true },
        dotfiles: { type: "boolean", default: false },
        "follow-symlinks": { type: "boolean", default: false },
        spa: { type: "boolean", default: false },
        cors: { type: "boolean", default: false },
        compress: { type: "boolean", default: true },
        etag: { type: "boolean", default: true },
        watch: { type: "boolean", default: false },
        upload: { type: "boolean", default: false },
        overwrite: { type: "boolean", default: false },
        auth: { type: "string", multiple: true, default: [] },
        header: { type: "string", short: "H", multiple: true, default: [] },
        "cache-control": { type: "string" },
        cert: { type: "string" },
        key: { type: "string" },
        http2: { type: "boolean", default: true },
        "rate-limit": { type: "string" },
        "rate-burst": { type: "string" },
        "trusted-proxy": { type: "string", multiple: true, default: [] },
        "max-connections": { type: "string" },
        "max-connections-per-ip": { type: "string" },
        "header-timeout": { type: "string" },
        "idle-timeout": { type: "string" },
        "max-body-size": { type: "string" },
        "log-format": { type: "string" },
        quiet: { type: "boolean", short: "q", default: false },
        "grace-period": { type: "string", default: "10" },
        workers: { type: "string", default: "1" },
      },
    });
  } catch (error) {
    if (error instanceof ArgumentError) throw new CliError(error.message);
    // node:util's messages can run to several lines; the first one says what is wrong.
    throw new CliError(`${(error as Error).message.split("\n")[0]} (see --help)`);
  }
  const v = parsed.values;

  if (parsed.positionals.length > 1) {
    throw new CliError(`expected at most one directory, got ${parsed.positionals.length}`);
  }
  if (parsed.positionals.length === 1 && v.root !== undefined) {
    throw new CliError("give the directory either as an argument or with --root, not both");
  }
  const root = v.root ?? parsed.positionals[0];
  if (root !== undefined && v.app !== undefined) {
    throw new CliError("--app and a directory to serve cannot be used together");
  }
  if (v.app !== undefined) {
    try {
      refuseDirectoryFlags(v);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  }
  if ((v.cert === undefined) !== (v.key === undefined)) {
    throw new CliError("--cert and --key go together");
  }
  if (v.host === "") throw new CliError("--host cannot be empty");

  const logFormat = v["log-format"] ?? (isTerminal ? "pretty" : "common");
  if (!["pretty", "common", "combined", "json"].includes(logFormat)) {
    throw new CliError(
      `--log-format must be pretty, common, combined or json, got "${logFormat}"`,
    );
  }

  if (root === undefined && (v.watch || v.upload)) {
    throw new CliError(`--${v.watch ? "watch" : "upload"} needs a directory to serve`);
  }
  if (v.overwrite && !v.upload) throw new CliError("--overwrite needs --upload");

  const rateLimit = optional(v["rate-limit"], (s) => number("--rate-limit", s, 0.001));
  const rateBurst = optional(v["rate-burst"], (s) => integer("--rate-burst", s, 1));
  if (rateBurst !== undefined && rateLimit === undefined) {
    throw new CliError("--rate-burst needs --rate-limit");
  }

  return {
    help: v.help,
    version: v.version,
    host: v.host,
    port: integer("--port", v.port, 0, 65535),
    root,
    app: v.app,
    listing: v.listing,
    dotfiles: v.dotfiles,
    followSymlinks: v["follow-symlinks"],
    spa: v.spa,
    cors: v.cors,
    compress: v.compress,
    etag: v.etag,
    headers: v.header.map(headerFlag),
    cacheControl: v["cache-control"],
    cert: v.cert,
    key: v.key,
    http2: v.http2,
    rateLimit,
    rateBurst,
    trustedProxies: v["trusted-proxy"].map(cidrFlag),
    maxConnections: optional(v["max-connections"], (s) => integer("--max-connections", s, 1)),
    maxConnectionsPerIp: optional(
      v["max-connections-per-ip"],
      (s) => integer("--max-connections-per-ip", s, 1),
    ),
    logFormat: logFormat as CliConfig["logFormat"],
    quiet: v.quiet,
    gracePeriod: number("--grace-period", v["grace-period"], 0),
    workers: workersFlag(v.workers),
    headerTimeout: optional(
      v["header-timeout"],
      (s) => number("--header-timeout", s, 0.001) * 1000,
    ),
    idleTimeout: optional(v["idle-timeout"], (s) => number("--idle-timeout", s, 0.001) * 1000),
    maxBodyBytes: optional(v["max-body-size"], (s) => size("--max-body-size", s)),
    watch: v.watch,
    upload: v.upload,
    overwrite: v.overwrite,
    auth: v.auth.map(authFlag),
  };
}

function optional<T>(value: string | undefined, parse: (s: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

function integer(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new CliError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

function number(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min) {
    throw new CliError(`${flag} must be a number of at least ${min}, got "${text}"`);
  }
  return n;
}

/** "512", "64K", "10M", "1G" (binary units). */
function size(flag: string, text: string): number {
  const m = /^([0-9]+)([KMG]?)i?B?$/i.exec(text);
  if (!m || Number(m[1]) === 0) {
    throw new CliError(`${flag} must be a size such as 512, 64K, 10M or 1G, got "${text}"`);
  }
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()]!;
  return Number(m[1]) * unit;
}

/** `Name: value` as a header field (RFC 9110 §5): a token, then a value with OWS trimmed. */
function headerFlag(text: string): [string, string] {
  const colon = text.indexOf(":");
  const name = colon > 0 ? trimOws(text.slice(0, colon)) : "";
  const value = colon > 0 ? trimOws(text.slice(colon + 1)) : "";
  if (!isToken(name) || !isFieldValue(value)) {
    throw new CliError(`--header must look like "Name: value", got "${text}"`);
  }
  return [name, value];
}

/** An address or CIDR range, checked by the same parser that will use it. */
function cidrFlag(text: string): string {
  try {
    new TrustedProxies([text]);
  } catch {
    throw new CliError(`--trusted-proxy must be an IP address or CIDR range, got "${text}"`);
  }
  return text;
}

/** `user:password` (RFC 7617 §2: the user name cannot contain a colon; the password may). */
function authFlag(text: string): [string, string] {
  const colon = text.indexOf(":");
  // deno-lint-ignore no-control-regex
  if (colon <= 0 || /[\x00-\x1f\x7f]/.test(text)) {
    throw new CliError(`--auth must look like "user:password" (a user name, a colon, a password)`);
  }
  return [text.slice(0, colon), text.slice(colon + 1)];
}

function workersFlag(text: string): number {
  if (text === "auto") return navigator.hardwareConcurrency || 1;
  return integer("--workers", text, 1, 256);
}
