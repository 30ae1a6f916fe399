/**
 * One connection's protocol over a real socket, driven with raw bytes: persistence, pipelining,
 * HEAD, bodiless statuses, 100-continue, chunked bodies both ways, every error status, draining
 * unread bodies, handler failures, what the handler sees, and response streaming.
 */

import assert from "node:assert/strict";
import { Connection } from "../../lib/engine/connection.ts";
import type { ExchangeRecord } from "../../lib/shared/types.ts";
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, type Handler } from "../../lib/mod.ts";
import {
  field,
  fromLatin1,
  quietErrors,
  RawClient,
  type RawResponse,
  sleep,
  text,
  utf8,
  waitFor,
  within,
  withServer,
} from "../_raw.ts";

/** Answers "METHOD /path?query [body]", reading the body if there is one. */
const echo: Handler = async (request) => {
  const body = request.body ? await request.text() : "";
  const url = new URL(request.url);
  return new Response(`${request.method} ${url.pathname}${url.search} [${body}]`);
};

/** A body that arrives in `parts`, each `delay` ms after the previous one. */
function delayedStream(
  parts: string[],
  delay = 10,
  onCancel?: () => void,
): ReadableStream<Uint8Array> {
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => timer = setTimeout(resolve, delay));
      if (i < parts.length) controller.enqueue(utf8(parts[i++]));
      else controller.close();
    },
    cancel() {
      // A pull waiting on its timer when the body is cancelled: no timer outlives the test.
      clearTimeout(timer);
      onCancel?.();
    },
  });
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`;

function assertNoBody(response: RawResponse, what: string): void {
  assert.equal(response.framing, "none", what);
  assert.equal(field(response, "transfer-encoding"), undefined, `${what}: transfer-encoding`);
}

// ---- Persistence ------------------------------------------------------------------------------

Deno.test("connection: keep-alive carries several requests on one connection", async () => {
  const ports = new Set<number>();
  await withServer((request, info) => {
    ports.add(info.remoteAddr.port);
    return echo(request, info);
  }, async (port, server) => {
    await using client = await RawClient.connect(port);
    for (let i = 0; i < 5; i++) {
      await client.write(`GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
      const response = await client.response();
      assert.equal(response.status, 200);
      assert.equal(response.version, "1.1");
      assert.equal(text(response), `GET /${i} []`);
      assert.equal(field(response, "connection"), undefined, "HTTP/1.1 persists by default");
      assert.equal(server.connections, 1);
    }
    assert.equal(ports.size, 1, "every request came over the same connection");
  });
});

Deno.test("connection: HTTP/1.0 closes after the response by default", async () => {
  await withServer(echo, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("GET /old HTTP/1.0\r\n\r\nGET /never HTTP/1.0\r\n\r\n");
    const response = await client.response();
    assert.equal(response.status, 200);
    assert.equal(text(response), "GET /old []");
    assert.equal(field(response, "connection"), "close");
    assert.equal(response.framing, "length");
    assert.equal(fromLatin1(await client.closedByServer()), "", "the second request is ignored");
  });
});

