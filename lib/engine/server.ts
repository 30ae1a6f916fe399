/**
 * The accept loop, the set of open connections, their deadlines and graceful shutdown.
 *
 * The accept loop never waits on a connection (the tutorial server's named flaw): each one runs
 * its own {@link Connection.serve} loop, so a slow, stuck or hostile client delays nobody else.
 *
 * @module
 */

import { Connection, type ConnectionOwner, type Timeouts } from "./connection.ts";
import { DEFAULT_LIMITS, type Limits } from "../h1/errors.ts";
import type { ExchangeRecord, Handler } from "../shared/types.ts";
import { urlOf } from "../shared/address.ts";
import { fastPathWarning } from "../fastpath/mode.ts";
import { plainResponse } from "../h1/response_head.ts";
import { internalError } from "./errors.ts";
import { H2Session } from "./h2_session.ts";
import { installDenoUpgradeWebSocket } from "./ws_upgrade.ts";
import { listenAll } from "./listen.ts";

/** The reaper's period: every deadline holds to within it. */
const REAPER_TICK_MS = 50;

/** Time limits, in milliseconds, with the defaults Caddy's and nginx's users know. */
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = {
  headerTimeout: 10_000,
  idleTimeout: 30_000,
  bodyTimeout: 30_000,
  writeTimeout: 30_000,
};

/** Options for {@link serve}. Every limit and timeout has a safe default. */
export interface ServeOptions extends Partial<Limits>, Partial<Timeouts> {
  /**
   * The address to listen on. `"localhost"` listens on both loopbacks, 127.0.0.1 and ::1 (where
   * there is an IPv6 loopback), on the same port: a browser may try either.
   * @default {"0.0.0.0"}
   */
  hostname?: string;
  /** The port to listen on; 0 picks a free one. @default {8000} */
  port?: number;
  /** Aborting it shuts the server down gracefully. */
  signal?: AbortSignal;
  /** Called once listening. @default logs "Listening on http://…/" */
  onListen?: (addr: Deno.NetAddr) => void;
  /**
   * Turns a handler's exception into a response; the server lives on.
   * @default logs the error and answers 500
   */
  onError?: (error: unknown, request: Request) => Response | Promise<Response>;
  /** Called after each exchange, for access logs. */
  onExchange?: (record: ExchangeRecord) => void;
  /** Open connections at most; past it new ones get 503 and are closed. @default {10000} */
  maxConnections?: number;
  /** Open connections per client address at most; past it, 503 and close. @default {Infinity} */
  maxConnectionsPerIp?: number;
  /** Unread request body bytes read and discarded to keep a connection open. @default {262144} */
  maxDrainBytes?: number;
  /** After shutdown starts, in-flight requests get this long before being cut. @default {10000} */
  gracePeriod?: number;
  /** The `Server` header value; null sends none. @default {"tcp-http"} */
  serverName?: string | null;
  /** PEM certificate chain: with `key`, serve HTTPS. */
  cert?: string;
  /** PEM private key for `cert`. */
  key?: string;
  /** Share the port with other processes (SO_REUSEPORT; Linux only, ignored elsewhere). */
  reusePort?: boolean;
  /**
   * HTTP/2: offered by ALPN over TLS ("h2", then "http/1.1"), and taken in cleartext from
   * clients that open with its preface (prior knowledge). `false` serves HTTP/1.1 only.
   * @default {true}
   */
  http2?: boolean;
}

/** {@link ServeOptions} with the handler in them: `Deno.serve`'s `{ port, handler }` form. */
export interface ServeInit extends ServeOptions {
  /** The request handler, with `Deno.serve`'s contract. */
  handler: Handler;
}

