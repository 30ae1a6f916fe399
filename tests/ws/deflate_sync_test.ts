/**
 * permessage-deflate's two codecs give the same answers: the Compression Streams (used until
 * node:zlib is loaded, and for messages over 1 MiB) and node:zlib's synchronous functions (see
 * lib/ws/deflate.ts). Each case runs with each codec.
 */
import assert from "node:assert/strict";
import {
  deflateMessage,
  deflateMessageSync,
  inflateMessage,
  inflateMessageSync,
  loadZlib,
  useSyncCodec,
  WebSocketProtocolError,
} from "../../lib/ws/mod.ts";
import { fromHex, hex, utf8 } from "./_split.ts";

const td = new TextDecoder();
const code = (n: number) => (e: unknown) => e instanceof WebSocketProtocolError && e.code === n;

for (const codec of ["streams", "zlib"] as const) {
  const using = async (fn: () => Promise<void>) => {
    await loadZlib();
    useSyncCodec(codec === "zlib");
    try {
      await fn();
    } finally {
      useSyncCodec(true);
    }
  };

  Deno.test(`deflate (${codec}): RFC 7692 §7.2.3 examples and the Hello bytes`, () =>
    using(async () => {
      for (
        const input of [
          "f2 48 cd c9 c9 07 00",
          "f3 48 cd c9 c9 07 00 00",
          "f3 48 cd c9 c9 07 00",
          "f2 48 05 00 00 00 ff ff ca c9 c9 07 00",
          "00 05 00 fa ff 48 65 6c 6c 6f 00",
        ]
      ) {
        assert.equal(td.decode(await inflateMessage(fromHex(input), 100)), "Hello", input);
      }
      assert.equal(hex(await deflateMessage(utf8("Hello"))), "f2 48 cd c9 c9 07 00");
      assert.equal(deflateMessageSync(utf8("Hello")) !== null, codec === "zlib");
      assert.equal(
        inflateMessageSync(fromHex("f2 48 cd c9 c9 07 00"), 100) !== null,
        codec === "zlib",
      );
    }));

  Deno.test(`deflate (${codec}): round trips, not-DEFLATE is 1002, a bomb is 1009`, () =>
    using(async () => {
      const random = new Uint8Array(60_000);
      crypto.getRandomValues(random);
      for (const input of [new Uint8Array(0), utf8("κόσμε ".repeat(1000)), random]) {
        assert.deepEqual(await inflateMessage(await deflateMessage(input), 1 << 20), input);
      }
      await assert.rejects(() => inflateMessage(fromHex("ff ff ff ff"), 100), code(1002));
      const junk = new Uint8Array([...fromHex("f3 48 cd c9 c9 07 00"), ...new Uint8Array(64)]);
      await assert.rejects(() => inflateMessage(junk, 100), code(1002), "data past BFINAL");
      const bomb = await deflateMessage(new Uint8Array(8 << 20));
      await assert.rejects(() => inflateMessage(bomb, 1 << 20), code(1009));
      assert.equal((await inflateMessage(bomb, 8 << 20)).length, 8 << 20, "exactly the limit");
    }));
}
