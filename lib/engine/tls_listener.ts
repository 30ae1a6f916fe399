/**
 * HTTPS listening whose connections can really be closed before their handshake completes.
 *
 * A `Deno.listenTls` connection closed before its TLS handshake has finished keeps its TCP
 * socket open until the client closes it (Deno 2.9.6; close waits for the handshake since Deno
 * PR #14547), and Deno has no server-side `startTls` for a plain socket. A client that connects
 * and sends nothing, or a few bytes of a ClientHello, would so hold a descriptor for as long as
 * it likes: 700 of them under `ulimit -n 600` locked every HTTPS client out (issue 13 item 1).
 *
 * Here the TCP socket is `node:net`'s and TLS is `node:tls`'s `TLSSocket` on top of it (rustls
 * inside Deno either way): destroying the socket frees its descriptor at once, handshake or not.
 * Each connection gets a handshake deadline (the server's header timeout), and is handed to the
 * engine at once, like `Deno.listenTls`'s, so the engine's limits and eviction count it too.
 * {@link NodeTlsConn} is the part of `Deno.TlsConn` the engine uses: `read` into a buffer (null
 * at EOF), `write` (resolves once the bytes are taken), `closeWrite`, `close`, `handshake()` with
 * `alpnProtocol`, `setNoDelay`, `ref`/`unref`, addresses, and errors as `Deno.errors` classes.
 *
 * Binding: `node:net`'s public `listen` with a host binds after a DNS lookup, a tick later, and
 * the engine needs the address (and a port-in-use error) at once, as `Deno.listen` gives them.
 * `Server#_listen2` (Node's legacy name for `setupListenHandle`, kept by Deno's `node:net`) binds
 * an IP address synchronously. Where it is missing, {@link listenTls} falls back to
 * `Deno.listenTls` with one warning: correct, but stalled handshakes hold their sockets again.
 *
 * Cost, measured on 2.9.6, 2 cores, `wrk -t1 -c50 -d5s` keep-alive over TLS 1.3, server CPU per
 * request (medians): node:tls costs about 6 µs more than `Deno.listenTls` under a bare responder
 * (19.5 against 13.6; `Deno.serve` 11.7), and our server's "Hello, World!" went from 18.0 to 26.5
 * (about 55k to 38k requests/s; `Deno.serve` 11.5 µs, 78k). The other way round for a 16 KiB
 * file: 10.5k requests/s against 1.1k, because `Deno.TlsConn` has no `setNoDelay`, so Nagle held
 * each response's tail for a delayed ACK (40 ms); this socket takes `setNoDelay` like a plain one.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";

/** What {@link listenTls} needs. */
export interface TlsListenOptions {
  hostname: string;
  port: number;
  cert: string;
  key: string;
  alpnProtocols: string[];
  reusePort?: boolean;
  /** A client that has not completed its handshake this long (ms) after connecting is closed. */
  handshakeTimeout: number;
}

/** libuv's UV_TCP_REUSEPORT, the flag `_listen2` takes for SO_REUSEPORT. */
const UV_TCP_REUSEPORT = 4;
/** How long `close()` waits for close_notify to leave before the socket is destroyed. */
const CLOSE_NOTIFY_MS = 250;
/** Decrypted bytes buffered unread before the socket is paused. */
const HIGH_WATER = 64 * 1024;
/** ...and resumed once reads bring them below this. */
const LOW_WATER = 16 * 1024;

type Listen2 = (
  address: string,
  port: number,
  addressType: 4 | 6,
  backlog: number,
  fd: undefined,
  flags: number,
) => void;

let warned = false;

/** Whether this runtime's `node:net` can bind synchronously (see the module's notes). */
export function ownTlsSupported(): boolean {
  return typeof (net.Server.prototype as { _listen2?: unknown })._listen2 === "function";
}

/**
 * Listens for HTTPS on `options.hostname`:`options.port`. Throws what `Deno.listen` throws
 * (`AddrInUse`, `NotCapable`, …) synchronously.
 */