/** A running server: the members of `Deno.HttpServer`, and what the CLI needs to know. */
export interface Server extends AsyncDisposable {
  /** The address the server listens on (with the real port when 0 was asked for). */
  readonly addr: Deno.NetAddr;
  /** Resolves once the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** Stop accepting, let in-flight requests finish (up to the grace period), close the rest. */
  shutdown(): Promise<void>;
  /** Open connections right now. */
  readonly connections: number;
  /**
   * Connections busy with a request right now: its handler running, or its response being
   * written (not idle between requests, not still receiving a head). What shutdown waits for.
   */
  readonly inFlight: number;
  /** Keep the process alive while the server runs (the default). */
  ref(): void;
  /**
   * Let the process exit while the server runs when nothing else keeps it alive: neither
   * waiting for connections, nor the connections' reads, nor the deadline timer keep it alive.
   */
  unref(): void;
  /** `await using server = serve(…)`: shuts the server down gracefully at the block's end. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Serves HTTP/1.1 with `handler`, which has the same contract as `Deno.serve`'s.
 *
 * @example
 * ```ts
 * import { serve } from "../mod.ts";
 * const server = serve({ port: 8080 }, (req) => new Response(`Hello from ${new URL(req.url).pathname}`));
 * await server.finished;
 * ```
 */
export function serve(handler: Handler): Server;
/**
 * Serves HTTP/1.1 on `options.hostname`:`options.port` with `handler`.
 *
 * @example
 * ```ts
 * import { serve } from "../mod.ts";
 * const controller = new AbortController();
 * serve({ port: 0, signal: controller.signal }, () => new Response("ok"));
 * controller.abort(); // graceful shutdown
 * ```
 */
export function serve(options: ServeOptions, handler: Handler): Server;
/**
 * Serves with the handler given in the options, as `Deno.serve({ port, handler })` does.
 *
 * @example
 * ```ts
 * import { serve } from "../mod.ts";
 * await using server = serve({ port: 0, handler: () => new Response("ok") });
 * ```
 */
export function serve(init: ServeInit): Server;
export function serve(a: ServeOptions | ServeInit | Handler, b?: Handler): Server {
  const [options, handler] = typeof a === "function"
    ? [{}, a]
    : [a, b ?? (a as Partial<ServeInit>).handler];
  if (typeof handler !== "function") throw new TypeError("serve() needs a handler function");
  return new HttpServer(options, handler);
}

class HttpServer implements Server {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  /** One, or two for `localhost` (127.0.0.1 and ::1). */
  readonly #listeners: Deno.Listener[];
  /** Whether the server keeps the process alive (see {@link Server.unref}). */
  #ref = true;
  readonly #connections = new Set<Connection>();
  readonly #options: ServeOptions;
  readonly #maxConnections: number;
  readonly #maxPerIp: number;
  readonly #serverName: string | null;
  /** Open connections per peer address, kept only while a limit per address is set. */
  readonly #perIp = new Map<string, number>();
  readonly #reaper: ReturnType<typeof setInterval>;
  #ticks = 0;
  /** Reaper ticks between housekeeping passes (buffers released, idle times noted). */
  #housekeepingEvery = 1;
  /** When each waiting connection was first seen waiting, to the second: eviction's order. */
  readonly #idleSince = new Map<Connection, number>();
  #closing = false;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #allClosed: PromiseWithResolvers<void> | null = null;
  /** Connections refused past the limit, still being answered. */
  readonly #refused = new Set<Deno.Conn>();
  /** What every connection tells when its socket closes: one object for all of them. */
  readonly #owner: ConnectionOwner = { closed: (connection) => this.#forget(connection) };

  constructor(options: ServeOptions, handler: Handler) {
    this.#options = options;
    const limits: Limits = { ...DEFAULT_LIMITS };
    const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS };
    for (const key of Object.keys(limits) as (keyof Limits)[]) {
      if (options[key] !== undefined) limits[key] = positive(key, options[key]);
    }
    for (const key of Object.keys(timeouts) as (keyof Timeouts)[]) {
      if (options[key] !== undefined) timeouts[key] = positive(key, options[key]);
    }
    this.#maxConnections = positive("maxConnections", options.maxConnections ?? 10_000);
    this.#maxPerIp = positive("maxConnectionsPerIp", options.maxConnectionsPerIp ?? Infinity);

