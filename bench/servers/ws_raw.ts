/**
 * The floor for a WebSocket echo in JavaScript: a `Deno.listen` loop that does only what an echo
 * must, for bench/websocket.ts's `raw` row. `deno run servers/ws_raw.ts PORT`.
 *
 * It answers any request head with a 101 (the accept key computed, nothing else checked), then
 * per read: walks the frames, unmasks each payload into one reused output buffer behind an
 * unmasked header, and writes that buffer once. No UTF-8 check, no events, no limits, no close
 * handshake: not a WebSocket server, only what one cannot do without.
 *
 * @module
 */

import { acceptKey } from "../../lib/ws/mod.ts";
import { exitOnSignals, parseServerArgs } from "./args.ts";

const { port } = parseServerArgs(Deno.args);
exitOnSignals();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const listener = Deno.listen({ hostname: "127.0.0.1", port });
for await (const conn of listener) serveConnection(conn);

async function serveConnection(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  let input = new Uint8Array(64 * 1024);
  let output = new Uint8Array(64 * 1024);
  let filled = 0;
  try {
    // The handshake: read until the blank line, answer 101.
    for (;;) {
      const n = await conn.read(input.subarray(filled));
      if (n === null) return;
      filled += n;
      const head = decoder.decode(input.subarray(0, filled));
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const key = /sec-websocket-key:\s*(\S+)/i.exec(head)?.[1] ?? "";
      await writeAll(
        conn,
        encoder.encode(
          "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
            `sec-websocket-accept: ${await acceptKey(key)}\r\n\r\n`,
        ),
      );
      input.copyWithin(0, end + 4, filled);
      filled -= end + 4;
      break;
    }
    for (;;) {
      // Echo every whole frame in what has arrived; keep a partial one for the next read.
      let at = 0, out = 0;
      for (;;) {
        if (filled - at < 2) break;
        const len7 = input[at + 1] & 0x7f;
        const extra = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
        if (filled - at < 6 + extra) break;
        const length = len7 === 126
          ? (input[at + 2] << 8) | input[at + 3]
          : len7 === 127
          ? input[at + 6] * 2 ** 24 + ((input[at + 7] << 16) | (input[at + 8] << 8) | input[at + 9])
          : len7;
        const start = at + 2 + extra + 4;
        if (filled < start + length) break;
        if (output.length < out + 10 + length) output = grow(output, out + 10 + length);
        output[out] = input[at];
        output[out + 1] = len7;
        output.set(input.subarray(at + 2, at + 2 + extra), out + 2);
        const to = out + 2 + extra, key = start - 4;
        for (let i = 0; i < length; i++) output[to + i] = input[start + i] ^ input[key + (i & 3)];
        out = to + length;
        at = start + length;
      }
      if (out > 0) await writeAll(conn, output.subarray(0, out));
      input.copyWithin(0, at, filled);
      filled -= at;
      if (filled === input.length) input = grow(input, input.length * 2);
      const n = await conn.read(input.subarray(filled));
      if (n === null) return;
      filled += n;
    }
  } catch {
    // A reset peer ends its connection; the loop serves the others.
  } finally {
    conn.close();
  }
}

function grow(bytes: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const bigger = new Uint8Array(Math.max(size, bytes.length * 2));
  bigger.set(bytes);
  return bigger;
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let written = await conn.write(bytes);
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