Deno.test("connection: HTTP/1.0 with Connection: keep-alive stays open", async () => {
  await withServer(echo, async (port) => {
    await using client = await RawClient.connect(port);
    for (const path of ["/a", "/b"]) {
      await client.write(`GET ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
      const response = await client.response();
      assert.equal(text(response), `GET ${path} []`);
      assert.equal(field(response, "connection"), "keep-alive");
    }
    await client.write("GET /c HTTP/1.0\r\n\r\n");
    const last = await client.response();
    assert.equal(text(last), "GET /c []");
    assert.equal(field(last, "connection"), "close");
    assert.equal((await client.closedByServer()).length, 0);
  });
});

Deno.test("connection: an HTTP/1.1 request with Connection: close ends the connection", async () => {
  await withServer(echo, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + GET("/never"),
    );
    const response = await client.response();
    assert.equal(text(response), "GET /last []");
    assert.equal(field(response, "connection"), "close");
    assert.equal(fromLatin1(await client.closedByServer()), "");
  });
});

// Read buffers of closed connections are reused (lib/connection.ts, BufferPool): what one client
// sent must never show up in another's request, whether its request was whole or cut short.
Deno.test("connection: a new connection sees nothing of what closed ones left in their buffers", async () => {
  const seen: string[] = [];
  await withServer((request) => {
    seen.push([...request.headers.keys()].join(","));
    return new Response("ok");
  }, async (port, server) => {
    for (let i = 0; i < 8; i++) {
      await using client = await RawClient.connect(port);
      const fields = `X-Secret-${i}: ${"s".repeat(40)}\r\nX-Other: ${i}\r\n`;
      if (i % 2 === 0) {
        await client.write(`GET /a HTTP/1.1\r\nHost: a\r\n${fields}Connection: close\r\n\r\n`);
        assert.equal(text(await client.response()), "ok");
      } else {
        await client.write(`GET /a HTTP/1.1\r\nHost: a\r\n${fields}`); // never finished
      }
      await client.close();
      await waitFor(() => server.connections === 0, "the connection to close");
    }
    seen.length = 0;
    await using client = await RawClient.connect(port);
    for (const piece of ["GET /b HTTP/1.1\r\n", "Host: a\r\n", "\r\n"]) {
      await client.write(piece);
      await sleep(5);
    }
    assert.equal(text(await client.response()), "ok");
    assert.deepEqual(seen, ["host"]);
  });
});

// Closing a socket with unread input makes the kernel answer the client's next bytes with RST, and
// a client still sending (an upload the handler refused, pipelined requests) may then fail before
// it reads the response. So when the client may still be sending, the server stops writing but
// reads and discards for a while before closing (#linger): the client's writes keep succeeding.
for (
  const [what, request] of [
    [
      "a request pipelined after Connection: close",
      `GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n${GET("/after")}`,
    ],
    [
      "an upload still being sent",
      "POST /upload HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 100000\r\n\r\nxxxx",
    ],
  ] as const
) {
  Deno.test(`connection: ${what} is not reset after the response (linger)`, async () => {
    await withServer(() => new Response("answered"), async (port) => {
      await using client = await RawClient.connect(port);
      await client.write(request);
      const response = await client.response();
      assert.equal(text(response), "answered");
      assert.equal(field(response, "connection"), "close");
      for (let i = 0; i < 3; i++) {
        await client.write("x".repeat(8 * 1024));
        await sleep(30);
      }
      await client.closedByServer();
      assert.equal(client.reset, false, "closed with a FIN, not a reset");
    });
  });
}

Deno.test("connection: a client's half-close still gets every pipelined response", async () => {
  await withServer(echo, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
    );
    await client.closeWrite();
    const [one, two] = await client.responses(2);
    assert.equal(text(one), "GET /1 []");
    assert.equal(text(two), "POST /2 [hi]");
    assert.equal((await client.closedByServer()).length, 0);
  });
});

// ---- Pipelining -------------------------------------------------------------------------------

const PIPELINE = "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" +
  "POST /2?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
  '3;name="quoted;value"\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Checksum: 1\r\n\r\n' +
  "GET /3 HTTP/1.1\r\nHost: a\r\n\r\n" +
  "PUT /4 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz";
const PIPELINE_ANSWERS = [
  "POST /1 [hello]",
  "POST /2?x=1 [abc0123456789]",
  "GET /3 []",
  "PUT /4 [xyz]",
];

Deno.test("connection: pipelined requests with bodies in one write are answered in order", async () => {
  const order: string[] = [];
  await withServer(async (request, info) => {
    order.push(new URL(request.url).pathname);
    // The first request is the slowest: its answer must still come first.
    if (order.length === 1) await sleep(30);
    return echo(request, info);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(PIPELINE);
    const answers = await client.responses(4);
    assert.deepEqual(answers.map(text), PIPELINE_ANSWERS);
    assert.deepEqual(order, ["/1", "/2", "/3", "/4"]);
    await client.write("GET /5 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(text(await client.response()), "GET /5 []");
  });
});

Deno.test("connection: pipelined requests split at every offset", async () => {
  await withServer(echo, async (port) => {
    for (let at = 1; at < PIPELINE.length; at++) {
      await using client = await RawClient.connect(port);
      await client.writeSplit(PIPELINE, [at], 1);
      const answers = await client.responses(4);
      assert.deepEqual(answers.map(text), PIPELINE_ANSWERS, `split at ${at}`);
    }
  });
});

Deno.test("connection: pipelined requests sent a byte at a time", async () => {
  await withServer(echo, async (port) => {
    await using client = await RawClient.connect(port);
    await client.writeSlowly(PIPELINE, 1, 0);
    assert.deepEqual((await client.responses(4)).map(text), PIPELINE_ANSWERS);
  });
});

Deno.test("connection: a long pipelined batch is answered in order", async () => {
  await withServer((request) => {
    const n = Number(new URL(request.url).pathname.slice(1));
    return new Response(`${n}:${"x".repeat(n * 37)}`);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    const count = 200; // about 740 KB of answers: many writes
    await client.write(Array.from({ length: count }, (_, i) => GET(`/${i}`)).join(""));
    for (let i = 0; i < count; i++) {
      assert.equal(text(await client.response()), `${i}:${"x".repeat(i * 37)}`);
    }
  });
});

Deno.test("connection: a pipelined batch lets the event loop run after 16 requests", async () => {
  // Whether a turn of the event loop has passed since the batch's first request: a timer set
  // then fires only once the connection stops answering in a row.
  let turned = false;
  const sawTurn: boolean[] = [];
  await withServer((request) => {
    if (sawTurn.length === 0) setTimeout(() => turned = true, 0);
    sawTurn.push(turned);
    return new Response(new URL(request.url).pathname);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    // 40 heads of 30 bytes: the first read (the 1 KiB idle buffer) brings 34 of them.
    const count = 40;
    const paths = Array.from({ length: count }, (_, i) => `/${String(i).padStart(2, "0")}`);
    await client.write(paths.map(GET).join(""));
    assert.deepEqual((await client.responses(count)).map(text), paths);
    assert.deepEqual(sawTurn.slice(0, 16), Array(16).fill(false), "16 answered in one turn");
    assert.equal(sawTurn[16], true, "the 17th waits for the next turn");
  });
});

Deno.test("connection: a slow handler does not hold back the answers before it", async () => {
  const gate = Promise.withResolvers<void>();
  await withServer(async (request) => {
    if (new URL(request.url).pathname === "/slow") await gate.promise;
    return new Response(new URL(request.url).pathname);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(GET("/fast") + GET("/slow") + GET("/after"));
    assert.equal(text(await client.response()), "/fast", "sent while /slow is still running");
    gate.resolve();
    assert.deepEqual((await client.responses(2)).map(text), ["/slow", "/after"]);
  });
});

// ---- Read buffers ------------------------------------------------------------------------------
// A connection waits for its next request in a small buffer (1 KiB); what does not fit moves on
// to a working buffer that grows up to the head limit.

/** Answers with the path and the length of the X-Pad field. */
const padLength: Handler = (request) =>
  new Response(`${new URL(request.url).pathname} ${request.headers.get("x-pad")?.length ?? 0}`);

const padded = (path: string, pad: number) =>
  `GET ${path} HTTP/1.1\r\nHost: a\r\nX-Pad: ${"p".repeat(pad)}\r\n\r\n`;

/** A head of exactly `size` bytes. */
const headOf = (path: string, size: number) => padded(path, size - padded(path, 0).length);

Deno.test("connection: heads larger than the idle buffer are parsed whole, up to the limit", async () => {
  const max = DEFAULT_LIMITS.maxHeadBytes;
  await withServer(padLength, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(GET("/0"));
    assert.equal(text(await client.response()), "/0 0");
    // Each head arrives at a connection that sat idle after answering.
    for (const size of [1023, 1024, 1025, 3000, 9000, max]) {
      const head = headOf(`/${size}`, size);
      await client.write(head);
      const pad = size - padded(`/${size}`, 0).length;
      assert.equal(text(await client.response()), `/${size} ${pad}`, `a ${size}-byte head`);
    }
    // In pieces, split around the idle buffer's end.
    await client.writeSplit(headOf("/split", 6000), [500, 1023, 1024, 1500, 4096], 1);
    assert.equal(text(await client.response()), `/split ${6000 - padded("/split", 0).length}`);
  });
  await withServer(padLength, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(GET("/0"));
    await client.response();
    await client.write(headOf("/over", max + 1));
    assert.equal((await client.response()).status, 431);
  });
});

Deno.test("connection: pipelined requests across the idle buffer's end are answered in order", async () => {
  await withServer(echo, async (port) => {
    // The padding puts PIPELINE's requests and bodies across the 1 KiB mark.
    for (const pad of [900, 950, 1000, 1010]) {
      const batch = padded("/pad", pad) + PIPELINE;
      await using client = await RawClient.connect(port);
      await client.write(GET("/first"));
      assert.equal(text(await client.response()), "GET /first []");
      await client.write(batch);
      const answers = await client.responses(5);
      assert.deepEqual(answers.map(text), ["GET /pad []", ...PIPELINE_ANSWERS], `pad ${pad}`);
    }
    const batch = padded("/pad", 980) + PIPELINE;
    for (let at = 1000; at < 1100; at += 3) {
      await using client = await RawClient.connect(port);
      await client.writeSplit(batch, [at], 1);
      const answers = await client.responses(5);
      assert.deepEqual(answers.map(text), ["GET /pad []", ...PIPELINE_ANSWERS], `split at ${at}`);
    }
  });
});

Deno.test("connection: a chunked body larger than the idle buffer follows a small head", async () => {
  const body = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(97 + i % 26)).join("");
  let chunked = "";
  for (let i = 0; i < body.length; i += 700) {
    const chunk = body.slice(i, i + 700);
    chunked += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
  }
  chunked += "0\r\n\r\n";
  await withServer(echo, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(GET("/first"));
    await client.response();
    await client.write(
      `POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}${GET("/after")}`,
    );
    assert.equal(text(await client.response()), `POST /c [${body}]`);
    assert.equal(text(await client.response()), "GET /after []");
  });
});

// ---- HEAD, 204, 304 ---------------------------------------------------------------------------

Deno.test("connection: HEAD gets GET's fields and Content-Length but no body", async () => {
  let cancelled = false;
  await withServer((request) => {
    if (new URL(request.url).pathname === "/stream") {
      return new Response(delayedStream(["never sent"], 20, () => cancelled = true));
    }
    return new Response("twelve bytes", { headers: { "x-a": "1", etag: '"v1"' } });
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\n" +
        "HEAD /stream HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    const [get, head, streamHead, after] = await client.responses(4, [false, true, true, false]);
    assert.equal(head.status, 200);
    assert.equal(field(head, "content-length"), "12");
    const withoutDate = (r: RawResponse) => r.fields.filter(([name]) => name !== "date");
    assert.deepEqual(withoutDate(head), withoutDate(get), "the same fields as GET");
    assert.equal(streamHead.status, 200);
    assert.equal(field(streamHead, "transfer-encoding"), undefined);
    // Had any body bytes followed a HEAD response, this one would not parse.
    assert.equal(text(after), "twelve bytes");
    await waitFor(() => cancelled, "the unsent stream to be cancelled");
  });
});

Deno.test("connection: an error answering HEAD has its fields and no body", async () => {
  await withServer(() => new Response("unreached"), async (port) => {
    await using client = await RawClient.connect(port);
    // Refused once the request line is known: the Content-Length is over the body limit.
    await client.write(`HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: ${2 ** 40}\r\n\r\n`);
    const response = await client.response({ head: true });
    assert.equal(response.status, 413);
    assert.ok(Number(field(response, "content-length")) > 0, "the length a GET would get");
    assert.equal(fromLatin1(await client.closedByServer()), "", "no body after the head");
  });
});

Deno.test("connection: 204 and 304 carry no body and the connection goes on", async () => {
  await withServer((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/204") return new Response(null, { status: 204 });
    if (path === "/304") {
      return new Response(null, { status: 304, headers: { etag: '"x"', "content-length": "5" } });
    }
    return new Response("after");
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "GET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\n" +
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    const [noContent, notModified, after] = await client.responses(3);
    assert.equal(noContent.status, 204);
    assertNoBody(noContent, "204");
    assert.equal(field(noContent, "content-length"), undefined, "204 must not have one");
    assert.equal(notModified.status, 304);
    assertNoBody(notModified, "304");
    // A 304 may state the length the 200 would have had (RFC 9110 §8.6).
    assert.equal(field(notModified, "content-length"), "5");
    assert.equal(field(notModified, "etag"), '"x"');
    assert.equal(text(after), "after");
  });
});

// ---- 100-continue ----------------------------------------------------------------------------

Deno.test("connection: 100 Continue is sent only once the handler reads the body", async () => {
  const arrived = Promise.withResolvers<void>();
  const go = Promise.withResolvers<void>();
  await withServer(async (request) => {
    if (new URL(request.url).pathname === "/next") return new Response("next");
    arrived.resolve();
    await go.promise;
    return new Response(`got ${await request.text()}`);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    await arrived.promise;
    assert.ok(await client.quietFor(100), "nothing is sent before the handler reads");
    go.resolve();
    const interim = await client.response();
    assert.equal(interim.status, 100);
    assert.equal(interim.fields.length, 0);
    await client.write("data");
    const final = await client.response();
    assert.equal(final.status, 200);
    assert.equal(text(final), "got data");
    assert.equal(field(final, "connection"), undefined);
    await client.write("GET /next HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(text(await client.response()), "next");
  });
});

Deno.test("connection: a handler that ignores an expected body answers without 100 and closes", async () => {
  await withServer(
    () => new Response("no thanks", { status: 403 }),
    async (port) => {
      await using client = await RawClient.connect(port);
      await client.write(
        "PUT /big HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n" +
          "GET /never HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      const final = await client.response();
      assert.equal(final.status, 403, "the final response, not 100, comes first");
      assert.equal(text(final), "no thanks");
      assert.equal(field(final, "connection"), "close");
      assert.equal((await client.closedByServer()).length, 0);
    },
  );
});

// ---- Chunked bodies ---------------------------------------------------------------------------

Deno.test("connection: chunked request bodies with extensions and trailers are decoded", async () => {
  await withServer(echo, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
        '5;ext\r\nhello\r\n1 ; a=b ; c="d e"\r\n \r\nb\r\nchunked wor\r\n' +
        "2\r\nld\r\n0;last\r\nExpires: never\r\nX-Sum: 17\r\n\r\n" +
        "GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    const [upload, after] = await client.responses(2);
    assert.equal(text(upload), "POST /up [hello chunked world]");
    assert.equal(text(after), "GET /after []");
  });
});

Deno.test("connection: a stream body with delayed chunks is sent chunked, chunk by chunk", async () => {
  const gate = Promise.withResolvers<void>();
  await withServer(() => {
    let step = 0;
    return new Response(
      new ReadableStream({
        async pull(controller) {
          step++;
          if (step === 1) controller.enqueue(utf8("first;"));
          else if (step === 2) {
            await gate.promise; // the client must have seen the first chunk by now
            controller.enqueue(utf8("second;"));
          } else if (step === 3) {
            await sleep(10);
            controller.enqueue(utf8("third"));
          } else controller.close();
        },
      }),
      { headers: { "content-type": "text/plain" } },
    );
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await client.until("first;");
    gate.resolve();
    const response = await client.response();
    assert.equal(field(response, "transfer-encoding"), "chunked");
    assert.equal(field(response, "content-length"), undefined);
    assert.equal(response.framing, "chunked");
    assert.equal(text(response), "first;second;third");
    assert.deepEqual(response.chunks, [6, 7, 5]);
    await client.write("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  });
});

Deno.test("connection: streamed chunks that are empty, strings or large are framed right", async () => {
  const big = "L".repeat(100 * 1024);
  await withServer(() => {
    const parts: unknown[] = [utf8("a"), new Uint8Array(0), "string", utf8(big), new Uint8Array(0)];
    return new Response(
      new ReadableStream({
        async pull(controller) {
          await sleep(2);
          if (parts.length > 0) controller.enqueue(parts.shift() as Uint8Array);
          else controller.close();
        },
      }),
    );
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(GET("/") + GET("/"));
    for (const response of await client.responses(2)) {
      assert.equal(response.framing, "chunked");
      // An empty chunk would have ended the body early: none was sent.
      assert.deepEqual(response.chunks, [1, 6, big.length]);
      assert.equal(text(response), `astring${big}`);
    }
  });
});

Deno.test("connection: a streamed response to HTTP/1.0 is delimited by closing", async () => {
  await withServer(() => new Response(delayedStream(["one ", "two ", "three"])), async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    const response = await client.response();
    assert.equal(response.framing, "close");
    assert.equal(field(response, "transfer-encoding"), undefined);
    assert.equal(field(response, "connection"), "close");
    assert.equal(text(response), "one two three");
  });
});

Deno.test("connection: a streamed body with the handler's Content-Length is sent with it", async () => {
  await withServer((request) => {
    const parts = ["abc", "de"];
    return new Response(delayedStream(parts), {
      headers: { "content-length": new URL(request.url).pathname === "/short" ? "9" : "5" },
    });
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    const [one, old] = await client.responses(2);
    for (const response of [one, old]) {
      assert.equal(response.framing, "length");
      assert.equal(field(response, "content-length"), "5");
      assert.equal(text(response), "abcde");
    }
    assert.equal(field(old, "connection"), "keep-alive", "a known length keeps 1.0 alive");

    // A body shorter than it promised: the only honest signal left is closing.
    await quietErrors(async (logged) => {
      await using short = await RawClient.connect(port);
      await short.write("GET /short HTTP/1.1\r\nHost: a\r\n\r\n");
      await assert.rejects(short.response(), /EOF inside a Content-Length body/);
      await waitFor(() => logged.length > 0, "the short body to be reported");
    });
  });
});

// ---- Errors on the wire -----------------------------------------------------------------------

interface ErrorCase {
  name: string;
  request: string;
  status: number;
  options?: Record<string, number>;
  /** The handler gets the request (the error is found while it reads the body). */
  handled?: boolean;
}

const ERRORS: ErrorCase[] = [
  { name: "a malformed request line", request: "GET /\r\n\r\n", status: 400 },
  { name: "a space before the colon", request: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", status: 400 },
  { name: "a missing Host", request: "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", status: 400 },
  {
    name: "Content-Length with Transfer-Encoding",
    request:
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\n",
    status: 400,
  },
  {
    name: "a malformed chunk size",
    request: "POST /read HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    status: 400,
    handled: true,
  },
  {
    name: "a Content-Length over maxBodyBytes",
    request: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n",
    status: 413,
    options: { maxBodyBytes: 100 },
  },
  {
    name: "a chunked body growing past maxBodyBytes",
    request: "POST /read HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `40\r\n${"x".repeat(64)}\r\n40\r\n${"y".repeat(64)}\r\n0\r\n\r\n`,
    status: 413,
    options: { maxBodyBytes: 100 },
    handled: true,
  },
  {
    name: "a target over maxTargetBytes",
    request: `GET /${"a".repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    status: 414,
    options: { maxTargetBytes: 256 },
  },
  {
    name: "an unknown expectation",
    request: "GET / HTTP/1.1\r\nHost: a\r\nExpect: the-unexpected\r\n\r\n",
    status: 417,
  },
  {
    name: "a head over maxHeadBytes",
    request: `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(2000)}\r\n\r\n`,
    status: 431,
    options: { maxHeadBytes: 1024 },
  },
  {
    name: "more fields than maxHeaders",
    request: `GET / HTTP/1.1\r\nHost: a\r\n${"X-Many: 1\r\n".repeat(11)}\r\n`,
    status: 431,
    options: { maxHeaders: 10 },
  },
  {
    name: "an unknown transfer coding",
    request: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    status: 501,
  },
  {
    name: "CONNECT",
    request: "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
    status: 501,
  },
  { name: "HTTP/2.0", request: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", status: 505 },
];

Deno.test("connection: TRACE and TRACK in any letter case get 501, and the connection goes on", async () => {
  // Fetch forbids them whatever their case, so no Request can carry them: the differential
  // fuzzer found "track /" left without an answer (an internal error, then a close).
  await withServer(() => new Response("ok"), async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "track / HTTP/1.1\r\nHost: a\r\n\r\nTrace / HTTP/1.1\r\nHost: a\r\n\r\n" +
        "TRACK / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    const responses = await client.responses(4);
    assert.deepEqual(responses.map((r) => r.status), [501, 501, 501, 200]);
    assert.equal(text(responses[0]), "track is not supported\n");
  });
});

for (const { name, request, status, options, handled } of ERRORS) {
  Deno.test(`connection: ${name} → ${status}, connection: close, socket closed`, async () => {
    let calls = 0;
    await withServer(async (req) => {
      calls++;
      return new Response(new URL(req.url).pathname === "/read" ? await req.text() : "ok");
    }, async (port) => {
      await using client = await RawClient.connect(port);
      // A request pipelined behind the bad one must never be answered.
      await client.write(request + "GET /after HTTP/1.1\r\nHost: a\r\n\r\n");
      const response = await client.response();
      assert.equal(response.status, status, response.head);
      assert.equal(field(response, "connection"), "close");
      assert.ok(response.body.length > 0, "the error is explained");
      assert.equal(fromLatin1(await client.closedByServer()), "", "nothing after the error");
      assert.equal(calls, handled ? 1 : 0, "whether the handler ran");
    }, options);
  });
}

// ---- Unread bodies ---------------------------------------------------------------------------

Deno.test("connection: an unread body is drained, never framed as a request", async () => {
  const seen: string[] = [];
  await withServer(async (request) => {
    const path = new URL(request.url).pathname;
    seen.push(path);
    if (path === "/partial") {
      // Reads one piece and answers; the server drains the rest.
      const reader = request.body!.getReader();
      await reader.read();
      reader.releaseLock();
    }
    return new Response(`saw ${path}`);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    const fake = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
    const hex = fake.length.toString(16);
    await client.write(
      `POST /length HTTP/1.1\r\nHost: a\r\nContent-Length: ${fake.length}\r\n\r\n${fake}` +
        `POST /chunked HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${hex}\r\n${fake}\r\n${hex}\r\n${fake}\r\n0\r\nX-T: ${"t".repeat(10)}\r\n\r\n` +
        `POST /partial HTTP/1.1\r\nHost: a\r\nContent-Length: ${fake.length}\r\n\r\n`,
    );
    // The rest of /partial's body, a little later, split from its head.
    const [length, chunked] = await client.responses(2);
    await client.writeSplit(fake + "GET /last HTTP/1.1\r\nHost: a\r\n\r\n", [3, 20], 5);
    const [partial, last] = await client.responses(2);
    assert.deepEqual(
      [length, chunked, partial, last].map(text),
      ["saw /length", "saw /chunked", "saw /partial", "saw /last"],
    );
    assert.deepEqual(seen, ["/length", "/chunked", "/partial", "/last"]);
  });
});

Deno.test("connection: an unread body over maxDrainBytes closes the connection", async () => {
  await withServer(() => new Response("ignored"), async (port) => {
    await using known = await RawClient.connect(port);
    await known.write(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + "x".repeat(5000),
    );
    const response = await known.response();
    assert.equal(text(response), "ignored");
    assert.equal(field(response, "connection"), "close", "known too big before answering");
    assert.equal((await known.closedByServer()).length, 0);

    // A chunked body's size is learnt while draining: the connection closes then.
    await using chunked = await RawClient.connect(port);
    const chunk = `400\r\n${"y".repeat(1024)}\r\n`;
    await chunked.write(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk.repeat(4) +
        "0\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert.equal(text(await chunked.response()), "ignored");
    assert.equal(fromLatin1(await chunked.closedByServer()), "");
  }, { maxDrainBytes: 2000 });
});

Deno.test("connection: a GET with a body is served and the body drained", async () => {
  await withServer((request) => new Response(`${request.method} ok`), async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      'GET /search HTTP/1.1\r\nHost: a\r\nContent-Length: 13\r\n\r\n{"q":"GET /"}' +
        "GET /next HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    const [search, next] = await client.responses(2);
    assert.equal(search.status, 200);
    assert.equal(text(search), "GET ok");
    assert.equal(text(next), "GET ok");
  });
});

// ---- Handler failures -------------------------------------------------------------------------

Deno.test("connection: a throwing handler gives 500 and the server goes on", async () => {
  await quietErrors(async (logged) => {
    await withServer(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/sync") throw new Error("sync boom");
      if (path === "/async") {
        await sleep(1);
        throw new Error("async boom");
      }
      return new Response("fine");
    }, async (port) => {
      await using client = await RawClient.connect(port);
      await client.write(
        "GET /sync HTTP/1.1\r\nHost: a\r\n\r\nGET /async HTTP/1.1\r\nHost: a\r\n\r\n" +
          "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      const [sync, async, fine] = await client.responses(3);
      assert.equal(sync.status, 500);
      assert.equal(async.status, 500);
      assert.equal(field(sync, "connection"), undefined, "the connection survives");
      assert.equal(text(fine), "fine");
      await using other = await RawClient.connect(port);
      await other.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal(text(await other.response()), "fine");
    });
    const messages = logged.flat().map(String).join("\n");
    assert.match(messages, /sync boom/);
    assert.match(messages, /async boom/);
  });
});

Deno.test("connection: onError shapes the response to a handler's exception", async () => {
  const errors: unknown[] = [];
  await withServer((request) => {
    throw new Error(`nope at ${new URL(request.url).pathname}`);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    const response = await client.response();
    assert.equal(response.status, 502);
    assert.equal(text(response), "handled: nope at /x (GET http://a/x)");
    assert.equal(field(response, "x-from"), "onError");
    assert.equal(errors.length, 1);
  }, {
    onError: async (error, request) => {
      errors.push(error);
      await sleep(1);
      return new Response(
        `handled: ${(error as Error).message} (${request.method} ${request.url})`,
        {
          status: 502,
          headers: { "x-from": "onError" },
        },
      );
    },
  });
});

Deno.test("connection: a failing onError still gives 500", async () => {
  await quietErrors(async (logged) => {
    await withServer(() => {
      throw new Error("first");
    }, async (port) => {
      await using client = await RawClient.connect(port);
      await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
      const [one, two] = await client.responses(2);
      assert.equal(one.status, 500);
      assert.equal(two.status, 500);
    }, {
      onError: () => {
        throw new Error("onError broke too");
      },
    });
    assert.match(logged.flat().map(String).join("\n"), /onError broke too/);
  });
});

Deno.test("connection: a handler returning something other than a Response gives 500", async () => {
  await quietErrors(async (logged) => {
    await withServer((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/string") return "not a response" as unknown as Response;
      if (path === "/undefined") return Promise.resolve(undefined as unknown as Response);
      return new Response("fine");
    }, async (port) => {
      await using client = await RawClient.connect(port);
      await client.write(
        "GET /string HTTP/1.1\r\nHost: a\r\n\r\nGET /undefined HTTP/1.1\r\nHost: a\r\n\r\n" +
          "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      );
      const [string, undef, fine] = await client.responses(3);
      assert.equal(string.status, 500);
      assert.equal(undef.status, 500);
      assert.equal(text(fine), "fine");
    });
    assert.match(logged.flat().map(String).join("\n"), /did not return a Response/);
  });
});

Deno.test("connection: a response body failing before it is sent gives 500; after, a close", async () => {
  await quietErrors(async (logged) => {
    await withServer(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/used") {
        const response = new Response("read by the handler");
        await response.text();
        return response;
      }
      if (path === "/early") {
        return new Response(new ReadableStream({ pull: (c) => c.error(new Error("early")) }));
      }
      if (path === "/not-bytes") {
        return new Response(
          new ReadableStream({ pull: (c) => c.enqueue(42 as unknown as Uint8Array) }),
        );
      }
      if (path === "/late") {
        return new Response(
          new ReadableStream({
            async pull(c) {
              await sleep(10);
              c.error(new Error("late"));
            },
          }),
        );
      }
      return new Response("fine");
    }, async (port) => {
      await using client = await RawClient.connect(port);
      await client.write(
        GET("/used") + GET("/early") + GET("/not-bytes") + GET("/") + GET("/late") + GET("/"),
      );
      const failed = await client.responses(3);
      assert.deepEqual(failed.map((r) => r.status), [500, 500, 500]);
      assert.equal(text(await client.response()), "fine", "the connection goes on");
      // Once the head is out, closing mid-body is the only signal left.
      await assert.rejects(client.response(), /EOF inside a chunk-size line/);
    });
    const messages = logged.flat().map(String).join("\n");
    for (const cause of ["locked", "early", "must be a Uint8Array", "late"]) {
      assert.match(messages, new RegExp(cause));
    }
  });
});

// ---- What the handler sees --------------------------------------------------------------------

Deno.test("connection: the request's method, URL and headers as the handler sees them", async () => {
  const seen: Request[] = [];
  await withServer((request) => {
    seen.push(request);
    return new Response("ok");
  }, async (port, server) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "PATCH /p/a%20b?q=1&q=2 HTTP/1.1\r\nHost: example.com:8080\r\n" +
        "X-Dup: one\r\nx-dup: two\r\nACCEPT: text/html\r\nX-Empty:\r\nX-Pad: \t padded \t\r\n\r\n" +
        "GET http://other.example:81/abs?x=y HTTP/1.1\r\nHost: ignored.example\r\n\r\n" +
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n" +
        "DELETE /v HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    const [, , star, old] = await client.responses(4);
    assert.equal(star.status, 200, "OPTIONS * is answered by the server");
    assert.match(field(star, "allow") ?? "", /GET/);
    assert.equal(old.status, 200);

    const [patch, absolute, noHost] = seen;
    assert.equal(seen.length, 3);
    assert.equal(patch.method, "PATCH");
    assert.equal(patch.url, "http://example.com:8080/p/a%20b?q=1&q=2");
    assert.deepEqual(new URL(patch.url).searchParams.getAll("q"), ["1", "2"]);
    assert.equal(patch.headers.get("host"), "example.com:8080");
    assert.equal(patch.headers.get("x-dup"), "one, two");
    assert.equal(patch.headers.get("accept"), "text/html");
    assert.equal(patch.headers.get("x-empty"), "");
    assert.equal(patch.headers.get("x-pad"), "padded");
    assert.equal(absolute.url, "http://other.example:81/abs?x=y", "absolute-form overrides Host");
    assert.equal(absolute.headers.get("host"), "ignored.example");
    assert.equal(noHost.method, "DELETE");
    assert.equal(noHost.url, `http://127.0.0.1:${server.addr.port}/v`, "no Host: our address");
  });
});

Deno.test("connection: info.remoteAddr is the client's address", async () => {
  let remote: Deno.NetAddr | undefined;
  await withServer((_request, info) => {
    remote = info.remoteAddr;
    return new Response("ok");
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await client.response();
    const local = client.conn.localAddr as Deno.NetAddr;
    assert.equal(remote?.transport, "tcp");
    assert.equal(remote?.hostname, "127.0.0.1");
    assert.equal(remote?.port, local.port);
  });
});

Deno.test("connection: the handler reads a request body while it is still arriving", async () => {
  const firstPiece = Promise.withResolvers<string>();
  await withServer(async (request) => {
    const reader = request.body!.getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    firstPiece.resolve(decoder.decode(first.value));
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += decoder.decode(r.value);
    }
    return new Response(`first=${decoder.decode(first.value)} rest=${rest}`);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nfirst");
    assert.equal(await firstPiece.promise, "first", "the handler saw data before the end");
    await client.write("later");
    assert.equal(text(await client.response()), "first=first rest=later");
  });
});

Deno.test("connection: a handler may answer after the first piece of a body, before the rest", async () => {
  await withServer(async (request) => {
    if (request.method === "GET") return new Response("next");
    const reader = request.body!.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    return new Response(`started with ${new TextDecoder().decode(value)}`);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    // The answer comes while the body is still open...
    assert.equal(text(await client.response()), "started with hello");
    // ...and the rest is drained, so the next request is framed right.
    await client.write("6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(text(await client.response()), "next");
  });
});

// ---- Response fields --------------------------------------------------------------------------

Deno.test("connection: responses carry Date and Server; the handler's own win", async () => {
  const handler: Handler = (request) => {
    if (new URL(request.url).pathname === "/own") {
      return new Response("own", {
        headers: { date: "Thu, 01 Jan 2015 00:00:00 GMT", server: "mine" },
      });
    }
    const headers = new Headers();
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return new Response("default", { headers });
  };
  await withServer(handler, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /own HTTP/1.1\r\nHost: a\r\n\r\n");
    const [plain, own] = await client.responses(2);
    const date = field(plain, "date")!;
    assert.match(
      date,
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$/,
    );
    assert.ok(Math.abs(Date.parse(date) - Date.now()) < 5_000, "the date is now");
    assert.equal(field(plain, "server"), "tcp-http");
    assert.deepEqual(
      plain.fields.filter(([name]) => name === "set-cookie").map(([, v]) => v),
      ["a=1", "b=2"],
      "Set-Cookie is never joined",
    );
    assert.equal(field(own, "date"), "Thu, 01 Jan 2015 00:00:00 GMT");
    assert.equal(field(own, "server"), "mine");
  });
  for (const [serverName, expected] of [["custom/1", "custom/1"], [null, undefined]] as const) {
    await withServer(handler, async (port) => {
      await using client = await RawClient.connect(port);
      await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal(field(await client.response(), "server"), expected);
    }, { serverName });
  }
});

Deno.test("connection: plain responses' heads are right whatever was answered before", async () => {
  // Heads of responses whose only field is Content-Type are kept as bytes per status, reason,
  // connection field, server name and second: mixing them must never leak one into another.
  const handler: Handler = (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/created") return new Response("made", { status: 201 });
    if (path === "/teapot") {
      return new Response("tea", { status: 418, statusText: "Short And Stout" });
    }
    if (path === "/fine") return new Response("fine", { statusText: "Fine" });
    return new Response("plain");
  };
  const summary = (r: RawResponse) =>
    `${r.status} ${r.reason} ${field(r, "server") ?? "-"} ${field(r, "connection") ?? "-"} ${
      text(r)
    }`;
  for (const serverName of ["tcp-http", null, "other/2"]) {
    const server = serverName ?? "-";
    await withServer(handler, async (port) => {
      await using client = await RawClient.connect(port);
      await client.write(
        GET("/") + GET("/created") + GET("/teapot") + GET("/created") + GET("/fine") + GET("/"),
      );
      assert.deepEqual((await client.responses(6)).map(summary), [
        `200 OK ${server} - plain`,
        `201 Created ${server} - made`,
        `418 Short And Stout ${server} - tea`,
        `201 Created ${server} - made`,
        `200 Fine ${server} - fine`,
        `200 OK ${server} - plain`,
      ]);
      await client.write("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      assert.equal(summary(await client.response()), `200 OK ${server} keep-alive plain`);
      // The Date of the second after: the head kept for this one must not be reused.
      const before = field(
        await (async () => {
          await client.write(GET("/"));
          return client.response();
        })(),
        "date",
      );
      const second = Math.floor(Date.now() / 1000);
      while (Math.floor(Date.now() / 1000) === second) await sleep(20);
      await client.write(GET("/"));
      const after = await client.response();
      assert.equal(summary(after), `200 OK ${server} - plain`);
      assert.notEqual(field(after, "date"), before);
      assert.ok(Math.abs(Date.parse(field(after, "date")!) - Date.now()) < 2_000);
      await client.write("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      assert.equal(summary(await client.response()), `200 OK ${server} close plain`);
    }, { serverName });
  }
});

Deno.test("connection: framing fields set by the handler are replaced by the real ones", async () => {
  await withServer(
    () =>
      new Response("five!", {
        headers: {
          "content-length": "5",
          "transfer-encoding": "chunked",
          "keep-alive": "timeout=99",
          upgrade: "h2c",
        },
      }),
    async (port) => {
      await using client = await RawClient.connect(port);
      await client.write(GET("/") + GET("/"));
      for (const response of await client.responses(2)) {
        assert.equal(field(response, "content-length"), "5");
        assert.equal(text(response), "five!");
        for (const name of ["transfer-encoding", "keep-alive", "upgrade"]) {
          assert.equal(field(response, name), undefined, name);
        }
      }
    },
  );
});

Deno.test("connection: a declared Content-Length is kept, and a body that breaks it cuts the connection", async () => {
  // A body that ends short or runs long under a declared length is never relabelled: the client
  // gets the declared length, at most that many bytes, and then the connection closes, so it sees
  // the truncation (issue 13: 3,000 bytes under 10,000 went out as a complete 3,000-byte body).
  const chunks = (total: number) => {
    let left = total;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(1);
        if (left === 0) return controller.close();
        const n = Math.min(1000, left);
        left -= n;
        controller.enqueue(new Uint8Array(n).fill(0x61));
      },
    });
  };
  const cases: [string, () => Response, number][] = [
    [
      "/short-stream",
      () => new Response(chunks(3000), { headers: { "content-length": "10000" } }),
      3000,
    ],
    [
      "/long-stream",
      () => new Response(chunks(20000), { headers: { "content-length": "10000" } }),
      10000,
    ],
    ["/short-text", () => new Response("abc", { headers: { "content-length": "10" } }), 3],
    ["/long-text", () => new Response("abcdefghijkl", { headers: { "content-length": "5" } }), 5],
  ];
  await quietErrors(async (logged) => {
    await withServer((request) => {
      const path = new URL(request.url).pathname;
      return cases.find(([p]) => p === path)![1]();
    }, async (port) => {
      for (const [path, , sent] of cases) {
        await using client = await RawClient.connect(port);
        await client.write(GET(path) + GET("/short-text"));
        const all = fromLatin1(await client.closedByServer());
        const [head, body] = all.split("\r\n\r\n", 2);
        const declared = path.endsWith("long-text") ? "5" : path.endsWith("text") ? "10" : "10000";
        assert.match(`${head}\r\n`, new RegExp(`\r\ncontent-length: ${declared}\r\n`), path);
        assert.doesNotMatch(head, /connection: close/, `${path}: the head went out before`);
        assert.equal(body.length, sent, `${path}: bytes after the head`);
        assert.equal(all.split("HTTP/1.1 ").length, 2, `${path}: the next request is not answered`);
      }
    });
    assert.ok(
      logged.some((args) => String(args.at(-1)).includes("Content-Length")),
      "the handler's broken promise is reported",
    );
  });
});

