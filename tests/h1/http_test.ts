/**
 * `lib/http.ts` as tables of cases, in the style of h11's `SIMPLE_CASES` and picohttpparser's
 * one-line `PARSE(...)` rows.
 *
 * Every request row runs four ways, and all four must agree exactly (same head and `consumed`, or
 * the same error status, or "needs more bytes"):
 *
 * - whole: all bytes in one `parse` call;
 * - byte by byte: one buffer filling up a byte at a time, `parse(buf, 0, len)` called as each byte
 *   arrives (how `connection.ts` calls it, hyper's "shotgun approach");
 * - split: two feeds, cut at every offset;
 * - moved: the first feed at a non-zero `start`, the second after the unconsumed bytes have been
 *   copied to the front of a new buffer (the connection compacts its buffer between reads).
 *
 * Chunked rows run whole, byte by byte and split at every offset, and the concatenated body must
 * be identical each way.
 */
import assert from "node:assert/strict";
import { ChunkedDecoder } from "../../lib/h1/chunked.ts";
import { DEFAULT_LIMITS, HttpError, type Limits } from "../../lib/h1/errors.ts";
import { encodeLatin1Into, latin1 } from "../../lib/h1/grammar.ts";
import { parseFieldLine, type RequestHead, RequestHeadParser } from "../../lib/h1/request_head.ts";
import { responseHasBody } from "../../lib/h1/response_head.ts";

/** A string whose chars are bytes (every char code below 0x100) as those bytes. */
function bytesOf(input: string | Uint8Array): Uint8Array {
  if (typeof input !== "string") return input;
  const out = new Uint8Array(input.length);
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c > 0xff) throw new Error(`test input has a char past 0xff at ${i}`);
    out[i] = c;
  }
  return out;
}

function limitsWith(partial: Partial<Limits> | undefined): Limits {
  return { ...DEFAULT_LIMITS, ...partial };
}

// ---- Request heads --------------------------------------------------------------------------

/** What a row expects when a head parses. Fields left out are not checked, except `consumed`. */
interface Parsed {
  method?: string;
  target?: string;
  form?: RequestHead["form"];
  minorVersion?: 0 | 1;
  headers?: [string, string][];
  host?: string;
  framing?: RequestHead["framing"];
  keepAlive?: boolean;
  expectContinue?: boolean;
  /** Bytes the head took; defaults to the whole input (nothing pipelined after it). */
  consumed?: number;
}

type Expect = Parsed | { error: number } | { incomplete: true };

interface Row {
  name: string;
  input: string | Uint8Array;
  expect: Expect;
  limits?: Partial<Limits>;
}

const H = "Host: a\r\n";
const GET = "GET / HTTP/1.1\r\n";

/** A GET with the given field lines (each ending in CRLF) after a Host field. */
function withFields(...lines: string[]): string {
  return `${GET}${H}${lines.join("")}\r\n`;
}

