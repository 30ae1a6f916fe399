/**
 * The server driven by a real HTTP client, Deno's `fetch`: plain GET, JSON both ways, streaming
 * in both directions, HEAD and bodiless statuses, connection reuse, concurrency. Every response
 * body is consumed or cancelled so no resource outlives its test.
 */

import assert from "node:assert/strict";
import { sleep, utf8, withServer } from "../_raw.ts";

Deno.test("fetch: GET returns status, fields and body", async () => {
  await withServer(
    (request) =>
      new Response(`hello ${new URL(request.url).searchParams.get("name")}`, {
        status: 201,
        headers: { "content-type": "text/plain; charset=utf-8", "x-custom": "yes" },
      }),
    async (port) => {
      const response = await fetch(`http://127.0.0.1:${port}/greet?name=deno`);
      assert.equal(response.status, 201);
      assert.equal(response.headers.get("x-custom"), "yes");
      assert.equal(response.headers.get("server"), "tcp-http");
      assert.ok(response.headers.get("date"));
      assert.equal(await response.text(), "hello deno");
    },
  );
});

Deno.test("fetch: POST JSON is read by the handler and answered with JSON", async () => {
  await withServer(async (request) => {
    const input = await request.json();
    return Response.json({
      method: request.method,
      type: request.headers.get("content-type"),
      input,
    });
  }, async (port) => {
    const response = await fetch(`http://127.0.0.1:${port}/api`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: [1, 2, 3], b: "ü" }),
    });
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.deepEqual(await response.json(), {
      method: "POST",
      type: "application/json",
      input: { a: [1, 2, 3], b: "ü" },
    });
  });
});

Deno.test("fetch: a streamed response arrives chunk by chunk", async () => {
  const gate = Promise.withResolvers<void>();
  await withServer(() => {
    let step = 0;
    return new Response(
      new ReadableStream({
        async pull(controller) {
          step++;
          if (step === 1) controller.enqueue(utf8("first "));
          else if (step === 2) {
            await gate.promise; // sent only once the client has the first chunk
            controller.enqueue(utf8("second"));
          } else controller.close();
        },
      }),
    );
  }, async (port) => {
    const response = await fetch(`http://127.0.0.1:${port}/stream`);
    assert.equal(response.headers.get("transfer-encoding"), "chunked");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.equal(first.value, "first ");
    gate.resolve();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
    assert.equal(rest, "second");
  });
});

Deno.test("fetch: a streamed request body reaches the handler", async () => {
  await withServer(async (request) => {
    let size = 0;
    let pieces = 0;
    for await (const chunk of request.body!) {
      size += chunk.length;
      pieces++;
    }
    return Response.json({ size, pieces, te: request.headers.get("transfer-encoding") });
  }, async (port) => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(5);
        if (sent++ < 4) controller.enqueue(new Uint8Array(1000).fill(0x61));
        else controller.close();
      },
    });
    // `duplex` is required for a stream body but missing from the RequestInit type.
    const init = { method: "PUT", body, duplex: "half" } as RequestInit;
    const response = await fetch(`http://127.0.0.1:${port}/upload`, init);
    const result = await response.json();
    assert.equal(result.size, 4000);
    assert.equal(result.te, "chunked");
    assert.ok(result.pieces >= 1);
  });
});

Deno.test("fetch: a large body makes the round trip intact", async () => {
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) % 251);
  await withServer(
    async (request) => new Response(new Uint8Array(await request.arrayBuffer()).reverse()),
    async (port) => {
      const response = await fetch(`http://127.0.0.1:${port}/echo`, { method: "POST", body: big });
      const back = new Uint8Array(await response.arrayBuffer());
      assert.equal(back.length, big.length);
      assert.deepEqual(back.reverse(), big);
    },
  );
});

Deno.test("fetch: HEAD, 204 and 304 have no body", async () => {
  await withServer((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/204") return new Response(null, { status: 204 });
    if (path === "/304") return new Response(null, { status: 304 });
    return new Response("a body of 18 bytes");
  }, async (port) => {
    const head = await fetch(`http://127.0.0.1:${port}/`, { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), "18");
    assert.equal(await head.text(), "");
    for (const status of [204, 304]) {
      const response = await fetch(`http://127.0.0.1:${port}/${status}`);
      assert.equal(response.status, status);
      assert.equal(await response.text(), "");
    }
    const get = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await get.text(), "a body of 18 bytes");
  });
});

Deno.test("fetch: sequential requests reuse one kept-alive connection", async () => {
  const ports: number[] = [];
  await withServer((_request, info) => {
    ports.push(info.remoteAddr.port);
    return new Response(`request ${ports.length}`);
  }, async (port, server) => {
    for (let i = 1; i <= 5; i++) {
      const response = await fetch(`http://127.0.0.1:${port}/${i}`);
      assert.equal(await response.text(), `request ${i}`);
    }
    assert.equal(new Set(ports).size, 1, `one client port for all: ${ports}`);
    assert.equal(server.connections, 1);
  });
});

Deno.test("fetch: concurrent requests are all answered", async () => {
  await withServer(async (request) => {
    await sleep(10);
    return new Response(new URL(request.url).pathname);
  }, async (port) => {
    const paths = Array.from({ length: 20 }, (_, i) => `/${i}`);
    const bodies = await Promise.all(
      paths.map(async (path) => await (await fetch(`http://127.0.0.1:${port}${path}`)).text()),
    );
    assert.deepEqual(bodies, paths);
  });
});

Deno.test("fetch: an error response and a cancelled body leave the server serving", async () => {
  await withServer((request) => {
    if (new URL(request.url).pathname === "/endless") {
      let timer: ReturnType<typeof setInterval> | undefined;
      return new Response(
        new ReadableStream({
          start(controller) {
            timer = setInterval(() => controller.enqueue(utf8("tick\n")), 5);
          },
          cancel() {
            clearInterval(timer);
          },
        }),
      );
    }
    return new Response("not here", { status: 404 });
  }, async (port) => {
    const missing = await fetch(`http://127.0.0.1:${port}/missing`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "not here");
    const endless = await fetch(`http://127.0.0.1:${port}/endless`);
    const reader = endless.body!.getReader();
    assert.ok((await reader.read()).value!.length > 0);
    await reader.cancel();
    const after = await fetch(`http://127.0.0.1:${port}/missing`);
    assert.equal(after.status, 404);
    await after.body!.cancel();
  });
});

Deno.test("fetch: a handler forwards its Request upstream unchanged (a proxy)", async () => {
  // The Request the engine builds goes through Deno's own fetch: `new Request(url, request)`
  // copies its method, headers and streamed body.
  await withServer(async (request) => {
    const body = await request.text();
    return new Response(
      `${request.method} ${new URL(request.url).pathname} ` +
        `${request.headers.get("x-trace")} ${body}`,
    );
  }, async (upstreamPort) => {
    await withServer(async (request) => {
      const target = `http://127.0.0.1:${upstreamPort}${new URL(request.url).pathname}`;
      const upstream = await fetch(new Request(target, request));
      return new Response(upstream.body, { status: upstream.status });
    }, async (port) => {
      const post = await fetch(`http://127.0.0.1:${port}/orders/7`, {
        method: "POST",
        headers: { "x-trace": "abc" },
        body: "a body that is streamed through",
      });
      assert.equal(await post.text(), "POST /orders/7 abc a body that is streamed through");
      const get = await fetch(`http://127.0.0.1:${port}/health`, { headers: { "x-trace": "def" } });
      assert.equal(await get.text(), "GET /health def ");
    });
  });
});