Deno.test("connection: onExchange hears of every answered request", async () => {
  const records: ExchangeRecord[] = [];
  await withServer(async (request) => {
    if (request.body) await request.text();
    return new Response(new URL(request.url).pathname === "/404" ? "missing" : "ok", {
      status: new URL(request.url).pathname === "/404" ? 404 : 200,
    });
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(
      "POST /up?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" + GET("/404") +
        "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" +
        "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
    );
    await client.responses(4, [false, false, true, false]);
    await client.closedByServer();
    const local = client.conn.localAddr as Deno.NetAddr;
    assert.deepEqual(
      records.map((r) => [r.method, r.target, r.minorVersion, r.status, r.bytes]),
      [
        ["POST", "/up?x=1", 1, 200, 2],
        ["GET", "/404", 1, 404, 7],
        ["HEAD", "/", 0, 200, 0],
        ["CONNECT", "a.example:443", 1, 501, "CONNECT is not supported\n".length],
      ],
    );
    assert.equal(records[0].request?.url, "http://a/up?x=1");
    assert.equal(records[3].request, null, "CONNECT never reaches the handler");
    for (const record of records) {
      assert.equal(record.remoteAddr.port, local.port);
      assert.ok(record.duration >= 0);
    }
  }, { onExchange: (record) => records.push(record) });
});

