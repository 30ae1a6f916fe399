import assert from "node:assert/strict";
import {
  deflateMessage,
  type DeflateParams,
  encodeClosePayload,
  encodeFrame,
  FrameParser,
  inflateMessage,
  Opcode,
  type ReadyState,
  useSyncCodec,
  type WebSocketOptions,
  WebSocketProtocol,
  WebSocketStateError,
} from "../../lib/ws/mod.ts";
import { bytes, client, type Ev, fromHex, hex, join, simplify, splits, utf8 } from "./_split.ts";

const DEFLATE: DeflateParams = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  serverMaxWindowBits: 15,
};

/** `reuse`: the caller overwrites what it fed once the protocol holds none of it, as the
 *  engine reuses its read buffer (with `inPlace`, what the protocol keeps must be copies). */
async function run(chunks: Uint8Array[], options?: WebSocketOptions, reuse = false) {
  const ws = new WebSocketProtocol(options);
  const events: Ev[] = [];
  const output: Uint8Array[] = [];
  for (const c of chunks) {
    const r = await ws.receive(c);
    events.push(...simplify(r.events));
    output.push(r.output.slice());
    if (reuse && ws.buffered === 0) c.fill(0xee);
  }
  return { ws, events, output: join(...output), state: ws.state };
}

const closeFrame = (code?: number, reason?: string) =>
  encodeFrame(Opcode.Close, encodeClosePayload(code, reason));
const T = Opcode.Text, B = Opcode.Binary, C = Opcode.Continuation;
const big = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);

interface Case {
  name: string;
  input: Uint8Array;
  events: Ev[];
  /** Expected output: hex, or for failures just the close code sent. */
  output?: string | { closeCode: number };
  state?: ReadyState;
  options?: WebSocketOptions;
}

