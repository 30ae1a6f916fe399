/**
 * The engine's HTTP/2 over a real socket, driven frame by frame (h2c with prior knowledge):
 * requests and responses, bodies both ways under flow control, connection and stream errors,
 * resets, timeouts and graceful shutdown.
 */

import assert from "node:assert/strict";
import { type ExchangeRecord, formatEntry, type ServeHandlerInfo } from "../../lib/mod.ts";
import { CLIENT_PREFACE, FrameType, SettingId } from "../../lib/h2/mod.ts";
import { quietErrors, sleep, start, stop, waitFor, withServer } from "../_raw.ts";
import { data, ErrorCode, field, get, H2Socket, rawFrame } from "./_h2.ts";
import { Client } from "../h2/_client.ts";

const encoder = new TextEncoder();

Deno.test("h2: a GET over h2c gets HEADERS and DATA; info.protocol and the log say HTTP/2", async () => {
  const records: ExchangeRecord[] = [];
  let seen: { url: string; host: string | null; protocol?: string } | null = null;
  let usedPort = 0;
  await withServer((request, info: ServeHandlerInfo) => {
    seen = { url: request.url, host: request.headers.get("host"), protocol: info.protocol };
    return new Response("hello", {
      headers: { "Content-Type": "text/plain", "X-Custom": "1", "Keep-Alive": "timeout=5" },
    });
  }, async (port) => {
    usedPort = port;
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get("/a?b=1", `127.0.0.1:${port}`));
    const res = await h2.response(1);
    assert.equal(res.status, 200);
    assert.equal(res.body, "hello");
    assert.equal(field(res.fields, "content-type"), "text/plain");
    assert.equal(field(res.fields, "x-custom"), "1");
    assert.equal(field(res.fields, "content-length"), "5");
    assert.equal(field(res.fields, "server"), "tcp-http");
    assert.ok(field(res.fields, "date"));
    // §8.2.2: no connection-specific fields; §8.2.1: lower-case names only.
    assert.equal(field(res.fields, "keep-alive"), undefined);
    for (const [name] of res.fields) assert.equal(name, name.toLowerCase());
    // The body goes in the DATA frame that ends the stream.
    assert.equal(res.frames.length, 2);
  }, { onExchange: (r) => records.push(r) });
  assert.deepEqual(seen, {
    url: `http://127.0.0.1:${usedPort}/a?b=1`,
    host: `127.0.0.1:${usedPort}`,
    protocol: "HTTP/2",
  });
  assert.equal(records.length, 1);
  assert.equal(records[0].protocol, "HTTP/2");
  assert.equal(records[0].target, "/a?b=1");
  const line = formatEntry("common", records[0], "127.0.0.1", new Date(0));
  assert.match(line, /"GET \/a\?b=1 HTTP\/2\.0" 200 5$/);
});

Deno.test("h2: :authority becomes the URL's host and a Host field; a Host the client sent stays", async () => {
  const hosts: [string, string | null][] = [];
  await withServer((request) => {
    hosts.push([request.url, request.headers.get("host")]);
    return new Response("ok");
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get("/x", "example.com:8443"));
    await h2.response(1);
    await h2.request(3, [[":method", "GET"], [":scheme", "http"], [":path", "/y"], [
      "host",
      "other.example",
    ]]);
    await h2.response(3);
  });
  assert.deepEqual(hosts, [
    ["http://example.com:8443/x", "example.com:8443"],
    ["http://other.example/y", "other.example"],
  ]);
});

Deno.test("h2: the preface may arrive a byte at a time; HTTP/1.1 still works on the same port", async () => {
  await withServer(() => new Response("hi"), async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      for (const byte of CLIENT_PREFACE) {
        await conn.write(Uint8Array.of(byte));
        await sleep(1);
      }
    } finally {
      conn.close();
    }
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get());
    assert.equal((await h2.response(1)).body, "hi");
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), "hi");
  });
});