Deno.test("connection: the handler's Connection: close is honoured", async () => {
  await withServer((request) => {
    const body = new URL(request.url).pathname === "/stream" ? delayedStream(["streamed"]) : "bye";
    return new Response(body, { headers: { connection: "close" } });
  }, async (port) => {
    for (const path of ["/", "/stream"]) {
      await using client = await RawClient.connect(port);
      await client.write(
        `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n`,
      );
      const response = await client.response();
      assert.equal(field(response, "connection"), "close", path);
      assert.equal(text(response), path === "/" ? "bye" : "streamed");
      assert.equal(fromLatin1(await client.closedByServer()), "", `${path}: nothing more`);
    }
  });
});

Deno.test("connection: an endless stream is cancelled when the client goes away", async () => {
  const cancelled = Promise.withResolvers<unknown>();
  await withServer(() => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => controller.enqueue(utf8("data: tick\n\n")), 5);
      },
      cancel(reason) {
        clearInterval(timer);
        cancelled.resolve(reason);
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  }, async (port, server) => {
    const client = await RawClient.connect(port);
    await client.write("GET /events HTTP/1.1\r\nHost: a\r\n\r\n");
    await client.until("data: tick\n\n");
    assert.match(fromLatin1(client.buffered), /transfer-encoding: chunked/);
    await client.close();
    await cancelled.promise;
    await waitFor(() => server.connections === 0, "the connection to be closed");
  });
});

