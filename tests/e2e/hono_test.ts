/**
 * A real Hono app, unchanged, served by our engine: the `{ fetch }` contract is all it needs.
 * Checked over real sockets, with `fetch` and with raw bytes through `Deno.connect`.
 */

import assert from "node:assert/strict";
import { Hono } from "hono";
import { stream, streamSSE } from "hono/streaming";
import { serve, type Server } from "../../lib/mod.ts";

function honoApp(): Hono {
  const app = new Hono();
  app.get("/", (c) => c.text("Hello Hono!"));
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") ?? null }));
  app.get("/posts/:post/comments/:comment", (c) => c.json(c.req.param()));
  app.post("/echo", async (c) => {
    const body = await c.req.json();
    return c.json({ received: body, type: c.req.header("content-type") }, 201);
  });
  app.post("/upload", async (c) => {
    const text = await c.req.text();
    return c.json({ length: text.length, lines: text.split("\n").length, head: text.slice(0, 8) });
  });
  app.get("/stream", (c) =>
    stream(c, async (s) => {
      for (let i = 0; i < 5; i++) {
        await s.write(`chunk ${i}\n`);
        await s.sleep(5);
      }
    }));
  app.get("/sse", (c) =>
    streamSSE(c, async (s) => {
      for (let i = 0; i < 3; i++) {
        await s.writeSSE({ event: "tick", id: String(i), data: `tick ${i}` });
        await s.sleep(5);
      }
    }));
  app.get("/boom", () => {
    throw new Error("boom");
  });
  app.onError((error, c) => c.text(`hono caught: ${error.message}`, 500));
  app.notFound((c) => c.text("hono 404", 404));
  return app;
}

/** Serves a fresh Hono app for the duration of `body`. */
async function withHono(body: (base: string, server: Server) => Promise<void>): Promise<void> {
  const app = honoApp();
  const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  try {
    await body(`http://127.0.0.1:${server.addr.port}`, server);
  } finally {
    await server.shutdown();
    await server.finished;
  }
}

function get(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
}

/** Sends `bytes` on a fresh connection and reads until the server closes it. */
async function raw(port: number, bytes: string | Uint8Array): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    await conn.write(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    const chunks: Uint8Array[] = [];
    for await (const chunk of conn.readable) chunks.push(chunk);
    return new TextDecoder().decode(concat(chunks));
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Already closed by the readable reaching its end.
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** Splits a stream of responses (ASCII bodies) into status, headers and decoded bodies. */
function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    assert.notEqual(end, -1, `incomplete head in ${JSON.stringify(rest.slice(0, 200))}`);
    const [statusLine, ...lines] = rest.slice(0, end).split("\r\n");
    const headers = new Map(
      lines.map((
        l,
      ) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]),
    );
    rest = rest.slice(end + 4);
    let body = "";
    if (headers.get("transfer-encoding") === "chunked") {
      for (;;) {
        const lineEnd = rest.indexOf("\r\n");
        const size = parseInt(rest.slice(0, lineEnd), 16);
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf("\r\n") + 2); // no trailers expected
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      const length = Number(headers.get("content-length") ?? rest.length);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    out.push({ status: Number(statusLine.split(" ")[1]), headers, body });
  }
  return out;
}

Deno.test("Hono over our engine: routing, params, query and 404 via fetch", async () => {
  await withHono(async (base) => {
    const home = await get(`${base}/`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get("content-type")!, /^text\/plain/);
    assert.equal(await home.text(), "Hello Hono!");

    const user = await get(`${base}/users/42?q=x%20y`);
    assert.match(user.headers.get("content-type")!, /^application\/json/);
    assert.deepEqual(await user.json(), { id: "42", q: "x y" });

    const nested = await get(`${base}/posts/p1/comments/c2`);
    assert.deepEqual(await nested.json(), { post: "p1", comment: "c2" });

    const missing = await get(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "hono 404");

    const boom = await get(`${base}/boom`);
    assert.equal(boom.status, 500);
    assert.equal(await boom.text(), "hono caught: boom");
  });
});

Deno.test("Hono over our engine: JSON in and out, and a large text body", async () => {
  await withHono(async (base) => {
    const echo = await get(`${base}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "Ada", tags: ["a", "b"], n: 1.5 }),
    });
    assert.equal(echo.status, 201);
    assert.deepEqual(await echo.json(), {
      received: { name: "Ada", tags: ["a", "b"], n: 1.5 },
      type: "application/json",
    });

    const big = "0123456789abcdef\n".repeat(64 * 1024); // ~1.1 MB
    const upload = await get(`${base}/upload`, { method: "POST", body: big });
    assert.deepEqual(await upload.json(), {
      length: big.length,
      lines: 64 * 1024 + 1,
      head: "01234567",
    });

    // The same body as a stream: fetch sends it chunked.
    const streamed = await get(`${base}/upload`, {
      method: "POST",
      body: ReadableStream.from([big.slice(0, 1000), big.slice(1000)]).pipeThrough(
        new TextEncoderStream(),
      ),
    });
    assert.equal((await streamed.json()).length, big.length);
  });
});

Deno.test("Hono over our engine: streamed and SSE responses arrive chunk by chunk", async () => {
  await withHono(async (base) => {
    const streamed = await get(`${base}/stream`);
    assert.equal(streamed.status, 200);
    assert.equal(
      await streamed.text(),
      "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n",
    );

    const sse = await get(`${base}/sse`);
    assert.match(sse.headers.get("content-type")!, /^text\/event-stream/);
    const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let reads = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      reads++;
    }
    assert.equal(
      text,
      [0, 1, 2].map((i) => `event: tick\ndata: tick ${i}\nid: ${i}\n\n`).join(""),
    );
    assert.ok(reads >= 2, `events arrive as they are written (${reads} reads)`);
  });
});

Deno.test("Hono over our engine: raw sockets, keep-alive, pipelining and a chunked upload", async () => {
  await withHono(async (_base, server) => {
    const port = server.addr.port;
    const pipelined = await raw(
      port,
      "GET /users/7 HTTP/1.1\r\nHost: a\r\n\r\n" +
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n" +
        'Content-Length: 11\r\n\r\n{"ok":true}' +
        "GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    const [user, echo, streamed] = parseResponses(pipelined);
    assert.equal(user.status, 200);
    assert.deepEqual(JSON.parse(user.body), { id: "7", q: null });
    assert.equal(echo.status, 201);
    assert.deepEqual(JSON.parse(echo.body).received, { ok: true });
    assert.equal(streamed.status, 200);
    assert.equal(streamed.headers.get("transfer-encoding"), "chunked");
    assert.equal(streamed.body, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");

    const line = "x".repeat(99) + "\n";
    const chunks = Array.from(
      { length: 50 },
      () => `${(line.length * 20).toString(16)}\r\n${line.repeat(20)}\r\n`,
    );
    const upload = await raw(
      port,
      "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
        chunks.join("") + "0\r\n\r\n",
    );
    const [answer] = parseResponses(upload);
    assert.equal(answer.status, 200);
    assert.deepEqual(JSON.parse(answer.body), { length: 100_000, lines: 1001, head: "xxxxxxxx" });

    const head = parseResponses(
      await raw(port, "HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
    );
    assert.equal(head.length, 1);
    assert.equal(head[0].status, 200);
  });
});