Deno.test("h2: with http2: false, the preface is an HTTP/1.1 request the server refuses", async () => {
  await withServer(() => new Response("hi"), async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(CLIENT_PREFACE);
      const buf = new Uint8Array(4096);
      const n = await conn.read(buf);
      assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 505 /);
    } finally {
      conn.close();
    }
  }, { http2: false });
});

Deno.test("h2: many streams at once, answered in few writes", async () => {
  let calls = 0;
  await withServer(async (request) => {
    calls++;
    await sleep(Number(new URL(request.url).searchParams.get("wait")));
    return new Response(new URL(request.url).pathname);
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) parts.push(h2.headers(1 + 2 * i, get(`/s${i}?wait=${i % 3}`)));
    await h2.send(concat(parts));
    for (let i = 0; i < 20; i++) assert.equal((await h2.response(1 + 2 * i)).body, `/s${i}`);
  });
  assert.equal(calls, 20);
});

Deno.test("h2: a request body streams to the handler; WINDOW_UPDATE only as it reads", async () => {
  const gate = Promise.withResolvers<void>();
  await withServer(async (request) => {
    await gate.promise;
    const body = new Uint8Array(await request.arrayBuffer());
    return new Response(`${request.method} ${body.length} ${body[0]} ${body.at(-1)}`);
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.send(h2.headers(1, get("/up", "a", "POST"), false));
    // 200 000 octets in 16 KiB frames: within the 1 MiB windows, so all of it may be sent.
    const chunk = new Uint8Array(16384).fill(7);
    for (let sent = 0; sent < 200_000; sent += 16384) {
      const n = Math.min(16384, 200_000 - sent);
      await h2.send(data(1, chunk.subarray(0, n), sent + n === 200_000));
    }
    await sleep(100);
    // Nothing read yet: no window given back for the stream.
    assert.equal(
      h2.frames.filter((f) => f.type === "WINDOW_UPDATE" && f.streamId === 1).length,
      0,
    );
    gate.resolve();
    const res = await h2.response(1);
    assert.equal(res.body, "POST 200000 7 7");
  });
});

Deno.test("h2: a GET's body is not the handler's; its window comes back anyway", async () => {
  await withServer(
    (request) => new Response(`${request.body === null}`),
    async (port) => {
      await using h2 = await H2Socket.open(port);
      await h2.send(h2.headers(1, get(), false));
      for (let i = 0; i < 4; i++) await h2.send(data(1, new Uint8Array(10_000), i === 3));
      assert.equal((await h2.response(1)).body, "true");
      await h2.request(3, get());
      assert.equal((await h2.response(3)).body, "true");
    },
  );
});

Deno.test("h2: the response respects the client's window and frame size", async () => {
  const big = new Uint8Array(100_000).fill(0x61);
  await withServer(() => new Response(big), async (port) => {
    // A stream window of 1000: the first 1000 octets, then more only as the client opens it.
    await using h2 = await H2Socket.open(port, {
      settings: [[SettingId.INITIAL_WINDOW_SIZE, 1000]],
    });
    await h2.request(1, get());
    await h2.until((f) => f.type === "HEADERS" && f.streamId === 1, "HEADERS");
    const first = await h2.until((f) => f.type === "DATA", "DATA");
    assert.equal(first.type === "DATA" && first.length, 1000);
    await sleep(50);
    assert.equal(h2.frames.filter((f) => f.type === "DATA").length, 1);
    await h2.windowUpdate(1, 99_000);
    await h2.windowUpdate(0, 200_000);
    let got = 1000;
    for (;;) {
      const f = await h2.until((f) => f.type === "DATA", "more DATA");
      assert.ok(f.type === "DATA" && f.length <= 16384, "frames within SETTINGS_MAX_FRAME_SIZE");
      got += f.type === "DATA" ? f.length : 0;
      if (f.type === "DATA" && f.endStream) break;
    }
    assert.equal(got, 100_000);
  });
});

