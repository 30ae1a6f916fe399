/**
 * Tests for `lib/fastpath/request.ts`: the requests built without the constructor behave as the ones the
 * constructor builds, and the URL shortcut serialises exactly as the WHATWG URL parser does.
 */
import { publicApiOnly } from "../../lib/fastpath/mode.ts";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  absoluteFormUrl,
  constructRequest,
  createRequest,
  fastRequestsAvailable,
  originFormUrl,
} from "../../lib/fastpath/request.ts";
import { HttpError } from "../../lib/h1/errors.ts";
import type { HeaderList } from "../../lib/h1/grammar.ts";

Deno.test("the request fast path is in use on this Deno unless TCP_HTTP_PUBLIC_API=1 (if not, lib/fastpath/request.ts needs updating)", () => {
  assert.equal(fastRequestsAvailable, !publicApiOnly);
});

function streamOf(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
}

interface Case {
  method: string;
  url: string;
  headers: HeaderList;
  body?: string;
}

const CASES: Case[] = [
  { method: "GET", url: "http://localhost:8080/", headers: [["host", "localhost:8080"]] },
  { method: "get", url: "http://a.test/x?y=1", headers: [] },
  { method: "HEAD", url: "http://a.test/", headers: [["accept", "*/*"]] },
  { method: "patch", url: "http://a.test/p", headers: [["x-a", "1"]], body: "patched" },
  { method: "PATCH", url: "http://a.test/p", headers: [], body: "" },
  { method: "delete", url: "http://a.test/d", headers: [] },
  {
    method: "POST",
    url: "https://a.test/form",
    headers: [
      ["content-type", "application/json"],
      ["set-cookie", "a=1"],
      ["set-cookie", "b=2"],
      ["x-dup", "1"],
      ["x-dup", "2"],
      ["x-latin1", "caf\xe9"],
      ["accept", "text/html"],
    ],
    body: '{"a":1}',
  },
  { method: "PROPFIND", url: "http://a.test/dav/", headers: [["depth", "1"]], body: "<x/>" },
];

async function observe(request: Request) {
  const clone = request.clone();
  return {
    isRequest: request instanceof Request,
    url: request.url,
    method: request.method,
    headers: [...request.headers],
    accept: request.headers.get("Accept"),
    contentType: request.headers.get("content-type"),
    cookies: request.headers.getSetCookie(),
    hasBody: request.body !== null,
    signal: request.signal instanceof AbortSignal && !request.signal.aborted,
    redirect: request.redirect,
    text: await request.text(),
    usedAfter: request.bodyUsed,
    clone: [clone.url, clone.method, [...clone.headers], await clone.text()],
  };
}

for (const c of CASES) {
  Deno.test(`createRequest matches the constructor: ${c.method} ${c.url}`, async () => {
    const make = (build: typeof createRequest) =>
      build(
        c.method,
        c.url,
        c.headers.map(([n, v]) => [n, v]),
        c.body === undefined ? null : streamOf(c.body),
      );
    const ours = await observe(make(createRequest));
    const theirs = await observe(make(constructRequest));
    assert.deepEqual(ours, theirs);
    if (c.body !== undefined) assert.equal(ours.text, c.body);
  });
}

Deno.test("createRequest: headers can be changed afterwards, as with the constructor", () => {
  for (const build of [createRequest, constructRequest]) {
    const request = build("GET", "http://a.test/", [["x-a", "1"]], null);
    request.headers.set("x-a", "2");
    request.headers.append("x-b", "3");
    request.headers.delete("x-missing");
    assert.deepEqual([...request.headers], [["x-a", "2"], ["x-b", "3"]], build.name);
  }
});

Deno.test("createRequest: a body is read once, then unusable", async () => {
  const request = createRequest("POST", "http://a.test/", [], streamOf("once"));
  assert.equal(await request.text(), "once");
  await assert.rejects(() => request.text(), TypeError);
});

Deno.test("createRequest: forbidden methods throw a TypeError, as with the constructor", () => {
  for (const method of ["CONNECT", "trace", "TRACK"]) {
    assert.throws(() => createRequest(method, "http://a.test/", [], null), TypeError);
    assert.throws(() => constructRequest(method, "http://a.test/", [], null), TypeError);
  }
});