export function listenTls(options: TlsListenOptions): Deno.TlsListener {
  if (!ownTlsSupported()) {
    if (!warned) {
      warned = true;
      console.error(
        "tcp-http: node:net cannot bind synchronously here; using Deno.listenTls, whose " +
          "connections keep their sockets until a stalled TLS handshake's client leaves",
      );
    }
    return Deno.listenTls(
      {
        hostname: options.hostname,
        port: options.port,
        cert: options.cert,
        key: options.key,
        alpnProtocols: options.alpnProtocols,
        reusePort: options.reusePort,
      } as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
    );
  }
  return new NodeTlsListener(options);
}

/** `Deno.TlsListener` over a `node:net` server. */
export class NodeTlsListener implements Deno.TlsListener {
  readonly addr: Deno.NetAddr;
  readonly #server: net.Server;
  readonly #context: tls.SecureContext;
  readonly #options: TlsListenOptions;
  /** Accepted connections nobody has taken yet. */
  readonly #ready: NodeTlsConn[] = [];
  readonly #waiting: PromiseWithResolvers<NodeTlsConn>[] = [];
  #closed = false;
  #ref = true;

  constructor(options: TlsListenOptions) {
    this.#options = options;
    // node:tls reads the PEM only at the first handshake: check it now, with the same rustls
    // checks and errors as Deno.listenTls (no certificate, no key, a key that does not match).
    Deno.createHttpClient({ cert: options.cert, key: options.key }).close();
    this.#context = tls.createSecureContext({ cert: options.cert, key: options.key });
    const server = this.#server = net.createServer({ allowHalfOpen: true });
    server.on("connection", (socket: net.Socket) => this.#accepted(socket));
    // Bind errors are thrown below; later ones (EMFILE on accept) are retried by node:net.
    server.on("error", () => {});
    const listen2 = (server as unknown as { _listen2: Listen2 })._listen2.bind(server);
    const flags = options.reusePort ? UV_TCP_REUSEPORT : 0;
    const { hostname, port } = options;
    // A name (`localhost` where --allow-net names only it) is resolved by node:net: as IPv4, or
    // as IPv6 where Deno.listen can bind it and IPv4 could not.
    const family = net.isIPv6(hostname) ? 6 : 4;
    listen2(hostname, port, family, 511, undefined, flags);
    let bound = server.address();
    if (bound === null) {
      // The failure reaches node:net's "error" event a tick later; Deno.listen tells it now, as a
      // Deno error (AddrInUse, AddrNotAvailable, …), like the listener this one stands in for.
      Deno.listen({ hostname, port, reusePort: options.reusePort }).close();
      if (net.isIP(hostname) === 0) {
        listen2(hostname, port, 6, 511, undefined, flags);
        bound = server.address();
      }
    }
    if (bound === null || typeof bound === "string") {
      throw new Deno.errors.AddrInUse(`cannot listen on ${hostname}:${port}`);
    }
    this.addr = { transport: "tcp", hostname: bound.address, port: bound.port };
  }

  #accepted(socket: net.Socket): void {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    const conn = new NodeTlsConn(socket, this.#context, this.#options);
    if (!this.#ref) conn.unref();
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter.resolve(conn);
    else this.#ready.push(conn);
  }

  accept(): Promise<Deno.TlsConn> {
    const conn = this.#ready.shift();
    if (conn !== undefined) return Promise.resolve(conn);
    if (this.#closed) {
      return Promise.reject(new Deno.errors.BadResource("Listener has been closed"));
    }
    const waiter = Promise.withResolvers<NodeTlsConn>();
    this.#waiting.push(waiter);
    return waiter.promise;
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("Listener has been closed");
    this.#closed = true;
    this.#server.close();
    for (const conn of this.#ready.splice(0)) conn.close();
    for (const waiter of this.#waiting.splice(0)) {
      waiter.reject(new Deno.errors.BadResource("Listener has been closed"));
    }
  }

  ref(): void {
    this.#ref = true;
    this.#server.ref();
  }

  unref(): void {
    this.#ref = false;
    this.#server.unref();
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<Deno.TlsConn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        throw error;
      }
    }
  }

  [Symbol.dispose](): void {
    try {
      this.close();
    } catch {
      // already closed
    }
  }
}

interface PendingRead {
  buf: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (error: Error) => void;
}

