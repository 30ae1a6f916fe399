/**
 * The raw loop's connection handler, shared by the plain (servers/raw.ts) and TLS
 * (servers/tls.ts) raw servers: the physical limit, a loop that parses nothing.
 *
 * It reads into one reused buffer, counts requests by counting "\r\n\r\n" in what arrived (a
 * match may straddle two reads), and answers them all with one write of that many copies of a
 * pre-encoded response. It cannot see request headers, so `closeAfterReply` is the mode the
 * new-connection shape needs: answer with `connection: close` and hang up.
 *
 * @module
 */

const encoder = new TextEncoder();
const HEAD = "HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\ncontent-length: 13\r\n";
/** Copies of a response back to back, enough for any pipelining depth wrk is asked for. */
const PREBUILT = 64;
const BUFFER_BYTES = 16 * 1024;
const CR = 13;
const LF = 10;

interface Replies {
  one: Uint8Array;
  prebuilt: Uint8Array;
}

const KEEP_ALIVE = replies(encoder.encode(`${HEAD}\r\nHello, World!`));
const CLOSE = replies(encoder.encode(`${HEAD}connection: close\r\n\r\nHello, World!`));

function replies(one: Uint8Array): Replies {
  return { one, prebuilt: repeat(one, PREBUILT) };
}

/** The part of a connection the loop uses: plain `Deno.Conn`s and TLS ones alike. */
export interface RawConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** Serves one connection to its end. */
export async function serveRaw(conn: RawConn, closeAfterReply: boolean): Promise<void> {
  const answer = closeAfterReply ? CLOSE : KEEP_ALIVE;
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
      await writeAll(conn, answers(answer, requests));
      if (closeAfterReply) break;
    }
  } catch {
    // A reset peer ends its connection; the loop serves the others.
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

function answers(replies: Replies, requests: number): Uint8Array {
  return requests <= PREBUILT
    ? replies.prebuilt.subarray(0, requests * replies.one.length)
    : repeat(replies.one, requests);
}

function repeat(bytes: Uint8Array, times: number): Uint8Array {
  const out = new Uint8Array(bytes.length * times);
  for (let i = 0; i < times; i++) out.set(bytes, i * bytes.length);
  return out;
}

/** One `write` in practice; the loop only covers a kernel that takes part of it. */
async function writeAll(conn: RawConn, bytes: Uint8Array): Promise<void> {
  let written = await conn.write(bytes);
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}