// ---- URLs ---------------------------------------------------------------------------------

function viaParser(scheme: string, host: string, target: string): string | "invalid" {
  try {
    return new URL(`${scheme}://${host}${target}`).href;
  } catch {
    return "invalid";
  }
}

function viaShortcut(scheme: string, host: string, target: string): string | "invalid" {
  try {
    return originFormUrl(scheme, host, target);
  } catch (error) {
    assert.ok(error instanceof HttpError && error.status === 400, String(error));
    return "invalid";
  }
}

const URL_CASES: [scheme: string, host: string, target: string, expected: string][] = [
  ["http", "localhost:8080", "/", "http://localhost:8080/"],
  ["http", "Example.COM:80", "/a?b=c", "http://example.com/a?b=c"],
  ["https", "a.test:443", "/", "https://a.test/"],
  ["http", "127.1", "/", "http://127.0.0.1/"],
  ["http", "[::1]:8080", "/x", "http://[::1]:8080/x"],
  ["http", "a.test", "/a/../b", "http://a.test/b"],
  ["http", "a.test", "/a/%2e%2E/b", "http://a.test/b"],
  ["http", "a.test", "/.well-known/x", "http://a.test/.well-known/x"],
  ["http", "a.test", "/a\\b", "http://a.test/a/b"],
  ["http", "a.test", "/it's?it's", "http://a.test/it's?it%27s"],
  ["http", "a.test", "/a{b}^`|", "http://a.test/a%7Bb%7D^%60|"],
  ["http", "a.test", "/%zz/%41", "http://a.test/%zz/%41"],
  ["http", "a.test", "//double//slash", "http://a.test//double//slash"],
  ["http", "a.test", '/q?"<>', "http://a.test/q?%22%3C%3E"],
  ["http", "a.test:99999", "/", "invalid"],
  ["http", "[", "/", "invalid"],
  ["http", "a%00b", "/", "invalid"],
];

for (const [scheme, host, target, expected] of URL_CASES) {
  Deno.test(`originFormUrl ${scheme}://${host} ${target}`, () => {
    assert.equal(viaShortcut(scheme, host, target), expected);
    assert.equal(viaParser(scheme, host, target), expected);
  });
}

// What the head parser lets through: Host characters and visible ASCII targets without "#".
const HOST_ALPHABET = "abcXYZ019-._~!$&'()*+,;=%:[]";
const TARGET_ALPHABET = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i))
  .filter((c) => c !== "#").join("");
// Never an empty host: without a Host the engine uses the listening address.
const pieces = (alphabet: string, words: string[]) =>
  fc.array(fc.oneof(fc.constantFrom(...alphabet), fc.constantFrom(...words)), {
    minLength: 1,
    maxLength: 24,
  })
    .map((parts) => parts.join(""));

Deno.test("originFormUrl gives what the URL parser gives, for any host and target", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("http", "https"),
      fc.oneof(
        pieces(HOST_ALPHABET, ["localhost", ":8080", ":80", ":443", "[::1]", "127."]),
        fc.constant("a.test"),
      ),
      pieces(TARGET_ALPHABET, ["/", "/.", "/..", "%2e", "%2E", "?", "'", "%", "\\", "/a"]).map((
        t,
      ) => `/${t}`),
      (scheme, host, target) => {
        assert.equal(viaShortcut(scheme, host, target), viaParser(scheme, host, target));
        // Twice: the second answer comes from the origin cache.
        assert.equal(viaShortcut(scheme, host, target), viaParser(scheme, host, target));
      },
    ),
    { numRuns: 20_000 },
  );
});

Deno.test("absoluteFormUrl serialises, or answers 400", () => {
  assert.equal(absoluteFormUrl("HTTP://A.test:80/x/../y"), "http://a.test/y");
  assert.throws(
    () => absoluteFormUrl("http://[/"),
    (e) => e instanceof HttpError && e.status === 400,
  );
});
