/**
 * The response head (lib/h1/response_head.ts): the status line and fields as text, the framing
 * chosen for each kind of response, and the kept head starts.
 */
import assert from "node:assert/strict";
import {
  chooseFraming,
  connectionField,
  type Framing,
  headStart,
  plainResponse,
  readHandlerFields,
  sharedHeadStart,
  STATUS_TEXT,
} from "../../lib/h1/response_head.ts";
import { httpDate } from "../../lib/h1/date.ts";
import { encodeLatin1Into, latin1 } from "../../lib/h1/grammar.ts";
import { parseFieldLine } from "../../lib/h1/request_head.ts";

const NONE = readHandlerFields([]);

Deno.test("response head: status line, Date, Server, connection field, fields in order", () => {
  const fields = readHandlerFields([["Content-Type", "text/plain"], ["set-cookie", "a=1"], [
    "Set-Cookie",
    "b",
  ]]);
  const date = httpDate(Date.now());
  assert.equal(
    headStart(200, "OK", 0, "tcp-http", fields),
    `HTTP/1.1 200 OK\r\ndate: ${date}\r\nserver: tcp-http\r\n` +
      "content-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b\r\n",
  );
  assert.equal(
    headStart(204, "No Content", 2, null, NONE),
    `HTTP/1.1 204 No Content\r\ndate: ${date}\r\nconnection: close\r\n`,
  );
  assert.equal(
    headStart(200, "Fine", 1, null, NONE),
    `HTTP/1.1 200 Fine\r\ndate: ${date}\r\nconnection: keep-alive\r\n`,
  );
  // An unknown status has an empty reason phrase, the SP before it kept (RFC 9112 §4).
  assert.match(headStart(299, "", 0, null, NONE), /^HTTP\/1\.1 299 \r\n/);
  // The handler's own Date and Server replace ours.
  const own = readHandlerFields([["date", "x"], ["server", "y"]]);
  assert.equal(
    headStart(200, "OK", 0, "tcp-http", own),
    "HTTP/1.1 200 OK\r\ndate: x\r\nserver: y\r\n",
  );
  for (const status of [400, 413, 414, 417, 431, 501, 505]) {
    assert.ok(STATUS_TEXT[status], `reason for ${status}`);
  }
});

Deno.test("response head: the connection field follows RFC 9112 §9.3", () => {
  assert.equal(connectionField(true, 1), 0);
  assert.equal(connectionField(true, 0), 1);
  assert.equal(connectionField(false, 1), 2);
  assert.equal(connectionField(false, 0), 2);
});

Deno.test("response head: the handler's framing fields are dropped, and read", () => {
  const fields = readHandlerFields([
    ["Content-Length", "10"],
    ["Transfer-Encoding", "chunked"],
    ["Connection", "keep-alive, Close"],
    ["Keep-Alive", "timeout=5"],
    ["Upgrade", "h2c"],
    ["Proxy-Connection", "x"],
    ["X-A", "1"],
  ]);
  assert.equal(fields.text, "x-a: 1\r\n");
  assert.equal(fields.declaredLength, 10);
  assert.equal(fields.close, true);
  assert.equal(readHandlerFields([["content-length", "1e3"]]).declaredLength, -1);
  assert.equal(readHandlerFields([["content-length", " 5"]]).declaredLength, -1);
  assert.equal(readHandlerFields([["connection", "closed"]]).close, false);
});

