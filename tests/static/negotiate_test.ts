/**
 * Content codings (negotiate.ts, compress.ts, RFC 9110 §12.5.3): Accept-Encoding q-values,
 * precompressed siblings, compression on the fly.
 */
import assert from "node:assert/strict";
import { serveDir } from "../../lib/static/mod.ts";
import { acceptedCodings, acceptsHtml, refusesIdentity } from "../../lib/static/negotiate.ts";
import { css, decompress, fetchDir, get, opts, root, smallCss, test } from "./_fixture.ts";

// ---- Content codings --------------------------------------------------------------------------

test("static: acceptedCodings and refusesIdentity read q-values", () => {
  const cases: [string | null, string[]][] = [
    [null, []],
    ["", []],
    ["gzip", ["gzip"]],
    ["gzip, deflate, br, zstd", ["br", "gzip"]],
    ["GZIP, BR", ["br", "gzip"]],
    ["br;q=0.5, gzip", ["gzip", "br"]],
    ["gzip;q=1.0, br;q=0.999", ["gzip", "br"]],
    ["br;q=0, gzip", ["gzip"]],
    ["br; q=0.000, gzip", ["gzip"]],
    ["*", ["br", "gzip"]],
    ["*;q=0.5, gzip", ["gzip", "br"]],
    ["*;q=0", []],
    ["*, gzip;q=0", ["br"]],
    ["identity", []],
    ["gzip;q=0.5, identity", []], // identity is preferred
    ["gzip;q=0.5, identity;q=0.5", ["gzip"]],
    ["gzip;q=0.5", ["gzip"]], // identity not weighed: compressing is fine
    ["gzip;q=2", []], // not a qvalue: read as 0
    ["gzip;q=abc", []],
    ["gzip;level=9", ["gzip"]], // other parameters are not q
    ["deflate, zstd", []],
    ["x-gzip", ["gzip"]],
  ];
  for (const [header, expected] of cases) {
    assert.deepEqual(acceptedCodings(header), expected, String(header));
  }
  const refusals: [string | null, boolean][] = [
    [null, false],
    ["gzip", false],
    ["gzip, identity;q=0", true],
    ["gzip, identity; q=0.0", true],
    ["gzip, *;q=0", true],
    ["gzip, identity;q=0.1, *;q=0", false],
    ["identity", false],
  ];
  for (const [header, expected] of refusals) {
    assert.equal(refusesIdentity(header), expected, String(header));
  }
});

test("static: Accept-Encoding and Accept: whitespace is SP and HTAB only (RFC 9110 §5.6.3)", () => {
  const nbsp = "\u00a0"; // a latin1 byte a request can carry; trim() would take it for OWS
  const codings: [string, string[]][] = [
    ["br,\tgzip", ["br", "gzip"]],
    ["gzip ; q = 0.5, br", ["br", "gzip"]],
    [`${nbsp}gzip`, []],
    [`gzip${nbsp}`, []],
    [`${nbsp}br, gzip`, ["gzip"]],
    [`gzip;q=${nbsp}0.5`, []], // not a qvalue: read as 0
    [`gzip;${nbsp}q=0, br`, ["br", "gzip"]], // not a q parameter: gzip keeps q=1
  ];
  for (const [header, expected] of codings) {
    assert.deepEqual(acceptedCodings(header), expected, JSON.stringify(header));
  }
  const refusals: [string, boolean][] = [
    ["gzip, identity; q = 0", true],
    ["gzip,\tidentity;\tq=0", true],
    [`gzip, identity;q=0${nbsp}`, false],
    [`gzip, ${nbsp}identity;q=0`, false],
    [`gzip, identity;q${nbsp}=0`, false],
    [`gzip, *;q=${nbsp}0`, false],
  ];
  for (const [header, expected] of refusals) {
    assert.equal(refusesIdentity(header), expected, JSON.stringify(header));
  }
  // Accept: text/html as a media range of its own, parameters aside (§12.5.1).
  const accepts: [string | null, boolean][] = [
    ["text/html", true],
    ["TEXT/HTML", true],
    ["text/html,application/xhtml+xml,*/*;q=0.8", true],
    ["application/xml, text/html ;level=1", true],
    ["application/json,\ttext/html", true],
    [null, false],
    ["*/*", false],
    ["application/json", false],
    ["image/avif,image/webp,*/*", false],
    [`${nbsp}text/html`, false],
    [`text/html${nbsp}`, false],
    ["text/html-fragment", false], // another type, which the old \b-regex took for text/html
    ["application/text/html", false],
  ];
  for (const [accept, expected] of accepts) {
    const request = new Request(
      "http://localhost/",
      accept === null ? {} : { headers: { accept } },
    );
    assert.equal(acceptsHtml(request), expected, JSON.stringify(accept));
  }
});

