/**
 * The server around the connections, over real sockets: start-up, deadlines (header, idle, body
 * and write timeouts), clients that stall, the connection limit, graceful shutdown with its
 * grace period, and shutdown by signal.
 */

import assert from "node:assert/strict";
import type { Handler } from "../../lib/mod.ts";
import {
  field,
  fromLatin1,
  RawClient,
  sleep,
  start,
  stop,
  text,
  utf8,
  waitFor,
  within,
  withServer,
} from "../_raw.ts";

const hello: Handler = () => new Response("hello");

/** Connecting to `port` is refused: nothing listens there any more. */
async function assertRefused(port: number): Promise<void> {
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
}

Deno.test("server: onListen gets the bound address; connections counts open sockets", async () => {
  let listened: Deno.NetAddr | undefined;
  const server = start(hello, { onListen: (addr) => listened = addr });
  try {
    assert.equal(listened, server.addr);
    assert.equal(server.addr.hostname, "127.0.0.1");
    assert.ok(server.addr.port > 0, "port 0 picks a free port");
    assert.equal(server.connections, 0);
    await using a = await RawClient.connect(server.addr.port);
    await using b = await RawClient.connect(server.addr.port);
    await a.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await b.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(text(await a.response()), "hello");
    assert.equal(text(await b.response()), "hello");
    assert.equal(server.connections, 2);
    await a.close();
    await waitFor(() => server.connections === 1, "the closed connection to be forgotten");
  } finally {
    await stop(server);
  }
});

// ---- Deadlines --------------------------------------------------------------------------------

Deno.test("server: headerTimeout closes a slowloris connection", async () => {
  await withServer(hello, async (port) => {
    await using stalled = await RawClient.connect(port);
    await stalled.write("GET / HTTP/1.1\r\nHost: a\r\nX-Slow:");
    assert.equal(fromLatin1(await stalled.closedByServer()), "", "closed without an answer");

    // Dripping a byte at a time does not extend the deadline: it runs from the first byte.
    await using drip = await RawClient.connect(port);
    let sent = 0;
    const head = `GET / HTTP/1.1\r\nHost: a\r\n${"X-Drip: 1\r\n".repeat(100)}\r\n`;
    const dripping = (async () => {
      for (; sent < head.length; sent++) {
        await drip.write(head[sent]);
        await sleep(10);
      }
    })().catch(() => {}); // the write after the close fails
    await drip.closedByServer();
    await dripping;
    assert.ok(sent < head.length, "closed before the head was complete");
  }, { headerTimeout: 200 });
});

Deno.test("server: idleTimeout closes an idle keep-alive connection", async () => {
  await withServer(hello, async (port, server) => {
    await using client = await RawClient.connect(port);
    await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(text(await client.response()), "hello");
    assert.equal(fromLatin1(await client.closedByServer()), "");
    // A connection that never sends a byte is idle too.
    await using silent = await RawClient.connect(port);
    await silent.closedByServer();
    await waitFor(() => server.connections === 0, "both connections to be gone");
  }, { idleTimeout: 150 });
});

Deno.test("server: bodyTimeout closes a connection whose body stalls", async () => {
  const failure = Promise.withResolvers<unknown>();
  await withServer(async (request) => {
    try {
      return new Response(await request.text());
    } catch (error) {
      failure.resolve(error);
      throw error;
    }
  }, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    assert.equal(fromLatin1(await client.closedByServer()), "", "closed without an answer");
    assert.ok(await within(failure.promise, "the handler's read to fail") instanceof Error);
  }, { bodyTimeout: 150 });
});

Deno.test("server: bodyTimeout while draining an unread body: answered, then closed", async () => {
  await withServer(hello, async (port) => {
    await using client = await RawClient.connect(port);
    await client.write("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    assert.equal(text(await client.response()), "hello");
    assert.equal(fromLatin1(await client.closedByServer()), "");
  }, { bodyTimeout: 150 });
});

Deno.test("server: writeTimeout closes a connection that never reads a large response", async () => {
  const cancelled = Promise.withResolvers<void>();
  const chunk = new Uint8Array(64 * 1024).fill(0x61);
  await withServer(() =>
    new Response(
      new ReadableStream({
        pull(controller) {
          controller.enqueue(chunk);
        },
        cancel() {
          cancelled.resolve();
        },
      }),
    ), async (port, server) => {
    const client = await RawClient.connect(port);
    await client.write("GET /endless HTTP/1.1\r\nHost: a\r\n\r\n");
    // Never read: the socket buffers fill, a write waits, and its deadline passes.
    await within(cancelled.promise, "the response stream to be cancelled");
    await waitFor(() => server.connections === 0, "the connection to be closed");
    await client.close();
  }, { writeTimeout: 200 });
});

Deno.test("server: stalled clients do not delay another client", async () => {
  await withServer(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/upload") return new Response(await request.text());
    if (path === "/big") return new Response(new Uint8Array(8 * 1024 * 1024));
    return new Response("quick");
  }, async (port) => {
    await using partialHead = await RawClient.connect(port);
    await partialHead.write("GET / HTTP/1.1\r\nHo");
    await using partialBody = await RawClient.connect(port);
    await partialBody.write("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nab");
    await using nonReader = await RawClient.connect(port);
    await nonReader.write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    await using silent = await RawClient.connect(port);
    await sleep(20);

    await using other = await RawClient.connect(port);
    for (let i = 0; i < 3; i++) {
      await other.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal(text(await other.response({ timeout: 1_000 })), "quick");
    }
    // The stalled ones are still open (default deadlines are long); closing them ends them.
    assert.equal(silent.buffered.length, 0);
  });
});

