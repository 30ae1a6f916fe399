import assert from "node:assert/strict";
import {
  CLIENT_PREFACE,
  ErrorCode,
  Flag,
  FrameType,
  type H2Event,
  H2ServerConnection,
  SettingId,
} from "../../lib/h2/mod.ts";
import { Client, connected, type Fields, GET, type Out, settingsFrame } from "./_client.ts";
import { concat, frame, hex, splits, u32 } from "./_util.ts";

const { DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING } = FrameType;
const { WINDOW_UPDATE, CONTINUATION } = FrameType;

/** Feeds chunks one by one, collecting every event. */
function feed(server: H2ServerConnection, chunks: Uint8Array[]): H2Event[] {
  return chunks.flatMap((c) => server.receive(c));
}

function goaway(out: Out[]): Out | undefined {
  return out.find((o) => o.type === "GOAWAY");
}

Deno.test("handshake: our SETTINGS first, then the connection window; ACK both ways", () => {
  const server = new H2ServerConnection({
    maxConcurrentStreams: 50,
    connectionWindowSize: 1 << 20,
  });
  const client = new Client();
  assert.deepEqual(client.read(server.takeOutput()), [
    {
      type: "SETTINGS",
      ack: false,
      settings: [
        [SettingId.ENABLE_PUSH, 0],
        [SettingId.MAX_CONCURRENT_STREAMS, 50],
        [SettingId.INITIAL_WINDOW_SIZE, 1 << 20],
        [SettingId.MAX_HEADER_LIST_SIZE, 65536],
      ],
    },
    { type: "WINDOW_UPDATE", streamId: 0, increment: (1 << 20) - 65535 },
  ]);
  const bytes = concat(CLIENT_PREFACE, settingsFrame([[SettingId.INITIAL_WINDOW_SIZE, 1000]]));
  for (const [how, chunks] of splits(bytes)) {
    const s = new H2ServerConnection();
    s.takeOutput();
    const events = feed(s, chunks);
    assert.equal(events.length, 1, how);
    assert.equal(events[0].type, "settings");
    assert.equal(s.peerSettings.initialWindowSize, 1000);
    assert.deepEqual(new Client().read(s.takeOutput()), [{
      type: "SETTINGS",
      ack: true,
      settings: [],
    }]);
    assert.equal(s.closed, false);
  }
});

Deno.test("preface errors: GOAWAY PROTOCOL_ERROR, then closed", () => {
  const cases: [string, Uint8Array][] = [
    ["HTTP/1.1 request", Uint8Array.from("GET / HTTP/1.1\r\n\r\n", (c) => c.charCodeAt(0))],
    [
      "preface off by one byte",
      Uint8Array.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r", (c) => c.charCodeAt(0)),
    ],
    ["preface then PING", concat(CLIENT_PREFACE, frame(PING, 0, 0, new Array(8).fill(0)))],
    ["preface then SETTINGS ACK", concat(CLIENT_PREFACE, frame(SETTINGS, Flag.ACK, 0))],
    ["preface then HEADERS", concat(CLIENT_PREFACE, new Client().headers(1, GET))],
  ];
  for (const [what, bytes] of cases) {
    for (const [how, chunks] of splits(bytes)) {
      const s = new H2ServerConnection();
      s.takeOutput();
      const events = feed(s, chunks);
      assert.equal(events.at(-1)?.type, "connectionError", `${what}, ${how}`);
      assert.equal(s.closed, true);
      const out = new Client().read(s.takeOutput());
      assert.equal(goaway(out)?.type, "GOAWAY");
      assert.equal((goaway(out) as { code: number }).code, ErrorCode.PROTOCOL_ERROR, what);
      assert.deepEqual(s.receive(frame(PING, 0, 0, new Array(8).fill(0))), []);
    }
  }
});

