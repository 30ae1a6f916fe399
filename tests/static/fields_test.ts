/**
 * The fields every response gets (fields.ts): a cached GET's equal its HEAD's, CORS and
 * preflights, the user's headers.
 */
import assert from "node:assert/strict";
import { type ServeDirOptions, serveFile } from "../../lib/static/mod.ts";
import { decorate, decorateResponse, preflightFields } from "../../lib/static/fields.ts";
import type { FileOptions } from "../../lib/static/options.ts";
import { css, fetchDir, get, opts, root, test } from "./_fixture.ts";

test("static: a cached file's GET has its HEAD's fields, whatever the options", async () => {
  const many: [string, string][] = [["X-Frame-Options", "DENY"], ["Cache-Control", "no-store"]];
  const variants: [string, ServeDirOptions, HeadersInit][] = [
    ["plain", opts, {}],
    ["cors", { ...opts, cors: true }, {}],
    ["headers", { ...opts, headers: many }, {}],
    ["one header", { ...opts, headers: [["x-a", "1"]] }, {}],
    ["cache-control", { ...opts, cacheControl: "max-age=5" }, {}],
    ["header over cache-control", { ...opts, cacheControl: "max-age=5", headers: many }, {}],
    ["no etag", { ...opts, etag: false }, {}],
    ["gzip", { ...opts, cors: true }, { "accept-encoding": "gzip" }],
    ["no compression", { ...opts, compress: false }, { "accept-encoding": "gzip" }],
  ];
  // Twice over, so that the second pass takes what the first left in the cache, with more
  // variants than a file keeps prepared responses for.
  for (const pass of [1, 2]) {
    for (const [name, options, headers] of variants) {
      for (const path of ["/style.css", "/sub/hello.txt"]) {
        const what = `${name}, ${path}, pass ${pass}`;
        const full = await fetchDir(path, headers, options);
        const head = await fetchDir(path, headers, options, "HEAD");
        assert.equal(full.response.status, 200, what);
        assert.deepEqual([...full.response.headers], [...head.response.headers], what);
        assert.equal(full.response.headers.get("content-length"), String(full.body.length), what);
      }
    }
  }
  const { response } = await fetchDir("/style.css", {}, { ...opts, cors: true, headers: many });
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.equal(response.headers.get("x-frame-options"), "DENY");
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  // serveFile adds its headers, and nothing of serveDir's.
  const file = await serveFile(get("/x"), `${root}/style.css`, { headers: many });
  assert.equal(await file.text(), css);
  assert.equal(file.headers.get("x-frame-options"), "DENY");
  assert.equal(file.headers.get("cache-control"), "no-store");
  assert.equal(file.headers.get("x-content-type-options"), null);
});

test("static: cors adds headers and answers preflights allowing Range and Authorization", async () => {
  const options = { ...opts, cors: true };
  const { response } = await fetchDir("/digits.txt", { origin: "https://a.example" }, options);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  const exposed = response.headers.get("access-control-expose-headers")!;
  for (const name of ["Content-Range", "Content-Length", "ETag", "Accept-Ranges"]) {
    assert.ok(exposed.includes(name), name);
  }
  const missing = await fetchDir("/nope", { origin: "https://a.example" }, options);
  assert.equal(missing.response.headers.get("access-control-allow-origin"), "*", "errors too");

  const preflight = await fetchDir(
    "/digits.txt",
    {
      origin: "https://a.example",
      "access-control-request-method": "GET",
      "access-control-request-headers": "x-custom",
    },
    options,
    "OPTIONS",
  );
  assert.equal(preflight.response.status, 204);
  assert.equal(preflight.body.length, 0);
  const h = preflight.response.headers;
  assert.equal(h.get("access-control-allow-origin"), "*");
  assert.equal(h.get("access-control-allow-methods"), "GET, HEAD, OPTIONS");
  const allowed = h.get("access-control-allow-headers")!.split(", ");
  for (const name of ["range", "authorization", "x-custom"]) assert.ok(allowed.includes(name));
  assert.match(h.get("vary")!, /Access-Control-Request-Headers/);

  const noCors = await fetchDir(
    "/digits.txt",
    { "access-control-request-method": "GET" },
    opts,
    "OPTIONS",
  );
  assert.equal(noCors.response.status, 204);
  assert.equal(noCors.response.headers.get("access-control-allow-origin"), null);
  assert.equal(noCors.response.headers.get("allow"), "GET, HEAD, OPTIONS");
});