Deno.test("h2: a streamed response is pulled only as fast as the client's window allows", async () => {
  let pulls = 0;
  await withServer(() =>
    new Response(
      new ReadableStream({
        pull(controller) {
          pulls++;
          controller.enqueue(new Uint8Array(10_000));
          if (pulls === 50) controller.close();
        },
      }, { highWaterMark: 0 }),
    ), async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get());
    await sleep(200);
    // The default 65 535-octet window: about seven chunks, and one or two read ahead.
    assert.ok(pulls < 12, `pulled ${pulls} chunks into a 64 KiB window`);
    const res = h2.response(1);
    // The reader in response() opens the windows as it goes; the connection's too.
    for (let i = 0; i < 10; i++) await h2.windowUpdate(0, 65_535);
    await h2.windowUpdate(1, 65_535);
    const body = (await res).frames.filter((f) => f.type === "DATA");
    assert.equal(body.reduce((n, f) => n + (f.type === "DATA" ? f.length : 0), 0), 500_000);
  });
});

Deno.test("h2: HEAD, 204 and 304 get HEADERS with END_STREAM and no DATA", async () => {
  await withServer((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/204") return new Response(null, { status: 204 });
    if (path === "/304") return new Response(null, { status: 304, headers: { etag: '"x"' } });
    return new Response("twelve bytes");
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get("/", "a", "HEAD"));
    await h2.request(3, get("/204"));
    await h2.request(5, get("/304"));
    const head = await h2.response(1);
    assert.equal(head.frames.length, 1);
    assert.ok(head.frames[0].type === "HEADERS" && head.frames[0].endStream);
    assert.equal(field(head.fields, "content-length"), "12");
    const noContent = await h2.response(3);
    assert.equal(noContent.status, 204);
    assert.equal(noContent.frames.length, 1);
    assert.equal(field(noContent.fields, "content-length"), undefined);
    const notModified = await h2.response(5);
    assert.equal(notModified.status, 304);
    assert.equal(notModified.frames.length, 1);
  });
});

Deno.test("h2: a handler that throws gets 500 from onError; the connection lives on", async () => {
  await quietErrors(async () => {
    await withServer((request) => {
      if (new URL(request.url).pathname === "/boom") throw new Error("boom");
      return new Response("fine");
    }, async (port) => {
      await using h2 = await H2Socket.open(port);
      await h2.request(1, get("/boom"));
      assert.equal((await h2.response(1)).status, 500);
      await h2.request(3, get("/"));
      assert.equal((await h2.response(3)).body, "fine");
    });
  });
});

Deno.test("h2: requests the engine refuses: 400, 414, 431, 413, 501", async () => {
  let calls = 0;
  await withServer(() => {
    calls++;
    return new Response("no");
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get("no-slash"));
    assert.equal((await h2.response(1)).status, 400);
    await h2.request(3, get("/a b"));
    assert.equal((await h2.response(3)).status, 400);
    await h2.request(5, get("/", "bad/authority"));
    assert.equal((await h2.response(5)).status, 400);
    await h2.request(7, get("/" + "x".repeat(9000)));
    assert.equal((await h2.response(7)).status, 414);
    const many = get();
    for (let i = 0; i < 101; i++) many.push([`x-${i}`, "1"]);
    await h2.request(9, many);
    assert.equal((await h2.response(9)).status, 431);
    await h2.send(h2.headers(11, [...get("/", "a", "POST"), ["content-length", "2000"]], false));
    assert.equal((await h2.response(11)).status, 413);
    // §8.1: the upload is told to stop.
    await h2.until((f) => f.type === "RST_STREAM" && f.streamId === 11, "RST_STREAM NO_ERROR");
    await h2.request(13, [[":method", "TRACE"], [":scheme", "http"], [":path", "/"]]);
    assert.equal((await h2.response(13)).status, 501);
  }, { maxBodyBytes: 1000 });
  assert.equal(calls, 0);
});

