import assert from "node:assert/strict";
import {
  CloseCode,
  encodeClosePayload,
  isValidCloseCode,
  parseClosePayload,
  WebSocketProtocolError,
} from "../../lib/ws/mod.ts";
import { bytes, fromHex, hex, join, utf8 } from "./_split.ts";

// Every boundary of RFC 6455 §7.4: [code, may appear in a close frame]
const CODES: [number, boolean][] = [
  [0, false],
  [999, false],
  [1000, true],
  [1001, true],
  [1002, true],
  [1003, true],
  [1004, false], // reserved
  [1005, false], // never on the wire
  [1006, false], // never on the wire
  [1007, true],
  [1008, true],
  [1009, true],
  [1010, true],
  [1011, true],
  [1012, true],
  [1013, true],
  [1014, true],
  [1015, false], // TLS failure, never on the wire
  [1016, false],
  [2999, false],
  [3000, true],
  [3999, true],
  [4000, true],
  [4999, true],
  [5000, false],
  [65535, false],
];

for (const [code, ok] of CODES) {
  Deno.test(`close code ${code} is ${ok ? "accepted" : "a protocol error (1002)"}`, () => {
    assert.equal(isValidCloseCode(code), ok);
    const payload = bytes(code >> 8, code & 0xff);
    if (ok) assert.deepEqual(parseClosePayload(payload), { code, reason: "" });
    else {
      assert.throws(
        () => parseClosePayload(payload),
        (e) => e instanceof WebSocketProtocolError && e.code === 1002,
      );
      // 1005 stands for "no code" and encodes as an empty body (tested below).
      if (code !== 1005) assert.throws(() => encodeClosePayload(code), RangeError);
    }
  });
}

Deno.test("parseClosePayload: empty body means no status (1005), 1 byte is 1002", () => {
  assert.deepEqual(parseClosePayload(bytes()), { code: CloseCode.NoStatus, reason: "" });
  assert.throws(
    () => parseClosePayload(bytes(0x03)),
    (e) => e instanceof WebSocketProtocolError && e.code === 1002,
  );
});

Deno.test("parseClosePayload: the reason must be UTF-8 (else 1007)", () => {
  assert.deepEqual(parseClosePayload(join(bytes(0x03, 0xe8), utf8("bye κόσμε"))), {
    code: 1000,
    reason: "bye κόσμε",
  });
  assert.throws(
    () => parseClosePayload(join(bytes(0x03, 0xe8), fromHex("ce ba ed a0 80"))),
    (e) => e instanceof WebSocketProtocolError && e.code === 1007,
  );
  assert.throws(
    () => parseClosePayload(join(bytes(0x03, 0xe8), fromHex("ce"))),
    (e) => e instanceof WebSocketProtocolError && e.code === 1007,
    "a reason cut inside a sequence",
  );
});

Deno.test("encodeClosePayload: code, reason, limits", () => {
  assert.equal(hex(encodeClosePayload(1000, "ok")), "03 e8 6f 6b");
  assert.equal(hex(encodeClosePayload(4999)), "13 87");
  assert.equal(encodeClosePayload().length, 0);
  assert.equal(encodeClosePayload(1005).length, 0);
  assert.equal(encodeClosePayload(1000, "x".repeat(123)).length, 125);
  assert.throws(() => encodeClosePayload(1000, "x".repeat(124)), RangeError);
  assert.throws(() => encodeClosePayload(undefined, "reason"), RangeError);
  assert.throws(() => encodeClosePayload(1000.5), RangeError);
});
