import assert from "node:assert/strict";
import { ErrorCode } from "../../lib/h2/mod.ts";
import { connected, type Fields, GET } from "./_client.ts";

const CONNECT: Fields = [[":method", "CONNECT"], [":authority", "example.com:443"]];

/** §8.3 / §8.2 rules, each broken once: a stream error PROTOCOL_ERROR, no request event. */
const MALFORMED: [string, Fields][] = [
  ["no :method", GET.filter(([n]) => n !== ":method")],
  ["no :scheme", GET.filter(([n]) => n !== ":scheme")],
  ["no :path", GET.filter(([n]) => n !== ":path")],
  ["empty :path", [...GET.filter(([n]) => n !== ":path"), [":path", ""]]],
  ["duplicate :method", [...GET, [":method", "GET"]]],
  ["duplicate :path", [[":path", "/a"], ...GET]],
  ["duplicate :authority", [...GET, [":authority", "b"]]],
  ["pseudo after a regular field", [...GET.slice(0, 3), ["accept", "*/*"], GET[3]]],
  ["unknown pseudo-header", [...GET, [":protocol", "websocket"]]],
  ["response pseudo-header", [...GET, [":status", "200"]]],
  ["upper-case name", [...GET, ["Accept", "*/*"]]],
  ["empty name", [...GET, ["", "x"]]],
  ["space in a name", [...GET, ["x y", "1"]]],
  ["colon inside a name", [...GET, ["x:y", "1"]]],
  ["connection", [...GET, ["connection", "keep-alive"]]],
  ["keep-alive", [...GET, ["keep-alive", "5"]]],
  ["proxy-connection", [...GET, ["proxy-connection", "x"]]],
  ["transfer-encoding", [...GET, ["transfer-encoding", "chunked"]]],
  ["upgrade", [...GET, ["upgrade", "h2c"]]],
  ["te: gzip", [...GET, ["te", "gzip"]]],
  ["te: trailers, gzip", [...GET, ["te", "trailers, gzip"]]],
  ["CR in a value", [...GET, ["x", "a\rb"]]],
  ["LF in a value", [...GET, ["x", "a\nb"]]],
  ["NUL in a value", [...GET, ["x", "a\0b"]]],
  ["leading space", [...GET, ["x", " a"]]],
  ["trailing tab", [...GET, ["x", "a\t"]]],
  ["CR in :path", [...GET.filter(([n]) => n !== ":path"), [":path", "/a\r"]]],
  ["bad method token", [[":method", "GE T"], ...GET.slice(1)]],
  ["content-length not a number", [...GET, ["content-length", "1x"]]],
  ["conflicting content-lengths", [...GET, ["content-length", "1"], ["content-length", "2"]]],
  ["CONNECT with :path", [...CONNECT, [":path", "/"]]],
  ["CONNECT with :scheme", [...CONNECT, [":scheme", "https"]]],
  ["CONNECT without :authority", [[":method", "CONNECT"]]],
  [":path * without OPTIONS", [...GET.filter(([n]) => n !== ":path"), [":path", "*"]]],
  ["host differs from :authority", [...GET, ["host", "evil.example"]]],
];

Deno.test("malformed requests (RFC 9113 §8.2, §8.3): RST_STREAM PROTOCOL_ERROR", () => {
  for (const [what, fields] of MALFORMED) {
    const { server, client } = connected();
    const events = server.receive(client.headers(1, fields, { endStream: true }));
    assert.deepEqual(events, [], what);
    assert.deepEqual(
      client.read(server.takeOutput()),
      [{ type: "RST_STREAM", streamId: 1, code: ErrorCode.PROTOCOL_ERROR }],
      what,
    );
    // The connection is fine: the next request goes through.
    const next = server.receive(client.headers(3, GET, { endStream: true }));
    assert.equal(next[0]?.type, "request", what);
  }
});

Deno.test("malformed trailers: pseudo-headers and bad fields", () => {
  const bad: Fields[] = [[[":path", "/"]], [["X-Up", "1"]], [["connection", "close"]], [[
    "x",
    "a\n",
  ]]];
  for (const trailers of bad) {
    const { server, client } = connected();
    server.receive(client.headers(1, GET));
    const events = server.receive(client.headers(1, trailers, { endStream: true }));
    assert.deepEqual(events, [{
      type: "reset",
      streamId: 1,
      code: ErrorCode.PROTOCOL_ERROR,
      remote: false,
    }]);
  }
});

Deno.test("well-formed requests: CONNECT, OPTIONS *, te: trailers, cookies joined, host = :authority", () => {
  const cases: [string, Fields, Fields][] = [
    ["CONNECT", CONNECT, []],
    ["OPTIONS *", [[":method", "OPTIONS"], [":scheme", "https"], [":path", "*"], [
      ":authority",
      "a",
    ]], []],
    ["te: trailers", [...GET, ["te", "trailers"]], [["te", "trailers"]]],
    [
      "cookie crumbs (§8.2.3)",
      [...GET, ["cookie", "a=1"], ["accept", "*/*"], ["cookie", "b=2"], ["cookie", "c=3"]],
      [["cookie", "a=1; b=2; c=3"], ["accept", "*/*"]],
    ],
    ["host equal to :authority", [...GET, ["host", "example.com"]], [["host", "example.com"]]],
    ["no :authority, host only", [...GET.slice(0, 3), ["host", "h"]], [["host", "h"]]],
    ["empty value", [...GET, ["x-empty", ""]], [["x-empty", ""]]],
    ["inner spaces and obs-text", [...GET, ["x", "a b\xe9"]], [["x", "a b\xe9"]]],
    ["custom method", [[":method", "PROPFIND"], ...GET.slice(1)], []],
  ];
  for (const [what, fields, headers] of cases) {
    const { server, client } = connected();
    const events = server.receive(client.headers(1, fields, { endStream: true }));
    assert.equal(events.length, 1, what);
    assert.equal(events[0].type, "request", what);
    assert.deepEqual((events[0] as { headers: Fields }).headers, headers, what);
  }
});