Deno.test("h2: a body past maxBodyBytes without a length: the stream is reset", async () => {
  await quietErrors(async () => {
    let failed: unknown = null;
    await withServer(async (request) => {
      try {
        await request.arrayBuffer();
      } catch (error) {
        failed = error;
      }
      return new Response("late");
    }, async (port) => {
      await using h2 = await H2Socket.open(port);
      await h2.send(h2.headers(1, get("/", "a", "POST"), false));
      await h2.send(data(1, new Uint8Array(1500), false));
      const reset = await h2.until((f) => f.type === "RST_STREAM", "RST_STREAM");
      assert.ok(reset.type === "RST_STREAM" && reset.streamId === 1);
      await waitFor(() => failed !== null, "the handler's read to fail");
      await h2.request(3, get());
      assert.equal((await h2.response(3)).body, "late");
    }, { maxBodyBytes: 1000 });
  });
});

Deno.test("h2: RST_STREAM from the client aborts request.signal and drops the late response", async () => {
  const aborted = Promise.withResolvers<void>();
  let completed: Promise<unknown> | null = null;
  await withServer(async (request, info) => {
    if (new URL(request.url).pathname === "/ok") return new Response("ok");
    completed = info.completed.then(() => "written", (e) => e.name);
    request.signal.addEventListener("abort", () => aborted.resolve());
    await aborted.promise;
    return new Response("too late");
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get("/slow"));
    await sleep(50);
    await h2.reset(1);
    await aborted.promise;
    await h2.request(3, get("/ok"));
    assert.equal((await h2.response(3)).body, "ok");
    await sleep(50);
    assert.equal(h2.frames.filter((f) => "streamId" in f && f.streamId === 1).length, 0);
  });
  assert.equal(await completed, "Interrupted");
});

Deno.test("h2: a malformed request is a stream error; the connection goes on", async () => {
  await withServer(() => new Response("ok"), async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, [...get(), ["connection", "close"]]);
    const reset = await h2.until((f) => f.type === "RST_STREAM", "RST_STREAM");
    assert.deepEqual(reset, { type: "RST_STREAM", streamId: 1, code: ErrorCode.PROTOCOL_ERROR });
    await h2.request(3, get());
    assert.equal((await h2.response(3)).body, "ok");
  });
});

Deno.test("h2: connection errors answer GOAWAY with the RFC's code, then close", async () => {
  const cases: [string, (h2: H2Socket) => Uint8Array, number][] = [
    ["HEADERS on an even stream", (h2) => h2.headers(2, get()), ErrorCode.PROTOCOL_ERROR],
    [
      "a field block that does not decode",
      () => rawFrame(FrameType.HEADERS, 0x5, 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      ErrorCode.COMPRESSION_ERROR,
    ],
    [
      "PUSH_PROMISE from a client",
      () => rawFrame(FrameType.PUSH_PROMISE, 0x4, 1, [0, 0, 0, 2]),
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "a frame past SETTINGS_MAX_FRAME_SIZE",
      () => data(1, new Uint8Array(20000)),
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    [
      "WINDOW_UPDATE of 0 on the connection",
      () => rawFrame(FrameType.WINDOW_UPDATE, 0, 0, [0, 0, 0, 0]),
      ErrorCode.PROTOCOL_ERROR,
    ],
  ];
  await withServer(() => new Response("ok"), async (port) => {
    for (const [what, bytes, code] of cases) {
      await using h2 = await H2Socket.open(port);
      await h2.send(bytes(h2));
      const goaway = await h2.until((f) => f.type === "GOAWAY", `GOAWAY for ${what}`);
      assert.equal(goaway.type === "GOAWAY" && goaway.code, code, what);
      await h2.closedByServer();
    }
  });
});

Deno.test("h2: a preface not followed by SETTINGS is a connection error (§3.4)", async () => {
  await withServer(() => new Response("ok"), async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await conn.write(CLIENT_PREFACE);
      await conn.write(rawFrame(FrameType.PING, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]));
      const buf = new Uint8Array(4096);
      let all = new Uint8Array(0);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        all = new Uint8Array([...all, ...buf.subarray(0, n)]);
      }
      const frames = new Client().read(all);
      assert.deepEqual(frames.map((f) => f.type), ["SETTINGS", "WINDOW_UPDATE", "GOAWAY"]);
      assert.equal(
        frames[2].type === "GOAWAY" && frames[2].code,
        ErrorCode.PROTOCOL_ERROR,
        JSON.stringify(frames[2]),
      );
    } finally {
      conn.close();
    }
  });
});