/** One accepted HTTPS connection, as the `Deno.TlsConn` the engine reads and writes. */
export class NodeTlsConn implements Deno.TlsConn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr;
  readonly #tcp: net.Socket;
  readonly #tls: tls.TLSSocket;
  /** Decrypted bytes not yet read; the first may be partly read (`#offset`). */
  readonly #chunks: Uint8Array[] = [];
  #offset = 0;
  #buffered = 0;
  #paused = false;
  readonly #reads: PendingRead[] = [];
  /** The peer finished sending (close_notify or FIN): reads return null once drained. */
  #eof = false;
  /** Why the connection failed, as a Deno error; reads and writes throw it. */
  #error: Error | null = null;
  /** `close()` was called. */
  #closed = false;
  /** The sockets are destroyed (by close, the handshake deadline, or an error). */
  #destroyed = false;
  #secure = false;
  readonly #handshake = Promise.withResolvers<Deno.TlsHandshakeInfo>();
  #timer: number | undefined;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | null = null;
  #writable: WritableStream<Uint8Array> | null = null;

  constructor(tcp: net.Socket, secureContext: tls.SecureContext, options: TlsListenOptions) {
    this.#tcp = tcp;
    this.remoteAddr = netAddr(tcp.remoteAddress, tcp.remotePort);
    this.localAddr = netAddr(tcp.localAddress, tcp.localPort);
    // Nobody need ask for the handshake: its failure must not be an unhandled rejection.
    this.#handshake.promise.catch(() => {});
    const socket = this.#tls = new tls.TLSSocket(tcp, {
      isServer: true,
      secureContext,
      ALPNProtocols: options.alpnProtocols,
    });
    // Deno's timer id (a number), though node:net's types make setTimeout look like Node's.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#secure) return;
      this.#fail(new Deno.errors.ConnectionAborted("TLS handshake timed out"));
      this.#destroy();
    }, options.handshakeTimeout) as unknown as number;
    socket.on("secure", () => {
      this.#secure = true;
      this.#clearTimer();
      const alpn = socket.alpnProtocol;
      this.#handshake.resolve({ alpnProtocol: typeof alpn === "string" ? alpn : null });
    });
    socket.on("data", (chunk: Uint8Array) => this.#received(chunk));
    socket.on("end", () => this.#ended());
    socket.on("error", (error: Error) => {
      this.#fail(denoError(error, this.#secure));
      this.#destroy();
    });
    socket.on("close", () => {
      // Closed without an error or an end seen first: the peer is gone.
      if (!this.#secure) this.#fail(new Deno.errors.UnexpectedEof("closed during TLS handshake"));
      this.#ended();
      this.#destroyed = true;
      this.#clearTimer();
    });
    tcp.on("error", () => {}); // reported by the TLS socket
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #received(chunk: Uint8Array): void {
    const reads = this.#reads;
    if (reads.length > 0 && this.#buffered === 0) {
      const read = reads.shift()!;
      const n = Math.min(chunk.length, read.buf.length);
      read.buf.set(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n < chunk.length) this.#keep(chunk.subarray(n));
      read.resolve(n);
      return;
    }
    this.#keep(chunk);
  }

  #keep(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    if (this.#buffered > HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#tls.pause();
    }
  }

  #ended(): void {
    this.#eof = true;
    for (const read of this.#reads.splice(0)) {
      if (this.#error !== null) read.reject(this.#error);
      else read.resolve(null);
    }
  }

  #fail(error: Error): void {
    if (this.#error !== null) return;
    this.#error = error;
    this.#handshake.reject(error);
    for (const read of this.#reads.splice(0)) read.reject(error);
  }

  #destroy(): void {
    this.#clearTimer();
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#tls.destroy();
    this.#tcp.destroy();
  }

  /** Copies buffered bytes into `buf`. */
  #take(buf: Uint8Array): number {
    const chunks = this.#chunks;
    let n = 0;
    while (n < buf.length && chunks.length > 0) {
      const chunk = chunks[0];
      const available = chunk.length - this.#offset;
      const k = Math.min(available, buf.length - n);
      buf.set(chunk.subarray(this.#offset, this.#offset + k), n);
      n += k;
      if (k === available) {
        chunks.shift();
        this.#offset = 0;
      } else {
        this.#offset += k;
      }
    }
    this.#buffered -= n;
    if (this.#paused && this.#buffered < LOW_WATER) {
      this.#paused = false;
      this.#tls.resume();
    }
    return n;
  }

  read(buf: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    if (this.#buffered > 0 && buf.length > 0) return Promise.resolve(this.#take(buf));
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#eof || this.#destroyed) return Promise.resolve(null);
    if (buf.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => this.#reads.push({ buf, resolve, reject }));
  }

  write(data: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#destroyed) return Promise.reject(new Deno.errors.BrokenPipe("connection closed"));
    const length = data.length;
    // Resolved once the TLS socket is done with `data`: the caller may then reuse the buffer.
    return new Promise((resolve, reject) => {
      this.#tls.write(data, (error) => {
        if (error) reject(this.#error ?? denoError(error, this.#secure));
        else resolve(length);
      });
    });
  }

  closeWrite(): Promise<void> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("Bad resource ID"));
    if (this.#error !== null) return Promise.reject(this.#error);
    if (this.#destroyed) return Promise.reject(new Deno.errors.NotConnected("connection closed"));
    return new Promise((resolve, reject) => {
      // close_notify, then FIN, once what was written before has gone out.
      this.#tls.end(() => resolve());
      this.#tls.once("error", (error: Error) => reject(this.#error ?? error));
    });
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("Bad resource ID");
    this.#closed = true;
    this.#fail(new Deno.errors.Interrupted("the connection was closed"));
    const socket = this.#tls;
    if (!this.#secure || this.#destroyed || socket.writableEnded) {
      this.#destroy();
      return;
    }
    // As Deno's TlsConn does, say close_notify first (a client reading to the end of a
    // close-delimited body needs it), but wait for it a moment at most: a socket that cannot
    // take it is freed anyway.
    socket.once("finish", () => this.#destroy());
    socket.end();
    this.#timer = setTimeout(() => this.#destroy(), CLOSE_NOTIFY_MS) as unknown as number;
  }

  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return this.#handshake.promise;
  }

  setNoDelay(noDelay = true): void {
    this.#tcp.setNoDelay(noDelay);
  }

  setKeepAlive(keepAlive = true): void {
    this.#tcp.setKeepAlive(keepAlive);
  }

  ref(): void {
    this.#tcp.ref();
    if (this.#timer !== undefined) Deno.refTimer(this.#timer);
  }

  unref(): void {
    this.#tcp.unref();
    if (this.#timer !== undefined) Deno.unrefTimer(this.#timer);
  }

  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const buf = new Uint8Array(16 * 1024);
        const n = await this.read(buf);
        if (n === null) controller.close();
        else controller.enqueue(buf.subarray(0, n));
      },
      cancel: () => this[Symbol.dispose](),
    });
  }

  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        for (let written = 0; written < chunk.length;) {
          written += await this.write(written === 0 ? chunk : chunk.subarray(written));
        }
      },
      close: () => this.closeWrite(),
      abort: () => this[Symbol.dispose](),
    });
  }

  [Symbol.dispose](): void {
    try {
      this.close();
    } catch {
      // already closed
    }
  }
}

