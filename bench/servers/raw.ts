/**
 * The physical limit: a `Deno.listen` loop that parses nothing.
 * `deno run servers/raw.ts PORT [close]`.
 *
 * Per connection it reads into one reused buffer, counts requests by counting "\r\n\r\n" in
 * what arrived (a match may straddle two reads), and answers them all with one write of that
 * many copies of a pre-encoded response. It cannot see request headers, so `close` starts it in
 * the mode the new-connection shape needs: answer with `connection: close` and hang up.
 *
 * @module
 */

import { exitOnSignals, parseServerArgs } from "./args.ts";

const { port, extra } = parseServerArgs(Deno.args);
exitOnSignals();
const closeAfterReply = extra === "close";

const encoder = new TextEncoder();
const HEAD = "HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\ncontent-length: 13\r\n";
const RESPONSE = encoder.encode(
  `${HEAD}${closeAfterReply ? "connection: close\r\n" : ""}\r\nHello, World!`,
);
/** Copies of RESPONSE back to back, enough for any pipelining depth wrk is asked for. */
const PREBUILT = 64;
const replies = repeat(RESPONSE, PREBUILT);
const BUFFER_BYTES = 16 * 1024;
const CR = 13;
const LF = 10;

const listener = Deno.listen({ hostname: "127.0.0.1", port });
for await (const conn of listener) serveConnection(conn);

async function serveConnection(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(BUFFER_BYTES);
  /** How many bytes of "\r\n\r\n" the input read so far ends with. */
  let matched = 0;
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      let requests = 0;
      for (let i = 0; i < n; i++) {
        const byte = buffer[i];
        if (byte === LF) matched = matched === 1 || matched === 3 ? matched + 1 : 0;
        else if (byte === CR) matched = matched === 2 ? 3 : 1;
        else matched = 0;
        if (matched === 4) {
          requests++;
          matched = 0;
        }
      }
      if (requests === 0) continue;
      await writeAll(conn, answers(requests));
      if (closeAfterReply) break;
    }
  } catch {
    // A reset peer ends its connection; the loop serves the others.
  } finally {
    conn.close();
  }
}

function answers(requests: number): Uint8Array {
  return requests <= PREBUILT
    ? replies.subarray(0, requests * RESPONSE.length)
    : repeat(RESPONSE, requests);
}

function repeat(bytes: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(bytes.length * times);
  for (let i = 0; i < times; i++) out.set(bytes, i * bytes.length);
  return out;
}

/** One `write` in practice; the loop only covers a kernel that takes part of it. */
async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let written = await conn.write(bytes);
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