// ---- With a scripted socket -------------------------------------------------------------------
// Races between graceful shutdown and a write still in flight need a write that finishes when
// the test says so; a fake Deno.Conn gives that, deterministically.

/** A Deno.Conn stand-in: the test pushes request bytes and decides when writes complete. */
class ScriptedConn {
  readonly localAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8000 };
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 40000 };
  closed = false;
  /** While true, writes wait for {@link release}. */
  holding = false;
  /** The most bytes one write takes, as a kernel with a nearly full send buffer would. */
  maxWrite = Infinity;
  writes = 0;
  #inbound: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #written: Uint8Array[] = [];
  #held: { go: () => void; fail: () => void }[] = [];

  /** The size of the buffer a read is waiting with for data, or null when none waits. */
  waitingWith: number | null = null;

  push(data: string): void {
    this.#inbound.push(utf8(data));
    this.#wake?.();
  }

  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#inbound.length === 0) {
      if (this.closed) throw new Deno.errors.BadResource("closed");
      this.waitingWith = buf.length;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.waitingWith = null;
    }
    if (this.closed) throw new Deno.errors.BadResource("closed");
    const first = this.#inbound[0];
    const n = Math.min(buf.length, first.length);
    buf.set(first.subarray(0, n));
    if (n === first.length) this.#inbound.shift();
    else this.#inbound[0] = first.subarray(n);
    return n;
  }

  write(data: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("closed"));
    this.writes++;
    const copy = data.slice(0, this.maxWrite);
    if (!this.holding) {
      this.#written.push(copy);
      return Promise.resolve(copy.length);
    }
    return new Promise((resolve, reject) => {
      this.#held.push({
        go: () => {
          this.#written.push(copy);
          resolve(copy.length);
        },
        fail: () => reject(new Deno.errors.BadResource("closed")),
      });
    });
  }

  /** Lets held writes (and later ones) complete. */
  release(): void {
    this.holding = false;
    for (const write of this.#held.splice(0)) write.go();
  }

  close(): void {
    if (this.closed) throw new Deno.errors.BadResource("closed");
    this.closed = true;
    for (const write of this.#held.splice(0)) write.fail();
    this.#wake?.();
  }

  closeWrite(): Promise<void> {
    return Promise.resolve();
  }

  /** Everything written, as text. */
  get written(): string {
    return this.#written.map((bytes) => fromLatin1(bytes)).join("");
  }
}

function scripted(handler: Handler): { conn: ScriptedConn; connection: Connection } {
  const conn = new ScriptedConn();
  const connection = new Connection(conn as unknown as Deno.Conn, {
    handler,
    limits: { ...DEFAULT_LIMITS },
    timeouts: { ...DEFAULT_TIMEOUTS },
    scheme: "http",
    serverName: null,
    maxDrainBytes: 1024,
    onError: () => new Response("error", { status: 500 }),
    onInternalError: (error) => {
      throw error;
    },
  });
  return { conn, connection };
}

const answered = (written: string) => [...written.matchAll(/HTTP\/1\.1 200 OK/g)].length;

Deno.test("connection: shutdown while idle but still writing waits for the write", async () => {
  const { conn, connection } = scripted(() => new Response("first answer"));
  conn.holding = true;
  const served = connection.serve();
  conn.push(GET("/1"));
  await sleep(10); // answered; its write is in flight and the loop waits for a request
  connection.closeGracefully();
  await sleep(10);
  assert.equal(conn.closed, false, "not closed under the write in flight");
  conn.release();
  await within(served, "the connection to close after its write");
  assert.ok(conn.closed);
  assert.match(conn.written, /\r\n\r\nfirst answer$/);
});

Deno.test("connection: shutdown while waiting for a write before reading closes after it", async () => {
  const { conn, connection } = scripted(() => new Response("answer"));
  conn.holding = true;
  const served = connection.serve();
  conn.push(GET("/1"));
  await sleep(10); // the first answer's write is in flight
  conn.push(GET("/2"));
  await sleep(10); // the second answer waits for that write to finish
  connection.closeGracefully();
  conn.release();
  await within(served, "the connection to close once both answers are out", 500);
  assert.ok(conn.closed);
  assert.equal(answered(conn.written), 2);
});

Deno.test("connection: writes the kernel takes only part of are finished, in order", async () => {
  const completed: string[] = [];
  const { conn, connection } = scripted((request, info) => {
    const path = new URL(request.url).pathname;
    info.completed.then(() => completed.push(path));
    return new Response(path.slice(1).repeat(1000));
  });
  conn.maxWrite = 700;
  const served = connection.serve();
  conn.push(GET("/a") + GET("/b") + GET("/c"));
  await waitFor(() => answered(conn.written) === 3, "three answers");
  await waitFor(() => completed.length === 3, "every response to complete");
  const bodies = conn.written.split(/HTTP\/1\.1 200 OK\r\n[^]*?\r\n\r\n/).slice(1);
  assert.deepEqual(bodies, ["a".repeat(1000), "b".repeat(1000), "c".repeat(1000)]);
  assert.deepEqual(completed, ["/a", "/b", "/c"]);
  assert.ok(conn.writes >= 5, `the responses took ${conn.writes} writes`);
  connection.abort();
  await within(served, "the connection to end");
});

Deno.test("connection: an idle connection waits in a 1 KiB buffer, even after a large head", async () => {
  const { conn, connection } = scripted(padLength);
  const served = connection.serve();
  await waitFor(() => conn.waitingWith !== null, "the first read");
  assert.ok(conn.waitingWith! <= 1024, `a new connection reads into ${conn.waitingWith} bytes`);
  conn.push(padded("/big", 10_000));
  await waitFor(() => answered(conn.written) === 1, "the answer");
  await waitFor(() => conn.waitingWith !== null, "the wait for the next request");
  assert.ok(conn.waitingWith! <= 1024, `an idle connection reads into ${conn.waitingWith} bytes`);
  assert.match(conn.written, /\/big 10000$/);
  connection.abort();
  await within(served, "the connection to end");
});

// ---- info.completed ------------------------------------------------------------------------------

/** A response body that would take seconds: 100 chunks of `char`, one every 20 ms. */
const endless = (char: string) =>
  delayedStream(Array.from({ length: 100 }, () => char.repeat(1000)), 20);

/** A client that asks for `path`, waits for `marker` in the answer's first bytes, and hangs up. */
async function hangUpDuring(port: number, path: string, marker: string): Promise<void> {
  const client = await RawClient.connect(port);
  await client.write(GET(path));
  await client.until(marker);
  await client.close();
}

Deno.test("connection: info.completed resolves per request once its response is written", async () => {
  const settled: string[] = [];
  const infos = new Set<unknown>();
  await withServer((request, info) => {
    const path = new URL(request.url).pathname;
    infos.add(info);
    info.completed.then(() => settled.push(path), () => settled.push(`${path} failed`));
    return path === "/stream"
      ? new Response(delayedStream(["a", "b", "c"]))
      : new Response(`answer to ${path}`);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(GET("/one") + GET("/stream") + GET("/two"));
    const responses = await client.responses(3);
    assert.deepEqual(responses.map(text), ["answer to /one", "abc", "answer to /two"]);
    await waitFor(() => settled.length === 3, "every completed promise to settle");
    assert.deepEqual(settled, ["/one", "/stream", "/two"]);
    assert.equal(infos.size, 3, "an info object per request");
  });
});

Deno.test("connection: info.completed rejects with Interrupted when the client leaves first", async () => {
  let outcome: unknown = "pending";
  let observedLater: Promise<void> | null = null;
  await withServer((_request, info) => {
    info.completed.then(() => outcome = "resolved", (error) => outcome = error);
    // Asked for only once the outcome is known: it must still settle the same way.
    setTimeout(() => observedLater = info.completed, 300);
    return new Response(endless("x"));
  }, async (port) => {
    await hangUpDuring(port, "/slow", "x");
    await waitFor(() => outcome !== "pending", "completed to settle");
    assert.ok(outcome instanceof Deno.errors.Interrupted, String(outcome));
    await waitFor(() => observedLater !== null, "the late look at completed");
    await assert.rejects(() => observedLater!, Deno.errors.Interrupted);
  });
});

Deno.test("connection: an unobserved failed completion is not an unhandled rejection", async () => {
  // The test runner fails a test in which a promise rejection goes unhandled.
  let asked = false;
  await withServer((_request, info) => {
    void info.completed; // made, never awaited
    asked = true;
    return new Response(endless("y"));
  }, async (port) => {
    await hangUpDuring(port, "/", "y");
    await sleep(100);
    assert.ok(asked);
  });
});

Deno.test("connection: a handler typed as Deno.ServeHandler is served unchanged", async () => {
  // Type-checked as well as run: `info` has what Deno.serve hands over, completed included.
  let completed = false;
  const handler: Deno.ServeHandler<Deno.NetAddr> = (request, info) => {
    info.completed.then(() => completed = true);
    return new Response(`${request.method} from ${info.remoteAddr.hostname}`);
  };
  await withServer(handler, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(GET("/"));
    assert.equal(text(await client.response()), "GET from 127.0.0.1");
    await waitFor(() => completed, "completed to resolve");
  });
});