test("static: precompressed siblings chosen by Accept-Encoding q-values", async () => {
  const plain = "console.log('plain');\n";
  // [Accept-Encoding, body, Content-Encoding]
  const cases: [string | null, string, string | null][] = [
    ["gzip, br", "BR-BYTES", "br"],
    ["gzip, deflate, br, zstd", "BR-BYTES", "br"],
    ["br", "BR-BYTES", "br"],
    ["gzip", "GZ-BYTES", "gzip"],
    ["gzip, br;q=0", "GZ-BYTES", "gzip"],
    ["gzip;q=1, br;q=0.5", "GZ-BYTES", "gzip"],
    ["*", "BR-BYTES", "br"],
    ["identity", plain, null],
    ["gzip;q=0.5, identity", plain, null],
    ["deflate", plain, null],
    [null, plain, null],
  ];
  const etags = new Set<string>();
  for (const [accept, body, coding] of cases) {
    const headers: HeadersInit = accept === null ? {} : { "accept-encoding": accept };
    const { response, text } = await fetchDir("/app.js", headers);
    assert.equal(text, body, String(accept));
    assert.equal(response.headers.get("content-encoding"), coding, String(accept));
    assert.equal(response.headers.get("content-length"), String(body.length));
    assert.equal(response.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(response.headers.get("vary"), "Accept-Encoding");
    etags.add(response.headers.get("etag")!);
  }
  assert.equal(etags.size, 3, "one ETag per encoding");
  // A sibling's ranges are of its own bytes.
  const ranged = await fetchDir("/app.js", { "accept-encoding": "br", range: "bytes=0-1" });
  assert.equal(ranged.response.status, 206);
  assert.equal(ranged.text, "BR");
  assert.equal(ranged.response.headers.get("content-range"), "bytes 0-1/8");
  // A sibling older than its source is stale: skipped (small file: compressed on the fly).
  const stale = await fetchDir("/stale.js", { "accept-encoding": "gzip" });
  assert.equal(stale.response.headers.get("content-encoding"), null);
  assert.equal(stale.text, "console.log('new');\n");
  // compress: false serves the file as it is.
  const off = await fetchDir("/app.js", { "accept-encoding": "br" }, { ...opts, compress: false });
  assert.equal(off.text, plain);
  assert.equal(off.response.headers.get("vary"), null);
});

test("static: on-the-fly compression round-trips, with a length for small files", async () => {
  for (const coding of ["gzip", "br"]) {
    const { response, body } = await fetchDir("/style.css", { "accept-encoding": coding });
    assert.equal(response.headers.get("content-encoding"), coding);
    assert.equal(response.headers.get("vary"), "Accept-Encoding");
    assert.equal(response.headers.get("content-length"), String(body.length));
    assert.ok(body.length < css.length / 5, `${coding}: ${body.length} bytes`);
    assert.equal(await decompress(body, coding === "br" ? "brotli" : "gzip"), css);
    // The second time comes from the cache, identical; HEAD has the same length.
    const again = await fetchDir("/style.css", { "accept-encoding": coding });
    assert.deepEqual(again.body, body);
    const head = await fetchDir("/style.css", { "accept-encoding": coding }, opts, "HEAD");
    assert.equal(head.response.headers.get("content-length"), String(body.length));
    assert.equal(head.response.headers.get("etag"), response.headers.get("etag"));
    // Revalidation with the encoded ETag.
    const etag = response.headers.get("etag")!;
    const cached = await fetchDir("/style.css", {
      "accept-encoding": coding,
      "if-none-match": etag,
    });
    assert.equal(cached.response.status, 304);
  }
  const identity = await fetchDir("/style.css");
  const gzip = await fetchDir("/style.css", { "accept-encoding": "gzip" });
  assert.notEqual(identity.response.headers.get("etag"), gzip.response.headers.get("etag"));
});

test("static: on-the-fly compression: not for ranges, small files, or binaries", async () => {
  const ranged = await fetchDir("/style.css", { "accept-encoding": "gzip", range: "bytes=0-3" });
  assert.equal(ranged.response.status, 206);
  assert.equal(ranged.response.headers.get("content-encoding"), null);
  assert.equal(ranged.text, "body");
  const small = await fetchDir("/small.css", { "accept-encoding": "gzip" });
  assert.equal(small.response.headers.get("content-encoding"), null, "under 1 KiB");
  assert.equal(small.response.headers.get("vary"), "Accept-Encoding");
  // ...unless the client refuses identity.
  const refused = await fetchDir("/small.css", { "accept-encoding": "gzip, identity;q=0" });
  assert.equal(refused.response.headers.get("content-encoding"), "gzip");
  assert.equal(await decompress(refused.body, "gzip"), smallCss);
  const binary = await fetchDir("/big.bin", { "accept-encoding": "gzip, br" });
  assert.equal(binary.response.headers.get("content-encoding"), null);
  const off = await fetchDir("/style.css", { "accept-encoding": "gzip" }, {
    ...opts,
    compress: false,
  });
  assert.equal(off.response.headers.get("content-encoding"), null);
  assert.equal(off.text, css);
});

test("static: a big compressible file is gzipped as a stream; cancelling closes it", async () => {
  const text = "lorem ipsum dolor sit amet ".repeat(40_000); // ~1 MiB
  await Deno.writeTextFile(`${root}/big.txt`, text);
  try {
    const streamed = await fetchDir("/big.txt", { "accept-encoding": "gzip, br" });
    assert.equal(streamed.response.headers.get("content-encoding"), "gzip", "no brotli streams");
    assert.equal(streamed.response.headers.get("content-length"), null);
    assert.equal(await decompress(streamed.body, "gzip"), text);
    const head = await fetchDir("/big.txt", { "accept-encoding": "gzip" }, opts, "HEAD");
    assert.equal(head.response.headers.get("content-length"), null, "as GET: unknown");
    // Read a little, then go away: the sanitizer fails the test if the file stays open.
    const response = await serveDir(get("/big.txt", { "accept-encoding": "gzip" }), opts);
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
  } finally {
    await Deno.remove(`${root}/big.txt`);
  }
});
