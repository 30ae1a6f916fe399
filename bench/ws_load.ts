/**
 * The WebSocket load generator of bench/websocket.ts, run as its own process:
 *
 *     deno run --allow-net bench/ws_load.ts PORT SOCKETS INFLIGHT SIZE SECONDS [deflate]
 *
 * Opens SOCKETS connections, and on each one sends INFLIGHT messages of SIZE bytes in one write,
 * waits until as many echoes have come back, and again, for SECONDS. INFLIGHT 1 measures round
 * trips; more measures how many messages a server moves when it is never kept waiting. With
 * `deflate` it offers permessage-deflate and, if the server agrees, sends compressed messages.
 *
 * It does as little as a client can: the frames are made once (masked with one fixed key), and
 * the echoes are counted by walking frame headers, never unmasked, decoded or compressed. Prints
 * one line of JSON: `{ messages, seconds, deflate }`.
 *
 * @module
 */

import { deflateMessage, encodeFrame, Opcode } from "../lib/ws/mod.ts";

const [port, sockets, inflight, size, seconds] = Deno.args.slice(0, 5).map(Number);
const offerDeflate = Deno.args[5] === "deflate";
const MASK = new Uint8Array([0x12, 0x34, 0x56, 0x78]);
const encoder = new TextEncoder();

/** The message: JSON-like text, as chat and live-update apps send (compressible, as theirs). */
function payload(n: number): Uint8Array {
  let text = "";
  for (let i = 0; text.length < n; i++) {
    text += `{"id":${i},"user":"user${i % 97}","text":"message number ${i * 7919 % 10007}"},`;
  }
  return encoder.encode(text.slice(0, n));
}

const message = payload(size);
const plainFrame = encodeFrame(size < 1024 ? Opcode.Text : Opcode.Binary, message, { mask: MASK });
const deflatedFrame = offerDeflate
  ? encodeFrame(size < 1024 ? Opcode.Text : Opcode.Binary, await deflateMessage(message), {
    mask: MASK,
    rsv1: true,
  })
  : plainFrame;

function batchOf(frame: Uint8Array): Uint8Array {
  const batch = new Uint8Array(frame.length * inflight);
  for (let i = 0; i < inflight; i++) batch.set(frame, i * frame.length);
  return batch;
}

/** Counts the server's (unmasked) frames in a byte stream cut anywhere. */
class FrameCounter {
  #header = new Uint8Array(10);
  #headerLength = 0;
  #remaining = 0;

  /** How many frames `bytes` completed. */
  feed(bytes: Uint8Array): number {
    let frames = 0;
    let i = 0;
    while (i < bytes.length) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, bytes.length - i);
        i += take;
        this.#remaining -= take;
        if (this.#remaining === 0) frames++;
        continue;
      }
      this.#header[this.#headerLength++] = bytes[i++];
      if (this.#headerLength < 2) continue;
      const len7 = this.#header[1] & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
      if (this.#headerLength < need) continue;
      const h = this.#header;
      const length = len7 === 126
        ? (h[2] << 8) | h[3]
        : len7 === 127
        ? ((h[6] << 24) | (h[7] << 16) | (h[8] << 8) | h[9]) >>> 0
        : len7;
      this.#headerLength = 0;
      if (length === 0) frames++;
      else this.#remaining = length;
    }
    return frames;
  }
}

async function open(): Promise<{ conn: Deno.Conn; deflate: boolean; rest: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const extensions = offerDeflate
    ? "sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n"
    : "";
  await writeAll(
    conn,
    encoder.encode(
      `GET /ws HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nupgrade: websocket\r\n` +
        `connection: Upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
        `sec-websocket-version: 13\r\n${extensions}\r\n`,
    ),
  );
  const buf = new Uint8Array(4096);
  let head = new Uint8Array(0);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed during the handshake");
    const joined = new Uint8Array(head.length + n);
    joined.set(head);
    joined.set(buf.subarray(0, n), head.length);
    head = joined;
    const text = new TextDecoder().decode(head);
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) continue;
    if (!text.startsWith("HTTP/1.1 101")) throw new Error(`no 101: ${text.slice(0, 200)}`);
    const deflate = /sec-websocket-extensions:\s*permessage-deflate/i.test(text.slice(0, end));
    return { conn, deflate, rest: head.slice(end + 4) };
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

let running = true;
let measuring = false;
let messages = 0;

async function drive(conn: Deno.Conn, batch: Uint8Array): Promise<void> {
  const counter = new FrameCounter();
  const buf = new Uint8Array(256 * 1024);
  while (running) {
    await writeAll(conn, batch);
    let got = 0;
    while (got < inflight) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("the server closed the connection");
      got += counter.feed(buf.subarray(0, n));
    }
    if (measuring) messages += inflight;
  }
}

const opened = await Promise.all(Array.from({ length: sockets }, open));
const agreed = opened.every((o) => o.deflate);
const batch = batchOf(agreed ? deflatedFrame : plainFrame);
const loops = opened.map(({ conn }) => drive(conn, batch));
// A short settling period after the handshakes, then the measured window.
await new Promise((resolve) => setTimeout(resolve, 200));
measuring = true;
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
measuring = false;
const elapsed = (performance.now() - started) / 1000;
const counted = messages;
running = false;
await Promise.allSettled(loops);
for (const { conn } of opened) conn.close();
console.log(JSON.stringify({ messages: counted, seconds: elapsed, deflate: agreed }));