    const hostname = options.hostname ?? "0.0.0.0";
    const port = options.port ?? 8000;
    const tls = options.cert !== undefined || options.key !== undefined;
    if (tls && (options.cert === undefined || options.key === undefined)) {
      throw new TypeError("HTTPS needs both cert and key");
    }
    this.#listeners = listenAll({
      hostname,
      port,
      reusePort: options.reusePort,
      tls: tls
        ? {
          cert: options.cert!,
          key: options.key!,
          alpnProtocols: options.http2 === false ? ["http/1.1"] : ["h2", "http/1.1"],
          handshakeTimeout: timeouts.headerTimeout,
        }
        : undefined,
    });
    this.addr = this.#listeners[0].addr as Deno.NetAddr;
    const warning = fastPathWarning();
    if (warning !== null) console.error(warning);
    // Deno.upgradeWebSocket works on our requests too (lib/engine/ws_upgrade.ts).
    installDenoUpgradeWebSocket();

    this.#serverName = options.serverName === undefined ? "tcp-http" : options.serverName;
    const config = {
      handler,
      limits,
      timeouts,
      scheme: tls ? "https" as const : "http" as const,
      serverName: this.#serverName,
      maxDrainBytes: options.maxDrainBytes ?? 256 * 1024,
      onError: options.onError ?? defaultOnError,
      onInternalError: (error: unknown) => {
        // A client that fails the TLS handshake (it distrusts the certificate, or speaks plain
        // HTTP to the HTTPS port) surfaces as InvalidData from the first read: its doing, not
        // ours, and a scanner would otherwise fill the log with stack traces.
        if (tls && error instanceof Deno.errors.InvalidData) return;
        console.error("tcp-http: internal error:", error);
      },
      onExchange: options.onExchange,
      http2: options.http2 === false ? undefined : (): H2Session => new H2Session(config),
    };

    // One timer for every deadline of every connection, instead of a timer per read: a deadline
    // holds to within a tick. Idle buffers are released, and idle times noted, once a second.
    const shortest = Math.min(...Object.values(timeouts));
    const tick = Math.min(REAPER_TICK_MS, Math.max(10, Math.floor(shortest / 4)));
    this.#housekeepingEvery = Math.max(1, Math.round(1000 / tick));
    this.#reaper = setInterval(() => this.#reap(), tick);

    const onAbort = () => this.shutdown();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) queueMicrotask(() => this.shutdown());
    (options.onListen ?? defaultOnListen)(this.addr, tls);
    this.finished = this.#serve(config).finally(() =>
      options.signal?.removeEventListener("abort", onAbort)
    );
  }

  get connections(): number {
    return this.#connections.size;
  }

  get inFlight(): number {
    let busy = 0;
    for (const connection of this.#connections) {
      if (!connection.idle && !connection.headWaiting) busy++;
    }
    return busy;
  }

  ref(): void {
    this.#setRef(true);
  }

  unref(): void {
    this.#setRef(false);
  }

  #setRef(ref: boolean): void {
    this.#ref = ref;
    for (const listener of this.#listeners) ref ? listener.ref() : listener.unref();
    for (const connection of this.#connections) refConn(connection.conn, ref);
    if (ref) Deno.refTimer(this.#reaper);
    else Deno.unrefTimer(this.#reaper);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** Every listener's accept loop, then the connections still open. */
  async #serve(config: ConstructorParameters<typeof Connection>[1]): Promise<void> {
    await Promise.all(this.#listeners.map((listener) => this.#acceptLoop(listener, config)));
    if (this.#connections.size > 0 || this.#refused.size > 0) {
      this.#allClosed ??= Promise.withResolvers();
      await this.#allClosed.promise;
    }
    clearInterval(this.#reaper);
    clearTimeout(this.#graceTimer);
  }

  async #acceptLoop(
    listener: Deno.Listener,
    config: ConstructorParameters<typeof Connection>[1],
  ): Promise<void> {
    let backoff = 0;
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoff = 0;
      } catch (error) {
        if (this.#closing || error instanceof Deno.errors.BadResource) break;
        // Out of file descriptors or a connection reset before accept: wait a little and go
        // on rather than die (Go's accept loop does the same).
        backoff = Math.min(1000, backoff ? backoff * 2 : 5);
        console.error(`tcp-http: accept failed (${describe(error)}); retrying in ${backoff} ms`);
        await new Promise((resolve) => setTimeout(resolve, backoff));
        continue;
      }
      if (this.#closing) {
        conn.close();
        continue;
      }
      if (this.#connections.size >= this.#maxConnections && !this.#evictIdle()) {
        this.#refuse(conn, "too many connections");
        continue;
      }
      if (this.#maxPerIp !== Infinity) {
        const ip = (conn.remoteAddr as Deno.NetAddr).hostname;
        const open = this.#perIp.get(ip) ?? 0;
        if (open >= this.#maxPerIp) {
          this.#refuse(conn, "too many connections from your address");
          continue;
        }
        this.#perIp.set(ip, open + 1);
      }
      if (!this.#ref) refConn(conn, false);
      // Counted until its socket is closed, which its loop's end does too: a loop waiting for a
      // handler that never answers holds no socket once the connection is closed.
      const connection = new Connection(conn, config, this.#owner);
      this.#connections.add(connection);
      connection.serve();
    }
  }

  /** A connection's socket is closed: it is no longer counted. */
  #forget(connection: Connection): void {
    this.#connections.delete(connection);
    this.#idleSince.delete(connection);
    if (this.#maxPerIp !== Infinity) {
      const ip = connection.remoteAddr.hostname;
      const open = this.#perIp.get(ip)! - 1;
      if (open === 0) this.#perIp.delete(ip);
      else this.#perIp.set(ip, open);
    }
    if (this.#connections.size === 0 && this.#refused.size === 0) this.#allClosed?.resolve();
  }

  /** Past a connection limit: a short 503 and close, so the client knows to come back. */
  #refuse(conn: Deno.Conn, reason: string): void {
    this.#refused.add(conn);
    const { head, body } = plainResponse(
      503,
      reason,
      this.#serverName,
      false,
      "retry-after: 1\r\n",
    );
    const bytes = new TextEncoder().encode(head + body);
    // Write, stop sending, then read what the client sent until it closes (at most a second):
    // closing with its request unread would reset the connection and could lose the 503.
    const timer = setTimeout(() => close(), 1000);
    const close = () => {
      try {
        conn.close();
      } catch {
        // already closed
      }
    };
    const discard = new Uint8Array(1024);
    conn.write(bytes)
      .then(() => conn.closeWrite())
      .then(async () => {
        while (await conn.read(discard) !== null) { /* discard */ }
      })
      .catch(() => {})
      .finally(() => {
        clearTimeout(timer);
        close();
        this.#refused.delete(conn);
        if (this.#connections.size === 0 && this.#refused.size === 0) this.#allClosed?.resolve();
      });
  }

  #reap(): void {
    const now = Date.now();
    const housekeeping = ++this.#ticks % this.#housekeepingEvery === 0;
    for (const connection of this.#connections) {
      if (connection.expired(now)) {
        connection.abort();
      } else if (housekeeping) {
        connection.releaseBuffers();
        // When each connection was first seen waiting (idle, or for the rest of a head).
        if (!connection.idle && !connection.headWaiting) this.#idleSince.delete(connection);
        else if (!this.#idleSince.has(connection)) this.#idleSince.set(connection, now);
      }
    }
  }

  /**
   * At the connection limit, makes room by closing the connection that has waited the longest
   * while owed nothing: first one idle (kept alive between requests, or never spoken), as nginx
   * does (RFC 9112 §9.6: a server may close an idle connection at any time), then one still
   * sending its head (a slowloris holds many). False when every connection is busy with a
   * request, so only then is a new client refused.
   */
  #evictIdle(): boolean {
    let victim: Connection | null = null;
    let victimIdle = false;
    let longest = Infinity;
    const now = Date.now();
    for (const connection of this.#connections) {
      const idle = connection.idle;
      if (!idle && !connection.headWaiting) continue;
      if (victimIdle && !idle) continue;
      const since = this.#idleSince.get(connection) ?? now;
      if (since < longest || (idle && !victimIdle)) {
        victim = connection;
        victimIdle = idle;
        longest = since;
      }
    }
    if (victim === null) return false;
    this.#idleSince.delete(victim);
    victim.evict();
    return true;
  }

  shutdown(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#allClosed ??= Promise.withResolvers();
      for (const listener of this.#listeners) {
        try {
          listener.close();
        } catch {
          // already closed
        }
      }
      for (const connection of this.#connections) connection.closeGracefully();
      const grace = this.#options.gracePeriod ?? 10_000;
      this.#graceTimer = setTimeout(() => {
        for (const connection of this.#connections) connection.abort();
        // Every socket is closed now, but a loop awaiting a handler that never settles would
        // keep `finished` pending forever: give the loops a moment to end, then stop waiting.
        this.#graceTimer = setTimeout(() => this.#allClosed?.resolve(), 100);
      }, grace);
    }
    return this.finished;
  }
}

function positive(name: string, value: unknown): number {
  if (typeof value !== "number" || !(value > 0)) {
    throw new RangeError(`${name} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** A connection's reads keep the process alive, or not (`Deno.Conn.ref`, `unref`). */
function refConn(conn: Deno.Conn, ref: boolean): void {
  try {
    if (ref) conn.ref();
    else conn.unref();
  } catch {
    // closed already
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function defaultOnError(error: unknown): Response {
  console.error("tcp-http: handler error:", error);
  return internalError();
}

function defaultOnListen(addr: Deno.NetAddr, tls = false): void {
  console.log(`Listening on ${urlOf(addr, tls)}`);
}
