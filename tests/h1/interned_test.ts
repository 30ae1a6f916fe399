/**
 * lib/h1/interned.ts: a reused string is only ever one made from exactly the same bytes, whatever
 * collides in the table, and names come out lower-cased.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { fieldNames, fieldTexts, InternTable } from "../../lib/h1/interned.ts";
import { latin1 } from "../../lib/h1/grammar.ts";

const bytes = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

Deno.test("interned: the same bytes give the same string, from any offset", () => {
  const first = bytes("xxHost: 127.0.0.1:8080");
  const second = bytes("Host: 127.0.0.1:8080yy");
  assert.equal(fieldTexts.get(first, 8, first.length), "127.0.0.1:8080");
  assert.equal(fieldTexts.get(second, 6, second.length - 2), "127.0.0.1:8080");
  assert.equal(fieldNames.get(first, 2, 6), "host");
  assert.equal(fieldNames.get(bytes("HOST"), 0, 4), "host");
  assert.equal(fieldNames.get(bytes("host"), 0, 4), "host");
});

Deno.test("interned: table cases", () => {
  const rows: [string, string][] = [
    ["", ""],
    ["a", "a"],
    ["X-Forwarded-For", "x-forwarded-for"],
    ["0123456789abcdef0123456789ABCDEF", "0123456789abcdef0123456789abcdef"], // 32: kept
    ["0123456789abcdef0123456789ABCDEFG", "0123456789abcdef0123456789abcdefg"], // 33: made each time
  ];
  for (const [input, name] of rows) {
    const view = bytes(input);
    for (let round = 0; round < 2; round++) {
      assert.equal(fieldNames.get(view, 0, view.length), name, `${input} as a name`);
      assert.equal(fieldTexts.get(view, 0, view.length), input, `${input} as a value`);
    }
  }
});

Deno.test("interned: colliding slots never hand out another string's text", () => {
  // One slot for everything: every lookup collides with the one before.
  let made = 0;
  const table = new InternTable((view, start, end) => {
    made++;
    return latin1(view, start, end);
  }, 0);
  const inputs = ["ab", "ba", "abc", "ab", "ac", "ab"].map(bytes);
  for (const view of inputs) assert.equal(table.get(view, 0, view.length), latin1(view));
  // "ab" twice in a row is not made again; the rest are.
  const again = bytes("ab");
  const before = made;
  assert.equal(table.get(again, 0, 2), "ab");
  assert.equal(made, before, "the same bytes twice in a row reuse the string");
});

Deno.test("interned: property: always the string of exactly these bytes", () => {
  const table = new InternTable(latin1);
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 50 }),
      (views) => {
        for (const view of views) {
          assert.equal(table.get(view, 0, view.length), latin1(view));
          assert.equal(fieldNames.get(view, 0, view.length), latin1(view).toLowerCase());
        }
      },
    ),
    { seed: 13, numRuns: 300 },
  );
});
