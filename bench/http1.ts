/**
 * Just enough of an HTTP/1.1 client for the harness: send one GET on a connection and read one
 * response with a Content-Length body. Used to check a server before loading it, and to put
 * idle keep-alive connections in place for the memory shape.
 *
 * @module
 */

/** One response, as read off the wire. */
export interface Reply {
  status: number;
  head: string;
  body: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Sends `GET path` on `conn` (keep-alive unless `close`) and reads the response. */
export async function get(conn: Deno.Conn, path: string, close = false): Promise<Reply> {
  const connection = close ? "connection: close\r\n" : "";
  await conn.write(encoder.encode(`GET ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${connection}\r\n`));
  return await readReply(conn);
}

/** Opens a connection to 127.0.0.1:`port`, GETs `path` with `connection: close`, closes. */
export async function getOnce(port: number, path: string): Promise<Reply> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    return await get(conn, path, true);
  } finally {
    conn.close();
  }
}

async function readReply(conn: Deno.Conn): Promise<Reply> {
  let received = new Uint8Array(0);
  let headEnd = -1;
  let bodyLength = 0;
  const chunk = new Uint8Array(64 * 1024);
  while (headEnd < 0 || received.length < headEnd + 4 + bodyLength) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("the server closed the connection mid-response");
    received = concat(received, chunk.subarray(0, n));
    if (headEnd < 0) {
      headEnd = indexOfBlankLine(received);
      if (headEnd >= 0) {
        const head = decoder.decode(received.subarray(0, headEnd));
        const length = head.match(/^content-length:\s*(\d+)\s*$/im);
        if (!length) throw new Error(`a response without Content-Length:\n${head}`);
        bodyLength = Number(length[1]);
      }
    }
  }
  const head = decoder.decode(received.subarray(0, headEnd));
  return {
    status: Number(head.match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? 0),
    head,
    body: received.subarray(headEnd + 4, headEnd + 4 + bodyLength),
  };
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
