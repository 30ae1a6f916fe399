/**
 * Hostile clients against the library server with short deadlines: slowloris heads, silent
 * connections, stalled uploads and clients that never read a large response. A normal client is
 * still answered while they are all open, and the server closes every one of them by itself.
 * Then the connection limits: past maxConnections and maxConnectionsPerIp a client gets 503 and
 * the server goes on serving the others.
 */

import assert from "node:assert/strict";
import { serve } from "../../lib/engine/server.ts";
import { get, parseResponse, rawRequest, readAll, sleep, until, within } from "../_spawn.ts";

const encoder = new TextEncoder();
const HOST = "127.0.0.1";

/**
 * Short deadlines. The idle deadline, which also covers a new connection's first bytes, is a
 * little longer: while the server pushes megabytes into the socket buffers of the clients that
 * never read, Deno's runtime can take a few hundred milliseconds to deliver a ready read on
 * another socket (measured: up to ~350 ms here), and a 300 ms idle deadline then cuts the
 * healthy client this test is about.
 */
const SHORT = { headerTimeout: 300, bodyTimeout: 300, writeTimeout: 300, idleTimeout: 1_000 };

/** Opens `count` connections, a batch at a time so the accept queue never overflows. */
async function connectMany(port: number, count: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Math.min(50, count - i);
    conns.push(
      ...await Promise.all(
        Array.from({ length: batch }, () => Deno.connect({ hostname: HOST, port })),
      ),
    );
  }
  return conns;
}

/** Resolves once the peer has closed `conn` (a read returns null or fails), draining data. */
async function closedByPeer(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    try {
      if (await conn.read(buf) === null) return;
    } catch {
      return; // reset by the peer: closed too
    }
  }
}

async function writeQuietly(conn: Deno.Conn, text: string): Promise<boolean> {
  try {
    await conn.write(encoder.encode(text));
    return true;
  } catch {
    return false;
  }
}

function closeAll(conns: Deno.Conn[]): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