Deno.test("a GET, fed whole, byte by byte and split everywhere, answered with a body", () => {
  const client = new Client();
  const bytes = concat(
    CLIENT_PREFACE,
    settingsFrame(),
    client.headers(1, [...GET, ["user-agent", "t"], ["accept", "*/*"]], { endStream: true }),
  );
  for (const [how, chunks] of splits(bytes)) {
    const s = new H2ServerConnection();
    const events = feed(s, chunks).filter((e) => e.type !== "settings");
    assert.deepEqual(events, [{
      type: "request",
      streamId: 1,
      pseudo: { method: "GET", scheme: "https", path: "/", authority: "example.com" },
      headers: [["user-agent", "t"], ["accept", "*/*"]],
      endStream: true,
    }], how);
  }
  const { server, client: c } = connected();
  server.receive(c.headers(1, GET, { endStream: true }));
  assert.equal(
    server.respond(1, 200, [["content-type", "text/plain"], ["connection", "close"]]),
    true,
  );
  assert.equal(server.sendData(1, Uint8Array.from("hello", (ch) => ch.charCodeAt(0)), true), 5);
  assert.deepEqual(c.read(server.takeOutput()), [
    {
      type: "HEADERS",
      streamId: 1,
      endStream: false,
      fields: [[":status", "200"], ["content-type", "text/plain"]],
    },
    { type: "DATA", streamId: 1, endStream: true, length: 5, text: "hello" },
  ]);
  assert.equal(server.activeStreams, 0);
  // The stream is gone: late calls say so instead of throwing.
  assert.equal(server.respond(1, 200), false);
  assert.equal(server.sendData(1, new Uint8Array(1)), -1);
});

Deno.test("a POST body: data events, content-length, consumed() returns window", () => {
  const { server, client } = connected({ initialWindowSize: 100, connectionWindowSize: 65535 });
  const events = server.receive(concat(
    client.headers(1, [
      ...GET.map(([n, v]): [string, string] => n === ":method" ? [n, "POST"] : [n, v]),
      [
        "content-length",
        "60",
      ],
    ]),
    client.data(1, "x".repeat(30)),
    client.data(1, "y".repeat(30), true),
  ));
  assert.deepEqual(events.map((e) => e.type), ["request", "data", "data"]);
  assert.equal((events[2] as { endStream: boolean }).endStream, true);
  // Consuming the first half window: a stream update is pointless (the request ended),
  // the connection one waits for half of its window.
  server.consumed(1, 60);
  assert.deepEqual(client.read(server.takeOutput()), []);
  server.respond(1, 204, [], true);
  client.read(server.takeOutput());
  assert.equal(server.activeStreams, 0);
});

Deno.test("receive windows: WINDOW_UPDATE once half a window is consumed", () => {
  const { server, client } = connected({ initialWindowSize: 100, connectionWindowSize: 200 });
  server.receive(client.headers(1, [...GET, ["content-length", "1000"]]));
  server.receive(client.data(1, "a".repeat(50)));
  server.consumed(1, 49);
  assert.deepEqual(client.read(server.takeOutput()), []);
  server.consumed(1, 1);
  assert.deepEqual(client.read(server.takeOutput()), [{
    type: "WINDOW_UPDATE",
    streamId: 1,
    increment: 50,
  }]);
  server.receive(client.data(1, "b".repeat(100))); // the stream window is back to 100
  server.consumed(1, 100);
  assert.deepEqual(client.read(server.takeOutput()), [
    { type: "WINDOW_UPDATE", streamId: 1, increment: 100 },
    { type: "WINDOW_UPDATE", streamId: 0, increment: 150 },
  ]);
  // Over-consuming is clamped to what was delivered.
  server.consumed(1, 1000);
  assert.deepEqual(client.read(server.takeOutput()), []);
});

Deno.test("receive windows: overrunning a stream window is a stream error, the connection's a connection error", () => {
  {
    const { server, client } = connected({ initialWindowSize: 100, connectionWindowSize: 1000 });
    server.receive(client.headers(1, GET));
    const events = server.receive(client.data(1, new Uint8Array(101)));
    assert.deepEqual(events, [{
      type: "reset",
      streamId: 1,
      code: ErrorCode.FLOW_CONTROL_ERROR,
      remote: false,
    }]);
    assert.deepEqual(client.read(server.takeOutput()), [
      { type: "RST_STREAM", streamId: 1, code: ErrorCode.FLOW_CONTROL_ERROR },
    ]);
  }
  {
    // The peer may send 65535 per stream before it ACKs our larger INITIAL_WINDOW_SIZE.
    const server = new H2ServerConnection({ initialWindowSize: 100, connectionWindowSize: 65535 });
    const client = new Client();
    server.receive(concat(CLIENT_PREFACE, settingsFrame(), client.headers(1, GET)));
    const events = server.receive(client.data(1, new Uint8Array(16384)));
    assert.equal(events[0].type, "data", "before our SETTINGS are acknowledged");
  }
  {
    const { server, client } = connected({ initialWindowSize: 65535, connectionWindowSize: 65535 });
    for (let id = 1; id <= 9; id += 2) server.receive(client.headers(id, GET));
    const chunk = new Uint8Array(16000);
    const events = [1, 3, 5, 7, 9].flatMap((id) => server.receive(client.data(id, chunk)));
    assert.equal(events.at(-1)?.type, "connectionError");
    assert.equal(goaway(client.read(server.takeOutput()))?.type, "GOAWAY");
    assert.equal((events.at(-1) as { code: number }).code, ErrorCode.FLOW_CONTROL_ERROR);
  }
});

