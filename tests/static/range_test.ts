/**
 * Range requests (range.ts, RFC 9110 §14): parseRange, single ranges, multipart/byteranges.
 */
import assert from "node:assert/strict";
import { parseRange, serveDir } from "../../lib/static/mod.ts";
import { big, digits, fetchDir, get, opts, sameBytes, test } from "./_fixture.ts";

// ---- Ranges (RFC 9110 §14) --------------------------------------------------------------------

test("static: parseRange table", () => {
  const size = 1000;
  const cases: [string, ReturnType<typeof parseRange>][] = [
    ["bytes=0-0", [[0, 0]]],
    ["bytes=0-99", [[0, 99]]],
    ["bytes=-1", [[999, 999]]],
    ["bytes=-100", [[900, 999]]],
    ["bytes=-2000", [[0, 999]]], // longer than the file: all of it, still as a range
    ["bytes=0-", [[0, 999]]], // the media players' probe
    ["bytes=900-", [[900, 999]]],
    ["bytes=990-5000", [[990, 999]]],
    ["bytes=0-9, 20-29", [[0, 9], [20, 29]]],
    ["bytes=20-29,0-9", [[0, 9], [20, 29]]],
    ["bytes=0-10,5-20", [[0, 20]]], // overlapping ranges coalesce
    ["bytes=0-9,10-19", [[0, 19]]], // adjacent too
    ["bytes=0-,0-,0-,0-,0-,0-,0-,0-", [[0, 999]]], // amplification, coalesced
    ["bytes=0-0,-1", [[0, 0], [999, 999]]],
    ["bytes=5000-6000,0-1", [[0, 1]]], // the unsatisfiable one is dropped
    ["BYTES=0-0", [[0, 0]]], // units compare case-insensitively
    ["bytes=00-01", [[0, 1]]],
    ["bytes=1000-", "unsatisfiable"],
    ["bytes=5000-6000", "unsatisfiable"],
    ["bytes=-0", "unsatisfiable"],
    ["bytes=99999999999999999999-", "unsatisfiable"],
    ["bytes=5-1", null],
    ["bytes=abc", null],
    ["bytes=1-2-3", null],
    ["bytes=0-1;x", null],
    ["bytes=+1-2", null],
    ["bytes=0x10-0x20", null],
    ["bytes 0-1", null],
    ["items=0-1", null],
    ["bytes=", null],
    ["bytes=-", null],
    ["bytes=,", null],
    ["", null],
    // More than 16 ranges: ignored, the whole file is sent.
    ["bytes=" + Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(","), null],
  ];
  for (const [header, expected] of cases) {
    assert.deepEqual(parseRange(header, size), expected, header);
  }
  assert.equal(parseRange("bytes=0-", 0), "unsatisfiable", "an empty file has no bytes");
  assert.equal(parseRange("bytes=-5", 0), "unsatisfiable");
});

test("static: range requests through serveDir", async () => {
  // [Range, status, Content-Range, body]
  const cases: [string, number, string | null, string][] = [
    ["bytes=0-0", 206, "bytes 0-0/1000", "0"],
    ["bytes=-1", 206, "bytes 999-999/1000", "9"],
    ["bytes=0-", 206, "bytes 0-999/1000", digits],
    ["bytes=998-", 206, "bytes 998-999/1000", "89"],
    ["bytes=10-19", 206, "bytes 10-19/1000", "0123456789"],
    ["bytes=990-5000", 206, "bytes 990-999/1000", "0123456789"],
    ["bytes=-2000", 206, "bytes 0-999/1000", digits],
    ["bytes=0-4,2-8", 206, "bytes 0-8/1000", "012345678"],
    ["bytes=0-1,2-3", 206, "bytes 0-3/1000", "0123"],
    ["bytes=1000-", 416, "bytes */1000", "416 Range Not Satisfiable\n"],
    ["bytes=-0", 416, "bytes */1000", "416 Range Not Satisfiable\n"],
    ["bytes=5-1", 200, null, digits],
    ["bytes=zz", 200, null, digits],
    ["items=0-1", 200, null, digits],
    ["bytes=" + "1-1,".repeat(17) + "1-1", 200, null, digits],
  ];
  for (const [range, status, contentRange, body] of cases) {
    const { response, text } = await fetchDir("/digits.txt", { range });
    assert.equal(response.status, status, range);
    assert.equal(response.headers.get("content-range"), contentRange, range);
    assert.equal(text, body, range);
    assert.equal(response.headers.get("content-length"), String(body.length), range);
  }
  // Ranges are for GET: HEAD and other methods ignore them.
  const head = await fetchDir("/digits.txt", { range: "bytes=0-1" }, opts, "HEAD");
  assert.equal(head.response.status, 200);
  assert.equal(head.response.headers.get("content-length"), "1000");
  // Ranges of a streamed file read only what was asked.
  const suffix = await fetchDir("/big.bin", { range: "bytes=-5" });
  assert.ok(sameBytes(suffix.body, big.slice(-5)));
  const open = await fetchDir("/big.bin", { range: `bytes=${big.length - 700_000}-` });
  assert.ok(sameBytes(open.body, big.slice(big.length - 700_000)));
  const middle = await fetchDir("/big.bin", { range: "bytes=1000000-1299999" });
  assert.ok(sameBytes(middle.body, big.slice(1_000_000, 1_300_000)));
});