function netAddr(hostname: string | undefined, port: number | undefined): Deno.NetAddr {
  return { transport: "tcp", hostname: hostname ?? "", port: port ?? 0 };
}

/** A `node:net`/`node:tls` error as the `Deno.errors` class the engine sorts errors by. */
function denoError(error: Error, secure: boolean): Error {
  const code = (error as { code?: unknown }).code;
  const options = { cause: error };
  switch (code) {
    case "ECONNRESET":
      return new Deno.errors.ConnectionReset(error.message, options);
    case "EPIPE":
    case "ERR_STREAM_WRITE_AFTER_END":
      return new Deno.errors.BrokenPipe(error.message, options);
    case "ECONNABORTED":
      return new Deno.errors.ConnectionAborted(error.message, options);
    case "ENOTCONN":
      return new Deno.errors.NotConnected(error.message, options);
    case "ETIMEDOUT":
      return new Deno.errors.TimedOut(error.message, options);
    case "ERR_STREAM_DESTROYED":
    case "ERR_SOCKET_CLOSED":
      return new Deno.errors.BadResource(error.message, options);
  }
  // A failed handshake (plain HTTP on the HTTPS port, an alert, a bad record) is the client's
  // doing: InvalidData, as Deno.listenTls reports it.
  if (!secure || (typeof code === "string" && /SSL|TLS/.test(code))) {
    return new Deno.errors.InvalidData(error.message, options);
  }
  return new Deno.errors.ConnectionReset(error.message, options);
}
