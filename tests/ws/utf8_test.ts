import assert from "node:assert/strict";
import { decodeUtf8, isValidUtf8, Utf8Validator } from "../../lib/ws/mod.ts";
import { fromHex, utf8 } from "./_split.ts";

// [name, bytes, index of the first byte that must be rejected (fail fast) or null if valid,
//  complete at the end]
const CASES: [string, string, number | null, boolean?][] = [
  ["ASCII", "48 65 6c 6c 6f", null],
  ["empty", "", null],
  ["2-byte U+0080", "c2 80", null],
  ["3-byte U+0800", "e0 a0 80", null],
  ["U+D7FF, the last before surrogates", "ed 9f bf", null],
  ["U+E000, the first after surrogates", "ee 80 80", null],
  ["U+FEFF (BOM)", "ef bb bf", null],
  ["4-byte U+10000", "f0 90 80 80", null],
  ["U+10FFFF, the last code point", "f4 8f bf bf", null],
  ["κόσμε (Autobahn 6.2)", "ce ba e1 bd b9 cf 83 ce bc ce b5", null],
  ["truncated 2-byte sequence", "c2", null, false],
  ["truncated 4-byte sequence", "f0 90 80", null, false],
  ["lone continuation", "80", 0],
  ["overlong 2-byte C0", "c0 80", 0],
  ["overlong 2-byte C1", "c1 bf", 0],
  ["overlong 3-byte (E0 9F)", "e0 9f bf", 1],
  ["overlong 4-byte (F0 8F)", "f0 8f bf bf", 1],
  ["surrogate U+D800", "ed a0 80", 1],
  ["surrogate U+DFFF", "ed bf bf", 1],
  ["U+110000 (F4 90)", "f4 90 80 80", 1],
  ["F5 lead", "f5 80 80 80", 0],
  ["FF byte", "ff", 0],
  ["ASCII in the middle of a sequence", "e2 82 41", 2],
  [
    "invalid after valid text (Autobahn 6.3)",
    "ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64",
    12,
  ],
];

for (const [name, input, failAt, complete = true] of CASES) {
  Deno.test(`Utf8Validator: ${name}`, () => {
    const b = fromHex(input);
    // Fed byte by byte, the first false must come at exactly the first bad byte.
    const v = new Utf8Validator();
    let failed: number | null = null;
    for (let i = 0; i < b.length && failed === null; i++) {
      if (!v.push(b.subarray(i, i + 1))) failed = i;
    }
    assert.equal(failed, failAt);
    assert.equal(isValidUtf8(b), failAt === null && complete);
    if (failAt === null) assert.equal(v.complete, complete);
    // Split at every offset gives the same verdict.
    for (let k = 0; k <= b.length; k++) {
      const w = new Utf8Validator();
      const ok = w.push(b.subarray(0, k)) && w.push(b.subarray(k)) && w.complete;
      assert.equal(ok, failAt === null && complete, `split at ${k}`);
    }
  });
}

Deno.test("Utf8Validator: agrees with TextDecoder on every 1- to 3-byte sequence from a sample", () => {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  const valid = (b: Uint8Array) => {
    try {
      fatal.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  const leads = [
    0x00,
    0x7f,
    0x80,
    0xc1,
    0xc2,
    0xdf,
    0xe0,
    0xe1,
    0xec,
    0xed,
    0xee,
    0xef,
    0xf0,
    0xf4,
    0xf5,
  ];
  const conts = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0];
  for (const a of leads) {
    for (const b of conts) {
      for (const c of conts) {
        for (const d of [...conts, -1]) {
          const seq = Uint8Array.from(d < 0 ? [a, b, c] : [a, b, c, d]);
          assert.equal(isValidUtf8(seq), valid(seq), [...seq].join(","));
        }
      }
    }
  }
});

Deno.test("Utf8Validator: reset starts over; a failed validator stays failed until then", () => {
  const v = new Utf8Validator();
  assert.equal(v.push(fromHex("ff")), false);
  assert.equal(v.push(utf8("a")), false);
  v.reset();
  assert.equal(v.push(utf8("a")), true);
  assert.equal(v.complete, true);
});

Deno.test("decodeUtf8 keeps a leading BOM (it is part of the message)", () => {
  assert.equal(decodeUtf8(fromHex("ef bb bf 41")), "\ufeffA");
});
