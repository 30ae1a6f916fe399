import assert from "node:assert/strict";
import { ByteWriter } from "../../lib/h2/buffer.ts";
import { ConnectionError, ErrorCode } from "../../lib/h2/errors.ts";
import {
  CODE_LENGTHS,
  CODES,
  Decoder,
  Encoder,
  type EncoderOptions,
  huffmanDecode,
  huffmanEncode,
  huffmanLength,
  Indexing,
  STATIC_TABLE,
  writeInt,
} from "../../lib/h2/hpack/mod.ts";
import { hex, toHex } from "./_util.ts";

type Pairs = [string, string][];

function isCompressionError(e: unknown): boolean {
  return e instanceof ConnectionError && e.code === ErrorCode.COMPRESSION_ERROR;
}

Deno.test("huffman: codes rebuilt from lengths match RFC 7541 Appendix B", () => {
  // [symbol, code as hex, length], sampled across every length in Appendix B.
  const rows: [number, number, number][] = [
    [48, 0x0, 5], // '0'
    [116, 0x9, 5], // 't'
    [32, 0x14, 6], // ' '
    [58, 0x5c, 7], // ':'
    [122, 0x7b, 7], // 'z'
    [38, 0xf8, 8], // '&'
    [90, 0xfd, 8], // 'Z'
    [33, 0x3f8, 10], // '!'
    [63, 0x3fc, 10], // '?'
    [39, 0x7fa, 11], // "'"
    [124, 0x7fc, 11], // '|'
    [35, 0xffa, 12], // '#'
    [0, 0x1ff8, 13],
    [126, 0x1ffd, 13], // '~'
    [94, 0x3ffc, 14], // '^'
    [60, 0x7ffc, 15], // '<'
    [123, 0x7ffe, 15], // '{'
    [92, 0x7fff0, 19], // '\'
    [208, 0x7fff2, 19],
    [128, 0xfffe6, 20],
    [226, 0xfffed, 20],
    [153, 0x1fffdc, 21],
    [230, 0x1fffe8, 21],
    [129, 0x3fffd2, 22],
    [233, 0x3fffeb, 22],
    [1, 0x7fffd8, 23],
    [239, 0x7ffff4, 23],
    [9, 0xffffea, 24],
    [237, 0xfffff5, 24],
    [199, 0x1ffffec, 25],
    [235, 0x1ffffef, 25],
    [192, 0x3ffffe0, 26],
    [255, 0x3ffffee, 26],
    [203, 0x7ffffde, 27],
    [254, 0x7fffff0, 27],
    [2, 0xfffffe2, 28],
    [127, 0xffffffc, 28],
    [249, 0xffffffe, 28],
    [10, 0x3ffffffc, 30],
    [22, 0x3ffffffe, 30],
    [256, 0x3fffffff, 30], // EOS
  ];
  for (const [sym, code, len] of rows) {
    assert.equal(CODE_LENGTHS[sym], len, `length of ${sym}`);
    assert.equal(CODES[sym], code, `code of ${sym}`);
  }
  // A complete prefix code: Kraft's sum is exactly 1.
  let kraft = 0;
  for (let s = 0; s <= 256; s++) kraft += 2 ** -CODE_LENGTHS[s];
  assert.equal(kraft, 1);
});

const HUFFMAN_VECTORS: [string, string][] = [
  // RFC 7541 C.4 and C.6 strings.
  ["www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"],
  ["no-cache", "a8eb 1064 9cbf"],
  ["custom-key", "25a8 49e9 5ba9 7d7f"],
  ["custom-value", "25a8 49e9 5bb8 e8b4 bf"],
  ["302", "6402"],
  ["307", "640e ff"],
  ["private", "aec3 771a 4b"],
  ["Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"],
  ["https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"],
  ["gzip", "9bd9 ab"],
  [
    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
  ],
];

Deno.test("huffman: RFC 7541 Appendix C strings encode and decode", () => {
  for (const [text, code] of HUFFMAN_VECTORS) {
    const bytes = hex(code);
    assert.equal(huffmanLength(text), bytes.length, text);
    const out = new Uint8Array(bytes.length);
    assert.equal(huffmanEncode(text, out, 0), bytes.length);
    assert.equal(toHex(out), toHex(bytes), text);
    const back = new Uint8Array(bytes.length * 2);
    const n = huffmanDecode(bytes, 0, bytes.length, back, 0);
    assert.equal(String.fromCharCode(...back.subarray(0, n)), text);
  }
});

Deno.test("huffman: every octet round-trips, including the 30-bit codes", () => {
  const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  const enc = new Uint8Array(huffmanLength(all));
  assert.equal(huffmanEncode(all, enc, 0), enc.length);
  const dec = new Uint8Array(512);
  const n = huffmanDecode(enc, 0, enc.length, dec, 0);
  assert.equal(String.fromCharCode(...dec.subarray(0, n)), all);
});