Deno.test("response head: one framing per response (RFC 9112 §6.3, RFC 9110 §8.6)", () => {
  // method, minor, status, declared, length, nullBody -> framing, field
  const rows: [string, 0 | 1, number, number, number, boolean, Framing, string][] = [
    ["GET", 1, 200, -1, 5, false, "length", "content-length: 5\r\n"],
    ["GET", 1, 200, -1, -1, false, "chunked", "transfer-encoding: chunked\r\n"],
    ["GET", 0, 200, -1, -1, false, "close", ""],
    ["GET", 0, 200, 7, -1, false, "length", "content-length: 7\r\n"],
    // A declared length is kept even when the body differs: the writer cuts the connection.
    ["GET", 1, 200, 10, 3, false, "length", "content-length: 10\r\n"],
    ["GET", 1, 200, -1, 0, true, "length", "content-length: 0\r\n"],
    ["HEAD", 1, 200, -1, 5, false, "none", "content-length: 5\r\n"],
    ["HEAD", 1, 200, 9, 5, false, "none", "content-length: 9\r\n"],
    ["HEAD", 1, 200, -1, -1, false, "none", ""],
    ["HEAD", 1, 200, -1, 0, true, "none", ""],
    ["GET", 1, 304, 12, -1, false, "none", "content-length: 12\r\n"],
    ["GET", 1, 304, -1, 5, false, "none", ""],
    ["GET", 1, 204, 3, 3, false, "none", ""],
    ["GET", 1, 101, -1, 0, true, "none", ""],
  ];
  for (const [method, minor, status, declared, length, nullBody, framing, field] of rows) {
    const choice = chooseFraming(method, minor, status, declared, length, nullBody);
    const name = `${method} 1.${minor} ${status} declared ${declared} length ${length}`;
    assert.equal(choice.framing, framing, name);
    assert.equal(choice.field, field, name);
  }
});

Deno.test("response head: a kept start is the same bytes until something in it changes", () => {
  const shared = Object.freeze(readHandlerFields([["content-type", "text/html"]], true));
  const a = sharedHeadStart(200, "OK", 0, "s", shared);
  assert.equal(sharedHeadStart(200, "OK", 0, "s", shared), a);
  assert.equal(latin1(a.bytes), a.text);
  assert.equal(a.text, headStart(200, "OK", 0, "s", shared));
  for (
    const other of [
      sharedHeadStart(404, "OK", 0, "s", shared),
      sharedHeadStart(200, "Fine", 0, "s", shared),
      sharedHeadStart(200, "OK", 2, "s", shared),
      sharedHeadStart(200, "OK", 0, null, shared),
      sharedHeadStart(200, "OK", 0, "s", Object.freeze({ ...shared })),
    ]
  ) assert.notEqual(other, a, "a different key, another entry");
});

Deno.test("response head: the server's own plain answers", () => {
  const { head, body } = plainResponse(431, "request head too large", "tcp-http");
  assert.equal(body, "431 Request Header Fields Too Large: request head too large\n");
  assert.match(head, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
  assert.match(head, /\r\nconnection: close\r\ncontent-type: text\/plain; charset=utf-8\r\n/);
  assert.ok(head.endsWith(`content-length: ${body.length}\r\n\r\n`));
  const toHead = plainResponse(400, "x", null, true, "retry-after: 1\r\n");
  assert.equal(toHead.body, "");
  assert.match(toHead.head, /retry-after: 1\r\ncontent-type/);
  assert.match(toHead.head, /content-length: 19\r\n\r\n$/, "HEAD: the length a GET would get");
});

Deno.test("response head: a head parses back as its fields", () => {
  const fields: [string, string][] = [["content-type", "text/html; charset=\u00e9"], ["x", ""]];
  const text = headStart(200, "OK", 0, null, readHandlerFields(fields)) + "\r\n";
  const buf = new Uint8Array(text.length);
  assert.equal(encodeLatin1Into(text, buf, 0), text.length);
  const lines = latin1(buf).split("\r\n");
  assert.equal(lines[0], "HTTP/1.1 200 OK");
  const parsed = lines.slice(2, -2).map((l) => {
    const b = Uint8Array.from(l, (c) => c.charCodeAt(0));
    return parseFieldLine(b, 0, b.length);
  });
  assert.deepEqual(parsed, fields);
  assert.deepEqual(lines.slice(-2), ["", ""]);
});