// ---- Connection limit -------------------------------------------------------------------------

Deno.test("server: past maxConnections of busy ones a client gets 503 and close; the others are served", async () => {
  const gate = Promise.withResolvers<void>();
  const holding = async (request: Request) => {
    if (new URL(request.url).pathname === "/hold") await gate.promise;
    return new Response("hello");
  };
  await withServer(holding, async (port, server) => {
    const open: RawClient[] = [];
    try {
      // Two connections each waiting for an answer: busy, none can be closed to make room.
      for (let i = 0; i < 2; i++) {
        const client = await RawClient.connect(port);
        open.push(client);
        await client.write("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
      }
      await waitFor(() => server.connections === 2, "two connections accepted");
      await sleep(50); // their requests reach the handler

      await using extra = await RawClient.connect(port);
      await extra.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      const refused = await extra.response();
      assert.equal(refused.status, 503);
      assert.equal(field(refused, "connection"), "close");
      assert.equal(field(refused, "retry-after"), "1");
      assert.equal(fromLatin1(await extra.closedByServer()), "");

      // The two below the limit are answered and go on being served.
      gate.resolve();
      for (const client of open) {
        assert.equal(text(await client.response()), "hello");
        await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert.equal(text(await client.response()), "hello");
      }
      // Once one leaves, a new client gets in.
      await open.shift()!.close();
      await waitFor(() => server.connections === 1, "a connection to close");
      await using next = await RawClient.connect(port);
      await next.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal(text(await next.response()), "hello");
    } finally {
      gate.resolve();
      for (const client of open) await client.close();
    }
  }, { maxConnections: 2 });
});

// ---- Shutdown ---------------------------------------------------------------------------------

Deno.test("server: graceful shutdown finishes the request in flight, closes the idle ones", async () => {
  const started = Promise.withResolvers<void>();
  let handlerDone = false;
  const server = start(async (request) => {
    if (new URL(request.url).pathname === "/slow") {
      started.resolve();
      await sleep(200);
      handlerDone = true;
      return new Response("finished");
    }
    return new Response("quick");
  }, { gracePeriod: 2_000 });
  const port = server.addr.port;
  await using idle = await RawClient.connect(port);
  await idle.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.equal(text(await idle.response()), "quick");
  await using busy = await RawClient.connect(port);
  await busy.write("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
  await started.promise;

  const order: string[] = [];
  const shutdown = server.shutdown().then(() => {
    order.push("shutdown");
    assert.ok(handlerDone, "shutdown waited for the handler");
  });
  const received = busy.response().then(async (response) => {
    order.push("response");
    await busy.close();
    return response;
  });

  assert.equal((await idle.closedByServer()).length, 0, "the idle connection is closed");
  assert.equal(handlerDone, false, "...at once, not after the request in flight");
  await assertRefused(port);

  const response = await received;
  assert.equal(text(response), "finished");
  assert.equal(field(response, "connection"), "close");
  await within(shutdown, "shutdown");
  assert.deepEqual(order, ["response", "shutdown"]);
  assert.equal(server.connections, 0);
});

Deno.test("server: gracePeriod cuts a connection whose handler never finishes", async () => {
  const started = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const server = start(async () => {
    started.resolve();
    await release.promise;
    return new Response("too late");
  }, { gracePeriod: 150 });
  try {
    await using stuck = await RawClient.connect(server.addr.port);
    await stuck.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await started.promise;
    const shutdown = server.shutdown();
    assert.equal(fromLatin1(await stuck.closedByServer()), "", "cut without an answer");
    await within(shutdown, "shutdown after the grace period");
    await assertRefused(server.addr.port);
  } finally {
    release.resolve();
    await stop(server);
    await sleep(10); // the released handler's loop ends on the closed socket
  }
});

Deno.test("server: aborting the signal shuts the server down", async () => {
  const controller = new AbortController();
  const server = start(hello, { signal: controller.signal });
  await using client = await RawClient.connect(server.addr.port);
  await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.equal(text(await client.response()), "hello");
  controller.abort();
  assert.equal((await client.closedByServer()).length, 0, "idle connection closed");
  await within(server.finished, "finished");
  assert.equal(server.connections, 0);
  await assertRefused(server.addr.port);
  await stop(server); // shutdown after the fact resolves too

  const early = start(hello, { signal: AbortSignal.abort() });
  await within(early.finished, "a server whose signal was already aborted to finish");
});

Deno.test("server: a streamed response in flight finishes during shutdown", async () => {
  const started = Promise.withResolvers<void>();
  const server = start(() => {
    started.resolve();
    let n = 0;
    return new Response(
      new ReadableStream({
        async pull(controller) {
          await sleep(20);
          if (n++ < 5) controller.enqueue(utf8(`part${n} `));
          else controller.close();
        },
      }),
    );
  });
  await using client = await RawClient.connect(server.addr.port);
  await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  await started.promise;
  const shutdown = server.shutdown();
  const response = await client.response();
  assert.equal(text(response), "part1 part2 part3 part4 part5 ");
  assert.equal(field(response, "transfer-encoding"), "chunked");
  await client.close();
  await within(shutdown, "shutdown");
});