Deno.test("hostile: slowloris, silent, stalled and non-reading clients cannot starve a normal one", async () => {
  let cancelled = 0;
  let bigStarted = 0;
  const server = serve(
    { hostname: HOST, port: 0, onListen() {}, ...SHORT },
    async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/big") {
        bigStarted++;
        // 256 MiB produced on demand: far more than socket buffers hold for a client that
        // never reads.
        const chunk = new Uint8Array(64 * 1024).fill(120);
        let left = 4096;
        return new Response(
          new ReadableStream<Uint8Array>({
            pull(controller) {
              if (left-- === 0) controller.close();
              else controller.enqueue(chunk.slice());
            },
            cancel() {
              cancelled++;
            },
          }),
        );
      }
      if (path === "/upload") {
        try {
          await request.arrayBuffer();
        } catch {
          // the stalled upload was cut
        }
        return new Response("uploaded\n");
      }
      return new Response("hello\n");
    },
  );
  const port = server.addr.port;
  const hostile: Deno.Conn[] = [];
  let stopTrickling = false;
  const tricklers: Promise<void>[] = [];
  try {
    // 300 slowloris heads that trickle a byte every 100 ms and never end.
    const slowloris = await connectMany(port, 300);
    hostile.push(...slowloris);
    for (const conn of slowloris) {
      tricklers.push((async () => {
        if (!await writeQuietly(conn, `GET / HTTP/1.1\r\nHost: ${HOST}\r\nX-Slow: `)) return;
        while (!stopTrickling) {
          await sleep(100);
          if (!await writeQuietly(conn, "a")) return;
        }
      })());
    }
    // 200 connections that send nothing at all.
    hostile.push(...await connectMany(port, 200));
    // 50 uploads that announce a megabyte, send a little, then stall.
    const uploads = await connectMany(port, 50);
    hostile.push(...uploads);
    for (const conn of uploads) {
      tricklers.push((async () => {
        const head = `POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 1000000\r\n\r\n`;
        if (!await writeQuietly(conn, head + "x".repeat(100))) return;
        await sleep(100);
        await writeQuietly(conn, "y");
      })());
    }
    // 20 clients that ask for a large streamed response and never read it.
    const readers = await connectMany(port, 20);
    hostile.push(...readers);
    for (const conn of readers) {
      await writeQuietly(conn, `GET /big HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
    }

    const open = server.connections;
    // A normal client, while the hostile ones are still open; a slow answer fails the test.
    const answer = await within(get(port, "/"), 2_000, "a normal request among hostile clients");
    assert.equal(answer.status, 200);
    assert.equal(answer.body, "hello\n");
    assert.ok(open >= 400, `most hostile connections were open during the request (${open})`);

    // The server closes every hostile connection by itself.
    await until(() => server.connections === 0, 10_000, "the server closed every connection");
    stopTrickling = true;
    await within(Promise.all(tricklers), 2_000, "tricklers stopping");
    await within(
      Promise.all(hostile.map(closedByPeer)),
      5_000,
      "every hostile socket reads as closed",
    );
    assert.equal(bigStarted, 20, "every non-reading client got its response started");
    assert.equal(cancelled, 20, "every abandoned response stream was cancelled");

    // And the server still works afterwards.
    assert.equal((await get(port, "/")).body, "hello\n");
  } finally {
    stopTrickling = true;
    closeAll(hostile);
    await Promise.allSettled(tricklers);
    await server.shutdown();
  }
});

Deno.test("hostile: a flood past maxConnections of busy ones gets 503 and close; the rest are served", async () => {
  const gate = Promise.withResolvers<void>();
  const server = serve(
    { hostname: HOST, port: 0, onListen() {}, maxConnections: 10, idleTimeout: 10_000 },
    async (request) => {
      if (new URL(request.url).pathname === "/hold") await gate.promise;
      return new Response("ok\n");
    },
  );
  const port = server.addr.port;
  const held: Deno.Conn[] = [];
  const extra: Deno.Conn[] = [];
  try {
    // Ten connections each waiting for an answer: busy, so none can be closed to make room.
    held.push(...await connectMany(port, 10));
    for (const conn of held) {
      await conn.write(encoder.encode(`GET /hold HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    }
    await until(() => server.connections === 10, 2_000, "ten connections accepted");
    await sleep(100); // their requests reach the handler

    // Five more: each is told 503 with connection: close, then closed.
    extra.push(...await connectMany(port, 5));
    const refused = await within(
      Promise.all(extra.map(async (conn) => parseResponse(await readAll(conn)))),
      3_000,
      "refused connections answered",
    );
    for (const response of refused) {
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("connection"), "close");
      assert.equal(response.headers.get("retry-after"), "1");
      assert.match(response.body, /too many connections/);
    }
    assert.equal(server.connections, 10, "the refused ones never counted");

    // The connections already in are served as usual.
    gate.resolve();
    await held[0].write(
      encoder.encode(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`),
    );
    const answers = await within(readAll(held[0]), 2_000, "a held connection");
    assert.equal(new TextDecoder().decode(answers).split("HTTP/1.1 200 OK").length, 3);

    // Once they go, new ones are accepted again.
    closeAll(held);
    await until(() => server.connections === 0, 2_000, "held connections gone");
    assert.equal((await get(port, "/")).status, 200);
  } finally {
    gate.resolve();
    closeAll(held);
    closeAll(extra);
    await server.shutdown();
  }
});

Deno.test("hostile: at maxConnections, idle connections make room for an active client", async () => {
  // Issue 13: connections that never spoke, or idle between requests, filled the limit and every
  // new client got 503 until they timed out. Now the longest idle is closed instead.
  const server = serve(
    { hostname: HOST, port: 0, onListen() {}, maxConnections: 10, idleTimeout: 10_000 },
    () => new Response("ok\n"),
  );
  const port = server.addr.port;
  const idle: Deno.Conn[] = [];
  try {
    idle.push(...await connectMany(port, 5)); // never speak
    await until(() => server.connections === 5, 2_000, "five silent connections accepted");
    await sleep(1_100); // a housekeeping pass notes them idle: they are the longest idle
    const kept = await connectMany(port, 5); // kept alive after one request each
    idle.push(...kept);
    for (const conn of kept) {
      await conn.write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      await conn.read(new Uint8Array(1024));
    }
    await until(() => server.connections === 10, 2_000, "ten connections in");

    // Five active clients in turn, each staying connected: each is served, none refused.
    for (let i = 0; i < 5; i++) {
      const [active] = await connectMany(port, 1);
      idle.push(active);
      await active.write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      const buffer = new Uint8Array(1024);
      const n = await within(active.read(buffer), 3_000, `active client ${i}`);
      assert.match(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 200 OK/);
    }
    // The five silent ones, idle the longest, were the ones closed; the kept-alive ones remain.
    const silentClosed = await Promise.all(
      idle.slice(0, 5).map((conn) =>
        within(readAll(conn), 2_000, "a silent connection closed").then((bytes) => bytes.length)
      ),
    );
    assert.deepEqual(silentClosed, [0, 0, 0, 0, 0], "closed without an answer");
    await kept[0].write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    const buffer = new Uint8Array(1024);
    const n = await within(kept[0].read(buffer), 2_000, "a kept-alive connection's answer");
    assert.match(
      new TextDecoder().decode(buffer.subarray(0, n ?? 0)),
      /^HTTP\/1\.1 200 OK/,
      "a kept-alive connection still serves",
    );
  } finally {
    closeAll(idle);
    await server.shutdown();
  }
});

Deno.test("hostile: at maxConnections, slowloris heads make room for a whole request", async () => {
  // Heads that never finish are owed nothing: at the limit the oldest is cut, not the new client.
  const server = serve(
    { hostname: HOST, port: 0, onListen() {}, maxConnections: 10, headerTimeout: 10_000 },
    () => new Response("ok\n"),
  );
  const slow: Deno.Conn[] = [];
  try {
    slow.push(...await connectMany(server.addr.port, 10));
    for (const conn of slow) await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: a\r\nX-"));
    await until(() => server.connections === 10, 2_000, "ten slow heads in");
    await sleep(100);
    for (let i = 0; i < 3; i++) {
      const response = await within(get(server.addr.port, "/"), 3_000, `client ${i}`);
      assert.equal(response.status, 200, `client ${i} served, not refused`);
    }
    const cut = await Promise.all(
      slow.map((conn) =>
        Promise.race([closedByPeer(conn).then(() => 1), sleep(500).then(() => 0)])
      ),
    );
    // One was cut to let the first client in; each client's close then left room for the next.
    assert.equal(cut.reduce((a: number, b: number) => a + b, 0), 1, "one slow head cut");
  } finally {
    closeAll(slow);
    await server.shutdown();
  }
});

Deno.test("hostile: a header deadline holds to within a fraction of a second", async () => {
  // Issue 13: deadlines were checked about once a second, so a head finished 10.75 s after its
  // first byte was still answered. Three slow heads started 170 ms apart land at different
  // points of any reaper period: each is cut within 250 ms of its deadline (with a period of
  // 500 ms or more, one of the three would wait 330 ms or longer).
  const headerTimeout = 2_000;
  const server = serve(
    { hostname: HOST, port: 0, onListen() {}, headerTimeout, idleTimeout: 30_000 },
    () => new Response("ok\n"),
  );
  try {
    const cut = await Promise.all([0, 170, 340].map(async (delay) => {
      await sleep(delay);
      const [conn] = await connectMany(server.addr.port, 1);
      try {
        await conn.write(encoder.encode("GET / HTTP/1.1\r\nHo"));
        const started = performance.now();
        await within(closedByPeer(conn), headerTimeout + 2_000, "the slow head cut");
        return performance.now() - started;
      } finally {
        closeAll([conn]);
      }
    }));
    for (const elapsed of cut) {
      assert.ok(elapsed >= headerTimeout - 20, `cut early: ${elapsed.toFixed(0)} ms`);
      assert.ok(
        elapsed < headerTimeout + 250,
        `cut ${(elapsed - headerTimeout).toFixed(0)} ms late`,
      );
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("hostile: clients that leave while their handlers never answer free their sockets", async () => {
  // Issue 13: 500 such clients held 500 descriptors 45 s later. Now the client's close aborts
  // request.signal at once, and the socket is freed within the header timeout.
  const fds = () => [...Deno.readDirSync("/proc/self/fd")].length;
  let aborted = 0;
  const server = serve(
    { hostname: HOST, port: 0, onListen() {}, headerTimeout: 300, idleTimeout: 5_000 },
    (request) => {
      request.signal.addEventListener("abort", () => aborted++);
      return new Promise<Response>(() => {}); // never answers
    },
  );
  const before = fds();
  try {
    const clients = await connectMany(server.addr.port, 50);
    for (const conn of clients) {
      await conn.write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    }
    await until(() => server.connections === 50, 2_000, "fifty handlers at work");
    closeAll(clients); // they leave without a word
    await until(() => aborted === 50, 2_000, "every request.signal aborted");
    await until(() => server.connections === 0, 3_000, "every connection released");
    await until(() => fds() <= before, 3_000, `descriptors back to ${before} (${fds()})`);
  } finally {
    await within(server.shutdown(), 5_000, "shutdown with never-answering handlers");
  }
});

Deno.test("hostile: maxConnectionsPerIp refuses one address's extra connections only", async () => {
  const server = serve(
    { hostname: HOST, port: 0, onListen() {}, maxConnectionsPerIp: 3, idleTimeout: 10_000 },
    (_request, info) => new Response(`hi ${info.remoteAddr.hostname}\n`),
  );
  const port = server.addr.port;
  const held: Deno.Conn[] = [];
  try {
    held.push(...await connectMany(port, 3));
    await until(() => server.connections === 3, 2_000, "three connections accepted");

    const fourth = await rawRequest(
      port,
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      3_000,
    );
    assert.equal(fourth.status, 503);
    assert.match(fourth.body, /too many connections from your address/);

    // Another address on the loopback network is not affected (Linux routes 127.0.0.0/8 to lo).
    const other = await curlFrom("127.0.0.2", `http://${HOST}:${port}/`);
    if (other === null) {
      console.log("  (skipped the second-address check: curl or 127.0.0.2 not usable here)");
    } else {
      assert.equal(other, "hi 127.0.0.2\n");
    }

    held.pop()!.close();
    await until(() => server.connections === 2, 2_000, "one connection gone");
    const again = await get(port, "/");
    assert.equal(again.status, 200);
    assert.equal(again.body, "hi 127.0.0.1\n");
  } finally {
    closeAll(held);
    await server.shutdown();
  }
});

/** curl from a given local address; null when curl is missing or the address cannot be used. */
async function curlFrom(local: string, url: string): Promise<string | null> {
  try {
    const output = await new Deno.Command("curl", {
      args: ["-sS", "--max-time", "5", "--interface", local, url],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) return null;
    return new TextDecoder().decode(output.stdout);
  } catch {
    return null;
  }
}