/** The parts of a multipart/byteranges body: [Content-Range, bytes] each. */
function parseMultipart(body: Uint8Array, type: string): [string, Uint8Array][] {
  const boundary = /boundary=(\S+)/.exec(type)![1];
  // Bytes as code points 0-255 (TextDecoder's "latin1" is windows-1252, which remaps 0x80-0x9F).
  let text = "";
  for (let i = 0; i < body.length; i += 8192) {
    text += String.fromCharCode(...body.subarray(i, i + 8192));
  }
  const pieces = text.split(`\r\n--${boundary}`);
  assert.equal(pieces[0], "", "no preamble");
  assert.equal(pieces.at(-1), "--\r\n", "the closing delimiter");
  return pieces.slice(1, -1).map((piece) => {
    const [head, ...rest] = piece.split("\r\n\r\n");
    const range = /content-range: (.+)/.exec(head)![1];
    const bytes = Uint8Array.from(rest.join("\r\n\r\n"), (c) => c.charCodeAt(0));
    return [range, bytes];
  });
}

test("static: several ranges → multipart/byteranges with exact Content-Length", async () => {
  const { response, body } = await fetchDir("/digits.txt", { range: "bytes=0-1,5-6" });
  assert.equal(response.status, 206);
  const type = response.headers.get("content-type")!;
  assert.match(type, /^multipart\/byteranges; boundary=\w+$/);
  assert.equal(response.headers.get("content-range"), null);
  assert.equal(Number(response.headers.get("content-length")), body.length);
  const parts = parseMultipart(body, type);
  assert.deepEqual(parts.map(([r, b]) => [r, new TextDecoder().decode(b)]), [
    ["bytes 0-1/1000", "01"],
    ["bytes 5-6/1000", "56"],
  ]);
  assert.match(new TextDecoder().decode(body), /content-type: text\/plain; charset=utf-8\r\n/);

  // Parts of a big file, across read chunks, in ascending order whatever the request's order.
  const many = await fetchDir("/big.bin", { range: "bytes=-10,0-9,300000-600009" });
  assert.equal(Number(many.response.headers.get("content-length")), many.body.length);
  const got = parseMultipart(many.body, many.response.headers.get("content-type")!);
  const size = big.length;
  const expected: [string, Uint8Array][] = [
    [`bytes 0-9/${size}`, big.slice(0, 10)],
    [`bytes 300000-600009/${size}`, big.slice(300_000, 600_010)],
    [`bytes ${size - 10}-${size - 1}/${size}`, big.slice(size - 10)],
  ];
  assert.deepEqual(got.map(([range]) => range), expected.map(([range]) => range));
  for (const [i, [range, bytes]] of expected.entries()) {
    assert.ok(sameBytes(got[i][1], bytes), range);
  }
  // Abandoned after the first part's head: the sanitizer checks the file is closed.
  const abandoned = await serveDir(get("/big.bin", { range: "bytes=0-9,300000-" }), opts);
  const reader = abandoned.body!.getReader();
  await reader.read();
  await reader.cancel();
});

test("static: parseRange: whitespace is SP and HTAB only (RFC 9110 §5.6.3)", () => {
  const size = 1000;
  const cases: [string, ReturnType<typeof parseRange>][] = [
    // OWS around the elements and the "=" is read as before.
    [" bytes=0-1", [[0, 1]]],
    ["\tbytes=0-1", [[0, 1]]],
    ["bytes = 0-1", [[0, 1]]],
    ["bytes=\t0-1 ", [[0, 1]]],
    ["bytes=0-1 ,\t5-6", [[0, 1], [5, 6]]],
    ["bytes=0-1, ,\t,5-6", [[0, 1], [5, 6]]], // empty elements are skipped (§5.6.1)
    // What String.prototype.trim and \s also take for whitespace is not: the header is invalid.
    ["\u00a0bytes=0-1", null], // NO-BREAK SPACE, a latin1 byte a request can carry
    ["bytes\u00a0=0-1", null],
    ["bytes=\u00a00-1", null],
    ["bytes=0-1\u00a0", null],
    ["bytes=0-1,\u00a05-6", null],
    ["\u000bbytes=0-1", null], // VT
    ["bytes=\f0-1", null], // FF
    ["bytes=\ufeff0-1", null], // BOM
    ["bytes=\u30000-1", null], // IDEOGRAPHIC SPACE
    ["bytes=0-1\u2028", null], // LINE SEPARATOR
  ];
  for (const [header, expected] of cases) {
    assert.deepEqual(parseRange(header, size), expected, JSON.stringify(header));
  }
});

test("static: a Range with a leading U+00A0 is not a range: the whole file, 200", async () => {
  for (const range of ["\u00a0bytes=0-1", "bytes=\u00a00-1", "bytes=0-1,\u00a05-6"]) {
    const { response, text } = await fetchDir("/digits.txt", { range });
    assert.equal(response.status, 200, JSON.stringify(range));
    assert.equal(text, digits);
  }
  const tab = await fetchDir("/digits.txt", { range: "bytes=0-1,\t5-6" });
  assert.equal(tab.response.status, 206, "HTAB is OWS");
});