test("static: extra headers on every response, and cache-control on files", async () => {
  const options = {
    ...opts,
    headers: [["X-Frame-Options", "DENY"], ["Cross-Origin-Opener-Policy", "same-origin"]] as [
      string,
      string,
    ][],
    cacheControl: "public, max-age=60",
  };
  for (const path of ["/digits.txt", "/sub/", "/nope", "/sub", "/%zz"]) {
    const { response } = await fetchDir(path, {}, options);
    assert.equal(response.headers.get("x-frame-options"), "DENY", path);
    assert.equal(response.headers.get("cross-origin-opener-policy"), "same-origin", path);
  }
  const file = await fetchDir("/digits.txt", {}, options);
  assert.equal(file.response.headers.get("cache-control"), "public, max-age=60");
  const notModified = await fetchDir("/digits.txt", {
    "if-none-match": file.response.headers.get("etag")!,
  }, options);
  assert.equal(notModified.response.headers.get("cache-control"), "public, max-age=60");
});

test("static: decorate gives a field record and a response's Headers the same fields", () => {
  const user: [string, string][] = [["X-Frame-Options", "DENY"], ["Vary", "Origin"]];
  const variants: [string, FileOptions][] = [
    ["none", {}],
    ["cors", { cors: true }],
    ["headers", { headers: user }],
    ["cors and headers", { cors: true, headers: user }],
    ["a header over nosniff", { headers: [["X-Content-Type-Options", "other"]] }],
    ["a header over CORS", { cors: true, headers: [["Access-Control-Allow-Origin", "x"]] }],
  ];
  for (const [name, options] of variants) {
    for (const decorated of [true, false]) {
      for (const method of ["GET", "HEAD", "OPTIONS"]) {
        const what = `${name}, decorated ${decorated}, ${method}`;
        const record = decorate({}, options, decorated, method);
        const response = decorateResponse(new Response(null), options, decorated, method);
        const sorted = Object.entries(record).sort(([a], [b]) => a < b ? -1 : 1);
        assert.deepEqual([...response.headers], sorted, what);
      }
    }
  }
  // What each adds, in the order the user's headers win.
  assert.deepEqual(decorate({}, { cors: true, headers: user }, true, "OPTIONS"), {
    "x-content-type-options": "nosniff",
    "access-control-allow-origin": "*",
    "access-control-expose-headers":
      "Content-Length, Content-Range, Content-Encoding, ETag, Accept-Ranges, Last-Modified",
    "vary": "Origin",
    "x-frame-options": "DENY",
  });
  assert.deepEqual(
    decorate({ vary: "Accept-Encoding" }, { cors: true }, true, "OPTIONS").vary,
    "Accept-Encoding, Access-Control-Request-Headers",
  );
  assert.deepEqual(decorate({}, { cors: true, headers: user }, false, "GET"), {
    "x-frame-options": "DENY",
    "vary": "Origin",
  });
});

test("static: a preflight allows the field names it asked for, tokens only, OWS being SP and HTAB", () => {
  const asked = (value: string) =>
    preflightFields(
      new Request("http://localhost/", { headers: { "access-control-request-headers": value } }),
    )["access-control-allow-headers"].split(", ");
  const always = ["range", "authorization", "content-type", "if-none-match"];
  const cases: [string, string[]][] = [
    ["x-a", ["x-a"]],
    ["X-A,\tx-b ,, x-c", ["x-a", "x-b", "x-c"]],
    ["range, x-a", ["x-a"]], // no duplicates
    ["\u00a0x-a, x-b", ["x-b"]], // U+00A0 is no OWS, and no tchar
    ["x-a\u00a0", []],
    ["x a, x-b", ["x-b"]],
    ["x-a;b, (x), x-b", ["x-b"]],
  ];
  for (const [value, extra] of cases) {
    assert.deepEqual(asked(value), [...always, ...extra], JSON.stringify(value));
  }
});
