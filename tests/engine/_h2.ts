/**
 * A scripted HTTP/2 client over a real socket, for the engine's HTTP/2 tests: client frames
 * built with lib/h2's frame writers and HPACK encoder, the server's frames read back as plain
 * objects (tests/h2/_client.ts). Every wait is bounded.
 *
 * @module
 */

import { ByteWriter } from "../../lib/h2/buffer.ts";
import {
  CLIENT_PREFACE,
  Encoder,
  ErrorCode,
  writeData,
  writeFrameHeader,
  writeGoAway,
  writeHeaders,
  writePing,
  writeRstStream,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "../../lib/h2/mod.ts";
import { Client, type Fields, type Out } from "../h2/_client.ts";

export type { Fields, Out };
export { ErrorCode };

/** How long one expectation may wait for the server. */
export const WAIT_MS = 3_000;

export function get(path = "/", authority = "127.0.0.1", method = "GET"): Fields {
  return [[":method", method], [":scheme", "http"], [":path", path], [":authority", authority]];
}

/** One client connection. */
export class H2Socket {
  readonly conn: Deno.Conn;
  readonly #client = new Client();
  readonly encoder = new Encoder();
  /** Every frame the server sent, in order. */
  readonly frames: Out[] = [];
  /** Frames already returned by `until`. */
  readonly #used = new Set<number>();
  #eof = false;
  #wake: (() => void) | null = null;
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
    this.#reading = this.#readLoop();
  }

  /** Connects; by default sends the preface, empty SETTINGS, and acknowledges the server's. */
  static async open(
    port: number,
    { settings = [], handshake = true }: { settings?: [number, number][]; handshake?: boolean } =
      {},
  ): Promise<H2Socket> {
    const socket = new H2Socket(await Deno.connect({ hostname: "127.0.0.1", port }));
    if (handshake) {
      const w = new ByteWriter();
      w.bytes(CLIENT_PREFACE);
      writeSettings(w, settings);
      await socket.send(w.take());
      await socket.until((f) => f.type === "SETTINGS" && !f.ack, "the server's SETTINGS");
      const ack = new ByteWriter();
      writeSettingsAck(ack);
      await socket.send(ack.take());
    }
    return socket;
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(65536);
    try {
      for (;;) {
        const n = await this.conn.read(buf);
        if (n === null) break;
        this.frames.push(...this.#client.read(buf.subarray(0, n)));
        this.#wake?.();
      }
    } catch {
      // reset or closed by us
    }
    this.#eof = true;
    this.#wake?.();
  }

  async send(bytes: Uint8Array): Promise<void> {
    for (let n = 0; n < bytes.length;) n += await this.conn.write(bytes.subarray(n));
  }

  /** A HEADERS frame (CONTINUATIONs past `maxFrame`). */
  headers(id: number, fields: Fields, endStream = true, maxFrame = 16384): Uint8Array {
    const block = new ByteWriter();
    this.encoder.encode(block, fields);
    const w = new ByteWriter();
    writeHeaders(w, id, block.view(), endStream, maxFrame);
    return w.take();
  }

  /** Sends a request; returns its stream id. */
  async request(id: number, fields: Fields, body?: Uint8Array | string): Promise<void> {
    await this.send(this.headers(id, fields, body === undefined));
    if (body !== undefined) await this.send(data(id, body, true));
  }

  /** The first frame not returned before that `match`es, waiting for it if need be. */
  async until(match: (f: Out) => boolean, what: string, timeout = WAIT_MS): Promise<Out> {
    const deadline = Date.now() + timeout;
    for (;;) {
      for (let i = 0; i < this.frames.length; i++) {
        if (this.#used.has(i) || !match(this.frames[i])) continue;
        this.#used.add(i);
        return this.frames[i];
      }
      if (this.#eof) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.frames)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /** The response on stream `id`: its fields, and its body once END_STREAM arrived. */
  async response(
    id: number,
    timeout = WAIT_MS,
  ): Promise<{ status: number; fields: Fields; body: string; frames: Out[] }> {
    const frames: Out[] = [];
    const head = await this.until(
      (f) =>
        f.type === "HEADERS" && f.streamId === id || f.type === "RST_STREAM" && f.streamId === id,
      `the response on stream ${id}`,
      timeout,
    );
    if (head.type !== "HEADERS") throw new Error(`stream ${id} was reset: ${JSON.stringify(head)}`);
    frames.push(head);
    let ended = head.endStream;
    let body = "";
    while (!ended) {
      const f = await this.until(
        (f) =>
          (f.type === "DATA" || f.type === "HEADERS" || f.type === "RST_STREAM") &&
          f.streamId === id,
        `the body on stream ${id}`,
        timeout,
      );
      if (f.type === "RST_STREAM") throw new Error(`stream ${id} was reset: code ${f.code}`);
      frames.push(f);
      if (f.type === "DATA") {
        body += this.bodyOf(f);
        // Keep the windows open, as a reading client does.
        if (f.length > 0) await this.windowUpdate(id, f.length).catch(() => {});
      }
      ended = f.type === "DATA" || f.type === "HEADERS" ? f.endStream : true;
    }
    const status = Number(head.fields.find(([n]) => n === ":status")?.[1]);
    return { status, fields: head.fields, body, frames };
  }

  /** DATA text as the reader keeps it (up to 64 octets), else a marker of its length. */
  bodyOf(f: Out & { type: "DATA" }): string {
    return f.length <= 64 ? f.text : `<${f.length}>`;
  }

  async windowUpdate(id: number, increment: number): Promise<void> {
    const w = new ByteWriter();
    writeWindowUpdate(w, id, increment);
    await this.send(w.take());
  }

  async reset(id: number, code: number = ErrorCode.CANCEL): Promise<void> {
    const w = new ByteWriter();
    writeRstStream(w, id, code);
    await this.send(w.take());
  }

  async ping(): Promise<void> {
    const w = new ByteWriter();
    writePing(w, new Uint8Array(8), false);
    await this.send(w.take());
  }

  async goAway(code: number = ErrorCode.NO_ERROR): Promise<void> {
    const w = new ByteWriter();
    writeGoAway(w, 0, code, new Uint8Array(0));
    await this.send(w.take());
  }

  /** Resolves once the server has closed the connection. */
  async closedByServer(timeout = WAIT_MS): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!this.#eof) {
      if (Date.now() > deadline) throw new Error("the server did not close the connection");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  get eof(): boolean {
    return this.#eof;
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#reading;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** A DATA frame. */
export function data(id: number, body: Uint8Array | string, endStream = false): Uint8Array {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const w = new ByteWriter();
  writeData(w, id, bytes, endStream);
  return w.take();
}

/** A frame of any type with a raw payload. */
export function rawFrame(type: number, flags: number, id: number, payload: number[] = []) {
  const w = new ByteWriter();
  writeFrameHeader(w, payload.length, type, flags, id);
  w.bytes(Uint8Array.from(payload));
  return w.take();
}

/** The value of field `name` in a field list. */
export function field(fields: Fields, name: string): string | undefined {
  return fields.find(([n]) => n === name)?.[1];
}