Deno.test("send windows: partial sends, windowOpen, negative window after SETTINGS (§6.9.2)", () => {
  const { server, client } = connected({}, [[SettingId.INITIAL_WINDOW_SIZE, 10]]);
  server.receive(client.headers(1, GET, { endStream: true }));
  server.respond(1, 200);
  const body = new Uint8Array(25).fill(0x61);
  assert.equal(server.sendData(1, body, true), 10);
  assert.equal(server.sendWindow(1), 0);
  let out = client.read(server.takeOutput());
  assert.deepEqual(out.at(-1), {
    type: "DATA",
    streamId: 1,
    endStream: false,
    length: 10,
    text: "a".repeat(10),
  });
  // SETTINGS_INITIAL_WINDOW_SIZE 10 → 0 takes the stream window from 0 to -10 (§6.9.2);
  // a WINDOW_UPDATE of 5 leaves it at -5: still nothing to send.
  let events = server.receive(settingsFrame([[SettingId.INITIAL_WINDOW_SIZE, 0]]));
  events = events.concat(server.receive(frame(WINDOW_UPDATE, 0, 1, u32(5))));
  assert.deepEqual(events.map((e) => e.type), ["settings"], "still negative: no windowOpen");
  assert.equal(server.sendWindow(1), 0);
  assert.equal(server.sendData(1, body.subarray(10), true), 0);
  // 0 → 8: -5 + 8 = 3.
  events = server.receive(settingsFrame([[SettingId.INITIAL_WINDOW_SIZE, 8]]));
  assert.deepEqual(events.map((e) => e.type), ["settings", "windowOpen"]);
  assert.equal(server.sendData(1, body.subarray(10), true), 3);
  events = server.receive(frame(WINDOW_UPDATE, 0, 1, u32(100)));
  assert.deepEqual(events, [{ type: "windowOpen", streamId: 1 }]);
  assert.equal(server.sendData(1, body.subarray(13), true), 12);
  out = client.read(server.takeOutput());
  assert.deepEqual(
    out.filter((o) => o.type === "DATA").map((o) => [
      (o as { length: number }).length,
      (o as { endStream: boolean }).endStream,
    ]),
    [[3, false], [12, true]],
  );
  assert.equal(server.activeStreams, 0);
});

Deno.test("send windows: the connection window, shared, and WINDOW_UPDATE on stream 0 wakes streams", () => {
  const { server, client } = connected({}, [[SettingId.INITIAL_WINDOW_SIZE, 1 << 20]]);
  server.receive(
    concat(
      client.headers(1, GET, { endStream: true }),
      client.headers(3, GET, { endStream: true }),
    ),
  );
  server.respond(1, 200);
  server.respond(3, 200);
  const big = new Uint8Array(70000);
  assert.equal(server.sendData(1, big), 65535);
  assert.equal(server.sendData(3, big), 0);
  const frames = client.read(server.takeOutput()).filter((o) => o.type === "DATA");
  assert.deepEqual(frames.map((o) => (o as { length: number }).length), [
    16384,
    16384,
    16384,
    16383,
  ]);
  const events = server.receive(frame(WINDOW_UPDATE, 0, 0, u32(1000)));
  assert.deepEqual(events, [{ type: "windowOpen", streamId: 1 }, {
    type: "windowOpen",
    streamId: 3,
  }]);
});

