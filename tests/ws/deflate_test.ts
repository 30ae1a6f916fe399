import assert from "node:assert/strict";
import {
  deflateMessage,
  type ExtensionOffer,
  fitsWindow,
  inflateMessage,
  negotiateDeflate,
  parseExtensions,
  WebSocketProtocolError,
} from "../../lib/ws/mod.ts";
import { fromHex, hex, utf8 } from "./_split.ts";

const BOTH = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

Deno.test("parseExtensions: the RFC 6455 §9.1 grammar", () => {
  const cases: [string, ExtensionOffer[] | null][] = [
    ["permessage-deflate", [{ name: "permessage-deflate", params: [] }]],
    [
      'permessage-deflate ; client_max_window_bits ; server_max_window_bits="10", x-foo',
      [
        {
          name: "permessage-deflate",
          params: [["client_max_window_bits", null], ["server_max_window_bits", "10"]],
        },
        { name: "x-foo", params: [] },
      ],
    ],
    ["Permessage-Deflate;Client_Max_Window_Bits=9", [{
      name: "permessage-deflate",
      params: [["client_max_window_bits", "9"]],
    }]],
    [", permessage-deflate,,", [{ name: "permessage-deflate", params: [] }]],
    ["", null],
    ["permessage-deflate;", null],
    ["permessage-deflate; a=", null],
    ['permessage-deflate; a="b c"', null], // quoted value must be a token after unescaping
    ['permessage-deflate; a="unterminated', null],
    ["permessage-deflate x", null],
    ["per message", null],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseExtensions(input), want, input);
});

// [offer header, accepted response or null (declined)]
const NEGOTIATION: [string, string | null][] = [
  ["permessage-deflate", BOTH],
  ["permessage-deflate; client_max_window_bits", BOTH],
  ["permessage-deflate; client_max_window_bits=10", BOTH],
  ["permessage-deflate; client_no_context_takeover", BOTH],
  ["permessage-deflate; server_no_context_takeover", BOTH],
  ["permessage-deflate; server_max_window_bits=15", `${BOTH}; server_max_window_bits=15`],
  ["permessage-deflate; server_max_window_bits=8", `${BOTH}; server_max_window_bits=8`],
  // §7.1: declined for an unknown parameter, a duplicate, or a bad value
  ["permessage-deflate; foo", null],
  ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", null],
  ["permessage-deflate; client_max_window_bits; client_max_window_bits=10", null],
  ["permessage-deflate; server_no_context_takeover=1", null],
  ["permessage-deflate; client_no_context_takeover=true", null],
  ["permessage-deflate; server_max_window_bits", null],
  ["permessage-deflate; server_max_window_bits=7", null],
  ["permessage-deflate; server_max_window_bits=16", null],
  ["permessage-deflate; server_max_window_bits=010", null],
  ["permessage-deflate; client_max_window_bits=0x9", null],
  ["x-webkit-deflate-frame", null],
  // a declined offer falls through to the next
  [
    "permessage-deflate; foo, permessage-deflate; server_max_window_bits=10",
    `${BOTH}; server_max_window_bits=10`,
  ],
  ["x-foo, permessage-deflate", BOTH],
];

for (const [offer, response] of NEGOTIATION) {
  Deno.test(`negotiateDeflate: ${offer} → ${response ?? "declined"}`, () => {
    const got = negotiateDeflate(parseExtensions(offer)!);
    assert.equal(got?.response ?? null, response);
    if (got) {
      assert.equal(got.params.clientNoContextTakeover, true);
      assert.equal(got.params.serverNoContextTakeover, true);
    }
  });
}

Deno.test("fitsWindow: below 15 bits only messages within the window are compressed", () => {
  const p = (bits: number) => ({
    serverNoContextTakeover: true as const,
    clientNoContextTakeover: true as const,
    serverMaxWindowBits: bits,
  });
  assert.equal(fitsWindow(p(15), 10_000_000), true);
  assert.equal(fitsWindow(p(8), 256), true);
  assert.equal(fitsWindow(p(8), 257), false);
});

const td = new TextDecoder();

Deno.test("inflateMessage: RFC 7692 §7.2.3 examples", async () => {
  const examples: [string, string][] = [
    ["f2 48 cd c9 c9 07 00", "§7.2.3.1 Hello"],
    ["f3 48 cd c9 c9 07 00 00", "§7.2.3.4 BFINAL block and a leftover byte"],
    ["f3 48 cd c9 c9 07 00", "BFINAL block alone"],
    ["f2 48 05 00 00 00 ff ff ca c9 c9 07 00", "§7.2.3.5 two DEFLATE blocks"],
    ["00 05 00 fa ff 48 65 6c 6c 6f 00", "§7.2.3.3 no compression"],
  ];
  for (const [input, name] of examples) {
    assert.equal(td.decode(await inflateMessage(fromHex(input), 100)), "Hello", name);
  }
  assert.equal((await inflateMessage(new Uint8Array(0), 100)).length, 0, "empty message");
});

