/**
 * The synchronous handshake: SHA-1 against FIPS 180-4's examples and `crypto.subtle`, the accept
 * value of RFC 6455 §1.3, and `acceptUpgradeSync` agreeing with `acceptUpgrade`. Plus the
 * protocol's synchronous `encodeMessage` and its `buffered` count.
 */
import assert from "node:assert/strict";
import {
  acceptKeySync,
  acceptUpgrade,
  acceptUpgradeSync,
  type HeaderList,
  Opcode,
  sha1,
  WebSocketProtocol,
} from "../../lib/ws/mod.ts";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const encoder = new TextEncoder();

Deno.test("sha1: the FIPS 180-4 examples, and every length around a block boundary", async () => {
  assert.equal(hex(sha1(encoder.encode("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
  assert.equal(hex(sha1(new Uint8Array(0))), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  assert.equal(
    hex(sha1(encoder.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
    "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
  );
  for (let n = 50; n < 140; n++) {
    const data = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
    const expected = new Uint8Array(await crypto.subtle.digest("SHA-1", data));
    assert.equal(hex(sha1(data)), hex(expected), `${n} bytes`);
  }
});

Deno.test("acceptKeySync: the RFC 6455 §1.3 example", () => {
  assert.equal(acceptKeySync("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("acceptUpgradeSync decides as acceptUpgrade does", async () => {
  const headers: HeaderList = [
    ["upgrade", "websocket"],
    ["connection", "Upgrade"],
    ["sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="],
    ["sec-websocket-version", "13"],
    ["sec-websocket-protocol", "a, b"],
    ["sec-websocket-extensions", "permessage-deflate"],
  ];
  for (const version of ["13", "12"]) {
    const request = {
      method: "GET",
      version: "HTTP/1.1",
      headers: headers.map(([n, v]): [string, string] => [
        n,
        n === "sec-websocket-version" ? version : v,
      ]),
    };
    assert.deepEqual(
      acceptUpgradeSync(request, { protocols: ["b"] }),
      await acceptUpgrade(request, { protocols: ["b"] }),
    );
  }
});

Deno.test("encodeMessage: frames at once when not compressed; buffered counts a partial frame", async () => {
  const protocol = new WebSocketProtocol();
  const frames = protocol.encodeMessage(true, encoder.encode("hi"));
  assert.ok(frames instanceof Uint8Array);
  assert.deepEqual([...frames], [0x81, 2, 0x68, 0x69]);
  assert.equal(protocol.buffered, 0);
  await protocol.receive(new Uint8Array([0x81 | 0, 0x80 | 5])); // a masked text header, no key
  assert.equal(protocol.buffered, 0, "the header was consumed");
  await protocol.receive(new Uint8Array([1, 2]));
  assert.equal(protocol.buffered, 2, "half a masking key is held");
  const compressed = new WebSocketProtocol({
    deflate: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 15,
    },
  });
  const later = compressed.encodeMessage(false, new Uint8Array(1000));
  assert.ok(later instanceof Promise);
  const bytes = await later;
  assert.equal(bytes[0], 0x80 | 0x40 | Opcode.Binary);
});