Deno.test("send windows: the peer's SETTINGS_MAX_FRAME_SIZE sizes DATA and HEADERS frames", () => {
  const { server, client } = connected({}, [[SettingId.MAX_FRAME_SIZE, 20000], [
    SettingId.INITIAL_WINDOW_SIZE,
    1 << 20,
  ]]);
  server.receive(
    concat(client.headers(1, GET, { endStream: true }), frame(WINDOW_UPDATE, 0, 0, u32(1 << 20))),
  );
  server.respond(1, 200, [["x-big", "v".repeat(30000)]]);
  assert.equal(server.sendData(1, new Uint8Array(50000), true), 50000);
  const out = client.read(server.takeOutput());
  assert.equal(out[0].type, "HEADERS");
  assert.equal((out[0] as { fields: Fields }).fields[1][1].length, 30000);
  assert.deepEqual(out.slice(1).map((o) => (o as { length: number }).length), [
    20000,
    20000,
    10000,
  ]);
});

Deno.test("flow-control overflow: stream → RST FLOW_CONTROL_ERROR, connection and SETTINGS → GOAWAY", () => {
  {
    const { server, client } = connected();
    server.receive(client.headers(1, GET));
    const events = server.receive(frame(WINDOW_UPDATE, 0, 1, u32(2 ** 31 - 1)));
    assert.equal(events[0].type, "reset");
    assert.deepEqual(client.read(server.takeOutput()), [{
      type: "RST_STREAM",
      streamId: 1,
      code: ErrorCode.FLOW_CONTROL_ERROR,
    }]);
  }
  {
    const { server, client } = connected();
    server.receive(frame(WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1)));
    const g = goaway(client.read(server.takeOutput()));
    assert.equal((g as { code: number }).code, ErrorCode.FLOW_CONTROL_ERROR);
  }
  {
    const { server, client } = connected();
    server.receive(client.headers(1, GET));
    server.receive(frame(WINDOW_UPDATE, 0, 1, u32(2 ** 31 - 1 - 65535)));
    server.receive(settingsFrame([[SettingId.INITIAL_WINDOW_SIZE, 65536]]));
    const g = goaway(client.read(server.takeOutput()));
    assert.equal((g as { code: number }).code, ErrorCode.FLOW_CONTROL_ERROR);
  }
});

Deno.test("header blocks: HEADERS + CONTINUATION split at every size give the same request", () => {
  const fields: Fields = [...GET, ["x-a", "1".repeat(40)], ["cookie", "a=1"], ["cookie", "b=2"]];
  const whole = new Client().headers(1, fields, { endStream: true });
  const blockLength = whole.length - 9;
  for (let split = 1; split < blockLength; split++) {
    const { server, client } = connected();
    const events = server.receive(client.headers(1, fields, { endStream: true, split }));
    assert.equal(events.length, 1, `split ${split}`);
    assert.deepEqual((events[0] as { headers: Fields }).headers, [["x-a", "1".repeat(40)], [
      "cookie",
      "a=1; b=2",
    ]]);
  }
});

Deno.test("header blocks: a frame inside a field block is a connection PROTOCOL_ERROR (§6.10)", () => {
  const cases: [string, Uint8Array][] = [
    ["PING between", frame(PING, 0, 0, new Array(8).fill(0))],
    ["DATA on the same stream", frame(DATA, 0, 1, [1])],
    ["CONTINUATION on another stream", frame(CONTINUATION, Flag.END_HEADERS, 3, [0x82])],
    ["HEADERS on another stream", frame(HEADERS, Flag.END_HEADERS, 3, [0x82])],
    ["an unknown frame type", frame(0xcc, 0, 0, [])],
  ];
  for (const [what, between] of cases) {
    const { server, client } = connected();
    const headers = client.headers(1, GET, { split: 3 });
    const first = headers.subarray(0, 9 + 3);
    const events = server.receive(concat(first, between, headers.subarray(12)));
    assert.equal(events.at(-1)?.type, "connectionError", what);
    assert.equal(
      (goaway(client.read(server.takeOutput())) as { code: number }).code,
      ErrorCode.PROTOCOL_ERROR,
      what,
    );
  }
  const { server, client } = connected();
  server.receive(frame(CONTINUATION, Flag.END_HEADERS, 1, [0x82]));
  assert.equal(
    (goaway(client.read(server.takeOutput())) as { code: number }).code,
    ErrorCode.PROTOCOL_ERROR,
  );
});

