import assert from "node:assert/strict";
import {
  encodeFrame,
  type Frame,
  FrameParser,
  type FrameParserOptions,
  Opcode,
  WebSocketProtocolError,
} from "../../lib/ws/mod.ts";
import { bytes, client, fromHex, hex, join, splits, utf8 } from "./_split.ts";

type Parsed = { frames: Omit<Frame, "payload">[]; payloads: string[]; error?: number };

/** Pushes each chunk into one parser and lets `drain` take what it can; a protocol error ends it. */
function feed(
  chunks: Uint8Array[],
  options: FrameParserOptions | undefined,
  drain: (parser: FrameParser, out: Parsed) => void,
): Parsed {
  const parser = new FrameParser(options);
  const out: Parsed = { frames: [], payloads: [] };
  try {
    for (const c of chunks) {
      parser.push(c);
      drain(parser, out);
    }
  } catch (e) {
    if (!(e instanceof WebSocketProtocolError)) throw e;
    out.error = e.code;
  }
  return out;
}

function takeFrame(parser: FrameParser, out: Parsed): boolean {
  const frame = parser.nextFrame();
  if (frame === null) return false;
  const { payload, ...rest } = frame;
  out.frames.push(rest);
  out.payloads.push(hex(payload));
  return true;
}

function parse(chunks: Uint8Array[], options?: FrameParserOptions): Parsed {
  return feed(chunks, options, (parser, out) => {
    while (takeFrame(parser, out)) { /* every complete frame */ }
  });
}

/** As {@link parse}, but each frame `nextData` takes is taken by it (the engine's way). */
function parseData(chunks: Uint8Array[], options?: FrameParserOptions): Parsed {
  return feed(chunks, options, (parser, out) => {
    for (;;) {
      const opcode = parser.nextData(Infinity);
      if (opcode !== 0) {
        out.frames.push(f(opcode));
        out.payloads.push(hex(parser.data));
      } else if (!takeFrame(parser, out)) {
        return;
      }
    }
  });
}

const f = (opcode: number, fin = true, rsv1 = false) => ({
  fin,
  rsv1,
  rsv2: false,
  rsv3: false,
  opcode: opcode as Opcode,
});

const big = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

// [name, input, expected frames, expected payloads (hex), error code]
const CASES: [string, Uint8Array, ReturnType<typeof f>[], Uint8Array[], number?][] = [
  // RFC 6455 §5.7 examples (client side, so the masked ones)
  [
    "§5.7 masked text Hello",
    fromHex("81 85 37 fa 21 3d 7f 9f 4d 51 58"),
    [f(1)],
    [utf8("Hello")],
  ],
  [
    "§5.7 masked pong Hello",
    fromHex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"),
    [f(0xa)],
    [utf8("Hello")],
  ],
  ["empty payload", client(Opcode.Binary, bytes()), [f(2)], [bytes()]],
  ["7-bit length 125", client(Opcode.Binary, big(125)), [f(2)], [big(125)]],
  ["16-bit length 126", client(Opcode.Binary, big(126)), [f(2)], [big(126)]],
  ["16-bit length 65535", client(Opcode.Binary, big(65535)), [f(2)], [big(65535)]],
  ["64-bit length 65536", client(Opcode.Binary, big(65536)), [f(2)], [big(65536)]],
  [
    "fragments and an interleaved ping",
    join(
      client(Opcode.Text, "Hel", { fin: false }),
      client(Opcode.Ping, "p"),
      client(Opcode.Continuation, "lo"),
    ),
    [f(1, false), f(9), f(0)],
    [utf8("Hel"), utf8("p"), utf8("lo")],
  ],
  ["rsv1 allowed with deflate", client(Opcode.Text, "x", { rsv1: true }), [f(1, true, true)], [
    utf8("x"),
  ]],
  // failures
  ["unmasked client frame", client(Opcode.Text, "Hello", { mask: null }), [], [], 1002],
  ["rsv2", join(bytes(0xa1, 0x80), bytes(0, 0, 0, 0)), [], [], 1002],
  ["rsv3", join(bytes(0x91, 0x80), bytes(0, 0, 0, 0)), [], [], 1002],
  ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [
    string,
    Uint8Array,
    [],
    [],
    number,
  ] => [`reserved opcode 0x${op.toString(16)}`, bytes(0x80 | op, 0x80, 0, 0, 0, 0), [], [], 1002]),
  ["control frame of 126 bytes", bytes(0x89, 0xfe, 0x00, 0x7e), [], [], 1002],
  ["fragmented ping", client(Opcode.Ping, "x", { fin: false }), [], [], 1002],
  ["fragmented close", client(Opcode.Close, bytes(3, 0xe8), { fin: false }), [], [], 1002],
  [
    "64-bit length with the top bit set",
    bytes(0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0),
    [],
    [],
    1002,
  ],
  ["16-bit form for a 7-bit length", bytes(0x82, 0xfe, 0x00, 0x7d), [], [], 1002],
  [
    "64-bit form for a 16-bit length",
    bytes(0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff),
    [],
    [],
    1002,
  ],
  [
    "frame over maxFrameSize (header only)",
    bytes(0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 1),
    [],
    [],
    1009,
  ],
  ["frame of 2^53 bytes", bytes(0x82, 0xff, 0x00, 0x20, 0, 0, 0, 0, 0, 0), [], [], 1009],
];

