import assert from "node:assert/strict";
import {
  acceptKey,
  acceptUpgrade,
  type HeaderList,
  selectSubprotocol,
  validateHandshake,
} from "../../lib/ws/mod.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

const base = (): HeaderList => [
  ["host", "server.example.com"],
  ["upgrade", "websocket"],
  ["connection", "Upgrade"],
  ["sec-websocket-key", KEY],
  ["origin", "http://example.com"],
  ["sec-websocket-version", "13"],
];
const without = (name: string) => base().filter(([n]) => n !== name);
const replace = (name: string, value: string): HeaderList =>
  base().map(([n, v]) => [n, n === name ? value : v]);

Deno.test("acceptKey: the RFC 6455 §1.3 example", async () => {
  assert.equal(await acceptKey(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

// [name, method, version, headers, expected status (0 = valid), expected extra headers]
const CASES: [string, string, string, HeaderList, number, HeaderList?][] = [
  ["the §1.2 example", "GET", "HTTP/1.1", base(), 0],
  ["tokens in other cases and lists", "GET", "HTTP/1.1", [
    ...without("upgrade").filter(([n]) => n !== "connection"),
    ["upgrade", "h2c, WebSocket"],
    ["connection", "keep-alive, UPGRADE"],
  ], 0],
  ["Connection split over two fields", "GET", "HTTP/1.1", [
    ...without("connection"),
    ["connection", "keep-alive"],
    ["connection", "upgrade"],
  ], 0],
  ["POST", "POST", "HTTP/1.1", base(), 405, [["allow", "GET"]]],
  ["HTTP/1.0", "GET", "HTTP/1.0", base(), 400],
  ["no Upgrade", "GET", "HTTP/1.1", without("upgrade"), 400],
  ["Upgrade: h2c", "GET", "HTTP/1.1", replace("upgrade", "h2c"), 400],
  ["no Connection", "GET", "HTTP/1.1", without("connection"), 400],
  ["Connection: keep-alive", "GET", "HTTP/1.1", replace("connection", "keep-alive"), 400],
  ["version 12", "GET", "HTTP/1.1", replace("sec-websocket-version", "12"), 426, [
    ["sec-websocket-version", "13"],
  ]],
  ["version 8", "GET", "HTTP/1.1", replace("sec-websocket-version", "8"), 426, [
    ["sec-websocket-version", "13"],
  ]],
  ["no version", "GET", "HTTP/1.1", without("sec-websocket-version"), 426, [
    ["sec-websocket-version", "13"],
  ]],
  [
    "version 12 without a key is still 426",
    "GET",
    "HTTP/1.1",
    [
      ...without("sec-websocket-key").filter(([n]) => n !== "sec-websocket-version"),
      ["sec-websocket-version", "12"],
    ],
    426,
    [["sec-websocket-version", "13"]],
  ],
  ["no key", "GET", "HTTP/1.1", without("sec-websocket-key"), 400],
  [
    "short key (15 bytes)",
    "GET",
    "HTTP/1.1",
    replace("sec-websocket-key", "dGhlIHNhbXBsZSBub25j"),
    400,
  ],
  [
    "long key (17 bytes)",
    "GET",
    "HTTP/1.1",
    replace("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZTE="),
    400,
  ],
  [
    "key not base64",
    "GET",
    "HTTP/1.1",
    replace("sec-websocket-key", "dGhlIHNhbXBsZSBub25j!Q=="),
    400,
  ],
  ["empty key", "GET", "HTTP/1.1", replace("sec-websocket-key", ""), 400],
  ["two keys", "GET", "HTTP/1.1", [...base(), ["sec-websocket-key", KEY]], 400],
  ["bad subprotocol list", "GET", "HTTP/1.1", [...base(), ["sec-websocket-protocol", "a b"]], 400],
];

for (const [name, method, version, headers, status, extra = []] of CASES) {
  Deno.test(`validateHandshake: ${name} → ${status || "valid"}`, () => {
    const r = validateHandshake({ method, version, headers });
    if (status === 0) {
      assert.equal(r.ok, true, r.ok ? "" : r.reason);
      if (r.ok) assert.equal(r.key, KEY);
    } else {
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.status, status);
        assert.deepEqual(r.headers, extra);
        assert.ok(r.reason.length > 0);
      }
    }
  });
}

Deno.test("acceptUpgrade: 101 with the accept key, no protocol or extension unless asked", async () => {
  const r = await acceptUpgrade({ method: "GET", version: "HTTP/1.1", headers: base() });
  assert.deepEqual(r, {
    ok: true,
    status: 101,
    headers: [
      ["upgrade", "websocket"],
      ["connection", "Upgrade"],
      ["sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="],
    ],
    protocol: null,
    deflate: null,
  });
});

Deno.test("acceptUpgrade: refusals pass through", async () => {
  const r = await acceptUpgrade({
    method: "GET",
    version: "HTTP/1.1",
    headers: replace("sec-websocket-version", "12"),
  });
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.status, 426);
});

Deno.test("subprotocols: the server's preference among the client's offers", async () => {
  assert.equal(selectSubprotocol(["chat", "superchat"], ["superchat", "chat"]), "superchat");
  assert.equal(selectSubprotocol(["chat"], ["mqtt"]), null);
  assert.equal(selectSubprotocol([], ["mqtt"]), null);
  const headers: HeaderList = [...base(), ["sec-websocket-protocol", "chat, superchat"], [
    "sec-websocket-protocol",
    "v2",
  ]];
  const req = { method: "GET", version: "HTTP/1.1", headers };
  const r = await acceptUpgrade(req, { protocols: ["v2", "chat"] });
  assert.equal(r.ok && r.protocol, "v2");
  assert.deepEqual(r.ok && r.headers.at(-1), ["sec-websocket-protocol", "v2"]);
  const none = await acceptUpgrade(req, { protocols: ["mqtt"] });
  assert.equal(none.ok && none.protocol, null);
  assert.equal(none.ok && none.headers.some(([n]) => n === "sec-websocket-protocol"), false);
  const fn = await acceptUpgrade(req, { protocols: (offered) => offered[1] });
  assert.equal(fn.ok && fn.protocol, "superchat");
  // A server choosing something not offered is a bug on our side, not the client's.
  await assert.rejects(() => acceptUpgrade(req, { protocols: () => "mqtt" }), TypeError);
});

Deno.test("acceptUpgrade: permessage-deflate is negotiated when offered", async () => {
  const headers: HeaderList = [...base(), [
    "sec-websocket-extensions",
    "permessage-deflate; client_max_window_bits",
  ]];
  const r = await acceptUpgrade({ method: "GET", version: "HTTP/1.1", headers });
  assert.ok(r.ok);
  assert.deepEqual(r.headers.at(-1), [
    "sec-websocket-extensions",
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
  ]);
  assert.deepEqual(r.deflate, {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 15,
  });
  const off = await acceptUpgrade({ method: "GET", version: "HTTP/1.1", headers }, {
    deflate: false,
  });
  assert.equal(off.ok && off.deflate, null);
  const bad = await acceptUpgrade({
    method: "GET",
    version: "HTTP/1.1",
    headers: [...base(), ["sec-websocket-extensions", "permessage-deflate; =x"]],
  });
  assert.equal(!bad.ok && bad.status, 400, "RFC 6455 §9.1: malformed extension header");
});