Deno.test("header blocks: a CONTINUATION flood is cut off while it arrives", () => {
  const { server, client } = connected({ maxHeaderListSize: 4096, maxHeaderBlockSize: 8192 });
  let events = server.receive(frame(HEADERS, 0, 1, new Uint8Array(1000).fill(0x82)));
  let sent = 1000;
  while (events.length === 0 && sent < 100_000) {
    events = server.receive(frame(CONTINUATION, 0, 1, new Uint8Array(1000).fill(0x82)));
    sent += 1000;
  }
  assert.equal(sent, 9000, "stopped at the first fragment past 8192 octets");
  assert.deepEqual(events.map((e) => e.type), ["connectionError"]);
  assert.equal(
    (goaway(client.read(server.takeOutput())) as { code: number }).code,
    ErrorCode.ENHANCE_YOUR_CALM,
  );
  // Empty CONTINUATION frames add nothing to the block but are counted.
  const c2 = connected({ maxEmptyFrames: 10 });
  c2.server.receive(frame(HEADERS, 0, 1, [0x82]));
  let n = 0;
  for (; n < 100 && !c2.server.closed; n++) c2.server.receive(frame(CONTINUATION, 0, 1));
  assert.equal(n, 11);
  assert.equal(
    (goaway(c2.client.read(c2.server.takeOutput())) as { code: number }).code,
    ErrorCode.ENHANCE_YOUR_CALM,
  );
});

Deno.test("a field block decoding error is a connection COMPRESSION_ERROR", () => {
  const blocks = ["80", "be", "4081ff0161", "ff80808080808000", "82 3f00"];
  for (const b of blocks) {
    const { server, client } = connected();
    const events = server.receive(frame(HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, hex(b)));
    assert.equal(events.at(-1)?.type, "connectionError", b);
    assert.equal(
      (goaway(client.read(server.takeOutput())) as { code: number }).code,
      ErrorCode.COMPRESSION_ERROR,
      b,
    );
  }
});