// ---- request.signal ------------------------------------------------------------------------------

Deno.test("connection: request.signal aborts when the client leaves while the handler works", async () => {
  let reason: unknown = null;
  let handlerDone = false;
  await withServer(async (request) => {
    await new Promise<void>((resolve) => {
      request.signal.addEventListener("abort", () => {
        reason = request.signal.reason;
        resolve();
      });
    });
    handlerDone = true;
    return new Response("nobody is listening");
  }, async (port) => {
    const client = await RawClient.connect(port);
    await client.write(GET("/long-poll"));
    await sleep(50);
    await client.close();
    await waitFor(() => handlerDone, "the handler to see the abort");
    assert.ok(reason instanceof DOMException && reason.name === "AbortError", String(reason));
  });
});

Deno.test("connection: a request answered in full is not aborted when the client leaves after", async () => {
  const signals: AbortSignal[] = [];
  await withServer(async (request) => {
    signals.push(request.signal);
    await sleep(5);
    return new Response("done");
  }, async (port) => {
    const client = await RawClient.connect(port);
    await client.write(GET("/a"));
    assert.equal(text(await client.response()), "done");
    await client.write(GET("/b"));
    assert.equal(text(await client.response()), "done");
    await client.close();
    await sleep(50);
  });
  assert.equal(signals.length, 2);
  assert.deepEqual(signals.map((s) => s.aborted), [false, false]);
});