Deno.test("huffman: EOS, long padding and zero padding are decoding errors (§5.2)", () => {
  const cases: [string, string][] = [
    ["EOS in the string", "ffff ffff"], // 30 ones then 2 more: EOS decoded
    ["8 bits of padding", "ff"],
    ["padding of zeros", "00"], // '0' (00000) then 000: not an EOS prefix
    ["'a' then 8+ ones", "1fff"], // 00011 then 11 ones
  ];
  for (const [what, code] of cases) {
    const b = hex(code);
    assert.throws(
      () => huffmanDecode(b, 0, b.length, new Uint8Array(16), 0),
      isCompressionError,
      what,
    );
  }
  // Up to 7 bits of ones is fine: "a" is 00011 + 111.
  const ok = hex("1f");
  const out = new Uint8Array(4);
  assert.equal(huffmanDecode(ok, 0, 1, out, 0), 1);
  assert.equal(out[0], 0x61);
});

Deno.test("integers: RFC 7541 C.1 examples and edge cases", () => {
  const cases: [number, number, string][] = [
    [5, 10, "0a"], // C.1.1
    [5, 1337, "1f9a0a"], // C.1.2
    [8, 42, "2a"], // C.1.3
    [5, 31, "1f00"], // exactly 2^N-1 needs a zero continuation
    [7, 127, "7f00"],
    [4, 15 + 128, "0f8001"],
    [5, 2 ** 32 - 1, "1fe0ffffff0f"],
  ];
  for (const [bits, value, expected] of cases) {
    const w = new ByteWriter(8);
    writeInt(w, 0, bits, value);
    assert.equal(toHex(w.view()), expected, `${value} on ${bits} bits`);
  }
});

Deno.test("integers: overflow and truncation are COMPRESSION_ERROR", () => {
  const blocks = [
    "ff80808080808000", // index with six continuation octets (zero padding)
    "ffffffffff7f", // index far above 2^32
    "3fe1ffffff7f", // table size update overflowing
    "ff", // truncated integer
    "ff80", // truncated continuation
  ];
  for (const b of blocks) assert.throws(() => new Decoder().decode(hex(b)), isCompressionError, b);
});

Deno.test("decoder: RFC 7541 C.2 field representations", () => {
  const cases: [string, string, Pairs, Pairs][] = [
    [
      "C.2.1 literal with indexing",
      "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
      [["custom-key", "custom-header"]],
      [["custom-key", "custom-header"]],
    ],
    [
      "C.2.2 without indexing",
      "040c 2f73 616d 706c 652f 7061 7468",
      [[":path", "/sample/path"]],
      [],
    ],
    [
      "C.2.3 never indexed",
      "1008 7061 7373 776f 7264 0673 6563 7265 74",
      [["password", "secret"]],
      [],
    ],
    ["C.2.4 indexed", "82", [[":method", "GET"]], []],
  ];
  for (const [what, block, fields, table] of cases) {
    const d = new Decoder();
    assert.deepEqual(d.decode(hex(block)), fields, what);
    assert.deepEqual(d.table.entries(), table, what);
  }
  const d = new Decoder();
  d.decode(hex(cases[0][1]));
  assert.equal(d.table.size, 55);
});

const DATE21 = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE22 = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION = "https://www.example.com";
const COOKIE = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

interface Step {
  block: string;
  fields: Pairs;
  table: Pairs;
  size: number;
}