Deno.test("stream states: the right error for frames in the wrong state (§5.1)", () => {
  type Case = [string, (c: Client) => Uint8Array[], "RST" | "GOAWAY" | "none", number];
  const cases: Case[] = [
    ["DATA on an idle stream", (c) => [c.data(1, "x")], "GOAWAY", ErrorCode.PROTOCOL_ERROR],
    ["HEADERS on an even stream", (c) => [c.headers(2, GET)], "GOAWAY", ErrorCode.PROTOCOL_ERROR],
    [
      "stream ids going down",
      (c) => [c.headers(5, GET, { endStream: true }), c.headers(3, GET, { endStream: true })],
      "GOAWAY",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "WINDOW_UPDATE on an idle stream",
      () => [frame(WINDOW_UPDATE, 0, 1, u32(1))],
      "GOAWAY",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "RST_STREAM on an idle stream",
      () => [frame(RST_STREAM, 0, 1, u32(8))],
      "GOAWAY",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "WINDOW_UPDATE of 0 on a stream",
      (c) => [c.headers(1, GET), frame(WINDOW_UPDATE, 0, 1, u32(0))],
      "RST",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "WINDOW_UPDATE of 0 on the connection",
      () => [frame(WINDOW_UPDATE, 0, 0, u32(0))],
      "GOAWAY",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "DATA after END_STREAM (half-closed remote)",
      (c) => [c.headers(1, GET, { endStream: true }), c.data(1, "x")],
      "RST",
      ErrorCode.STREAM_CLOSED,
    ],
    [
      "HEADERS after END_STREAM",
      (
        c,
      ) => [
        c.headers(1, GET, { endStream: true }),
        c.headers(1, [["x-t", "1"]], { endStream: true }),
      ],
      "RST",
      ErrorCode.STREAM_CLOSED,
    ],
    [
      "DATA after the client's RST_STREAM",
      (c) => [c.headers(1, GET), frame(RST_STREAM, 0, 1, u32(8)), c.data(1, "x")],
      "RST",
      ErrorCode.STREAM_CLOSED,
    ],
    [
      "HEADERS after the client's RST_STREAM",
      (
        c,
      ) => [
        c.headers(1, GET),
        frame(RST_STREAM, 0, 1, u32(8)),
        c.headers(1, GET, { endStream: true }),
      ],
      "GOAWAY",
      ErrorCode.STREAM_CLOSED,
    ],
    [
      "PRIORITY depending on itself",
      (c) => [c.headers(1, GET), frame(PRIORITY, 0, 1, [...u32(1), 0])],
      "RST",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "PRIORITY of 4 octets",
      (c) => [c.headers(1, GET), frame(PRIORITY, 0, 1, u32(0))],
      "RST",
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    [
      "HEADERS depending on itself",
      () => [
        frame(HEADERS, Flag.PRIORITY | Flag.END_HEADERS, 1, [
          ...u32(1),
          0,
          ...new Client().headers(1, GET).subarray(9),
        ]),
      ],
      "RST",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "PUSH_PROMISE from a client",
      () => [frame(PUSH_PROMISE, Flag.END_HEADERS, 1, u32(2))],
      "GOAWAY",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "trailers without END_STREAM",
      (c) => [c.headers(1, GET), c.headers(1, [["x-t", "1"]])],
      "RST",
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "PRIORITY on an idle stream is fine",
      () => [frame(PRIORITY, 0, 9, [...u32(1), 0])],
      "none",
      0,
    ],
    ["unknown frame types are ignored", () => [frame(0xfa, 0xff, 0, [1, 2, 3])], "none", 0],
  ];
  for (const [what, build, kind, code] of cases) {
    const { server, client } = connected();
    for (const bytes of build(client)) server.receive(bytes);
    const out = client.read(server.takeOutput());
    if (kind === "none") {
      assert.deepEqual(out, [], what);
      continue;
    }
    const found = out.find((o) => o.type === (kind === "RST" ? "RST_STREAM" : "GOAWAY"));
    assert.ok(found, `${what}: ${JSON.stringify(out)}`);
    assert.equal((found as { code: number }).code, code, what);
    assert.equal(server.closed, kind === "GOAWAY", what);
  }
});

Deno.test("stream states: frames on a stream we reset are ignored, their window returned", () => {
  const { server, client } = connected({ connectionWindowSize: 65535 });
  server.receive(client.headers(1, [...GET, ["content-length", "100000"]]));
  server.reset(1);
  assert.deepEqual(client.read(server.takeOutput()), [{
    type: "RST_STREAM",
    streamId: 1,
    code: ErrorCode.CANCEL,
  }]);
  const events = [0, 1, 2, 3].flatMap(() => server.receive(client.data(1, new Uint8Array(16000))));
  assert.deepEqual(events, []);
  assert.deepEqual(client.read(server.takeOutput()), [{
    type: "WINDOW_UPDATE",
    streamId: 0,
    increment: 48000,
  }]);
  assert.deepEqual(server.receive(client.headers(1, [["x-t", "1"]], { endStream: true })), []);
  assert.equal(server.closed, false);
});

Deno.test("trailers, content-length checks and empty DATA with END_STREAM", () => {
  {
    const { server, client } = connected();
    const events = feed(server, [
      client.headers(1, [...GET, ["content-length", "3"], ["te", "trailers"]]),
      client.data(1, "abc"),
      client.headers(1, [["x-checksum", "1"]], { endStream: true }),
    ]);
    assert.deepEqual(events.map((e) => e.type), ["request", "data", "trailers"]);
    assert.deepEqual((events[2] as { headers: Fields }).headers, [["x-checksum", "1"]]);
  }
  const mismatches: [string, string[], boolean][] = [
    ["more than declared", ["abcd"], false],
    ["less than declared", ["ab"], true],
    ["declared, HEADERS ends the stream", [], true],
  ];
  for (const [what, parts, end] of mismatches) {
    const { server, client } = connected();
    const events = feed(server, [
      client.headers(1, [...GET, ["content-length", "3"]], { endStream: parts.length === 0 }),
      ...parts.map((p) => client.data(1, p, end)),
    ]);
    const out = client.read(server.takeOutput());
    assert.deepEqual(out.at(-1), {
      type: "RST_STREAM",
      streamId: 1,
      code: ErrorCode.PROTOCOL_ERROR,
    }, what);
    if (parts.length) assert.equal(events.at(-1)?.type, "reset", what);
    else assert.deepEqual(events, [], what);
  }
  const { server, client } = connected();
  const events = feed(server, [client.headers(1, GET), client.data(1, "", true)]);
  assert.deepEqual(events.at(-1), {
    type: "data",
    streamId: 1,
    data: new Uint8Array(0),
    endStream: true,
  });
});

Deno.test("PING is answered with the same payload; a pingAck event for ours", () => {
  const { server, client } = connected();
  server.receive(frame(PING, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]));
  assert.deepEqual(client.read(server.takeOutput()), [{
    type: "PING",
    ack: true,
    data: [1, 2, 3, 4, 5, 6, 7, 8],
  }]);
  server.ping(Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9));
  assert.deepEqual(client.read(server.takeOutput()), [{
    type: "PING",
    ack: false,
    data: [9, 9, 9, 9, 9, 9, 9, 9],
  }]);
  const events = server.receive(frame(PING, Flag.ACK, 0, [9, 9, 9, 9, 9, 9, 9, 9]));
  assert.deepEqual(events, [{ type: "pingAck", data: Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9) }]);
});