Deno.test("h2: rapid reset through the engine ends with GOAWAY ENHANCE_YOUR_CALM", async () => {
  const gate = Promise.withResolvers<void>();
  await withServer(async () => {
    await gate.promise;
    return new Response("slow");
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 250; i++) {
      const id = 1 + 2 * i;
      parts.push(h2.headers(id, get()));
      const w = rawFrame(FrameType.RST_STREAM, 0, id, [0, 0, 0, ErrorCode.CANCEL]);
      parts.push(w);
    }
    await h2.send(concat(parts));
    const goaway = await h2.until((f) => f.type === "GOAWAY", "GOAWAY");
    assert.equal(goaway.type === "GOAWAY" && goaway.code, ErrorCode.ENHANCE_YOUR_CALM);
    await h2.closedByServer();
    gate.resolve();
  });
});

Deno.test("h2: a window that never opens hits the write timeout: the stream is reset", async () => {
  let outcome: Promise<string> | null = null;
  await withServer((_request, info) => {
    outcome = info.completed.then(() => "written", (e) => e.name);
    return new Response(new Uint8Array(70_000));
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get());
    const reset = await h2.until((f) => f.type === "RST_STREAM", "RST_STREAM", 3000);
    assert.deepEqual(reset, { type: "RST_STREAM", streamId: 1, code: ErrorCode.CANCEL });
    assert.equal(
      h2.frames.reduce((n, f) => n + (f.type === "DATA" ? f.length : 0), 0),
      65_535,
    );
  }, { writeTimeout: 300 });
  assert.equal(await outcome, "Interrupted");
});

Deno.test("h2: a handler waiting for DATA that never comes hits the body timeout", async () => {
  let failed = "";
  await withServer(async (request) => {
    try {
      await request.text();
    } catch (error) {
      failed = (error as Error).name;
    }
    return new Response("x");
  }, async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.send(h2.headers(1, get("/", "a", "POST"), false));
    const reset = await h2.until((f) => f.type === "RST_STREAM", "RST_STREAM", 3000);
    assert.equal(reset.type === "RST_STREAM" && reset.code, ErrorCode.CANCEL);
    await waitFor(() => failed !== "", "the body read to fail");
  }, { bodyTimeout: 300 });
  assert.equal(failed, "PeerClosed");
});

Deno.test("h2: an idle connection gets GOAWAY after the idle timeout, then is closed", async () => {
  await withServer(() => new Response("ok"), async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get());
    await h2.response(1);
    // PINGs are no activity: they do not keep a connection open.
    await h2.ping();
    const goaway = await h2.until((f) => f.type === "GOAWAY", "GOAWAY", 3000);
    assert.deepEqual(goaway, { type: "GOAWAY", lastStreamId: 1, code: 0, debug: "" });
    await h2.closedByServer();
  }, { idleTimeout: 300 });
});

Deno.test("h2: graceful shutdown: GOAWAY, the stream in flight finishes, then the close", async () => {
  const started = Promise.withResolvers<void>();
  const server = start(async () => {
    started.resolve();
    await sleep(200);
    return new Response("finished");
  });
  try {
    await using h2 = await H2Socket.open(server.addr.port);
    await h2.request(1, get());
    await started.promise;
    const stopping = server.shutdown();
    const goaway = await h2.until((f) => f.type === "GOAWAY", "GOAWAY");
    assert.deepEqual(goaway, { type: "GOAWAY", lastStreamId: 1, code: 0, debug: "" });
    // A stream opened after GOAWAY is not processed (§6.8).
    await h2.request(3, get()).catch(() => {});
    assert.equal((await h2.response(1)).body, "finished");
    await h2.closedByServer();
    await stopping;
    assert.equal(h2.frames.filter((f) => "streamId" in f && f.streamId === 3).length, 0);
  } finally {
    await stop(server);
  }
});

