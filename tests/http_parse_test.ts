/**
 * The request parser as one table of cases (h11 / picohttpparser style). Every case runs three
 * ways that must agree: all bytes at once, byte by byte into a growing buffer (as the
 * connection feeds it), and split in two at every offset.
 */
import assert from "node:assert/strict";
import {
  ChunkedDecoder,
  DEFAULT_LIMITS,
  encodeLatin1Into,
  HttpError,
  type Limits,
  RequestHeadParser,
  responseHasBody,
  serializeHead,
} from "../lib/http.ts";

type Expected =
  | {
    method?: string;
    target?: string;
    form?: string;
    minorVersion?: 0 | 1;
    headers?: [string, string][];
    host?: string;
    framing?: unknown;
    keepAlive?: boolean;
    expectContinue?: boolean;
    /** Bytes of input the head took; the rest must stay unconsumed. */
    consumed?: number;
  }
  | { error: number };

interface Case {
  name: string;
  input: string;
  expect: Expected;
  limits?: Partial<Limits>;
}

const OK = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

const CASES: Case[] = [
  // Request line and target forms (RFC 9112 §3)
  {
    name: "simple GET",
    input: OK,
    expect: {
      method: "GET",
      target: "/",
      form: "origin",
      minorVersion: 1,
      headers: [["host", "a"]],
      host: "a",
      framing: { kind: "none" },
      keepAlive: true,
      expectContinue: false,
      consumed: OK.length,
    },
  },
  {
    name: "query string",
    input: "GET /a/b?c=d&e HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { target: "/a/b?c=d&e" },
  },
  {
    name: "absolute-form",
    input: "GET http://example.com/x HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { form: "absolute", target: "http://example.com/x" },
  },
  {
    name: "absolute-form with another scheme",
    input: "GET ftp://example.com/x HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "authority-form for CONNECT",
    input: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    expect: { form: "authority", method: "CONNECT" },
  },
  {
    name: "CONNECT with origin-form",
    input: "CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "authority-form for GET",
    input: "GET a.com:80 HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "asterisk-form for OPTIONS",
    input: "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { form: "asterisk" },
  },
  {
    name: "asterisk-form for GET",
    input: "GET * HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "extension method token",
    input: "PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { method: "PURGE" },
  },
  {
    name: "method case is kept",
    input: "get / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { method: "get" },
  },
  {
    name: "method with a bad char",
    input: "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  { name: "double space", input: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", expect: { error: 400 } },
  { name: "leading space", input: " GET / HTTP/1.1\r\nHost: a\r\n\r\n", expect: { error: 400 } },
  { name: "tab separator", input: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", expect: { error: 400 } },
  { name: "no version", input: "GET /\r\nHost: a\r\n\r\n", expect: { error: 400 } },
  {
    name: "space in target",
    input: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "control char in target",
    input: "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "raw UTF-8 in target",
    input: "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  { name: "relative target", input: "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", expect: { error: 400 } },
  {
    name: "long target",
    input: `GET /${"a".repeat(100)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    limits: { maxTargetBytes: 50 },
    expect: { error: 414 },
  },
  {
    name: "target at the limit",
    input: `GET /${"a".repeat(49)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    limits: { maxTargetBytes: 50 },
    expect: { target: `/${"a".repeat(49)}` },
  },
  // Versions (RFC 9112 §2.3)
  {
    name: "HTTP/1.0",
    input: "GET / HTTP/1.0\r\n\r\n",
    expect: { minorVersion: 0, keepAlive: false, host: "" },
  },
  { name: "HTTP/2.0", input: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", expect: { error: 505 } },
  {
    name: "HTTP/1.2 is handled as 1.1",
    input: "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    expect: { minorVersion: 1 },
  },
  {
    name: "fragment in the target",
    input: "GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  { name: "HTTP/0.9", input: "GET / HTTP/0.9\r\nHost: a\r\n\r\n", expect: { error: 505 } },
  {
    name: "lower-case version",
    input: "GET / http/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  { name: "HTTP/1.10", input: "GET / HTTP/1.10\r\nHost: a\r\n\r\n", expect: { error: 400 } },
  { name: "HTTP/11", input: "GET / HTTP/11\r\nHost: a\r\n\r\n", expect: { error: 400 } },
  // Line endings (RFC 9112 §2.2)
  {
    name: "bare LF line endings",
    input: "GET / HTTP/1.1\nHost: a\n\n",
    expect: { host: "a", consumed: 24 },
  },
  {
    name: "leading empty lines are skipped",
    input: "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { method: "GET", consumed: OK.length + 4 },
  },
  {
    name: "bare CR in a value",
    input: "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "bare CR in the request line",
    input: "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  // Header fields (RFC 9110 §5, RFC 9112 §5)
  {
    name: "OWS trimmed, order and duplicates kept, names lower-cased",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-A:  1 \t\r\nx-a:2\r\nAccept: */*\r\n\r\n",
    expect: { headers: [["host", "a"], ["x-a", "1"], ["x-a", "2"], ["accept", "*/*"]] },
  },
  {
    name: "empty value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
    expect: { headers: [["host", "a"], ["x-empty", ""]] },
  },
  {
    name: "obs-text kept as latin1",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9\r\n\r\n",
    expect: { headers: [["host", "a"], ["x", "caf\xe9"]] },
  },
  {
    name: "space before colon",
    input: "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    expect: { error: 400 },
  },
  { name: "empty name", input: "GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n", expect: { error: 400 } },
  { name: "no colon", input: "GET / HTTP/1.1\r\nHost: a\r\nX\r\n\r\n", expect: { error: 400 } },
  {
    name: "bad char in name",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX(y): z\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "obs-fold",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "NUL in value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "DEL in value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "control char in value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX: a\x1bb\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "head too large",
    input: `GET / HTTP/1.1\r\nHost: a\r\nX: ${"b".repeat(300)}\r\n\r\n`,
    limits: { maxHeadBytes: 200 },
    expect: { error: 431 },
  },
  {
    name: "too many fields",
    input: `GET / HTTP/1.1\r\nHost: a\r\n${"X: 1\r\n".repeat(5)}\r\n`,
    limits: { maxHeaders: 5 },
    expect: { error: 431 },
  },
  {
    name: "fields at the limit",
    input: `GET / HTTP/1.1\r\nHost: a\r\n${"X: 1\r\n".repeat(4)}\r\n`,
    limits: { maxHeaders: 5 },
    expect: { method: "GET" },
  },
  // Host (RFC 9112 §3.2)
  { name: "missing Host in 1.1", input: "GET / HTTP/1.1\r\n\r\n", expect: { error: 400 } },
  {
    name: "two Hosts",
    input: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Host with a slash",
    input: "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Host with a space",
    input: "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Host with a port",
    input: "GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n",
    expect: { host: "a.example:8080" },
  },
  {
    name: "IPv6 Host",
    input: "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
    expect: { host: "[::1]:80" },
  },
  { name: "empty Host", input: "GET / HTTP/1.1\r\nHost:\r\n\r\n", expect: { host: "" } },
  { name: "1.0 without Host", input: "GET / HTTP/1.0\r\n\r\n", expect: { host: "" } },
  // Content-Length (RFC 9110 §8.6, RFC 9112 §6.3)
  {
    name: "Content-Length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    expect: { framing: { kind: "length", length: 5 }, consumed: 47 },
  },
  {
    name: "Content-Length: 0 has no body",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    expect: { framing: { kind: "none" } },
  },
  {
    name: "leading zeros",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n",
    expect: { framing: { kind: "length", length: 7 } },
  },
  {
    name: "same value listed",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
    expect: { framing: { kind: "length", length: 5 } },
  },
  {
    name: "same value twice",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n",
    expect: { framing: { kind: "length", length: 5 } },
  },
  {
    name: "differing values listed",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "differing headers",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "signed length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "negative length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "hex length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "empty length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "length over the limit",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n",
    limits: { maxBodyBytes: 100 },
    expect: { error: 413 },
  },
  {
    name: "20-digit length",
    input: `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${"9".repeat(20)}\r\n\r\n`,
    expect: { error: 413 },
  },
  // Transfer-Encoding (RFC 9112 §6.1, §7)
  {
    name: "chunked",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    expect: { framing: { kind: "chunked" } },
  },
  {
    name: "Chunked, any case",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n",
    expect: { framing: { kind: "chunked" } },
  },
  {
    name: "TE with CL",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "CL with TE",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "gzip, chunked",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    expect: { error: 501 },
  },
  {
    name: "chunked, gzip",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    expect: { error: 501 },
  },
  {
    name: "chunked twice",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunked in two fields",
    input:
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "identity",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
    expect: { error: 501 },
  },
  {
    name: "empty TE",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "TE in HTTP/1.0",
    input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "TE with a stray char",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked_\r\n\r\n",
    expect: { error: 501 },
  },
  // Connection and Expect
  {
    name: "1.1 close",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    expect: { keepAlive: false },
  },
  {
    name: "1.1 close in a list",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n",
    expect: { keepAlive: false },
  },
  {
    name: "1.0 keep-alive",
    input: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    expect: { keepAlive: true },
  },
  { name: "1.0 default close", input: "GET / HTTP/1.0\r\n\r\n", expect: { keepAlive: false } },
  {
    name: "100-continue",
    input: "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
    expect: { expectContinue: true },
  },
  {
    name: "100-continue ignored for 1.0",
    input: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    expect: { expectContinue: false },
  },
  {
    name: "unknown expectation",
    input: "GET / HTTP/1.1\r\nHost: a\r\nExpect: coffee\r\n\r\n",
    expect: { error: 417 },
  },
  // Pipelining: only the first head is consumed
  { name: "pipelined bytes stay", input: OK + OK + "GET /2", expect: { consumed: OK.length } },
];

const encode = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

type Outcome = { head: unknown; consumed: number } | { error: number } | null;

function run(parser: RequestHeadParser, bytes: Uint8Array, end: number): Outcome {
  try {
    return parser.parse(bytes, 0, end);
  } catch (error) {
    if (error instanceof HttpError) return { error: error.status };
    throw error;
  }
}

function whole(c: Case): Outcome {
  const bytes = encode(c.input);
  return run(new RequestHeadParser({ ...DEFAULT_LIMITS, ...c.limits }), bytes, bytes.length);
}

/** As the connection feeds it: the same buffer, one more byte each time. */
function byteByByte(c: Case): Outcome {
  const bytes = encode(c.input);
  const parser = new RequestHeadParser({ ...DEFAULT_LIMITS, ...c.limits });
  for (let end = 1; end <= bytes.length; end++) {
    const outcome = run(parser, bytes, end);
    if (outcome !== null) return outcome;
  }
  return null;
}

function splitAt(c: Case, at: number): Outcome {
  const bytes = encode(c.input);
  const parser = new RequestHeadParser({ ...DEFAULT_LIMITS, ...c.limits });
  return run(parser, bytes, at) ?? run(parser, bytes, bytes.length);
}

function check(c: Case, outcome: Outcome, how: string) {
  assert.ok(outcome !== null, `${c.name} (${how}): needs more bytes`);
  if ("error" in c.expect) {
    assert.deepEqual(outcome, { error: c.expect.error }, `${c.name} (${how})`);
    return;
  }
  assert.ok(!("error" in outcome), `${c.name} (${how}): unexpected ${JSON.stringify(outcome)}`);
  const { head, consumed } = outcome as { head: Record<string, unknown>; consumed: number };
  for (const [key, value] of Object.entries(c.expect)) {
    if (key === "consumed") assert.equal(consumed, value, `${c.name} (${how}): consumed`);
    else assert.deepEqual(head[key], value, `${c.name} (${how}): ${key}`);
  }
}

for (const c of CASES) {
  Deno.test(`http parse: ${c.name}`, () => {
    const expected = whole(c);
    check(c, expected, "whole");
    check(c, byteByByte(c), "byte by byte");
    for (let at = 0; at <= encode(c.input).length; at++) {
      assert.deepEqual(splitAt(c, at), expected, `${c.name}: split at ${at}`);
    }
  });
}

Deno.test("http parse: partial heads need more bytes, and a long one fails early", () => {
  const parser = new RequestHeadParser();
  const bytes = encode("GET / HTTP/1.1\r\nHost: a\r\n");
  assert.equal(parser.parse(bytes, 0, bytes.length), null);
  assert.equal(parser.inProgress, true);
  // A head that never ends is refused as soon as it passes the limit, not when it ends.
  const small = new RequestHeadParser({ ...DEFAULT_LIMITS, maxHeadBytes: 64 });
  const endless = encode(`GET / HTTP/1.1\r\nX: ${"a".repeat(100)}`);
  assert.throws(
    () => small.parse(endless, 0, endless.length),
    (e) => (e as HttpError).status === 431,
  );
  // Likewise a target that never ends: 414 before the line is complete.
  const shortTarget = new RequestHeadParser({ ...DEFAULT_LIMITS, maxTargetBytes: 16 });
  const longLine = encode(`GET /${"a".repeat(40)}`);
  assert.throws(
    () => shortTarget.parse(longLine, 0, longLine.length),
    (e) => (e as HttpError).status === 414,
  );
});

Deno.test("http parse: offsets survive the buffer moving between calls", () => {
  // The connection compacts its buffer: unconsumed bytes move to the front between calls.
  const parser = new RequestHeadParser();
  const text = encode("XXXXGET /moved HTTP/1.1\r\nHost: a\r\n");
  assert.equal(parser.parse(text, 4, text.length), null);
  const moved = new Uint8Array(64);
  moved.set(text.subarray(4));
  const rest = encode("\r\n");
  moved.set(rest, text.length - 4);
  const result = parser.parse(moved, 0, text.length - 4 + rest.length);
  assert.equal(result?.head.target, "/moved");
});

Deno.test("http parse: a 16 KB head fed byte by byte completes (the scan resumes, not restarts)", () => {
  // The parser keeps how far it scanned, so this is linear work; a rescanning parser would do
  // ~130 million byte comparisons here. No timing is asserted, only the outcome.
  const head = `GET / HTTP/1.1\r\nHost: a\r\n${"X-Long: " + "v".repeat(90) + "\r\n"}`.repeat(1) +
    Array.from({ length: 160 }, (_, i) => `X-${i}: ${"v".repeat(90)}\r\n`).join("") + "\r\n";
  const bytes = encode(head);
  const parser = new RequestHeadParser({
    ...DEFAULT_LIMITS,
    maxHeadBytes: 32 * 1024,
    maxHeaders: 200,
  });
  let result = null;
  for (let end = 1; end <= bytes.length && result === null; end++) {
    result = parser.parse(bytes, 0, end);
  }
  assert.equal(result?.head.headers.length, 162);
});

// ---- Chunked bodies (RFC 9112 §7.1) ---------------------------------------------------------

interface ChunkCase {
  name: string;
  input: string;
  body?: string;
  trailers?: [string, string][];
  consumed?: number;
  error?: number;
  limits?: Partial<Limits>;
}

const CHUNK_CASES: ChunkCase[] = [
  { name: "two chunks", input: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", body: "hello world" },
  {
    name: "hex sizes, both cases",
    input: "a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n",
    body: "0123456789".repeat(2),
  },
  { name: "leading zeros", input: "0005\r\nhello\r\n0\r\n\r\n", body: "hello" },
  { name: "extensions", input: "5;name=value;flag\r\nhello\r\n0;last\r\n\r\n", body: "hello" },
  { name: "quoted extension", input: '5 ; a="b \\"c\\"" ; d\r\nhello\r\n0\r\n\r\n', body: "hello" },
  {
    name: "trailers",
    input: "5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-B:  two \r\n\r\n",
    body: "hello",
    trailers: [["x-sum", "1"], ["x-b", "two"]],
  },
  {
    name: "bytes after the end stay",
    input: "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1",
    body: "a",
    consumed: 11,
  },
  { name: "empty body", input: "0\r\n\r\n", body: "" },
  { name: "bad extension grammar", input: "5;=x\r\nhello\r\n0\r\n\r\n", error: 400 },
  {
    name: "extension too long",
    input: `5;${"a".repeat(100)}\r\nhello\r\n0\r\n\r\n`,
    error: 400,
    limits: { maxChunkLineBytes: 64 },
  },
  { name: "no size", input: "\r\nhello\r\n0\r\n\r\n", error: 400 },
  { name: "non-hex size", input: "g\r\nhello\r\n0\r\n\r\n", error: 400 },
  { name: "negative size", input: "-5\r\nhello\r\n0\r\n\r\n", error: 400 },
  { name: "bare LF after size", input: "5\nhello\r\n0\r\n\r\n", error: 400 },
  { name: "bare LF after data", input: "5\r\nhello\n0\r\n\r\n", error: 400 },
  { name: "data longer than its size", input: "5\r\nhello!\r\n0\r\n\r\n", error: 400 },
  { name: "bare LF at the end", input: "0\r\n\n", error: 400 },
  { name: "13 hex digits", input: "1000000000000\r\n", error: 413 },
  {
    name: "total over the limit",
    input: "40\r\n" + "a".repeat(64) + "\r\n40\r\n",
    error: 413,
    limits: { maxBodyBytes: 100 },
  },
  { name: "invalid trailer", input: "0\r\nBad Trailer: x\r\n\r\n", error: 400 },
  {
    name: "trailers too large",
    input: `0\r\nX: ${"a".repeat(100)}\r\n\r\n`,
    error: 431,
    limits: { maxTrailerBytes: 50 },
  },
];

type ChunkOutcome = { body: string; trailers: [string, string][]; consumed: number } | {
  error: number;
} | null;

/** Feeds `pieces` (cut points) to one decoder, as the connection does between reads. */
function decodeChunked(c: ChunkCase, cuts: number[]): ChunkOutcome {
  const bytes = encode(c.input);
  const decoder = new ChunkedDecoder({ ...DEFAULT_LIMITS, ...c.limits });
  const out: Uint8Array[] = [];
  let start = 0;
  try {
    for (const end of [...cuts, bytes.length]) {
      if (end < start) continue;
      start += decoder.decode(bytes, start, end, out);
      if (decoder.done) break;
    }
  } catch (error) {
    if (error instanceof HttpError) return { error: error.status };
    throw error;
  }
  if (!decoder.done) return null;
  const body = out.map((p) => String.fromCharCode(...p)).join("");
  return { body, trailers: decoder.trailers, consumed: start };
}

for (const c of CHUNK_CASES) {
  Deno.test(`http chunked: ${c.name}`, () => {
    const whole = decodeChunked(c, []);
    if (c.error !== undefined) assert.deepEqual(whole, { error: c.error });
    else {
      assert.ok(whole !== null && !("error" in whole), JSON.stringify(whole));
      assert.equal(whole.body, c.body);
      assert.deepEqual(whole.trailers, c.trailers ?? []);
      if (c.consumed !== undefined) assert.equal(whole.consumed, c.consumed);
    }
    const length = encode(c.input).length;
    assert.deepEqual(
      decodeChunked(c, Array.from({ length }, (_, i) => i + 1)),
      whole,
      "byte by byte",
    );
    for (let at = 0; at <= length; at++) {
      assert.deepEqual(decodeChunked(c, [at]), whole, `split at ${at}`);
    }
  });
}

// ---- Serializing ----------------------------------------------------------------------------

Deno.test("http serialize: status line, fields, blank line", () => {
  assert.equal(
    serializeHead(200, [["content-type", "text/plain"], ["content-length", "2"]]),
    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\n",
  );
  assert.equal(serializeHead(404, []), "HTTP/1.1 404 Not Found\r\n\r\n");
  assert.equal(serializeHead(299, []), "HTTP/1.1 299 \r\n\r\n");
  assert.equal(serializeHead(200, [], "Fine"), "HTTP/1.1 200 Fine\r\n\r\n");
});

Deno.test("http serialize: which responses carry a body", () => {
  const table: [string, number, boolean][] = [
    ["GET", 200, true],
    ["HEAD", 200, false],
    ["GET", 100, false],
    ["GET", 204, false],
    ["GET", 304, false],
    ["POST", 201, true],
    ["GET", 404, true],
  ];
  for (const [method, status, expected] of table) {
    assert.equal(responseHasBody(method, status), expected, `${method} ${status}`);
  }
});

Deno.test("http serialize: latin1 encoding into a buffer", () => {
  const out = new Uint8Array(16);
  assert.equal(encodeLatin1Into("abc", out, 2), 3);
  assert.deepEqual([...out.subarray(2, 5)], [97, 98, 99]);
  assert.equal(encodeLatin1Into("caf\xe9", out, 0), 4);
  assert.deepEqual([...out.subarray(0, 4)], [99, 97, 102, 0xe9]);
  assert.equal(encodeLatin1Into("x".repeat(20), out, 0), -1);
});
