/**
 * A raw WebSocket client for the engine's tests: it writes exactly the frames it is given
 * (masked or not, split or whole) and reads the server's with lib/ws's parser in the client
 * role. Every wait is bounded.
 *
 * @module
 */

import assert from "node:assert/strict";
import { encodeFrame, type Frame, FrameParser, Opcode } from "../../lib/ws/mod.ts";
import { serve, type ServeOptions, type Server } from "../../lib/mod.ts";
import type { Handler } from "../../lib/shared/types.ts";

export const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
export const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Rejects with `what` if `promise` has not settled within `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** The opening handshake's request, with fields replaced or added by `extra`. */
export function handshake(extra: Record<string, string | null> = {}, target = "/ws"): string {
  const fields: Record<string, string | null> = {
    host: "127.0.0.1",
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": KEY,
    "sec-websocket-version": "13",
    ...extra,
  };
  let text = `GET ${target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(fields)) {
    if (value !== null) text += `${name}: ${value}\r\n`;
  }
  return text + "\r\n";
}

/** A client frame: masked unless `mask: false`. */
export function frame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  options: { fin?: boolean; rsv1?: boolean; mask?: boolean } = {},
): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  return encodeFrame(opcode as Opcode, bytes, {
    fin: options.fin,
    rsv1: options.rsv1,
    mask: options.mask === false ? undefined : MASK,
  });
}

/** A close frame's body. */
export function closeBody(code: number, reason = ""): Uint8Array {
  const text = encoder.encode(reason);
  const out = new Uint8Array(2 + text.length);
  out[0] = code >> 8;
  out[1] = code & 0xff;
  out.set(text, 2);
  return out;
}

/** The code and reason of a close frame's payload (1005 when empty). */
export function parseClose(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length < 2) return { code: 1005, reason: "" };
  return { code: (payload[0] << 8) | payload[1], reason: decoder.decode(payload.subarray(2)) };
}

/** One raw connection to the server. */
export class RawSocket {
  readonly conn: Deno.Conn;
  readonly #parser = new FrameParser({ role: "client", allowRsv1: true });
  #head = "";
  #rest = new Uint8Array(0);

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  static async connect(port: number): Promise<RawSocket> {
    return new RawSocket(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  /** Connects, sends the handshake and reads the response head (status and fields). */
  static async open(
    port: number,
    extra: Record<string, string | null> = {},
    target = "/ws",
  ): Promise<{ socket: RawSocket; status: number; fields: Headers; head: string }> {
    const socket = await RawSocket.connect(port);
    await socket.write(handshake(extra, target));
    const { status, fields, head } = await socket.readHead();
    return { socket, status, fields, head };
  }

  async write(bytes: Uint8Array | string): Promise<void> {
    const data = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
    let offset = 0;
    while (offset < data.length) offset += await this.conn.write(data.subarray(offset));
  }

  /** Reads up to the end of the response head; what follows is kept for the frame parser. */
  async readHead(ms = 3000): Promise<{ status: number; fields: Headers; head: string }> {
    const buf = new Uint8Array(4096);
    let text = "";
    let bytes = new Uint8Array(0);
    while (!text.includes("\r\n\r\n")) {
      const n = await within(this.conn.read(buf), ms, "the response head");
      if (n === null) throw new Error(`connection closed before a head: ${JSON.stringify(text)}`);
      const joined = new Uint8Array(bytes.length + n);
      joined.set(bytes);
      joined.set(buf.subarray(0, n), bytes.length);
      bytes = joined;
      text = String.fromCharCode(...bytes);
    }
    const end = text.indexOf("\r\n\r\n") + 4;
    this.#head = text.slice(0, end);
    this.#rest = bytes.slice(end);
    if (this.#rest.length > 0) this.#parser.push(this.#rest);
    const [statusLine, ...lines] = this.#head.trimEnd().split("\r\n");
    const fields = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      fields.append(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    return { status: Number(statusLine.split(" ")[1]), fields, head: this.#head };
  }

  /** The next whole frame from the server, or null at EOF. */
  async readFrame(ms = 3000): Promise<Frame | null> {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const frame = this.#parser.nextFrame();
      if (frame !== null) return frame;
      let n: number | null;
      try {
        n = await within(this.conn.read(buf), ms, "a frame");
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) return null;
        throw error;
      }
      if (n === null) return null;
      this.#parser.push(buf.slice(0, n));
    }
  }

  /** Reads frames until a close frame (skipping `skip` opcodes); fails on anything else. */
  async expectClose(ms = 3000): Promise<{ code: number; reason: string }> {
    for (;;) {
      const frame = await this.readFrame(ms);
      assert.ok(frame !== null, "a close frame before EOF");
      if (frame.opcode === Opcode.Close) return parseClose(frame.payload);
      if (frame.opcode === Opcode.Ping || frame.opcode === Opcode.Pong) continue;
      assert.fail(`expected a close frame, got opcode ${frame.opcode}`);
    }
  }

  /** Resolves once the server has closed the TCP connection (EOF or reset). */
  async expectEof(ms = 3000): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      let n: number | null;
      try {
        n = await within(this.conn.read(buf), ms, "EOF");
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) return;
        throw error;
      }
      if (n === null) return;
    }
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
  }
}

/** What a server-side socket saw. */
export interface SocketLog {
  events: string[];
  messages: unknown[];
  closed: Promise<CloseEvent>;
  socket: WebSocket;
}

/** Serves `handler` on a free port for the duration of `body`, then shuts down (bounded). */
export async function withServer(
  handler: Handler,
  body: (server: Server) => Promise<void>,
  options: Partial<ServeOptions> = {},
): Promise<void> {
  const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {}, ...options }, handler);
  try {
    await body(server);
  } finally {
    await within(server.shutdown(), 15_000, "the server's shutdown");
  }
}

/**
 * A handler that upgrades every request with `Deno.upgradeWebSocket` (so the wrapper is tested)
 * and records what its sockets see; echoes messages unless `echo: false`.
 */
export function recorder(
  options: Deno.UpgradeWebSocketOptions & Record<string, unknown> = {},
  echo = true,
): { handler: Handler; sockets: SocketLog[] } {
  const sockets: SocketLog[] = [];
  const handler: Handler = (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request, options);
    const events: string[] = [];
    const messages: unknown[] = [];
    const closed = Promise.withResolvers<CloseEvent>();
    socket.onopen = () => events.push("open");
    socket.onmessage = (event) => {
      messages.push(event.data);
      if (echo) socket.send(event.data);
    };
    socket.onerror = (event) => events.push(`error: ${(event as ErrorEvent).message}`);
    socket.onclose = (event) => {
      events.push(`close ${event.code} ${event.wasClean ? "clean" : "unclean"} ${event.reason}`);
      closed.resolve(event);
    };
    sockets.push({ events, messages, closed: closed.promise, socket });
    return response;
  };
  return { handler, sockets };
}