Deno.test("connection: a half-close aborts the signal, and the answer is still sent", async () => {
  // Go's server does the same: EOF cancels the request's context; the response still goes out.
  let aborted = false;
  await withServer(async (request) => {
    await sleep(50);
    aborted = request.signal.aborted;
    return new Response("still answered");
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write(GET("/"));
    await client.closeWrite();
    assert.equal(text(await client.response()), "still answered");
    assert.equal(aborted, true);
  });
});

Deno.test("connection: pipelined requests behind an async handler keep their bytes, bodies too", async () => {
  // While the first handler waits, the connection reads ahead (to see the client leave): the
  // requests behind it, including a body that arrives in pieces, must come out whole, in order.
  await withServer(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/slow") await sleep(40);
    const body = request.body === null ? "" : await request.text();
    return new Response(`${request.method} ${path} ${body}`);
  }, async (port) => {
    await using client = await RawClient.connect(port);
    const post = "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n";
    // Half of the body comes with the first request: the rest is read while a read started
    // during the first handler may still be waiting.
    await client.write(GET("/slow") + post + "01234");
    await sleep(80);
    await client.write("56789");
    await sleep(20);
    await client.write(GET("/after"));
    const responses = await client.responses(3);
    assert.deepEqual(responses.map(text), [
      "GET /slow ",
      "POST /upload 0123456789",
      "GET /after ",
    ]);
  });
});

Deno.test("connection: a streamed response's signal aborts when the client hangs up", async () => {
  let aborted = false;
  await withServer((request) => {
    request.signal.addEventListener("abort", () => aborted = true);
    return new Response(endless("z"));
  }, async (port) => {
    await hangUpDuring(port, "/events", "z");
    await waitFor(() => aborted, "the signal to abort");
    await sleep(50); // the stream's last pull was asleep when it was cancelled
  });
});