const ROWS: Row[] = [
  // ---- Request line and target forms (RFC 9112 §3, §3.2) ----
  {
    name: "simple GET",
    input: `${GET}${H}\r\n`,
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
    },
  },
  {
    name: "HTTP/1.0 without Host",
    input: "GET /index.html HTTP/1.0\r\n\r\n",
    expect: {
      method: "GET",
      target: "/index.html",
      form: "origin",
      minorVersion: 0,
      headers: [],
      host: "",
      framing: { kind: "none" },
      keepAlive: false,
      expectContinue: false,
    },
  },
  {
    name: "origin-form with a query",
    input: `GET /a/b;p?c=d&e=%20 HTTP/1.1\r\n${H}\r\n`,
    expect: { target: "/a/b;p?c=d&e=%20", form: "origin" },
  },
  {
    name: "origin-form with percent-encoded UTF-8",
    input: `GET /caf%C3%A9 HTTP/1.1\r\n${H}\r\n`,
    expect: { target: "/caf%C3%A9" },
  },
  {
    name: "origin-form with every allowed sub-delim",
    input: `GET /!$&'()*+,;=:@-._~? HTTP/1.1\r\n${H}\r\n`,
    expect: { target: "/!$&'()*+,;=:@-._~?" },
  },
  {
    name: "absolute-form http",
    input: `GET http://example.com:8080/x?y HTTP/1.1\r\nHost: example.com:8080\r\n\r\n`,
    expect: { form: "absolute", target: "http://example.com:8080/x?y", host: "example.com:8080" },
  },
  {
    name: "absolute-form with an upper-case https scheme",
    input: `GET HTTPS://example.com/ HTTP/1.1\r\n${H}\r\n`,
    expect: { form: "absolute", target: "HTTPS://example.com/" },
  },
  {
    name: "absolute-form with another scheme",
    input: `GET ftp://example.com/x HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "absolute-form without an authority",
    input: `GET http:/x HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  // The authority of an http(s) absolute-form is uri-host [ ":" port ] with a host (RFC 9110
  // §4.2.1: an empty host "MUST" be rejected; §4.2.4: userinfo treated as an error). Found
  // accepted by the differential fuzzer (tests/h1/differential_test.ts).
  {
    name: "absolute-form with an empty host",
    input: `GET http:///x HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "absolute-form with only a port",
    input: `GET http://:80/x HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "absolute-form with userinfo",
    input: `GET http://u:p@a/ HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "absolute-form with a non-digit port",
    input: `GET http://a:b/ HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "absolute-form with an unclosed IPv6 literal",
    input: `GET http://[::1/ HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "absolute-form with an IPv6 literal and a query, no path",
    input: `GET http://[::1]:8080?x HTTP/1.1\r\n${H}\r\n`,
    expect: { form: "absolute", target: "http://[::1]:8080?x" },
  },
  {
    name: "CONNECT to a malformed IPv6 literal",
    input: `CONNECT [:::]:443 HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "authority-form for CONNECT",
    input: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    expect: {
      method: "CONNECT",
      target: "example.com:443",
      form: "authority",
      minorVersion: 1,
      headers: [["host", "example.com:443"]],
      host: "example.com:443",
      framing: { kind: "none" },
      keepAlive: true,
      expectContinue: false,
    },
  },
  {
    name: "authority-form with an IPv6 literal",
    input: "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n",
    expect: { form: "authority", target: "[::1]:8443", host: "[::1]:8443" },
  },
  {
    name: "CONNECT without a port",
    input: `CONNECT example.com HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "CONNECT with origin-form",
    input: `CONNECT / HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "CONNECT with absolute-form",
    input: `CONNECT http://a:80/ HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "authority-form for GET",
    input: `GET example.com:80 HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "asterisk-form for OPTIONS",
    input: `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "OPTIONS", target: "*", form: "asterisk" },
  },
  {
    name: "asterisk-form for GET",
    input: `GET * HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "asterisk followed by a path",
    input: `OPTIONS */x HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "OPTIONS with origin-form",
    input: `OPTIONS /x HTTP/1.1\r\n${H}\r\n`,
    expect: { form: "origin", target: "/x" },
  },
  {
    name: "relative target",
    input: `GET a/b HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },

  // ---- Method (token, RFC 9110 §9.1) ----
  { name: "extension method", input: `PURGE /x HTTP/1.1\r\n${H}\r\n`, expect: { method: "PURGE" } },
  {
    name: "method case is kept",
    input: `get / HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "get" },
  },
  {
    name: "method made of every tchar",
    input: `!#$%&'*+-.^_\`|~09azAZ / HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "!#$%&'*+-.^_`|~09azAZ" },
  },
  { name: "method with a '('", input: `GE(T / HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "method with a '@'", input: `GE@T / HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  {
    name: "method with a byte ≥ 0x80",
    input: `G\xc9T / HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },

  // ---- Spaces in the request line ----
  { name: "leading space", input: ` GET / HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  {
    name: "double space after method",
    input: `GET  / HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  {
    name: "double space before version",
    input: `GET /  HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  { name: "tab after method", input: `GET\t/ HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "tab before version", input: `GET /\tHTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "trailing space", input: `GET / HTTP/1.1 \r\n${H}\r\n`, expect: { error: 400 } },
  { name: "no version", input: `GET /\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "HTTP/0.9 simple request", input: "GET /\r\n\r\n", expect: { error: 400 } },

  // ---- Version (RFC 9112 §2.3) ----
  { name: "HTTP/2.0", input: `GET / HTTP/2.0\r\n${H}\r\n`, expect: { error: 505 } },
  {
    // A higher minor version of a major version we implement is handled as the highest minor
    // we implement (RFC 9110 §6.2), so not 505.
    name: "HTTP/1.2 is read as HTTP/1.1",
    input: `GET / HTTP/1.2\r\n${H}\r\n`,
    expect: { minorVersion: 1, keepAlive: true },
  },
  {
    name: "HTTP/1.9 without Host",
    input: "GET / HTTP/1.9\r\n\r\n",
    expect: { error: 400 },
  },
  { name: "HTTP/0.9", input: `GET / HTTP/0.9\r\n${H}\r\n`, expect: { error: 505 } },
  { name: "HTTP/9.9", input: `GET / HTTP/9.9\r\n${H}\r\n`, expect: { error: 505 } },
  { name: "lower-case http", input: `GET / http/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "HTTP/1.10", input: `GET / HTTP/1.10\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "HTTP/1", input: `GET / HTTP/1\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "HTTP/1.x", input: `GET / HTTP/1.x\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "HTTP/11", input: `GET / HTTP/11\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "HTTPS/1.1", input: `GET / HTTPS/1.1\r\n${H}\r\n`, expect: { error: 400 } },

  // ---- Target bytes and length ----
  { name: "space in target", input: `GET /a b HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "NUL in target", input: `GET /a\x00 HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  {
    name: "control char in target",
    input: `GET /a\x01 HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  { name: "DEL in target", input: `GET /a\x7f HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "fragment in target", input: `GET /a#b HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  { name: "bare CR in target", input: `GET /a\rb HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  {
    name: "raw UTF-8 in target",
    input: `GET /\xc3\xa9 HTTP/1.1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  { name: "byte 0xff in target", input: `GET /\xff HTTP/1.1\r\n${H}\r\n`, expect: { error: 400 } },
  {
    name: "target at maxTargetBytes",
    input: `GET /${"a".repeat(31)} HTTP/1.1\r\n${H}\r\n`,
    limits: { maxTargetBytes: 32 },
    expect: { target: `/${"a".repeat(31)}` },
  },
  {
    name: "target one past maxTargetBytes",
    input: `GET /${"a".repeat(32)} HTTP/1.1\r\n${H}\r\n`,
    limits: { maxTargetBytes: 32 },
    expect: { error: 414 },
  },
  {
    name: "long target, line not finished",
    input: `GET /${"a".repeat(100)}`,
    limits: { maxTargetBytes: 32 },
    expect: { error: 414 },
  },
  {
    name: "long target with no version",
    input: `GET /${"a".repeat(100)}\r\n${H}\r\n`,
    limits: { maxTargetBytes: 32 },
    expect: { error: 414 },
  },
  {
    // Found by the byte-by-byte run: a CR that is about to end the line was counted as part of
    // the target while the line was incomplete, giving 414 where the whole buffer gives 400.
    name: "target at maxTargetBytes then CRLF, no version",
    input: `GET /${"a".repeat(31)}\r\n${H}\r\n`,
    limits: { maxTargetBytes: 32 },
    expect: { error: 400 },
  },
  {
    // Found by the byte-by-byte run: with the whole line at once the head size was checked
    // first (431), while trickling in the target hit its own limit first (414).
    name: "target longer than the whole head limit",
    input: `GET /${"a".repeat(200)} HTTP/1.1\r\n${H}\r\n`,
    limits: { maxTargetBytes: 32, maxHeadBytes: 64 },
    expect: { error: 414 },
  },

  // ---- Head size and field count (431, RFC 6585 §5) ----
  {
    name: "head at maxHeadBytes",
    input: withFields(`X: ${"v".repeat(64 - 16 - 9 - 2 - 5)}\r\n`),
    limits: { maxHeadBytes: 64 },
    expect: { headers: [["host", "a"], ["x", "v".repeat(32)]] },
  },
  {
    name: "head one byte past maxHeadBytes",
    input: withFields(`X: ${"v".repeat(33)}\r\n`),
    limits: { maxHeadBytes: 64 },
    expect: { error: 431 },
  },
  {
    name: "head past maxHeadBytes, never finished",
    input: `${GET}${H}X: ${"v".repeat(100)}`,
    limits: { maxHeadBytes: 64 },
    expect: { error: 431 },
  },
  {
    name: "request line alone past maxHeadBytes",
    input: `GET${"x".repeat(100)}`,
    limits: { maxHeadBytes: 64 },
    expect: { error: 431 },
  },
  {
    name: "maxHeaders fields",
    input: withFields("A: 1\r\n", "B: 2\r\n"),
    limits: { maxHeaders: 3 },
    expect: { headers: [["host", "a"], ["a", "1"], ["b", "2"]] },
  },
  {
    name: "one field past maxHeaders",
    input: withFields("A: 1\r\n", "B: 2\r\n", "C: 3\r\n"),
    limits: { maxHeaders: 3 },
    expect: { error: 431 },
  },
  {
    // Found by this table: leading empty lines were skipped without counting them, so a peer
    // sending CRLFs forever was never answered and the connection buffer grew without bound.
    name: "leading empty lines past maxHeadBytes",
    input: "\r\n".repeat(40),
    limits: { maxHeadBytes: 64 },
    expect: { error: 431 },
  },

  // ---- Field lines (RFC 9112 §5, RFC 9110 §5.5) ----
  { name: "space before colon", input: withFields("X : 1\r\n"), expect: { error: 400 } },
  { name: "tab before colon", input: withFields("X\t: 1\r\n"), expect: { error: 400 } },
  { name: "empty field name", input: withFields(": 1\r\n"), expect: { error: 400 } },
  { name: "'@' in field name", input: withFields("X@Y: 1\r\n"), expect: { error: 400 } },
  { name: "'/' in field name", input: withFields("X/Y: 1\r\n"), expect: { error: 400 } },
  { name: "byte ≥ 0x80 in field name", input: withFields("X\xe9: 1\r\n"), expect: { error: 400 } },
  { name: "field line without a colon", input: withFields("X 1\r\n"), expect: { error: 400 } },
  { name: "obs-fold with SP", input: withFields("X: 1\r\n", " 2\r\n"), expect: { error: 400 } },
  { name: "obs-fold with HTAB", input: withFields("X: 1\r\n", "\t2\r\n"), expect: { error: 400 } },
  {
    name: "obs-fold as the first field line",
    input: `${GET} X: 1\r\n${H}\r\n`,
    expect: { error: 400 },
  },
  { name: "NUL in value", input: withFields("X: a\x00b\r\n"), expect: { error: 400 } },
  { name: "bare CR in value", input: withFields("X: a\rb\r\n"), expect: { error: 400 } },
  { name: "CR before CRLF", input: withFields("X: a\r\r\n"), expect: { error: 400 } },
  { name: "0x01 in value", input: withFields("X: a\x01b\r\n"), expect: { error: 400 } },
  { name: "ESC in value", input: withFields("X: \x1b[31m\r\n"), expect: { error: 400 } },
  { name: "DEL in value", input: withFields("X: a\x7f\r\n"), expect: { error: 400 } },
  {
    name: "OWS around the value is trimmed, inside kept",
    input: withFields("X: \t a \t b \t \r\n"),
    expect: { headers: [["host", "a"], ["x", "a \t b"]] },
  },
  {
    name: "no OWS at all",
    input: withFields("X:1\r\n"),
    expect: { headers: [["host", "a"], ["x", "1"]] },
  },
  {
    name: "empty and blank values",
    input: withFields("X:\r\n", "Y: \t \r\n"),
    expect: { headers: [["host", "a"], ["x", ""], ["y", ""]] },
  },
  {
    name: "obs-text in a value is kept as latin1",
    input: withFields("X: caf\xe9 \x80\xff\r\n"),
    expect: { headers: [["host", "a"], ["x", "caf\u00e9 \u0080\u00ff"]] },
  },
  // Heads of 64 bytes and more are decoded in one piece (lib/http.ts, DECODE_WHOLE_MIN): the
  // same strings must come out, and obs-text must still be ISO-8859-1, not UTF-8.
  {
    name: "long head: names lower-cased, values exact",
    input: withFields("User-Agent: Mozilla/5.0 (X11)\r\n", "ACCEPT:  */* \r\n", "x-Y: Z\r\n"),
    expect: {
      method: "GET",
      target: "/",
      headers: [["host", "a"], ["user-agent", "Mozilla/5.0 (X11)"], ["accept", "*/*"], [
        "x-y",
        "Z",
      ]],
    },
  },
  {
    name: "long head: obs-text in a value is kept as latin1",
    input: withFields("X-Long-Name-To-Pass-The-Threshold: caf\xe9 \x80\xff\r\n"),
    expect: {
      headers: [["host", "a"], ["x-long-name-to-pass-the-threshold", "caf\u00e9 \u0080\u00ff"]],
    },
  },
  {
    name: "long head: a long method and target",
    input: `PROPFIND /a/long/path/that/makes/this/head/long?x=1 HTTP/1.1\r\n${H}\r\n`,
    expect: { method: "PROPFIND", target: "/a/long/path/that/makes/this/head/long?x=1" },
  },
  {
    name: "colons in a value",
    input: withFields("X: a:b::c\r\n"),
    expect: { headers: [["host", "a"], ["x", "a:b::c"]] },
  },
  {
    name: "names lower-cased, duplicates and order kept",
    input: withFields("Set-Cookie: a=1\r\n", "X-B: 2\r\n", "SET-COOKIE: b=2\r\n", "x-b: 3\r\n"),
    expect: {
      headers: [["host", "a"], ["set-cookie", "a=1"], ["x-b", "2"], ["set-cookie", "b=2"], [
        "x-b",
        "3",
      ]],
    },
  },

  // ---- Host (RFC 9112 §3.2, RFC 9110 §7.2) ----
  { name: "HTTP/1.1 without Host", input: `${GET}\r\n`, expect: { error: 400 } },
  { name: "two Host fields", input: `${GET}${H}Host: b\r\n\r\n`, expect: { error: 400 } },
  { name: "two equal Host fields", input: `${GET}${H}${H}\r\n`, expect: { error: 400 } },
  {
    name: "two Host fields in HTTP/1.0",
    input: "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    expect: { error: 400 },
  },
  { name: "Host with a space", input: `${GET}Host: a b\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with a slash", input: `${GET}Host: a/b\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with userinfo", input: `${GET}Host: u@a\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with obs-text", input: `${GET}Host: \xe9\r\n\r\n`, expect: { error: 400 } },
  {
    name: "Host with a port and an IPv6 literal",
    input: `${GET}HOST: [2001:db8::1]:8080\r\n\r\n`,
    expect: { host: "[2001:db8::1]:8080", headers: [["host", "[2001:db8::1]:8080"]] },
  },
  {
    name: "empty Host (a target URI without authority)",
    input: `${GET}Host:\r\n\r\n`,
    expect: { host: "" },
  },
  {
    name: "HTTP/1.0 with Host",
    input: "GET / HTTP/1.0\r\nHost: example.org\r\n\r\n",
    expect: { host: "example.org", minorVersion: 0 },
  },
  // Host = uri-host [ ":" port ] and nothing else (RFC 9110 §7.2, RFC 3986 §3.2.2): the
  // differential fuzzer (tests/h1/differential_test.ts) found these accepted, where RFC 9112 §3.2
  // says a server MUST answer 400 to "a Host header field with an invalid field value".
  { name: "Host with a non-digit port", input: `${GET}Host: a:b\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with two ports", input: `${GET}Host: a:80:90\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with an unclosed IPv6", input: `${GET}Host: [::1\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with a stray ']'", input: `${GET}Host: a]\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with two '::'", input: `${GET}Host: [1::2::3]\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with bare IPv6", input: `${GET}Host: ::1\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with bad %-encoding", input: `${GET}Host: %zz\r\n\r\n`, expect: { error: 400 } },
  { name: "Host with a cut %-encoding", input: `${GET}Host: a%4\r\n\r\n`, expect: { error: 400 } },
  {
    name: "Host: IPv4-mapped IPv6 with a port",
    input: "GET / HTTP/1.0\r\nHost: [::ffff:1.2.3.4]:80\r\n\r\n",
    expect: { host: "[::ffff:1.2.3.4]:80" },
  },
  { name: "Host: IPvFuture", input: `${GET}Host: [v1.x:y]\r\n\r\n`, expect: { host: "[v1.x:y]" } },
  { name: "Host: %-encoded", input: `${GET}Host: %41b\r\n\r\n`, expect: { host: "%41b" } },
  { name: "Host: empty port", input: `${GET}Host: a:\r\n\r\n`, expect: { host: "a:" } },

  // ---- Content-Length (RFC 9110 §8.6, RFC 9112 §6.3) ----
  {
    name: "Content-Length",
    input: `POST /u HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
    expect: {
      method: "POST",
      framing: { kind: "length", length: 5 },
      consumed: `POST /u HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\n`.length,
    },
  },
  {
    name: "Content-Length 0",
    input: withFields("Content-Length: 0\r\n"),
    expect: { framing: { kind: "none" } },
  },
  {
    name: "Content-Length with leading zeros",
    input: withFields("Content-Length: 007\r\n"),
    expect: { framing: { kind: "length", length: 7 } },
  },
  {
    name: "Content-Length with 30 leading zeros",
    input: withFields(`Content-Length: ${"0".repeat(30)}5\r\n`),
    expect: { framing: { kind: "length", length: 5 } },
  },
  {
    // RFC 9110 §8.6 lets a recipient take a repeated value as one or refuse it; we refuse, as
    // nginx and Deno.serve do.
    name: "Content-Length list of equal values",
    input: withFields("Content-Length: 5, 5\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length repeated with equal values",
    input: withFields("Content-Length: 5\r\n", "Content-Length: 05\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length list of differing values",
    input: withFields("Content-Length: 5, 6\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length repeated with differing values",
    input: withFields("Content-Length: 5\r\n", "Content-Length: 6\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length +5",
    input: withFields("Content-Length: +5\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length -1",
    input: withFields("Content-Length: -1\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length 0x5",
    input: withFields("Content-Length: 0x5\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length 1e3",
    input: withFields("Content-Length: 1e3\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length 5 5",
    input: withFields("Content-Length: 5 5\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length with an empty list element",
    input: withFields("Content-Length: 5,\r\n"),
    expect: { error: 400 },
  },
  {
    name: "empty Content-Length",
    input: withFields("Content-Length:\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length at maxBodyBytes",
    input: withFields("Content-Length: 100\r\n"),
    limits: { maxBodyBytes: 100 },
    expect: { framing: { kind: "length", length: 100 } },
  },
  {
    name: "Content-Length past maxBodyBytes",
    input: withFields("Content-Length: 101\r\n"),
    limits: { maxBodyBytes: 100 },
    expect: { error: 413 },
  },
  {
    name: "Content-Length of 20 digits",
    input: withFields("Content-Length: 12345678901234567890\r\n"),
    expect: { error: 413 },
  },

  // ---- Transfer-Encoding (RFC 9112 §6.1, §6.3, §7) ----
  {
    name: "Transfer-Encoding: chunked",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`,
    expect: { framing: { kind: "chunked" }, keepAlive: true },
  },
  {
    name: "Transfer-Encoding: Chunked (case-insensitive)",
    input: withFields("Transfer-Encoding: Chunked\r\n"),
    expect: { framing: { kind: "chunked" } },
  },
  {
    // A framing field is held to its grammar without the list rule's leniency (smuggling).
    name: "Transfer-Encoding with empty list elements",
    input: withFields("Transfer-Encoding: , chunked ,\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding: chunked with a trailing comma",
    input: withFields("Transfer-Encoding: chunked,\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding and Content-Length",
    input: withFields("Transfer-Encoding: chunked\r\n", "Content-Length: 5\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length and Transfer-Encoding",
    input: withFields("Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding: gzip, chunked",
    input: withFields("Transfer-Encoding: gzip, chunked\r\n"),
    expect: { error: 501 },
  },
  {
    name: "Transfer-Encoding: chunked, gzip",
    input: withFields("Transfer-Encoding: chunked, gzip\r\n"),
    expect: { error: 501 },
  },
  {
    name: "Transfer-Encoding: chunked, chunked",
    input: withFields("Transfer-Encoding: chunked, chunked\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding: chunked in two fields",
    input: withFields("Transfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding: identity",
    input: withFields("Transfer-Encoding: identity\r\n"),
    expect: { error: 501 },
  },
  {
    name: "Transfer-Encoding: chunked with a parameter",
    input: withFields("Transfer-Encoding: chunked;q=1\r\n"),
    expect: { error: 501 },
  },
  {
    name: "empty Transfer-Encoding",
    input: withFields("Transfer-Encoding:\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding of commas only",
    input: withFields("Transfer-Encoding: , ,\r\n"),
    expect: { error: 400 },
  },
  // Optional whitespace is SP and HTAB only (RFC 9110 §5.6.3): JavaScript's trim() also strips
  // U+00A0 and friends, which let these through as chunked or 5 (issue 13).
  {
    name: "Transfer-Encoding with a leading no-break space",
    input: withFields("Transfer-Encoding: \xa0chunked\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding with a trailing no-break space",
    input: withFields("Transfer-Encoding: chunked\xa0\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding with a NEL (0x85) in the list",
    input: withFields("Transfer-Encoding: chunked,\x85\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding: chunked beside an empty Transfer-Encoding",
    input: withFields("Transfer-Encoding: chunked\r\n", "Transfer-Encoding: \r\n"),
    expect: { error: 400 },
  },
  {
    name: "an empty Transfer-Encoding beside Transfer-Encoding: chunked",
    input: withFields("Transfer-Encoding:\r\n", "Transfer-Encoding: chunked\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length with a trailing no-break space",
    input: withFields("Content-Length: 5\xa0\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length with a leading no-break space",
    input: withFields("Content-Length: \xa05\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length list with a no-break space element",
    input: withFields("Content-Length: 5,\xa05\r\n"),
    expect: { error: 400 },
  },
  {
    name: "Content-Length with tabs around it",
    input: withFields("Content-Length:\t5\t\r\n"),
    expect: { framing: { kind: "length", length: 5 } },
  },
  {
    name: "Connection: close with a no-break space is not close",
    input: withFields("Connection: close\xa0\r\n"),
    expect: { keepAlive: true },
  },
  {
    name: "Expect: 100-continue with a no-break space is another expectation",
    input: withFields("Content-Length: 3\r\n", "Expect: 100-continue\xa0\r\n"),
    expect: { error: 417 },
  },
  {
    name: "Transfer-Encoding in HTTP/1.0",
    input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    expect: { error: 400 },
  },

  // ---- Connection (RFC 9112 §9.3) ----
  {
    name: "HTTP/1.1 Connection: close",
    input: withFields("Connection: close\r\n"),
    expect: { keepAlive: false },
  },
  {
    name: "HTTP/1.1 Connection: Close, in a list",
    input: withFields("Connection: Upgrade, Close\r\n"),
    expect: { keepAlive: false },
  },
  {
    name: "HTTP/1.1 Connection: keep-alive, close",
    input: withFields("Connection: keep-alive\r\n", "Connection: close\r\n"),
    expect: { keepAlive: false },
  },
  {
    name: "HTTP/1.1 Connection: closed is not close",
    input: withFields("Connection: closed, keep-alive\r\n"),
    expect: { keepAlive: true },
  },
  {
    name: "HTTP/1.0 Connection: keep-alive",
    input: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    expect: { keepAlive: true, minorVersion: 0 },
  },
  {
    name: "HTTP/1.0 Connection: keep-alive in a list",
    input: "GET / HTTP/1.0\r\nConnection: foo, keep-alive\r\n\r\n",
    expect: { keepAlive: true },
  },
  {
    name: "HTTP/1.0 Connection: keep-alive, close",
    input: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
    expect: { keepAlive: false },
  },
  {
    name: "HTTP/1.0 Connection: foo",
    input: "GET / HTTP/1.0\r\nConnection: foo\r\n\r\n",
    expect: { keepAlive: false },
  },

  // ---- Expect (RFC 9110 §10.1.1) ----
  {
    name: "Expect: 100-continue",
    input: withFields("Content-Length: 3\r\n", "Expect: 100-continue\r\n"),
    expect: { expectContinue: true, framing: { kind: "length", length: 3 } },
  },
  {
    name: "Expect: 100-Continue (case-insensitive)",
    input: withFields("Expect: 100-Continue\r\n"),
    expect: { expectContinue: true },
  },
  {
    name: "Expect: 100-continue from HTTP/1.0 is ignored",
    input: "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    expect: { expectContinue: false },
  },
  {
    name: "another expectation",
    input: withFields("Expect: 200-ok\r\n"),
    expect: { error: 417 },
  },
  {
    name: "100-continue with another expectation",
    input: withFields("Expect: 100-continue, x\r\n"),
    expect: { error: 417 },
  },
  {
    name: "another expectation from HTTP/1.0 is ignored",
    input: "GET / HTTP/1.0\r\nExpect: 200-ok\r\n\r\n",
    expect: { expectContinue: false },
  },

  // ---- Line endings, leading empty lines, pipelining (RFC 9112 §2.2) ----
  {
    name: "leading empty lines are skipped",
    input: `\r\n\r\n${GET}${H}\r\n`,
    expect: { method: "GET", target: "/" },
  },
  {
    name: "leading bare LF lines are skipped",
    input: `\n\r\n\n${GET}${H}\r\n`,
    expect: { method: "GET" },
  },
  {
    name: "bare LF line endings",
    input: "GET /lf HTTP/1.1\nHost: a\nX: 1\n\n",
    expect: { target: "/lf", headers: [["host", "a"], ["x", "1"]] },
  },
  {
    name: "mixed line endings",
    input: "GET / HTTP/1.1\nHost: a\r\nX: 1\n\r\n",
    expect: { headers: [["host", "a"], ["x", "1"]] },
  },
  {
    name: "bare CR as a line ending",
    input: `GET / HTTP/1.1\rHost: a\r\n\r\n`,
    expect: { error: 400 },
  },
  {
    name: "pipelined request after the head is not consumed",
    input: `${GET}${H}\r\n${GET}${H}\r\n`,
    expect: { method: "GET", consumed: `${GET}${H}\r\n`.length },
  },
  {
    name: "body bytes after the head are not consumed",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nabcdGET`,
    expect: { consumed: `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\n`.length },
  },
  {
    name: "garbage after the head is not looked at",
    input: `${GET}${H}\r\n\x00\xff\r\n`,
    expect: { consumed: `${GET}${H}\r\n`.length },
  },
  { name: "no blank line yet", input: `${GET}${H}`, expect: { incomplete: true } },
  { name: "request line only", input: GET, expect: { incomplete: true } },
  // A complete request line is checked at once: no need to wait for a blank line that a broken
  // client may never send (the differential fuzzer found such heads left to the header timeout).
  { name: "bad version, no blank line yet", input: "GET / HTP/1.1\r\n", expect: { error: 400 } },
  { name: "bare CR in the version line", input: "GET /old HTTP/1.0\r\r\n", expect: { error: 400 } },
  {
    name: "space in the target, no blank line",
    input: "GET /a b HTTP/1.1\r\nHost: a\r\n",
    expect: { error: 400 },
  },
  { name: "HTTP/2.0 request line alone", input: "GET / HTTP/2.0\r\n", expect: { error: 505 } },
  // So is each field line: the differential fuzzer's socket run left 383 heads with a malformed
  // field line to the header timeout, where nginx and Deno.serve answered 400 at once.
  { name: "no colon, no blank line yet", input: `${GET}Host a\r\n`, expect: { error: 400 } },
  {
    name: "space before the colon, no blank line yet",
    input: `${GET}${H}Accept : */*\r\n`,
    expect: { error: 400 },
  },
  { name: "obs-fold, no blank line yet", input: `${GET}${H} folded\r\n`, expect: { error: 400 } },
  {
    name: "NUL in a value, no blank line yet",
    input: `${GET}a: b\x00c\r\n`,
    expect: { error: 400 },
  },
  {
    name: "a field past maxHeaders, no blank line yet",
    input: `${GET}${H}a: 1\r\nb: 2\r\nc: 3\r\n`,
    limits: { maxHeaders: 3 },
    expect: { error: 431 },
  },
  {
    name: "maxHeaders fields, no blank line yet",
    input: `${GET}${H}a: 1\r\nb: 2\r\n`,
    limits: { maxHeaders: 3 },
    expect: { incomplete: true },
  },
  { name: "nothing but empty lines", input: "\r\n\r\n\n", expect: { incomplete: true } },
  { name: "empty input", input: "", expect: { incomplete: true } },
  {
    name: "bytes as input",
    input: Uint8Array.of(0x47, 0x45, 0x54, 0x20, 0x2f, 0x20, ...bytesOf("HTTP/1.0\n\n")),
    expect: { method: "GET", minorVersion: 0 },
  },
];

type Outcome =
  | { head: RequestHead; consumed: number }
  | { error: number }
  | { incomplete: true };

/** One `parse` call; an `HttpError` becomes its status, anything else fails the test. */
function parseOnce(
  parser: RequestHeadParser,
  buf: Uint8Array,
  start: number,
  end: number,
): Outcome | null {
  try {
    return parser.parse(buf, start, end);
  } catch (e) {
    if (e instanceof HttpError) return { error: e.status };
    throw e;
  }
}

function parseWhole(bytes: Uint8Array, limits: Limits): Outcome {
  return parseOnce(new RequestHeadParser(limits), bytes, 0, bytes.length) ?? { incomplete: true };
}

/** A buffer filling one byte at a time; the bytes not yet "arrived" are zeros. */
function parseByteByByte(bytes: Uint8Array, limits: Limits): Outcome {
  const parser = new RequestHeadParser(limits);
  const buf = new Uint8Array(bytes.length);
  for (let len = 1; len <= bytes.length; len++) {
    buf[len - 1] = bytes[len - 1];
    const r = parseOnce(parser, buf, 0, len);
    if (r !== null) return r;
  }
  return { incomplete: true };
}

function parseSplit(bytes: Uint8Array, limits: Limits, at: number): Outcome {
  const parser = new RequestHeadParser(limits);
  const buf = new Uint8Array(bytes.length);
  buf.set(bytes.subarray(0, at));
  const first = parseOnce(parser, buf, 0, at);
  if (first !== null) return first;
  buf.set(bytes);
  return parseOnce(parser, buf, 0, bytes.length) ?? { incomplete: true };
}

/** First feed at offset 7 of one buffer, second from offset 0 of another (compacted). */
function parseMoved(bytes: Uint8Array, limits: Limits, at: number): Outcome {
  const parser = new RequestHeadParser(limits);
  const a = new Uint8Array(7 + bytes.length).fill(0x41);
  a.set(bytes.subarray(0, at), 7);
  const first = parseOnce(parser, a, 7, 7 + at);
  if (first !== null) return first;
  return parseOnce(parser, bytes.slice(), 0, bytes.length) ?? { incomplete: true };
}

function checkRow(row: Row, outcome: Outcome, how: string): void {
  const input = bytesOf(row.input);
  const e = row.expect;
  if ("error" in e) {
    assert.deepEqual(outcome, { error: e.error }, `${row.name} (${how})`);
    return;
  }
  if ("incomplete" in e) {
    assert.deepEqual(outcome, { incomplete: true }, `${row.name} (${how})`);
    return;
  }
  assert.ok("head" in outcome, `${row.name} (${how}): got ${JSON.stringify(outcome)}`);
  const { consumed = input.length, ...fields } = e;
  assert.equal(outcome.consumed, consumed, `${row.name} (${how}): consumed`);
  for (const [k, v] of Object.entries(fields)) {
    assert.deepEqual(outcome.head[k as keyof RequestHead], v, `${row.name} (${how}): ${k}`);
  }
}

for (const row of ROWS) {
  Deno.test(`http head: ${row.name}`, () => {
    const bytes = bytesOf(row.input);
    const limits = limitsWith(row.limits);
    const whole = parseWhole(bytes, limits);
    checkRow(row, whole, "whole");
    assert.deepEqual(parseByteByByte(bytes, limits), whole, `${row.name}: byte by byte`);
    for (let at = 0; at <= bytes.length; at++) {
      assert.deepEqual(parseSplit(bytes, limits, at), whole, `${row.name}: split at ${at}`);
      assert.deepEqual(parseMoved(bytes, limits, at), whole, `${row.name}: moved at ${at}`);
    }
  });
}

Deno.test("http head: the table has 80+ rows and no duplicate names", () => {
  assert.ok(ROWS.length >= 80, `${ROWS.length} rows`);
  assert.equal(new Set(ROWS.map((r) => r.name)).size, ROWS.length);
});

Deno.test("http head: one parser reads pipelined heads in turn after each consume", () => {
  const one = `${GET}${H}\r\n`;
  const two = "POST /b HTTP/1.1\r\nHost: b\r\nContent-Length: 0\r\n\r\n";
  const bytes = bytesOf(`\r\n${one}${two}`);
  const parser = new RequestHeadParser();
  const r1 = parser.parse(bytes, 0, bytes.length);
  assert.ok(r1);
  assert.equal(r1.consumed, 2 + one.length);
  assert.equal(parser.inProgress, false);
  const r2 = parser.parse(bytes, r1.consumed, bytes.length);
  assert.ok(r2);
  assert.equal(r2.head.target, "/b");
  assert.equal(r2.consumed, two.length);
  assert.equal(parser.parse(bytes, bytes.length, bytes.length), null);
});

Deno.test("http head: inProgress and reset", () => {
  const parser = new RequestHeadParser();
  const bytes = bytesOf(`\r\n${GET}${H}\r\n`);
  assert.equal(parser.inProgress, false);
  assert.equal(parser.parse(bytes, 0, 2), null);
  // Bytes have arrived, even if only empty lines: the header timeout applies, so a client
  // trickling CRLFs cannot keep restarting the idle clock.
  assert.equal(parser.inProgress, true, "empty lines put the client on the header clock");
  assert.equal(parser.parse(bytes, 0, 5), null);
  assert.equal(parser.inProgress, true);
  parser.reset();
  assert.equal(parser.inProgress, false);
  // After a reset the same bytes are scanned from the start again.
  const r = parser.parse(bytes, 0, bytes.length);
  assert.equal(r?.consumed, bytes.length);
});

/**
 * The parser keeps `#scanned` (picohttpparser's `last_len`): each call resumes the line scan
 * where the previous one stopped instead of rescanning the whole head, so a head trickling in a
 * byte at a time costs O(n), not O(n²). Nothing here measures time; the first test checks that a
 * 16 KB head fed byte by byte completes, the second counts the bytes `indexOf` is asked to scan.
 */
function bigHead(): Uint8Array {
  let s = `${GET}${H}`;
  let n = 0;
  // Stay just under maxHeadBytes and maxHeaders.
  while (s.length + 200 < DEFAULT_LIMITS.maxHeadBytes - 2) {
    s += `X-Filler-${n++}: ${"v".repeat(180)}\r\n`;
  }
  return bytesOf(`${s}\r\n`);
}

Deno.test("http head: a 16 KB head fed byte by byte completes", () => {
  const bytes = bigHead();
  assert.ok(bytes.length > 15 * 1024 && bytes.length <= DEFAULT_LIMITS.maxHeadBytes);
  const out = parseByteByByte(bytes, DEFAULT_LIMITS);
  assert.ok("head" in out, JSON.stringify(out).slice(0, 100));
  assert.equal(out.consumed, bytes.length);
  assert.ok(out.head.headers.length > 80);
});

/** A Uint8Array whose views (subarray keeps the species) count the bytes indexOf looks at. */
class CountingBytes extends Uint8Array {
  static scanned = 0;
  override indexOf(value: number, from = 0): number {
    const r = super.indexOf(value, from);
    CountingBytes.scanned += (r === -1 ? this.length : r + 1) - Math.max(0, from);
    return r;
  }
}

Deno.test("http head: a head fed byte by byte is scanned about once, not once per byte", () => {
  const bytes = bigHead();
  const buf = new CountingBytes(bytes.length);
  assert.ok(buf.subarray(0, 1) instanceof CountingBytes, "subarray keeps the counting class");
  const parser = new RequestHeadParser();
  CountingBytes.scanned = 0;
  let result = null;
  for (let len = 1; len <= bytes.length && result === null; len++) {
    buf[len - 1] = bytes[len - 1];
    result = parser.parse(buf, 0, len);
  }
  assert.equal(result?.consumed, bytes.length);
  // Rescanning from the start each call would be ~n²/2 = 134M; resuming is ~n.
  assert.ok(
    CountingBytes.scanned < 4 * bytes.length,
    `${CountingBytes.scanned} bytes scanned for a ${bytes.length}-byte head`,
  );
});

Deno.test("http head: parseFieldLine on its own", () => {
  const line = bytesOf("xxContent-Type:  text/html \t");
  assert.deepEqual(parseFieldLine(line, 2, line.length), ["content-type", "text/html"]);
  assert.throws(() => parseFieldLine(bytesOf(" a: b"), 0, 5), (e) => e instanceof HttpError);
  assert.throws(
    () => parseFieldLine(bytesOf("a"), 0, 1),
    (e) => e instanceof HttpError && e.status === 400,
  );
});

Deno.test("http head: latin1 decodes long runs in pieces", () => {
  const bytes = new Uint8Array(10_000).map((_, i) => i & 0xff);
  const s = latin1(bytes);
  assert.equal(s.length, 10_000);
  for (let i = 0; i < s.length; i++) assert.equal(s.charCodeAt(i), i & 0xff);
  assert.equal(latin1(bytes, 4095, 4099), "\xff\x00\x01\x02");
});

// ---- Chunked bodies -------------------------------------------------------------------------

type ChunkExpect =
  | { body: string; consumed?: number; trailers?: [string, string][]; done?: boolean }
  | { error: number };

interface ChunkRow {
  name: string;
  input: string | Uint8Array;
  expect: ChunkExpect;
  limits?: Partial<Limits>;
}

const CHUNK_ROWS: ChunkRow[] = [
  { name: "one chunk", input: "5\r\nhello\r\n0\r\n\r\n", expect: { body: "hello" } },
  { name: "empty body", input: "0\r\n\r\n", expect: { body: "" } },
  {
    name: "several chunks",
    input: "3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n",
    expect: { body: "abcd", trailers: [] },
  },
  {
    name: "hex sizes in lower and upper case",
    input: `a\r\n${"x".repeat(10)}\r\nB\r\n${"y".repeat(11)}\r\n1f\r\n${
      "z".repeat(31)
    }\r\n0\r\n\r\n`,
    expect: { body: "x".repeat(10) + "y".repeat(11) + "z".repeat(31) },
  },
  {
    name: "leading zeros in a size",
    input: "0003\r\nabc\r\n000\r\n\r\n",
    expect: { body: "abc" },
  },
  {
    name: "data holding CR, LF and NUL",
    input: "4\r\n\r\n\x00\n\r\n0\r\n\r\n",
    expect: { body: "\r\n\x00\n" },
  },
  {
    name: "12 hex digits",
    input: "000000000002\r\nab\r\n0\r\n\r\n",
    expect: { body: "ab" },
  },
  { name: "13 hex digits", input: "0000000000002\r\nab\r\n0\r\n\r\n", expect: { error: 413 } },
  {
    name: "a size past maxBodyBytes",
    input: "65\r\n",
    limits: { maxBodyBytes: 100 },
    expect: { error: 413 },
  },
  {
    name: "a total past maxBodyBytes",
    input: `32\r\n${"a".repeat(50)}\r\n33\r\n`,
    limits: { maxBodyBytes: 100 },
    expect: { error: 413 },
  },
  {
    name: "a total at maxBodyBytes",
    input: `32\r\n${"a".repeat(50)}\r\n32\r\n${"b".repeat(50)}\r\n0\r\n\r\n`,
    limits: { maxBodyBytes: 100 },
    expect: { body: "a".repeat(50) + "b".repeat(50) },
  },
  { name: "no size", input: "\r\nabc\r\n0\r\n\r\n", expect: { error: 400 } },
  { name: "negative size", input: "-1\r\n", expect: { error: 400 } },
  { name: "0x prefix", input: "0x5\r\nhello\r\n0\r\n\r\n", expect: { error: 400 } },
  { name: "non-hex digit", input: "5g\r\nhello\r\n", expect: { error: 400 } },
  { name: "leading space", input: " 5\r\nhello\r\n", expect: { error: 400 } },
  // RFC 9112 §7.1: whitespace only before ";" (BWS), never after the size or a value alone.
  { name: "space after the size, no extension", input: "a \r\n", expect: { error: 400 } },
  { name: "tab after the size, no extension", input: "5\t\r\nhello\r\n", expect: { error: 400 } },
  { name: "space after an extension value", input: "5;x=1 \r\nhello\r\n", expect: { error: 400 } },
  { name: "space after an extension name", input: "5;x \r\nhello\r\n", expect: { error: 400 } },

  // Extensions (RFC 9112 §7.1.1)
  {
    name: "extension without a value",
    input: "5;foo\r\nhello\r\n0\r\n\r\n",
    expect: { body: "hello" },
  },
  {
    name: "extensions with token values and BWS",
    input: "5 ; a=1 ;b = two\t;c\r\nhello\r\n0;last\r\n\r\n",
    expect: { body: "hello" },
  },
  {
    name: "extension with a quoted-string value",
    input: '5;name="a \\"quoted\\" ;value\t\xe9"\r\nhello\r\n0\r\n\r\n',
    expect: { body: "hello" },
  },
  {
    name: "extension with an empty quoted-string",
    input: '5;n=""\r\nhello\r\n0\r\n\r\n',
    expect: { body: "hello" },
  },
  { name: "extension without a name", input: "5;\r\nhello\r\n", expect: { error: 400 } },
  { name: "extension with '=' and no value", input: "5;a=\r\nhello\r\n", expect: { error: 400 } },
  { name: "extension name with '@'", input: "5;a@b\r\nhello\r\n", expect: { error: 400 } },
  { name: "extension value with '@'", input: "5;a=b@c\r\nhello\r\n", expect: { error: 400 } },
  { name: "unterminated quoted-string", input: '5;a="b\r\nhello\r\n', expect: { error: 400 } },
  { name: "NUL in an extension", input: "5;a\x00\r\nhello\r\n", expect: { error: 400 } },
  { name: "bare LF in an extension", input: "5;a\nb\r\nhello\r\n", expect: { error: 400 } },
  {
    name: "extension line at maxChunkLineBytes",
    input: `5;${"a".repeat(31)}\r\nhello\r\n0\r\n\r\n`,
    limits: { maxChunkLineBytes: 33 },
    expect: { body: "hello" },
  },
  {
    name: "extension line past maxChunkLineBytes",
    input: `5;${"a".repeat(32)}\r\nhello\r\n0\r\n\r\n`,
    limits: { maxChunkLineBytes: 33 },
    expect: { error: 400 },
  },
  {
    name: "endless extension",
    input: `5;${"a".repeat(200)}`,
    limits: { maxChunkLineBytes: 64 },
    expect: { error: 400 },
  },

  // Line endings in the framing must be CRLF
  { name: "bare LF after the size", input: "5\nhello\r\n0\r\n\r\n", expect: { error: 400 } },
  { name: "bare CR after the size", input: "5\rhello\r\n0\r\n\r\n", expect: { error: 400 } },
  { name: "bare LF after data", input: "5\r\nhello\n0\r\n\r\n", expect: { error: 400 } },
  { name: "missing CRLF after data", input: "5\r\nhello0\r\n\r\n", expect: { error: 400 } },
  { name: "data longer than its size", input: "5\r\nhello!\r\n0\r\n\r\n", expect: { error: 400 } },
  { name: "bare LF after the last chunk", input: "0\n\r\n", expect: { error: 400 } },
  { name: "bare LF as the final line", input: "5\r\nhello\r\n0\r\n\n", expect: { error: 400 } },
  { name: "CR then not LF at the end", input: "0\r\n\rX", expect: { error: 400 } },

  // Trailers (RFC 9112 §7.1.2)
  {
    name: "trailers are parsed",
    input: "5\r\nhello\r\n0\r\nX-Sum: abc \r\nServer-Timing: db;dur=5\r\n\r\n",
    expect: { body: "hello", trailers: [["x-sum", "abc"], ["server-timing", "db;dur=5"]] },
  },
  {
    name: "trailer with obs-text",
    input: "0\r\nX: \xe9\r\n\r\n",
    expect: { body: "", trailers: [["x", "\u00e9"]] },
  },
  { name: "trailer without a colon", input: "0\r\nX\r\n\r\n", expect: { error: 400 } },
  { name: "trailer with space before colon", input: "0\r\nX : 1\r\n\r\n", expect: { error: 400 } },
  { name: "trailer obs-fold", input: "0\r\nX: 1\r\n 2\r\n\r\n", expect: { error: 400 } },
  { name: "trailer with NUL", input: "0\r\nX: \x00\r\n\r\n", expect: { error: 400 } },
  { name: "trailer ending in bare LF", input: "0\r\nX: 1\n\r\n", expect: { error: 400 } },
  { name: "trailer with a bare CR", input: "0\r\nX: 1\r2\r\n\r\n", expect: { error: 400 } },
  { name: "trailer line of bare LF", input: "0\r\nX: 1\r\n\n", expect: { error: 400 } },
  {
    name: "trailers at maxTrailerBytes",
    input: "0\r\nA: 12\r\nB: 34\r\n\r\n",
    limits: { maxTrailerBytes: 10 },
    expect: { body: "", trailers: [["a", "12"], ["b", "34"]] },
  },
  {
    name: "trailers past maxTrailerBytes",
    input: "0\r\nA: 12\r\nB: 345\r\n\r\n",
    limits: { maxTrailerBytes: 10 },
    expect: { error: 431 },
  },
  {
    name: "trailers past maxHeaders",
    input: "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
    limits: { maxHeaders: 2 },
    expect: { error: 431 },
  },

  // Where it stops
  {
    name: "bytes after the terminating CRLF are not consumed",
    input: "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
    expect: { body: "abc", consumed: "3\r\nabc\r\n0\r\n\r\n".length },
  },
  {
    name: "a CRLF after the terminating CRLF is not consumed",
    input: "0\r\n\r\n\r\n",
    expect: { body: "", consumed: 5 },
  },
  {
    name: "unfinished: in a chunk",
    input: "5\r\nhel",
    expect: { body: "hel", done: false },
  },
  {
    name: "unfinished: before the trailer section ends",
    input: "2\r\nhi\r\n0\r\nX: 1\r\n",
    expect: { body: "hi", trailers: [["x", "1"]], done: false },
  },
];

type ChunkOutcome =
  | { body: string; consumed: number; trailers: [string, string][]; done: boolean }
  | { error: number };

/** Feeds `bytes` cut at `cuts`; each feed offers everything not yet consumed. */
function decodeCuts(bytes: Uint8Array, limits: Limits, cuts: number[]): ChunkOutcome {
  const decoder = new ChunkedDecoder(limits);
  const body: number[] = [];
  let consumed = 0;
  try {
    for (const end of [...cuts, bytes.length]) {
      if (decoder.done) break;
      if (end < consumed) continue;
      const out: Uint8Array[] = [];
      const n = decoder.decode(bytes, consumed, end, out);
      // It takes every byte offered unless the body ended inside them.
      if (!decoder.done) assert.equal(n, end - consumed, "all offered bytes consumed");
      for (const piece of out) body.push(...piece);
      consumed += n;
    }
  } catch (e) {
    if (e instanceof HttpError) return { error: e.status };
    throw e;
  }
  return {
    body: latin1(Uint8Array.from(body)),
    consumed,
    trailers: decoder.trailers,
    done: decoder.done,
  };
}

for (const row of CHUNK_ROWS) {
  Deno.test(`http chunked: ${row.name}`, () => {
    const bytes = bytesOf(row.input);
    const limits = limitsWith(row.limits);
    const whole = decodeCuts(bytes, limits, []);
    const e = row.expect;
    if ("error" in e) {
      assert.deepEqual(whole, { error: e.error }, row.name);
    } else {
      assert.deepEqual(whole, {
        body: e.body,
        consumed: e.consumed ?? bytes.length,
        trailers: e.trailers ?? [],
        done: e.done ?? true,
      });
    }
    const everyByte = Array.from({ length: bytes.length }, (_, i) => i);
    assert.deepEqual(decodeCuts(bytes, limits, everyByte), whole, `${row.name}: byte by byte`);
    for (let at = 0; at <= bytes.length; at++) {
      assert.deepEqual(decodeCuts(bytes, limits, [at]), whole, `${row.name}: split at ${at}`);
    }
  });
}

Deno.test("http chunked: data views point into the caller's buffer", () => {
  const bytes = bytesOf("3\r\nabc\r\n0\r\n\r\n");
  const out: Uint8Array[] = [];
  new ChunkedDecoder().decode(bytes, 0, bytes.length, out);
  assert.equal(out.length, 1);
  assert.equal(out[0].buffer, bytes.buffer);
  assert.equal(out[0].byteOffset, 3);
});

Deno.test("http chunked: a finished decoder takes nothing more", () => {
  const bytes = bytesOf("0\r\n\r\n0\r\n\r\n");
  const d = new ChunkedDecoder();
  assert.equal(d.done, false);
  assert.equal(d.decode(bytes, 0, bytes.length, []), 5);
  assert.equal(d.done, true);
  assert.equal(d.decode(bytes, 5, bytes.length, []), 0);
});

// ---- Serializer -----------------------------------------------------------------------------

Deno.test("http serialize: which responses carry a body (RFC 9110 §6.4.1)", () => {
  const rows: [string, number, boolean][] = [
    ["GET", 200, true],
    ["POST", 201, true],
    ["GET", 404, true],
    ["GET", 500, true],
    ["HEAD", 200, false],
    ["HEAD", 404, false],
    ["GET", 100, false],
    ["GET", 101, false],
    ["GET", 103, false],
    ["GET", 199, false],
    ["GET", 204, false],
    ["GET", 205, true],
    ["GET", 304, false],
    ["POST", 304, false],
    ["CONNECT", 200, true],
  ];
  for (const [method, status, body] of rows) {
    assert.equal(responseHasBody(method, status), body, `${method} ${status}`);
  }
});

Deno.test("http serialize: encodeLatin1Into writes one byte per char", () => {
  const out = new Uint8Array(16).fill(0xaa);
  assert.equal(encodeLatin1Into("abc", out, 2), 3);
  assert.deepEqual([...out.subarray(0, 6)], [0xaa, 0xaa, 0x61, 0x62, 0x63, 0xaa]);

  out.fill(0xaa);
  assert.equal(encodeLatin1Into("caf\u00e9 \u00ff\u0080", out, 1), 7);
  assert.deepEqual(
    [...out.subarray(0, 10)],
    [0xaa, 0x63, 0x61, 0x66, 0xe9, 0x20, 0xff, 0x80, 0xaa, 0xaa],
    "latin1 bytes, nothing written past them",
  );

  assert.equal(encodeLatin1Into("", out, 16), 0);
  assert.equal(encodeLatin1Into("abc", out, out.length), -1);
  assert.equal(encodeLatin1Into("abc", new Uint8Array(2), 0), -1);
  assert.equal(encodeLatin1Into("abc", new Uint8Array(3), 0), 3);
  assert.equal(encodeLatin1Into("\u00e9\u00e9", new Uint8Array(3), 2), -1);
  // Exactly enough room for latin1 but not for UTF-8: still fits.
  const tight = new Uint8Array(2);
  assert.equal(encodeLatin1Into("\u00e9\u00e8", tight, 0), 2);
  assert.deepEqual([...tight], [0xe9, 0xe8]);
});

Deno.test("http serialize: encodeLatin1Into leaves bytes past the text alone", () => {
  // Found by this test: the UTF-8 attempt wrote a second byte for "é" past the text's end
  // before the latin1 rewrite, clobbering whatever followed in the caller's buffer.
  const out = new Uint8Array(8).fill(0xaa);
  assert.equal(encodeLatin1Into("x\u00e9", out, 0), 2);
  assert.deepEqual([...out], [0x78, 0xe9, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
});

/** Values the parser accepts for the fields it reads itself. */
const VALID_VALUE: Record<string, string> = {
  "host": "a",
  "content-length": "0",
  "transfer-encoding": "chunked",
  "expect": "100-continue",
  "connection": "keep-alive",
};

Deno.test("parser: field names come out lower-case however they are spelled", () => {
  const names = [
    "host",
    "user-agent",
    "accept-encoding",
    "content-length",
    "transfer-encoding",
    "expect",
    "connection",
    "x-forwarded-for",
    "sec-ch-ua-mobile",
    "x-custom",
    "content_length",
    "a",
  ];
  const spellings = (name: string) => [
    name,
    name.toUpperCase(),
    name.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase()),
  ];
  for (const name of names) {
    for (const spelled of spellings(name)) {
      // A short head (read char by char) and a long one (decoded whole) take different paths.
      for (const pad of ["", "x".repeat(80)]) {
        const value = VALID_VALUE[name] ?? `v${pad}`;
        const host = name === "host" ? "" : "Host: a\r\n";
        const wire = `GET /${pad} HTTP/1.1\r\n${host}${spelled}: ${value}\r\n\r\n`;
        const parsed = new RequestHeadParser(DEFAULT_LIMITS).parse(bytesOf(wire), 0, wire.length);
        const fields = parsed?.head.headers.filter(([n]) => n !== "host" || name === "host");
        assert.deepEqual(fields, [[name, value]], `${spelled} (${wire.length} bytes)`);
      }
    }
  }
});