Deno.test("h2: the grace period cuts a stream whose handler never finishes", async () => {
  const server = start(() => new Promise<Response>(() => {}), { gracePeriod: 200 });
  try {
    await using h2 = await H2Socket.open(server.addr.port);
    await h2.request(1, get());
    await sleep(50);
    const t0 = Date.now();
    await server.shutdown();
    assert.ok(Date.now() - t0 < 2000);
    await h2.closedByServer();
  } finally {
    await stop(server);
  }
});

Deno.test("h2: an h2 connection with a stream open counts against maxConnections", async () => {
  const gate = Promise.withResolvers<void>();
  await withServer(async () => {
    await gate.promise;
    return new Response("ok");
  }, async (port, server) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get());
    await waitFor(() => server.inFlight === 1, "the stream's handler to start");
    assert.equal(server.connections, 1);
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 503);
    await res.body?.cancel();
    gate.resolve();
    await h2.response(1);
  }, { maxConnections: 1 });
});

Deno.test("h2: an idle h2 connection makes room at maxConnections, with GOAWAY first", async () => {
  await withServer(() => new Response("ok"), async (port, server) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get());
    await h2.response(1);
    await waitFor(() => server.inFlight === 0, "the connection to idle");
    // The limit is reached: the idle h2 connection is the one closed for the newcomer.
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok");
    const away = await h2.until((f) => f.type === "GOAWAY", "GOAWAY");
    assert.equal(away.type === "GOAWAY" && away.code, ErrorCode.NO_ERROR);
    await h2.closedByServer();
  }, { maxConnections: 1 });
});

Deno.test("h2: a declared content-length the body breaks resets the stream", async () => {
  await quietErrors(async () => {
    await withServer(
      () => new Response("four", { headers: { "content-length": "10" } }),
      async (port) => {
        await using h2 = await H2Socket.open(port);
        await h2.request(1, get());
        await h2.until((f) => f.type === "HEADERS", "HEADERS");
        const reset = await h2.until((f) => f.type === "RST_STREAM", "RST_STREAM");
        assert.equal(reset.type === "RST_STREAM" && reset.code, ErrorCode.INTERNAL_ERROR);
      },
    );
  });
});

Deno.test("h2: a streamed body of unknown length ends with END_STREAM; trailers are not needed", async () => {
  await withServer(() =>
    new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode("one "));
          await sleep(30);
          controller.enqueue(encoder.encode("two"));
          controller.close();
        },
      }),
    ), async (port) => {
    await using h2 = await H2Socket.open(port);
    await h2.request(1, get());
    const res = await h2.response(1);
    assert.equal(res.body, "one two");
    assert.equal(field(res.fields, "content-length"), undefined);
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("h2: a 3 MB body under a huge window arrives whole, a piece at a time", async () => {
  const big = new Uint8Array(3_000_000).fill(0x62);
  await withServer(() => new Response(big), async (port) => {
    await using h2 = await H2Socket.open(port, {
      settings: [[SettingId.INITIAL_WINDOW_SIZE, 2 ** 31 - 1]],
    });
    await h2.windowUpdate(0, 2 ** 31 - 1 - 65_535);
    await h2.request(1, get());
    const res = await h2.response(1, 10_000);
    const data = res.frames.filter((f) => f.type === "DATA");
    assert.equal(data.reduce((n, f) => n + (f.type === "DATA" ? f.length : 0), 0), 3_000_000);
    assert.ok(data.every((f) => f.type === "DATA" && f.length <= 16384));
  });
});