const REQUESTS: Omit<Step, "block">[] = [
  {
    fields: [[":method", "GET"], [":scheme", "http"], [":path", "/"], [
      ":authority",
      "www.example.com",
    ]],
    table: [[":authority", "www.example.com"]],
    size: 57,
  },
  {
    fields: [
      [":method", "GET"],
      [":scheme", "http"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cache-control", "no-cache"],
    ],
    table: [["cache-control", "no-cache"], [":authority", "www.example.com"]],
    size: 110,
  },
  {
    fields: [
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ],
    table: [["custom-key", "custom-value"], ["cache-control", "no-cache"], [
      ":authority",
      "www.example.com",
    ]],
    size: 164,
  },
];

const RESPONSES: Omit<Step, "block">[] = [
  {
    fields: [[":status", "302"], ["cache-control", "private"], ["date", DATE21], [
      "location",
      LOCATION,
    ]],
    table: [["location", LOCATION], ["date", DATE21], ["cache-control", "private"], [
      ":status",
      "302",
    ]],
    size: 222,
  },
  {
    fields: [[":status", "307"], ["cache-control", "private"], ["date", DATE21], [
      "location",
      LOCATION,
    ]],
    table: [[":status", "307"], ["location", LOCATION], ["date", DATE21], [
      "cache-control",
      "private",
    ]],
    size: 222,
  },
  {
    fields: [
      [":status", "200"],
      ["cache-control", "private"],
      ["date", DATE22],
      ["location", LOCATION],
      ["content-encoding", "gzip"],
      ["set-cookie", COOKIE],
    ],
    table: [["set-cookie", COOKIE], ["content-encoding", "gzip"], ["date", DATE22]],
    size: 215,
  },
];

const SEQUENCES: [string, number, EncoderOptions["huffman"], Step[]][] = [
  ["C.3 requests without Huffman", 4096, "never", [
    { ...REQUESTS[0], block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d" },
    { ...REQUESTS[1], block: "8286 84be 5808 6e6f 2d63 6163 6865" },
    {
      ...REQUESTS[2],
      block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    },
  ]],
  ["C.4 requests with Huffman", 4096, "auto", [
    { ...REQUESTS[0], block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff" },
    { ...REQUESTS[1], block: "8286 84be 5886 a8eb 1064 9cbf" },
    {
      ...REQUESTS[2],
      block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    },
  ]],
  ["C.5 responses without Huffman", 256, "never", [
    {
      ...RESPONSES[0],
      block: `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
        2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
        6c65 2e63 6f6d`,
    },
    { ...RESPONSES[1], block: "4803 3330 37c1 c0bf" },
    {
      ...RESPONSES[2],
      block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
        54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
        5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
        3d31`,
    },
  ]],
  ["C.6 responses with Huffman", 256, "always", [
    {
      ...RESPONSES[0],
      block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
        2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
    },
    { ...RESPONSES[1], block: "4883 640e ffc1 c0bf" },
    {
      ...RESPONSES[2],
      block: `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
        77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
        9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    },
  ]],
];

Deno.test("decoder: RFC 7541 C.3-C.6 sequences, dynamic table after each block", () => {
  for (const [what, tableSize, , steps] of SEQUENCES) {
    const d = new Decoder(4096);
    d.table.setMaxSize(tableSize); // as if SETTINGS_HEADER_TABLE_SIZE were already applied
    steps.forEach((s, i) => {
      assert.deepEqual(d.decode(hex(s.block)), s.fields, `${what} #${i + 1}`);
      assert.deepEqual(d.table.entries(), s.table, `${what} #${i + 1} table`);
      assert.equal(d.table.size, s.size, `${what} #${i + 1} size`);
    });
  }
});

Deno.test("encoder: reproduces RFC 7541 C.3-C.6 byte for byte (all literals indexed)", () => {
  for (const [what, tableSize, huffman, steps] of SEQUENCES) {
    const e = new Encoder({ huffman, maxTableSize: tableSize });
    e.beginBlock(new ByteWriter()); // the examples start with the size already agreed
    steps.forEach((s, i) => {
      const w = new ByteWriter();
      for (const [n, v] of s.fields) e.field(w, n, v, Indexing.INCREMENTAL);
      assert.equal(toHex(w.view()), toHex(hex(s.block)), `${what} #${i + 1}`);
      assert.deepEqual(e.table.entries(), s.table, `${what} #${i + 1} table`);
      assert.equal(e.table.size, s.size);
    });
  }
});

Deno.test("encoder: policy (static, indexed, volatile, sensitive) round-trips", () => {
  const e = new Encoder();
  const d = new Decoder();
  const response: Pairs = [
    [":status", "200"],
    ["content-type", "text/html; charset=utf-8"],
    ["content-length", "1234"],
    ["set-cookie", "session=secret"],
    ["server", "tcp-http"],
    ["x-custom", "a"],
  ];
  const first = e.encodeToBytes(response);
  assert.deepEqual(d.decode(first), response);
  // Indexed: content-type, server, x-custom. Not: content-length (volatile), set-cookie (never).
  assert.deepEqual(d.table.entries().map(([n]) => n), ["x-custom", "server", "content-type"]);
  const bytes = Array.from(first);
  // set-cookie is "never indexed" with static name index 55: 0001 1111 + 55-15=40.
  assert.ok(toHex(first).includes("1f28"), toHex(first));
  // The second time, the indexed fields are one octet each.
  const second = e.encodeToBytes(response);
  assert.deepEqual(d.decode(second), response);
  assert.ok(second.length < first.length / 2, `${second.length} vs ${bytes.length}`);
  // Upper-case names are lower-cased (RFC 9113 §8.2.1).
  assert.deepEqual(d.decode(e.encodeToBytes([["X-Custom", "a"]])), [["x-custom", "a"]]);
  // Status codes outside the static table.
  const w = new ByteWriter();
  e.status(w, 200);
  e.status(w, 418);
  assert.deepEqual(d.decode(w.view()), [[":status", "200"], [":status", "418"]]);
});

Deno.test("encoder: peer table size changes are signalled at the next block (§4.2)", () => {
  const e = new Encoder();
  const d = new Decoder();
  assert.deepEqual(d.decode(e.encodeToBytes([["server", "x"]])), [["server", "x"]]);
  e.setPeerMaxTableSize(0);
  e.setPeerMaxTableSize(200);
  const block = e.encodeToBytes([["server", "y"]]);
  // The smallest size, then the final one: 001 00000, then 001 11111 + 169 (two octets).
  assert.equal(toHex(block.subarray(0, 4)), "203fa901");
  assert.deepEqual(d.decode(block), [["server", "y"]]);
  assert.equal(d.table.maxSize, 200);
  assert.deepEqual(d.table.entries(), [["server", "y"]]);
});

Deno.test("decoder: table size update rules (§4.2, §6.3)", () => {
  const d = new Decoder(4096);
  assert.deepEqual(d.decode(hex("3fe11f 82")), [[":method", "GET"]]); // 4096, at the start
  assert.equal(d.table.maxSize, 4096);
  assert.deepEqual(d.decode(hex("20 3f11")), []); // two updates in a row: 0 then 48
  assert.equal(d.table.maxSize, 48);
  assert.throws(() => new Decoder(4096).decode(hex("82 20")), isCompressionError, "after a field");
  assert.throws(() => new Decoder(4096).decode(hex("3fe21f")), isCompressionError, "above limit");
  // Shrinking evicts.
  const e = new Decoder();
  e.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
  assert.equal(e.table.length, 1);
  e.decode(hex("3f00")); // 31: smaller than the 55-octet entry
  assert.equal(e.table.length, 0);
  assert.equal(e.table.size, 0);
});

Deno.test("decoder: bad indexes and truncated strings are COMPRESSION_ERROR", () => {
  const blocks: [string, string][] = [
    ["index 0", "80"],
    ["index past the static table with an empty dynamic table", "be"],
    ["literal name index past the table", "7f00 0161"],
    ["string longer than the block", "4005 6162"],
    ["missing value", "400161"],
    ["bad huffman in a name", "4081 ff 0161"],
  ];
  for (const [what, b] of blocks) {
    assert.throws(() => new Decoder().decode(hex(b)), isCompressionError, what);
  }
});

Deno.test("decoder: an entry larger than the table empties it (§4.4)", () => {
  const d = new Decoder();
  d.decode(hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
  d.table.setMaxSize(60);
  const e = new Encoder({ huffman: "never" });
  const w = new ByteWriter();
  e.field(w, "k", "x".repeat(40), Indexing.INCREMENTAL); // 73 octets > 60
  assert.deepEqual(d.decode(w.view()), [["k", "x".repeat(40)]]);
  assert.equal(d.table.length, 0);
  assert.equal(d.table.size, 0);
});

Deno.test("decoder: an HPACK bomb is cut off by the list size limit, table kept in sync", () => {
  // One 4000-octet entry, then a block of 2000 one-octet references to it: 8 MB decoded.
  const big = "v".repeat(4000);
  const e = new Encoder({ huffman: "never" });
  const w = new ByteWriter();
  e.field(w, "x-bomb", big, Indexing.INCREMENTAL);
  const d = new Decoder();
  assert.equal(d.decode(w.view(), 16384)?.length, 1);
  const refs = new Uint8Array(2000).fill(0xbe); // index 62
  const t0 = performance.now();
  assert.equal(d.decode(refs, 16384), null);
  assert.ok(performance.now() - t0 < 200);
  // The block was still fully processed: a following block decodes against the same table.
  assert.deepEqual(d.decode(hex("be"), 16384), [["x-bomb", big]]);
  // A literal with indexing past the limit is still added to the table.
  const w2 = new ByteWriter();
  for (let i = 0; i < 5; i++) w2.u8(0xbe);
  e.field(w2, "x-after", "1", Indexing.INCREMENTAL);
  assert.equal(d.decode(w2.view(), 16384), null);
  assert.deepEqual(d.table.entries()[0], ["x-after", "1"]);
});

Deno.test("static table: 61 entries, RFC 7541 Appendix A spot checks", () => {
  assert.equal(STATIC_TABLE.length, 61);
  assert.deepEqual(STATIC_TABLE[0], [":authority", ""]);
  assert.deepEqual(STATIC_TABLE[7], [":status", "200"]);
  assert.deepEqual(STATIC_TABLE[15], ["accept-encoding", "gzip, deflate"]);
  assert.deepEqual(STATIC_TABLE[54], ["set-cookie", ""]);
  assert.deepEqual(STATIC_TABLE[60], ["www-authenticate", ""]);
});