for (const [name, input, frames, payloads, error] of CASES) {
  Deno.test(`FrameParser: ${name}, fed whole, byte by byte and split at every offset`, () => {
    const allowRsv1 = name.includes("deflate");
    for (const split of splits(input)) {
      const got = parse(split.chunks, { allowRsv1, maxFrameSize: 1 << 20 });
      assert.deepEqual(got, {
        frames,
        payloads: payloads.map(hex),
        ...(error ? { error } : {}),
      }, split.name);
    }
  });
}

for (const [name, input, frames, payloads, error] of CASES) {
  Deno.test(`FrameParser.nextData, in place and not: ${name}, fed whole and split`, () => {
    const allowRsv1 = name.includes("deflate");
    const want = { frames, payloads: payloads.map(hex), ...(error ? { error } : {}) };
    for (const inPlace of [false, true]) {
      for (const split of splits(input)) {
        const chunks = split.chunks.map((c) => c.slice());
        const got = parseData(chunks, { allowRsv1, maxFrameSize: 1 << 20, inPlace });
        assert.deepEqual(got, want, `${split.name}, inPlace ${inPlace}`);
        if (!inPlace) assert.equal(hex(join(...chunks)), hex(input), "the input is untouched");
      }
    }
  });
}

Deno.test("FrameParser.nextData: in place, the payload is a view of the input, unmasked", () => {
  const input = join(client(Opcode.Text, "Hello"), client(Opcode.Binary, big(300)));
  const p = new FrameParser({ inPlace: true });
  p.push(input);
  assert.equal(p.nextData(Infinity), Opcode.Text);
  assert.equal(p.data.buffer, input.buffer);
  assert.equal(hex(p.data), hex(utf8("Hello")));
  assert.equal(p.nextData(Infinity), Opcode.Binary);
  assert.equal(p.data.buffer, input.buffer);
  assert.equal(hex(p.data), hex(big(300)));
  assert.equal(p.nextData(Infinity), 0);
  assert.equal(p.buffered, 0);
});

Deno.test("FrameParser.nextData leaves to next() what it does not take whole", () => {
  const cases: [string, Uint8Array][] = [
    ["a fragment", client(Opcode.Text, "Hel", { fin: false })],
    ["a continuation", client(Opcode.Continuation, "lo")],
    ["a control frame", client(Opcode.Ping, "p")],
    ["RSV1", client(Opcode.Text, "x", { rsv1: true })],
    ["unmasked", fromHex("81 01 78")],
    ["a 64-bit length", client(Opcode.Binary, big(70_000))],
    ["a length over maxLength", client(Opcode.Text, "toolong")],
    ["a 16-bit length under 126 (not minimal)", fromHex("82 fe 00 01 00 00 00 00 00")],
    ["an incomplete frame", client(Opcode.Text, "Hello").subarray(0, 9)],
  ];
  for (const [name, input] of cases) {
    const p = new FrameParser({ allowRsv1: true });
    p.push(input);
    assert.equal(p.nextData(5), 0, name);
    assert.equal(p.buffered, input.length, `${name}: nothing taken`);
  }
});

Deno.test("FrameParser: a client parser rejects masked frames and reads unmasked ones", () => {
  assert.equal(parse([client(Opcode.Text, "x")], { role: "client" }).error, 1002);
  assert.deepEqual(parse([fromHex("81 05 48 65 6c 6c 6f")], { role: "client" }).payloads, [
    hex(utf8("Hello")),
  ]);
});