Deno.test("GOAWAY out: in-flight streams finish, later ones are ignored, then closed", () => {
  const { server, client } = connected();
  server.receive(client.headers(1, GET, { endStream: true }));
  server.goAway();
  assert.deepEqual(client.read(server.takeOutput()), [{
    type: "GOAWAY",
    lastStreamId: 1,
    code: 0,
    debug: "",
  }]);
  assert.deepEqual(server.receive(client.headers(3, GET)), []);
  assert.deepEqual(server.receive(client.data(3, "late", true)), []);
  assert.deepEqual(client.read(server.takeOutput()), [], "ignored, not reset");
  assert.equal(server.closed, false);
  server.respond(1, 200, [], true);
  assert.equal(server.closed, true);
  // An error code closes at once.
  const c2 = connected();
  c2.server.receive(c2.client.headers(1, GET, { endStream: true }));
  c2.server.goAway(ErrorCode.INTERNAL_ERROR, "bye");
  assert.equal(c2.server.closed, true);
  assert.deepEqual(c2.client.read(c2.server.takeOutput()), [{
    type: "GOAWAY",
    lastStreamId: 1,
    code: 2,
    debug: "bye",
  }]);
});

Deno.test("GOAWAY in: an event, and closed once the streams are done", () => {
  const { server, client } = connected();
  server.receive(client.headers(1, GET, { endStream: true }));
  const events = server.receive(frame(FrameType.GOAWAY, 0, 0, [...u32(0), ...u32(0)]));
  assert.deepEqual(events, [{
    type: "goaway",
    lastStreamId: 0,
    code: 0,
    debug: new Uint8Array(0),
  }]);
  assert.equal(server.closed, false);
  server.respond(1, 200, [], true);
  assert.equal(server.closed, true);
});

Deno.test("a header list over SETTINGS_MAX_HEADER_LIST_SIZE gets 431, the connection lives", () => {
  const { server, client } = connected({ maxHeaderListSize: 1000 });
  const events = server.receive(client.headers(1, [...GET, ["x-big", "v".repeat(2000)]]));
  assert.deepEqual(events, []);
  assert.deepEqual(client.read(server.takeOutput()), [
    { type: "HEADERS", streamId: 1, endStream: true, fields: [[":status", "431"]] },
    { type: "RST_STREAM", streamId: 1, code: ErrorCode.NO_ERROR },
  ]);
  assert.equal(server.receive(client.headers(3, GET, { endStream: true }))[0].type, "request");
});

Deno.test("informational responses, trailers out, and reset() from our side", () => {
  const { server, client } = connected();
  server.receive(client.headers(1, GET));
  server.respond(1, 100);
  server.respond(1, 200, [["grpc-encoding", "identity"]]);
  server.sendData(1, Uint8Array.of(0x41));
  server.sendTrailers(1, [["grpc-status", "0"]]);
  assert.deepEqual(client.read(server.takeOutput()), [
    { type: "HEADERS", streamId: 1, endStream: false, fields: [[":status", "100"]] },
    {
      type: "HEADERS",
      streamId: 1,
      endStream: false,
      fields: [[":status", "200"], ["grpc-encoding", "identity"]],
    },
    { type: "DATA", streamId: 1, endStream: false, length: 1, text: "A" },
    { type: "HEADERS", streamId: 1, endStream: true, fields: [["grpc-status", "0"]] },
  ]);
  assert.throws(() => server.sendData(1, new Uint8Array(1)));
  assert.equal(server.activeStreams, 1, "the request side is still open");
  server.reset(1, ErrorCode.NO_ERROR);
  assert.equal(server.activeStreams, 0);
});
