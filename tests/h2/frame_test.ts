import assert from "node:assert/strict";
import { ByteWriter } from "../../lib/h2/buffer.ts";
import { ConnectionError, ErrorCode } from "../../lib/h2/errors.ts";
import {
  Flag,
  type Frame,
  FrameParser,
  FrameType,
  SettingId,
  writeData,
  writeGoAway,
  writeHeaders,
  writePing,
  writeRstStream,
  writeSettings,
  writeSettingsAck,
  writeWindowUpdate,
} from "../../lib/h2/frame.ts";
import { concat, frame, splits, toHex, u32 } from "./_util.ts";

const { DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY } = FrameType;
const { WINDOW_UPDATE, CONTINUATION } = FrameType;

/** Parses `bytes` cut up as given; frames are copied out of the callback (views expire). */
function parse(chunks: Uint8Array[], maxFrameSize?: number): unknown[] {
  const p = new FrameParser(maxFrameSize);
  const out: unknown[] = [];
  for (const c of chunks) p.push(c, (f) => out.push(plain(f)));
  assert.equal(p.buffered, 0);
  return out;
}

function plain(f: Frame): unknown {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) o[k] = v instanceof Uint8Array ? toHex(v) : v;
  return o;
}

function codeOf(bytes: Uint8Array, maxFrameSize?: number): number | null {
  try {
    new FrameParser(maxFrameSize).push(bytes, () => {});
    return null;
  } catch (e) {
    if (e instanceof ConnectionError) return e.code;
    throw e;
  }
}

const VALID: [string, Uint8Array, unknown[]][] = [
  ["DATA", frame(DATA, Flag.END_STREAM, 1, [1, 2, 3]), [{
    type: DATA,
    streamId: 1,
    data: "010203",
    endStream: true,
    flowLength: 3,
  }]],
  ["DATA padded", frame(DATA, Flag.PADDED, 3, [2, 0xaa, 0, 0]), [{
    type: DATA,
    streamId: 3,
    data: "aa",
    endStream: false,
    flowLength: 4,
  }]],
  ["DATA empty padded (pad 0)", frame(DATA, Flag.PADDED, 3, [0]), [{
    type: DATA,
    streamId: 3,
    data: "",
    endStream: false,
    flowLength: 1,
  }]],
  [
    "HEADERS padded with priority",
    frame(HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_HEADERS, 5, [
      1,
      ...u32(0x80000003),
      15,
      0x82,
      0,
    ]),
    [{
      type: HEADERS,
      streamId: 5,
      fragment: "82",
      endStream: false,
      endHeaders: true,
      priority: { dependency: 3, exclusive: true, weight: 16 },
    }],
  ],
  ["PRIORITY", frame(PRIORITY, 0, 7, [...u32(1), 255]), [{
    type: PRIORITY,
    streamId: 7,
    priority: { dependency: 1, exclusive: false, weight: 256 },
  }]],
  ["PRIORITY of 4 octets (a stream error, left to the connection)", frame(PRIORITY, 0, 7, u32(1)), [
    {
      type: PRIORITY,
      streamId: 7,
      priority: null,
    },
  ]],
  ["RST_STREAM", frame(RST_STREAM, 0, 1, u32(8)), [{ type: RST_STREAM, streamId: 1, code: 8 }]],
  [
    "SETTINGS with an unknown id",
    frame(SETTINGS, 0, 0, [0, 3, ...u32(100), 0xff, 0xff, ...u32(7)]),
    [{ type: SETTINGS, streamId: 0, ack: false, settings: [[3, 100], [0xffff, 7]] }],
  ],
  ["SETTINGS ACK", frame(SETTINGS, Flag.ACK, 0), [{
    type: SETTINGS,
    streamId: 0,
    ack: true,
    settings: [],
  }]],
  ["PUSH_PROMISE", frame(PUSH_PROMISE, Flag.END_HEADERS, 1, [...u32(2), 0x82]), [{
    type: PUSH_PROMISE,
    streamId: 1,
    promisedId: 2,
    fragment: "82",
    endHeaders: true,
  }]],
  ["PING", frame(PING, Flag.ACK, 0, [1, 2, 3, 4, 5, 6, 7, 8]), [{
    type: PING,
    streamId: 0,
    ack: true,
    data: "0102030405060708",
  }]],
  ["GOAWAY with debug data", frame(GOAWAY, 0, 0, [...u32(5), ...u32(2), 0x68, 0x69]), [{
    type: GOAWAY,
    streamId: 0,
    lastStreamId: 5,
    code: 2,
    debug: "6869",
  }]],
  ["WINDOW_UPDATE (reserved bit ignored)", frame(WINDOW_UPDATE, 0, 0, u32(0x80000010)), [{
    type: WINDOW_UPDATE,
    streamId: 0,
    increment: 16,
  }]],
  ["CONTINUATION", frame(CONTINUATION, Flag.END_HEADERS, 1, [0x82]), [{
    type: CONTINUATION,
    streamId: 1,
    fragment: "82",
    endHeaders: true,
  }]],
  ["unknown type", frame(0xbb, 0x5, 9, [1]), [{
    type: -1,
    rawType: 0xbb,
    streamId: 9,
    flags: 5,
    payload: "01",
  }]],
  ["stream id reserved bit ignored", frame(RST_STREAM, 0, 0x80000001, u32(0)), [{
    type: RST_STREAM,
    streamId: 1,
    code: 0,
  }]],
];

