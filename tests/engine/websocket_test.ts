/**
 * WebSocket on the engine, over raw sockets: the handshake (101, 426, 400, subprotocols,
 * permessage-deflate), every close code a client can provoke (RFC 6455 §7.4: sent before the
 * connection is closed, Autobahn's strict verdict), the closing handshake both ways, EOF, the idle
 * and close timeouts, backpressure, shutdown, connection limits and the access log.
 */

import assert from "node:assert/strict";
import { Opcode } from "../../lib/ws/mod.ts";
import { upgradeWebSocket } from "../../lib/mod.ts";
import type { ExchangeRecord, Handler } from "../../lib/shared/types.ts";
import {
  ACCEPT,
  closeBody,
  frame,
  RawSocket,
  recorder,
  sleep,
  within,
  withServer,
} from "./_websocket.ts";

const decoder = new TextDecoder();

Deno.test("websocket: handshake answers 101 with the accept value, then echoes", async () => {
  const { handler, sockets } = recorder();
  await withServer(handler, async (server) => {
    const { socket, status, fields } = await RawSocket.open(server.addr.port);
    try {
      assert.equal(status, 101);
      assert.equal(fields.get("upgrade"), "websocket");
      assert.equal(fields.get("connection"), "Upgrade");
      assert.equal(fields.get("sec-websocket-accept"), ACCEPT);
      assert.equal(fields.get("sec-websocket-extensions"), null);
      assert.equal(fields.get("sec-websocket-protocol"), null);
      await socket.write(frame(Opcode.Text, "héllo"));
      const echo = await socket.readFrame();
      assert.equal(echo?.opcode, Opcode.Text);
      assert.equal(decoder.decode(echo!.payload), "héllo");
      // Fragmented, with a ping between the fragments: pong first, then the whole message.
      await socket.write(frame(Opcode.Binary, new Uint8Array([1, 2]), { fin: false }));
      await socket.write(frame(Opcode.Ping, "p"));
      await socket.write(frame(Opcode.Continuation, new Uint8Array([3]), { fin: true }));
      const pong = await socket.readFrame();
      assert.equal(pong?.opcode, Opcode.Pong);
      assert.equal(decoder.decode(pong!.payload), "p");
      const joined = await socket.readFrame();
      assert.equal(joined?.opcode, Opcode.Binary);
      assert.deepEqual([...joined!.payload], [1, 2, 3]);
      await socket.write(frame(Opcode.Close, closeBody(4001, "done")));
      assert.deepEqual(await socket.expectClose(), { code: 4001, reason: "done" });
      await socket.expectEof();
      const closed = await within(sockets[0].closed, 3000, "the close event");
      assert.equal(closed.code, 4001);
      assert.equal(closed.reason, "done");
      assert.equal(closed.wasClean, true);
      assert.deepEqual(sockets[0].events, ["open", "close 4001 clean done"]);
      assert.equal(sockets[0].messages[0], "héllo");
      assert.ok(sockets[0].messages[1] instanceof ArrayBuffer, "binaryType is arraybuffer");
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: Sec-WebSocket-Version 12 gets 426 with Sec-WebSocket-Version: 13", async () => {
  const { handler, sockets } = recorder();
  await withServer(handler, async (server) => {
    const { socket, status, fields } = await RawSocket.open(server.addr.port, {
      "sec-websocket-version": "12",
    });
    try {
      assert.equal(status, 426);
      assert.equal(fields.get("sec-websocket-version"), "13");
      await within(sockets[0].closed, 3000, "the refused socket's close event");
      assert.deepEqual(sockets[0].events, [
        "error: WebSocket handshake refused: unsupported Sec-WebSocket-Version",
        "close 1006 unclean ",
      ]);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: a malformed key gets 400; a missing one is Deno's TypeError", async () => {
  const { handler } = recorder();
  await withServer(handler, async (server) => {
    const bad = await RawSocket.open(server.addr.port, { "sec-websocket-key": "short" });
    bad.socket.close();
    assert.equal(bad.status, 400);
  });
  const request = (fields: Record<string, string>) =>
    new Request("http://localhost/ws", {
      headers: { upgrade: "websocket", connection: "Upgrade", ...fields },
    });
  assert.throws(
    () => upgradeWebSocket(request({})),
    new TypeError("Invalid Header: 'sec-websocket-key' header must be set"),
  );
  assert.throws(
    () => upgradeWebSocket(new Request("http://localhost/ws")),
    new TypeError("Invalid Header: 'upgrade' header must contain 'websocket'"),
  );
  assert.throws(
    () => upgradeWebSocket(request({ connection: "keep-alive", "sec-websocket-key": "x" })),
    new TypeError("Invalid Header: 'connection' header must contain 'Upgrade'"),
  );
  assert.throws(
    () =>
      upgradeWebSocket(request({ "sec-websocket-key": "x", "sec-websocket-protocol": "a" }), {
        protocol: "b",
      }),
    TypeError,
  );
});

Deno.test("websocket: the protocol option answers a subprotocol the client offered", async () => {
  const { handler, sockets } = recorder({ protocol: "chat.v2" });
  await withServer(handler, async (server) => {
    const { socket, status, fields } = await RawSocket.open(server.addr.port, {
      "sec-websocket-protocol": "chat.v1, chat.v2",
    });
    try {
      assert.equal(status, 101);
      assert.equal(fields.get("sec-websocket-protocol"), "chat.v2");
      assert.equal(sockets[0].socket.protocol, "chat.v2");
      assert.equal(sockets[0].socket.url, `ws://127.0.0.1/ws`);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: permessage-deflate is agreed when offered, and not with compression: false", async () => {
  const offer = { "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" };
  const on = recorder();
  await withServer(on.handler, async (server) => {
    const { socket, fields } = await RawSocket.open(server.addr.port, offer);
    try {
      const answer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
      assert.equal(fields.get("sec-websocket-extensions"), answer);
      assert.equal(on.sockets[0].socket.extensions, answer);
      // A long message comes back compressed (RSV1 on its frame).
      await socket.write(frame(Opcode.Text, "abc".repeat(1000)));
      const echo = await socket.readFrame();
      assert.equal(echo?.rsv1, true);
      assert.ok(echo!.payload.length < 100, `${echo!.payload.length} bytes compressed`);
    } finally {
      socket.close();
    }
  });
  const off = recorder({ compression: false });
  await withServer(off.handler, async (server) => {
    const { socket, fields } = await RawSocket.open(server.addr.port, offer);
    socket.close();
    assert.equal(fields.get("sec-websocket-extensions"), null);
  });
});

/** A frame with its FIN bit cleared (encodeFrame refuses to make a fragmented control frame). */
function withoutFin(bytes: Uint8Array): Uint8Array {
  bytes[0] &= 0x7f;
  return bytes;
}

// Every violation a client can commit: the close frame with the code comes first, then EOF.
const VIOLATIONS: [string, () => Uint8Array, number][] = [
  ["an unmasked frame", () => frame(Opcode.Text, "hi", { mask: false }), 1002],
  ["invalid UTF-8", () => frame(Opcode.Text, new Uint8Array([0x68, 0xc3, 0x28])), 1007],
  ["a message over maxMessageSize", () => frame(Opcode.Binary, new Uint8Array(2000)), 1009],
  ["a reserved opcode", () => frame(0x3, "x"), 1002],
  ["close code 1005 on the wire", () => frame(Opcode.Close, closeBody(1005)), 1002],
  ["close code 999", () => frame(Opcode.Close, closeBody(999)), 1002],
  ["RSV1 without an extension", () => frame(Opcode.Text, "x", { rsv1: true }), 1002],
  ["a fragmented ping", () => withoutFin(frame(Opcode.Ping, "x")), 1002],
  ["a continuation without a start", () => frame(Opcode.Continuation, "x"), 1002],
];

for (const [name, bytes, code] of VIOLATIONS) {
  Deno.test(`websocket: ${name} fails the connection with close code ${code} first`, async () => {
    const { handler, sockets } = recorder({ maxMessageSize: 1000 });
    await withServer(handler, async (server) => {
      const { socket } = await RawSocket.open(server.addr.port);
      try {
        await socket.write(bytes());
        assert.equal((await socket.expectClose()).code, code);
        await socket.expectEof();
        const closed = await within(sockets[0].closed, 3000, "the close event");
        assert.equal(closed.code, code);
        assert.equal(closed.wasClean, false);
        assert.match(sockets[0].events[1], /^error: /);
      } finally {
        socket.close();
      }
    });
  });
}

Deno.test("websocket: EOF without a close frame is close 1006 after an error event", async () => {
  const { handler, sockets } = recorder();
  await withServer(handler, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    await socket.write(frame(Opcode.Text, "x"));
    await socket.readFrame();
    socket.close();
    await within(sockets[0].closed, 3000, "the close event");
    assert.deepEqual(sockets[0].events, ["open", "error: Unexpected EOF", "close 1006 unclean "]);
  });
});

Deno.test("websocket: close() from the server waits for the echo; close event has its code", async () => {
  let server_: WebSocket | null = null;
  const { handler, sockets } = recorder({}, false);
  const closing: Handler = (request, info) => {
    const response = handler(request, info) as Response;
    server_ = sockets.at(-1)!.socket;
    server_.addEventListener("message", () => server_!.close(4002, "server says bye"));
    return response;
  };
  await withServer(closing, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      await socket.write(frame(Opcode.Text, "close please"));
      assert.deepEqual(await socket.expectClose(), { code: 4002, reason: "server says bye" });
      assert.equal(server_!.readyState, WebSocket.CLOSING);
      // Messages after the server's close are dropped; the client's close completes it.
      await socket.write(frame(Opcode.Text, "late"));
      await socket.write(frame(Opcode.Close, closeBody(4002)));
      await socket.expectEof();
      const closed = await within(sockets[0].closed, 3000, "the close event");
      assert.equal(closed.code, 4002);
      assert.equal(closed.wasClean, true);
      assert.deepEqual(sockets[0].messages, ["close please"]);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: a peer that never answers our close is cut after closeTimeout", async () => {
  const { handler, sockets } = recorder({ closeTimeout: 0.2 }, false);
  await withServer(handler, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      await sleep(20);
      sockets[0].socket.close(1000);
      assert.equal((await socket.expectClose()).code, 1000);
      const started = Date.now();
      await socket.expectEof(2000);
      assert.ok(Date.now() - started >= 150, "the server waited for the echo first");
      assert.deepEqual(sockets[0].events, ["open", "close 1006 unclean "]);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: idleTimeout pings at half, closes 1001 at the end, as Deno does", async () => {
  const { handler, sockets } = recorder({ idleTimeout: 0.3 });
  await withServer(handler, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      const ping = await socket.readFrame(2000);
      assert.equal(ping?.opcode, Opcode.Ping);
      const close = await socket.expectClose(2000);
      assert.deepEqual(close, { code: 1001, reason: "No response from ping frame." });
      await socket.expectEof();
      assert.deepEqual(sockets[0].events, [
        "open",
        "error: No response from ping frame.",
        "close 1001 unclean No response from ping frame.",
      ]);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: a peer that answers pings is not idle", async () => {
  const { handler, sockets } = recorder({ idleTimeout: 0.2 });
  await withServer(handler, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      let pings = 0;
      const deadline = Date.now() + 700;
      while (Date.now() < deadline) {
        const next = await socket.readFrame(1000);
        assert.equal(next?.opcode, Opcode.Ping);
        pings++;
        await socket.write(frame(Opcode.Pong, next!.payload));
      }
      assert.ok(pings >= 2, `${pings} pings answered`);
      assert.equal(sockets[0].socket.readyState, WebSocket.OPEN);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: the web API's checks: send before open, close codes and reasons", () => {
  const request = new Request("http://localhost/ws", {
    headers: {
      upgrade: "websocket",
      connection: "upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
    },
  });
  const { socket, response } = upgradeWebSocket(request);
  assert.equal(response.status, 101);
  assert.equal(socket.readyState, WebSocket.CONNECTING);
  assert.equal(socket.CLOSED, 3);
  assert.equal(socket.binaryType, "arraybuffer");
  socket.binaryType = "nonsense" as BinaryType;
  assert.equal(socket.binaryType, "arraybuffer");
  const name = (error: unknown) => (error as DOMException).name;
  assert.throws(() => socket.send("x"), (e) => name(e) === "InvalidStateError");
  for (const code of [999, 1004, 1005, 1006, 1015, 2000, 5000]) {
    assert.throws(() => socket.close(code), (e) => name(e) === "InvalidAccessError", `${code}`);
  }
  assert.throws(() => socket.close(1000, "é".repeat(62)), (e) => name(e) === "SyntaxError");
  // A server may send any code allowed on the wire, 1011 included.
  socket.close(1011, "é".repeat(61));
  assert.equal(socket.readyState, WebSocket.CLOSING);
  // on… properties: one listener each, replaced in place, removed by null.
  const seen: string[] = [];
  socket.onclose = () => seen.push("a");
  socket.onclose = () => seen.push("b");
  socket.dispatchEvent(new Event("close"));
  socket.onclose = null;
  socket.dispatchEvent(new Event("close"));
  assert.deepEqual(seen, ["b"]);
});

Deno.test("websocket: bufferedAmount counts queued message bytes and drains to 0", async () => {
  let sent: WebSocket | null = null;
  const amounts: number[] = [];
  await withServer((request) => {
    const { socket, response } = upgradeWebSocket(request);
    socket.onopen = () => {
      sent = socket;
      socket.send(new Uint8Array(1_000_000));
      socket.send("four");
      amounts.push(socket.bufferedAmount);
    };
    return response;
  }, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      const first = await socket.readFrame();
      assert.equal(first?.payload.length, 1_000_000);
      assert.equal(decoder.decode((await socket.readFrame())!.payload), "four");
      assert.deepEqual(amounts, [1_000_004]);
      await sleep(10);
      assert.equal(sent!.bufferedAmount, 0);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: a peer that does not read is cut once maxBufferedAmount is passed", async () => {
  const { handler, sockets } = recorder({ maxBufferedAmount: 4 * 1024 * 1024 }, false);
  await withServer(handler, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      await sleep(20);
      const ws = sockets[0].socket;
      const chunk = new Uint8Array(256 * 1024);
      let sends = 0;
      while (ws.readyState === WebSocket.OPEN && sends < 1000) {
        ws.send(chunk);
        sends++;
        if (sends % 8 === 0) await sleep(1);
      }
      assert.ok(sends < 1000, "the socket was closed before 256 MB were queued");
      const closed = await within(sockets[0].closed, 3000, "the close event");
      assert.equal(closed.code, 1006);
      assert.match(sockets[0].events[1], /send buffer is full/);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: shutdown closes open sockets with 1001 and finishes", async () => {
  const { handler, sockets } = recorder();
  let port = 0;
  const opened: RawSocket[] = [];
  await withServer(handler, async (server) => {
    port = server.addr.port;
    for (let i = 0; i < 3; i++) opened.push((await RawSocket.open(port)).socket);
    await sleep(20);
    const shutdown = server.shutdown();
    for (const socket of opened) {
      assert.deepEqual(await socket.expectClose(), { code: 1001, reason: "going away" });
      await socket.write(frame(Opcode.Close, closeBody(1001)));
      await socket.expectEof();
    }
    await within(shutdown, 3000, "the shutdown");
    for (const log of sockets) {
      assert.equal((await log.closed).code, 1001);
      assert.equal((await log.closed).wasClean, true);
    }
  });
  for (const socket of opened) socket.close();
});

Deno.test("websocket: shutdown cuts a socket that never answers within the grace period", async () => {
  const { handler, sockets } = recorder({ closeTimeout: 60 });
  let socket: RawSocket | null = null;
  await withServer(handler, async (server) => {
    socket = (await RawSocket.open(server.addr.port)).socket;
    await sleep(20);
    const started = Date.now();
    await within(server.shutdown(), 3000, "the shutdown");
    assert.ok(Date.now() - started < 2000);
    assert.equal((await sockets[0].closed).code, 1006);
  }, { gracePeriod: 300 });
  (socket as RawSocket | null)?.close();
});

Deno.test("websocket: upgraded connections count toward maxConnections", async () => {
  const { handler } = recorder();
  await withServer(handler, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      const second = await RawSocket.open(server.addr.port);
      second.socket.close();
      assert.equal(second.status, 503);
    } finally {
      socket.close();
    }
  }, { maxConnections: 1 });
});

Deno.test("websocket: the access log has the 101, then the socket's lifetime and bytes", async () => {
  const log: ExchangeRecord[] = [];
  const { handler, sockets } = recorder();
  await withServer(handler, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      await socket.write(frame(Opcode.Text, "0123456789"));
      await socket.readFrame();
      await sleep(50);
      await socket.write(frame(Opcode.Close, closeBody(1000)));
      await socket.expectEof();
      await within(sockets[0].closed, 3000, "the close event");
      await sleep(10);
      assert.equal(log.length, 2);
      assert.deepEqual(log.map((r) => [r.status, r.target]), [[101, "/ws"], [101, "/ws"]]);
      assert.equal(log[0].bytes, 0);
      assert.equal(log[1].bytes, 12 + 4, "the echo (2 + 10) and the close echo (2 + 2)");
      assert.ok(log[1].duration >= 50, `lifetime ${log[1].duration} ms`);
    } finally {
      socket.close();
    }
  }, { onExchange: (record) => log.push(record) });
});

Deno.test("websocket: after an async handler the server speaks first (no read blocks the switch)", async () => {
  await withServer(async (request) => {
    await sleep(10);
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => socket.send("welcome");
    socket.onmessage = (event) => socket.send(`echo ${event.data}`);
    return response;
  }, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      const welcome = await socket.readFrame(2000);
      assert.equal(decoder.decode(welcome!.payload), "welcome");
      await socket.write(frame(Opcode.Text, "x"));
      assert.equal(decoder.decode((await socket.readFrame())!.payload), "echo x");
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: frames sent with the handshake, and split at every byte, arrive", async () => {
  const { handler, sockets } = recorder();
  await withServer(handler, async (server) => {
    const socket = await RawSocket.connect(server.addr.port);
    try {
      const { handshake } = await import("./_websocket.ts");
      const bytes = new Uint8Array([
        ...new TextEncoder().encode(handshake()),
        ...frame(Opcode.Text, "early"),
        ...frame(Opcode.Text, "byte by byte"),
      ]);
      const split = new TextEncoder().encode(handshake()).length + frame(Opcode.Text, "early")
        .length;
      await socket.write(bytes.subarray(0, split));
      for (let i = split; i < bytes.length; i++) {
        await socket.write(bytes.subarray(i, i + 1));
        await sleep(1);
      }
      assert.equal((await socket.readHead()).status, 101);
      assert.equal(decoder.decode((await socket.readFrame())!.payload), "early");
      assert.equal(decoder.decode((await socket.readFrame())!.payload), "byte by byte");
      assert.deepEqual(sockets[0].messages, ["early", "byte by byte"]);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: binaryType blob gives Blobs; Blob and views are sent as binary", async () => {
  await withServer((request) => {
    const { socket, response } = upgradeWebSocket(request);
    socket.binaryType = "blob";
    socket.onmessage = async (event) => {
      assert.ok(event.data instanceof Blob);
      socket.send(event.data);
      socket.send(new Uint16Array([0x0102]).subarray(0, 1));
      socket.send((await event.data.arrayBuffer()) as ArrayBuffer);
    };
    return response;
  }, async (server) => {
    const { socket } = await RawSocket.open(server.addr.port);
    try {
      await socket.write(frame(Opcode.Binary, new Uint8Array([9, 8, 7])));
      const blob = await socket.readFrame();
      assert.deepEqual([blob!.opcode, ...blob!.payload], [Opcode.Binary, 9, 8, 7]);
      const view = await socket.readFrame();
      assert.deepEqual([view!.opcode, ...view!.payload], [Opcode.Binary, 2, 1]);
      const buffer = await socket.readFrame();
      assert.deepEqual([...buffer!.payload], [9, 8, 7]);
    } finally {
      socket.close();
    }
  });
});

Deno.test("websocket: Deno.upgradeWebSocket leaves requests that are not ours to Deno", () => {
  const request = new Request("http://localhost/ws", {
    headers: {
      upgrade: "websocket",
      connection: "upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    },
  });
  const { socket, response } = Deno.upgradeWebSocket(request);
  assert.ok(socket instanceof WebSocket, "Deno's own socket");
  assert.equal(response.status, 101);
});