Deno.test("deflateMessage: Hello gives the §7.2.3.1 bytes (Deno sync-flushes)", async () => {
  const out = await deflateMessage(utf8("Hello"));
  // Any valid form is acceptable; on Deno 2.9.6 it is exactly the RFC's.
  assert.equal(td.decode(await inflateMessage(out, 100)), "Hello");
  assert.equal(hex(out), "f2 48 cd c9 c9 07 00");
});

Deno.test("deflate/inflate round trip: sizes, content kinds", async () => {
  const random = new Uint8Array(100_000);
  for (let i = 0; i < random.length; i += 65536) {
    crypto.getRandomValues(random.subarray(i, i + 65536));
  }
  const inputs = [
    new Uint8Array(0),
    utf8("a"),
    utf8("κόσμε ".repeat(1000)),
    new Uint8Array(300_000),
    random,
  ];
  for (const input of inputs) {
    const packed = await deflateMessage(input);
    const back = await inflateMessage(packed, 1 << 20);
    assert.deepEqual(back, input, `${input.length} bytes`);
  }
});

Deno.test("inflateMessage: not DEFLATE → 1002", async () => {
  await assert.rejects(
    () => inflateMessage(fromHex("ff ff ff ff"), 100),
    (e) => e instanceof WebSocketProtocolError && e.code === 1002,
  );
  // A complete stream followed by more than a stray byte is not what §7.2.3.4 describes.
  const junk = new Uint8Array(64).fill(0x41);
  const bfinal = fromHex("f3 48 cd c9 c9 07 00");
  const both = new Uint8Array(bfinal.length + junk.length);
  both.set(bfinal), both.set(junk, bfinal.length);
  await assert.rejects(
    () => inflateMessage(both, 100),
    (e) => e instanceof WebSocketProtocolError && e.code === 1002,
  );
});

Deno.test("inflateMessage: a zip bomb stops at the limit (1009) without inflating it all", async () => {
  const bomb = await deflateMessage(new Uint8Array(256 << 20)); // 256 MiB of zeros, ~260 KB
  assert.ok(bomb.length < 300_000);
  const limit = 1 << 20;
  let seen = 0;
  const before = Deno.memoryUsage().rss;
  await assert.rejects(
    () => inflateMessage(bomb, limit, (piece) => (seen += piece.length)),
    (e) => e instanceof WebSocketProtocolError && e.code === 1009,
  );
  // The overshoot is bounded by one slice's worth of output (256 B × 1032).
  assert.ok(seen <= limit, `delivered ${seen}`);
  assert.ok(Deno.memoryUsage().rss - before < 64 << 20, "no big allocation");
  // Exactly at the limit is fine.
  const exact = await deflateMessage(new Uint8Array(limit));
  assert.equal((await inflateMessage(exact, limit)).length, limit);
});

Deno.test("inflateMessage: onData sees the output as it comes and may stop it", async () => {
  // Poorly compressible input, so the payload spans several writes and several output pieces.
  const noise = new Uint8Array(400_000);
  let x = 1;
  for (let i = 0; i < noise.length; i++) x = (x * 1103515245 + 12345) >>> 0, noise[i] = x >>> 24;
  const packed = await deflateMessage(noise);
  let calls = 0;
  await assert.rejects(
    () =>
      inflateMessage(packed, 1 << 20, () => {
        if (++calls === 2) throw new WebSocketProtocolError(1007, "stop");
      }),
    (e) => e instanceof WebSocketProtocolError && e.code === 1007,
  );
  assert.equal(calls, 2);
});

Deno.test("inflateMessage: a BFINAL message is decoded twice but handed on once", async () => {
  const seen: string[] = [];
  const out = await inflateMessage(
    fromHex("f3 48 cd c9 c9 07 00 00"),
    100,
    (piece) => seen.push(td.decode(piece)),
  );
  assert.equal(td.decode(out), "Hello");
  assert.equal(seen.join(""), "Hello", "each byte once");
});

// Pins the runtime behaviour the module works around, so an upgrade that changes it is noticed.
Deno.test("runtime: DecompressionStream rejects trailing bytes after a BFINAL block", async () => {
  const ds = new DecompressionStream("deflate-raw");
  const w = (ds.writable as WritableStream<Uint8Array>).getWriter();
  w.write(fromHex("f3 48 cd c9 c9 07 00 00 00 00 ff ff")).catch(() => {});
  w.close().catch(() => {});
  await assert.rejects(() => new Response(ds.readable).arrayBuffer(), /whole buffer/);
});