Deno.test("frame parser: every type, fed whole, byte by byte and split everywhere", () => {
  for (const [what, bytes, expected] of VALID) {
    for (const [how, chunks] of splits(bytes)) {
      assert.deepEqual(parse(chunks), expected, `${what}, ${how}`);
    }
  }
});

Deno.test("frame parser: many frames in one chunk and across chunks", () => {
  const all = concat(...VALID.map(([, b]) => b));
  const expected = VALID.flatMap(([, , e]) => e);
  for (const [how, chunks] of splits(all)) assert.deepEqual(parse(chunks), expected, how);
});

const BAD: [string, Uint8Array, number][] = [
  ["DATA on stream 0", frame(DATA, 0, 0, [1]), ErrorCode.PROTOCOL_ERROR],
  ["DATA padding = payload", frame(DATA, Flag.PADDED, 1, [3, 0, 0]), ErrorCode.PROTOCOL_ERROR],
  ["DATA padded, empty", frame(DATA, Flag.PADDED, 1), ErrorCode.FRAME_SIZE_ERROR],
  ["HEADERS on stream 0", frame(HEADERS, Flag.END_HEADERS, 0, [0x82]), ErrorCode.PROTOCOL_ERROR],
  [
    "HEADERS padding too long",
    frame(HEADERS, Flag.PADDED | Flag.END_HEADERS, 1, [5, 0x82]),
    ErrorCode.PROTOCOL_ERROR,
  ],
  [
    "HEADERS priority fields missing",
    frame(HEADERS, Flag.PRIORITY | Flag.END_HEADERS, 1, [0, 0, 0]),
    ErrorCode.FRAME_SIZE_ERROR,
  ],
  ["PRIORITY on stream 0", frame(PRIORITY, 0, 0, [...u32(1), 1]), ErrorCode.PROTOCOL_ERROR],
  ["RST_STREAM on stream 0", frame(RST_STREAM, 0, 0, u32(0)), ErrorCode.PROTOCOL_ERROR],
  ["RST_STREAM of 3 octets", frame(RST_STREAM, 0, 1, [0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR],
  ["RST_STREAM of 5 octets", frame(RST_STREAM, 0, 1, [0, 0, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR],
  ["SETTINGS on stream 1", frame(SETTINGS, 0, 1), ErrorCode.PROTOCOL_ERROR],
  ["SETTINGS of 5 octets", frame(SETTINGS, 0, 0, [0, 1, 0, 0, 0]), ErrorCode.FRAME_SIZE_ERROR],
  [
    "SETTINGS ACK with payload",
    frame(SETTINGS, Flag.ACK, 0, [0, 1, ...u32(0)]),
    ErrorCode.FRAME_SIZE_ERROR,
  ],
  ["ENABLE_PUSH 2", frame(SETTINGS, 0, 0, [0, 2, ...u32(2)]), ErrorCode.PROTOCOL_ERROR],
  [
    "INITIAL_WINDOW_SIZE 2^31",
    frame(SETTINGS, 0, 0, [0, 4, ...u32(2 ** 31)]),
    ErrorCode.FLOW_CONTROL_ERROR,
  ],
  ["MAX_FRAME_SIZE 16383", frame(SETTINGS, 0, 0, [0, 5, ...u32(16383)]), ErrorCode.PROTOCOL_ERROR],
  ["MAX_FRAME_SIZE 2^24", frame(SETTINGS, 0, 0, [0, 5, ...u32(2 ** 24)]), ErrorCode.PROTOCOL_ERROR],
  ["PUSH_PROMISE on stream 0", frame(PUSH_PROMISE, 0, 0, u32(2)), ErrorCode.PROTOCOL_ERROR],
  ["PING on stream 1", frame(PING, 0, 1, new Array(8).fill(0)), ErrorCode.PROTOCOL_ERROR],
  ["PING of 7 octets", frame(PING, 0, 0, new Array(7).fill(0)), ErrorCode.FRAME_SIZE_ERROR],
  ["PING of 9 octets", frame(PING, 0, 0, new Array(9).fill(0)), ErrorCode.FRAME_SIZE_ERROR],
  ["GOAWAY on stream 1", frame(GOAWAY, 0, 1, new Array(8).fill(0)), ErrorCode.PROTOCOL_ERROR],
  ["GOAWAY of 7 octets", frame(GOAWAY, 0, 0, new Array(7).fill(0)), ErrorCode.FRAME_SIZE_ERROR],
  ["WINDOW_UPDATE of 3 octets", frame(WINDOW_UPDATE, 0, 1, [0, 0, 1]), ErrorCode.FRAME_SIZE_ERROR],
  ["CONTINUATION on stream 0", frame(CONTINUATION, 0, 0, [0x82]), ErrorCode.PROTOCOL_ERROR],
  [
    "over SETTINGS_MAX_FRAME_SIZE",
    frame(DATA, 0, 1, new Uint8Array(16385)),
    ErrorCode.FRAME_SIZE_ERROR,
  ],
  [
    "unknown type over the maximum",
    frame(0xee, 0, 0, new Uint8Array(16385)),
    ErrorCode.FRAME_SIZE_ERROR,
  ],
];

Deno.test("frame parser: size and stream-id rules (RFC 9113 §4.2, §6)", () => {
  for (const [what, bytes, code] of BAD) assert.equal(codeOf(bytes), code, what);
});

Deno.test("frame parser: an oversized frame fails on its header, before its payload", () => {
  const header = frame(DATA, 0, 1, new Uint8Array(20000)).subarray(0, 9);
  assert.equal(codeOf(header), ErrorCode.FRAME_SIZE_ERROR);
  // A larger advertised maximum accepts it.
  assert.equal(parse([frame(DATA, 0, 1, new Uint8Array(20000))], 20000).length, 1);
});

Deno.test("frame writers produce what the parser reads back", () => {
  const w = new ByteWriter(16);
  writeData(w, 1, Uint8Array.of(9), true);
  writeSettings(w, [[SettingId.MAX_CONCURRENT_STREAMS, 100]]);
  writeSettingsAck(w);
  writePing(w, new Uint8Array(8).fill(7), true);
  writeGoAway(w, 7, ErrorCode.ENHANCE_YOUR_CALM, Uint8Array.of(0x21));
  writeRstStream(w, 3, ErrorCode.CANCEL);
  writeWindowUpdate(w, 0, 1000);
  writeHeaders(w, 5, Uint8Array.of(1, 2, 3, 4, 5), false, 2); // HEADERS + 2 CONTINUATION
  assert.deepEqual(parse([w.view()]), [
    { type: DATA, streamId: 1, data: "09", endStream: true, flowLength: 1 },
    { type: SETTINGS, streamId: 0, ack: false, settings: [[3, 100]] },
    { type: SETTINGS, streamId: 0, ack: true, settings: [] },
    { type: PING, streamId: 0, ack: true, data: "0707070707070707" },
    { type: GOAWAY, streamId: 0, lastStreamId: 7, code: 0xb, debug: "21" },
    { type: RST_STREAM, streamId: 3, code: 8 },
    { type: WINDOW_UPDATE, streamId: 0, increment: 1000 },
    {
      type: HEADERS,
      streamId: 5,
      fragment: "0102",
      endStream: false,
      endHeaders: false,
      priority: null,
    },
    { type: CONTINUATION, streamId: 5, fragment: "0304", endHeaders: false },
    { type: CONTINUATION, streamId: 5, fragment: "05", endHeaders: true },
  ]);
});