Deno.test("FrameParser: errors are found from the first two bytes, before the rest arrives", () => {
  for (
    const first of [bytes(0x83, 0x80), bytes(0xc1, 0x80), bytes(0x09, 0x80), bytes(0x81, 0x05)]
  ) {
    const p = new FrameParser();
    p.push(first);
    assert.throws(() => p.next(), WebSocketProtocolError);
    assert.throws(() => p.next(), WebSocketProtocolError, "a failed parser stays failed");
  }
});

Deno.test("FrameParser: the size limit fails on the header, before any payload", () => {
  const p = new FrameParser({ maxFrameSize: 1000 });
  p.push(bytes(0x82, 0xfe, 0x03, 0xe9)); // 1001 bytes announced, mask not even sent
  assert.throws(() => p.next(), (e) => e instanceof WebSocketProtocolError && e.code === 1009);
});

Deno.test("FrameParser: payload pieces arrive as bytes do, unmasked, and do not alias input", () => {
  const input = client(Opcode.Binary, big(300));
  const p = new FrameParser();
  const pieces: string[] = [];
  p.push(input.subarray(0, 10));
  const h = p.next();
  assert.equal(h?.type, "header");
  assert.equal(h?.type === "header" && h.header.length, 300);
  for (let e; (e = p.next()) !== null;) pieces.push(e.type === "payload" ? hex(e.data) : "?");
  p.push(input.subarray(10));
  for (let e; (e = p.next()) !== null;) {
    assert.equal(e.type, "payload");
    if (e.type === "payload") {
      pieces.push(hex(e.data));
      assert.notEqual(e.data.buffer, input.buffer);
    }
  }
  assert.equal(pieces.join(" "), hex(big(300)));
  assert.equal(p.buffered, 0);
});

Deno.test("FrameParser: bytes after a frame stay buffered for the next", () => {
  const p = new FrameParser();
  const two = join(client(Opcode.Text, "a"), client(Opcode.Text, "bc"));
  p.push(two.subarray(0, 9));
  assert.equal(hex(p.nextFrame()!.payload), hex(utf8("a")));
  assert.equal(p.nextFrame(), null);
  assert.equal(p.buffered, 0, "the next frame's header is already parsed");
  p.push(two.subarray(9));
  assert.equal(hex(p.nextFrame()!.payload), hex(utf8("bc")));
});

// RFC 6455 §5.7: the server-side (unmasked) examples, byte for byte.
const ENCODE: [string, Uint8Array, string][] = [
  ["text Hello", encodeFrame(Opcode.Text, utf8("Hello")), "81 05 48 65 6c 6c 6f"],
  ["first fragment", encodeFrame(Opcode.Text, utf8("Hel"), { fin: false }), "01 03 48 65 6c"],
  ["last fragment", encodeFrame(Opcode.Continuation, utf8("lo")), "80 02 6c 6f"],
  ["ping Hello", encodeFrame(Opcode.Ping, utf8("Hello")), "89 05 48 65 6c 6c 6f"],
  [
    "masked text Hello (client)",
    encodeFrame(Opcode.Text, utf8("Hello"), { mask: bytes(0x37, 0xfa, 0x21, 0x3d) }),
    "81 85 37 fa 21 3d 7f 9f 4d 51 58",
  ],
  ["compressed (rsv1)", encodeFrame(Opcode.Text, bytes(0), { rsv1: true }), "c1 01 00"],
];

for (const [name, got, want] of ENCODE) {
  Deno.test(`encodeFrame: ${name}`, () => assert.equal(hex(got), want));
}

Deno.test("encodeFrame: 256 bytes and 64 KiB use the 16- and 64-bit forms (§5.7)", () => {
  assert.equal(hex(encodeFrame(Opcode.Binary, big(256)).subarray(0, 4)), "82 7e 01 00");
  assert.equal(
    hex(encodeFrame(Opcode.Binary, big(65536)).subarray(0, 10)),
    "82 7f 00 00 00 00 00 01 00 00",
  );
  assert.equal(encodeFrame(Opcode.Binary, big(65536)).length, 65546);
});

Deno.test("encodeFrame: refuses control frames it may not send", () => {
  assert.throws(() => encodeFrame(Opcode.Ping, big(126)), RangeError);
  assert.throws(() => encodeFrame(Opcode.Close, bytes(), { fin: false }), RangeError);
});

Deno.test("encodeFrame and FrameParser agree on every length form (round trip)", () => {
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    const p = new FrameParser({ role: "client" });
    p.push(encodeFrame(Opcode.Binary, big(n)));
    const frame = p.nextFrame()!;
    assert.equal(frame.payload.length, n);
    assert.deepEqual(frame.payload, big(n));
  }
});