const CASES: Case[] = [
  {
    name: "§5.7 masked text Hello",
    input: fromHex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
    events: [["text", "Hello"]],
  },
  { name: "empty text message", input: client(T, ""), events: [["text", ""]] },
  { name: "a leading BOM is kept", input: client(T, "\ufeffhi"), events: [["text", "\ufeffhi"]] },
  {
    name: "binary, 16-bit length",
    input: client(B, big(300)),
    events: [["binary", hex(big(300))]],
  },
  {
    name: "binary, 64-bit length",
    input: client(B, big(70_000)),
    events: [["binary", hex(big(70_000))]],
  },
  {
    name: "fragmented text with a ping between fragments",
    input: join(
      client(T, "Hel", { fin: false }),
      client(Opcode.Ping, "p"),
      client(C, "l", { fin: false }),
      client(C, "o"),
    ),
    events: [["ping", "70"], ["text", "Hello"]],
    output: "8a 01 70",
  },
  {
    name: "UTF-8 sequence split across fragments",
    input: join(client(T, bytes(0xce), { fin: false }), client(C, bytes(0xba))),
    events: [["text", "κ"]],
  },
  {
    name: "ping is answered with a pong carrying the same payload",
    input: client(Opcode.Ping, "Hello"),
    events: [["ping", "48 65 6c 6c 6f"]],
    output: "8a 05 48 65 6c 6c 6f",
  },
  { name: "empty ping", input: client(Opcode.Ping, ""), events: [["ping", ""]], output: "8a 00" },
  {
    name: "pong is reported, not answered",
    input: client(Opcode.Pong, "x"),
    events: [["pong", "78"]],
    output: "",
  },
  {
    name: "close 1000 is echoed with its reason",
    input: client(Opcode.Close, encodeClosePayload(1000, "bye")),
    events: [["close", 1000, "bye"]],
    output: "88 05 03 e8 62 79 65",
    state: "CLOSED",
  },
  {
    name: "close without a body: 1005 reported, empty close echoed",
    input: client(Opcode.Close, bytes()),
    events: [["close", 1005, ""]],
    output: "88 00",
    state: "CLOSED",
  },
  {
    name: "close 4999 echoed, frames after the close ignored",
    input: join(client(Opcode.Close, bytes(0x13, 0x87)), client(T, "late"), bytes(0xff, 0xff)),
    events: [["close", 4999, ""]],
    output: "88 02 13 87",
    state: "CLOSED",
  },
  // failures: 1002
  {
    name: "unmasked client frame",
    input: client(T, "Hello", { mask: null }),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  {
    name: "RSV1 without deflate",
    input: client(T, "x", { rsv1: true }),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  {
    name: "RSV2",
    input: join(bytes(0xa1, 0x80), bytes(0, 0, 0, 0)),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  ...[3, 7, 0xb, 0xf].map((op): Case => ({
    name: `reserved opcode 0x${op.toString(16)}`,
    input: client(op, "x"),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  })),
  {
    name: "ping of 126 bytes",
    input: client(Opcode.Ping, big(126)),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  {
    name: "fragmented ping",
    input: client(Opcode.Ping, "x", { fin: false }),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  {
    name: "continuation without a start",
    input: client(C, "x"),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  {
    name: "new text frame during a fragmented message",
    input: join(client(T, "a", { fin: false }), client(T, "b")),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  {
    name: "new binary frame during a fragmented message",
    input: join(client(B, "a", { fin: false }), client(B, "b")),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  {
    name: "1-byte close body",
    input: client(Opcode.Close, bytes(0x03)),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  },
  ...[0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000].map((code): Case => ({
    name: `close code ${code}`,
    input: client(Opcode.Close, bytes(code >> 8, code & 0xff)),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
  })),
  // failures: 1007
  {
    name: "invalid UTF-8 in a text frame",
    input: client(T, fromHex("ce ba ed a0 80")),
    events: [["fail", 1007]],
    output: { closeCode: 1007 },
  },
  {
    name: "invalid UTF-8 split across fragments",
    input: join(client(T, fromHex("ce ba ed"), { fin: false }), client(C, fromHex("a0 80"))),
    events: [["fail", 1007]],
    output: { closeCode: 1007 },
  },
  {
    name: "text ending inside a sequence",
    input: client(T, fromHex("41 e2 82")),
    events: [["fail", 1007]],
    output: { closeCode: 1007 },
  },
  {
    name: "close reason not UTF-8",
    input: client(Opcode.Close, fromHex("03 e8 ff")),
    events: [["fail", 1007]],
    output: { closeCode: 1007 },
  },
  // failures: 1009
  {
    name: "one frame over maxMessageSize",
    input: client(B, big(1001)),
    events: [["fail", 1009]],
    output: { closeCode: 1009 },
    options: { maxMessageSize: 1000 },
  },
  {
    name: "fragments adding up to over maxMessageSize",
    input: join(client(B, big(600), { fin: false }), client(C, big(401))),
    events: [["fail", 1009]],
    output: { closeCode: 1009 },
    options: { maxMessageSize: 1000 },
  },
  {
    name: "exactly maxMessageSize is fine",
    input: join(client(B, big(600), { fin: false }), client(C, big(400))),
    events: [["binary", hex(join(big(600), big(400)))]],
    options: { maxMessageSize: 1000 },
  },
  // permessage-deflate
  {
    name: "compressed Hello (RFC 7692 §7.2.3.1)",
    input: client(T, fromHex("f2 48 cd c9 c9 07 00"), { rsv1: true }),
    events: [["text", "Hello"]],
    options: { deflate: DEFLATE },
  },
  {
    name: "compressed Hello in two fragments, RSV1 on the first only",
    input: join(
      client(T, fromHex("f2 48 cd"), { rsv1: true, fin: false }),
      client(C, fromHex("c9 c9 07 00")),
    ),
    events: [["text", "Hello"]],
    options: { deflate: DEFLATE },
  },
  {
    name: "compressed then uncompressed message",
    input: join(client(B, fromHex("f2 48 cd c9 c9 07 00"), { rsv1: true }), client(T, "plain")),
    events: [["binary", hex(utf8("Hello"))], ["text", "plain"]],
    options: { deflate: DEFLATE },
  },
  {
    name: "RSV1 on a continuation frame",
    input: join(
      client(T, fromHex("f2 48 cd"), { rsv1: true, fin: false }),
      client(C, fromHex("c9 c9 07 00"), { rsv1: true }),
    ),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
    options: { deflate: DEFLATE },
  },
  {
    name: "RSV1 on a ping",
    input: client(Opcode.Ping, "x", { rsv1: true }),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
    options: { deflate: DEFLATE },
  },
  {
    name: "compressed data that is not DEFLATE",
    input: client(T, fromHex("ff ff ff"), { rsv1: true }),
    events: [["fail", 1002]],
    output: { closeCode: 1002 },
    options: { deflate: DEFLATE },
  },
  {
    name: "compressed invalid UTF-8 (no compression block: ce ba ed a0 80)",
    input: client(T, fromHex("00 05 00 fa ff ce ba ed a0 80"), { rsv1: true }),
    events: [["fail", 1007]],
    output: { closeCode: 1007 },
    options: { deflate: DEFLATE },
  },
];

for (const c of CASES) {
  Deno.test(`WebSocketProtocol: ${c.name}, fed whole, byte by byte and split at every offset`, async () => {
    for (const split of splits(c.input)) {
      const got = await run(split.chunks, c.options);
      // inPlace: the same, from copies it may unmask; events are read before the next feed.
      const copies = split.chunks.map((chunk) => chunk.slice());
      const inPlace = await run(copies, { ...c.options, inPlace: true }, true);
      assert.deepEqual(inPlace.events, got.events, `${split.name}, inPlace`);
      assert.equal(hex(inPlace.output), hex(got.output), `${split.name}, inPlace`);
      assert.deepEqual(got.events, c.events, split.name);
      const failed = c.events.at(-1)?.[0] === "fail";
      assert.equal(got.state, c.state ?? (failed ? "CLOSED" : "OPEN"), split.name);
      if (typeof c.output === "object") {
        assert.equal(got.output[0], 0x88, `${split.name}: a close frame`);
        assert.equal((got.output[2] << 8) | got.output[3], c.output.closeCode, split.name);
      } else {
        assert.equal(hex(got.output), c.output ?? "", split.name);
      }
    }
  });
}

Deno.test("fail fast: invalid UTF-8 fails before the rest of the frame arrives", async () => {
  const frame = client(
    T,
    join(utf8("ok "), fromHex("ed a0 80"), new Uint8Array(10_000).fill(0x41)),
  );
  const ws = new WebSocketProtocol();
  const header = 2 + 2 + 4;
  const r = await ws.receive(frame.subarray(0, header + 5)); // "ok " + ED A0
  assert.deepEqual(simplify(r.events), [["fail", 1007]]);
  assert.equal(ws.state, "CLOSED");
});

Deno.test("fail fast: a too-big message fails on its header, before any payload", async () => {
  const ws = new WebSocketProtocol({ maxMessageSize: 1 << 20 });
  const r = await ws.receive(bytes(0x82, 0xff, 0, 0, 0, 0, 0, 0x20, 0, 0)); // 2 MiB announced
  assert.deepEqual(simplify(r.events), [["fail", 1009]]);
  const ws2 = new WebSocketProtocol({ maxMessageSize: 1000 });
  const first = client(B, big(600), { fin: false });
  const r2 = await ws2.receive(join(first, bytes(0x80, 0xfe, 0x01, 0x91))); // +401, header only
  assert.deepEqual(simplify(r2.events), [["fail", 1009]]);
});

Deno.test("a compressed zip bomb fails with 1009 at maxMessageSize", async () => {
  const bomb = await deflateMessage(new Uint8Array(64 << 20)); // 64 MiB of zeros, ~65 KB
  const ws = new WebSocketProtocol({ deflate: DEFLATE, maxMessageSize: 1 << 20 });
  const r = await ws.receive(client(B, bomb, { rsv1: true }));
  assert.deepEqual(simplify(r.events), [["fail", 1009]]);
  assert.equal((r.output[2] << 8) | r.output[3], 1009);
});

Deno.test("compressed invalid UTF-8 fails while decompressing (1007)", async () => {
  const packed = await deflateMessage(
    join(utf8("x".repeat(100_000)), fromHex("ff"), new Uint8Array(1 << 20)),
  );
  const ws = new WebSocketProtocol({ deflate: DEFLATE });
  const r = await ws.receive(client(T, packed, { rsv1: true }));
  assert.deepEqual(simplify(r.events), [["fail", 1007]]);
});

Deno.test("sending: text, binary, fragments, ping, pong", async () => {
  const ws = new WebSocketProtocol();
  assert.equal(hex(await ws.sendText("Hello")), "81 05 48 65 6c 6c 6f");
  assert.equal(hex(await ws.sendBinary(bytes(1, 2))), "82 02 01 02");
  assert.equal(hex(await ws.sendText("Hello", { fragmentSize: 3 })), "01 03 48 65 6c 80 02 6c 6f");
  assert.equal(hex(ws.sendPing(utf8("Hello"))), "89 05 48 65 6c 6c 6f");
  assert.equal(hex(ws.sendPong()), "8a 00");
  // compress asked for but not negotiated: sent plain
  assert.equal(hex(await ws.sendText("Hello", { compress: true })), "81 05 48 65 6c 6c 6f");
});

async function readBack(bytes: Uint8Array) {
  const p = new FrameParser({ role: "client", allowRsv1: true });
  p.push(bytes);
  const frames = [];
  for (let f; (f = p.nextFrame()) !== null;) frames.push(f);
  const compressed = frames[0].rsv1;
  const payload = join(...frames.map((f) => f.payload));
  return {
    frames,
    compressed,
    data: compressed ? await inflateMessage(payload, 1 << 30) : payload,
  };
}

Deno.test("sending compressed: RSV1 on the first frame, and it inflates back", async () => {
  const ws = new WebSocketProtocol({ deflate: DEFLATE });
  const hello = await ws.sendText("Hello", { compress: true });
  assert.equal(hex(hello), "c1 07 f2 48 cd c9 c9 07 00", "RFC 7692 §7.2.3.1 on the wire");
  const text = "κόσμε ".repeat(5000);
  const back = await readBack(await ws.sendText(text, { fragmentSize: 100 }));
  assert.equal(back.compressed, true);
  assert.ok(back.frames.length > 1);
  assert.deepEqual(back.frames.map((f) => f.rsv1), back.frames.map((_, i) => i === 0));
  assert.equal(new TextDecoder().decode(back.data), text);
  const small = await readBack(await ws.sendText("tiny")); // under compressThreshold
  assert.equal(small.compressed, false);
  const tight = new WebSocketProtocol({ deflate: { ...DEFLATE, serverMaxWindowBits: 8 } });
  assert.equal((await readBack(await tight.sendBinary(new Uint8Array(256)))).compressed, true);
  assert.equal((await readBack(await tight.sendBinary(new Uint8Array(257)))).compressed, false);
});

Deno.test("closing handshake started by us: CLOSING, data still arrives, then CLOSED", async () => {
  const ws = new WebSocketProtocol();
  assert.equal(hex(ws.sendClose(1000, "done")), hex(closeFrame(1000, "done")));
  assert.equal(ws.state, "CLOSING");
  await assert.rejects(() => ws.sendText("x"), WebSocketStateError);
  assert.throws(() => ws.sendPing(), WebSocketStateError);
  assert.throws(() => ws.sendClose(), WebSocketStateError);
  const r1 = await ws.receive(join(client(T, "in flight"), client(Opcode.Ping, "p")));
  assert.deepEqual(simplify(r1.events), [["text", "in flight"], ["ping", "70"]]);
  assert.equal(r1.output.length, 0, "no pong after our close");
  const r2 = await ws.receive(client(Opcode.Close, encodeClosePayload(1000)));
  assert.deepEqual(simplify(r2.events), [["close", 1000, ""]]);
  assert.equal(r2.output.length, 0, "no second close frame");
  assert.equal(ws.state, "CLOSED");
  assert.deepEqual(ws.closeReceived, { code: 1000, reason: "" });
  const r3 = await ws.receive(client(T, "after"));
  assert.deepEqual(r3.events, []);
});

Deno.test("a failure while CLOSING sends no second close frame", async () => {
  const ws = new WebSocketProtocol();
  ws.sendClose(1001);
  const r = await ws.receive(client(T, "x", { mask: null }));
  assert.deepEqual(simplify(r.events), [["fail", 1002]]);
  assert.equal(r.output.length, 0);
  assert.equal(ws.state, "CLOSED");
});

Deno.test("after a failure nothing more is read", async () => {
  const ws = new WebSocketProtocol();
  const r = await ws.receive(join(client(T, "ok"), client(C, "x"), client(T, "never")));
  assert.deepEqual(simplify(r.events), [["text", "ok"], ["fail", 1002]]);
  const again = await ws.receive(client(T, "more"));
  assert.deepEqual(again.events, []);
  assert.equal(again.output.length, 0);
  assert.throws(() => ws.sendPing(), WebSocketStateError);
});

Deno.test("receive calls may not overlap", async () => {
  useSyncCodec(false); // inflating with the streams takes turns: the first call is still busy
  try {
    const ws = new WebSocketProtocol({ deflate: DEFLATE });
    const first = ws.receive(client(T, fromHex("f2 48 cd c9 c9 07 00"), { rsv1: true }));
    await assert.rejects(() => ws.receive(client(T, "x")), WebSocketStateError);
    assert.deepEqual(simplify((await first).events), [["text", "Hello"]]);
  } finally {
    useSyncCodec(true);
  }
});

Deno.test("the fail event carries the error and a readable reason", async () => {
  const ws = new WebSocketProtocol();
  const r = await ws.receive(client(T, "x", { mask: null }));
  const e = r.events[0];
  assert.equal(e.type, "fail");
  if (e.type === "fail") {
    assert.equal(e.error.code, 1002);
    assert.match(e.reason, /unmasked/);
    assert.equal(new TextDecoder().decode(r.output.subarray(4)), e.reason);
  }
});
