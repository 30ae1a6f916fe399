/**
 * A snippet injected into HTML (static/inject.ts, serveDir's `htmlSnippet`, live reload's script):
 * where it goes, what it never touches (other types, ranges, precompressed siblings), and that
 * the length, the ETag, 304s and compression stay right for the changed body.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { injectSnippet, isHtml } from "../../lib/static/inject.ts";
import { serveFile } from "../../lib/static/mod.ts";
import { fetchDir, opts, root, test } from "./_fixture.ts";

const SNIPPET = "<script>/*live*/</script>";
const withSnippet = { ...opts, htmlSnippet: SNIPPET };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

test("inject: before the last </body>, else </html>, else at the end; any case", () => {
  assert.equal(text(injectSnippet(bytes("<p></body></html>"), "S")), "<p>S</body></html>");
  assert.equal(
    text(injectSnippet(bytes("<!-- </body> --><p></BODY >"), "S")),
    "<!-- </body> --><p>S</BODY >",
  );
  assert.equal(text(injectSnippet(bytes("<p></HTML>"), "S")), "<p>S</HTML>");
  assert.equal(text(injectSnippet(bytes("<p>fragment"), "S")), "<p>fragmentS");
  assert.equal(text(injectSnippet(bytes(""), "S")), "S");
  // Bytes that are not UTF-8 pass through untouched.
  const latin1 = new Uint8Array([0x3c, 0x70, 0x3e, 0xe9, 0xff, ...bytes("</body>")]);
  assert.deepEqual(
    injectSnippet(latin1, "S"),
    new Uint8Array([0x3c, 0x70, 0x3e, 0xe9, 0xff, 0x53, ...bytes("</body>")]),
  );
  assert.ok(isHtml("text/html; charset=utf-8"));
  assert.ok(isHtml("TEXT/HTML"));
  assert.ok(!isHtml("text/html-sandboxed"));
  assert.ok(!isHtml("text/plain"));
});

test("inject: an HTML file gets the snippet with its exact length and its own ETag", async () => {
  const plain = await fetchDir("/");
  const injected = await fetchDir("/", {}, withSnippet);
  assert.equal(plain.text, "<h1>home</h1>\n");
  assert.equal(injected.text, `<h1>home</h1>\n${SNIPPET}`);
  assert.equal(injected.response.status, 200);
  assert.equal(Number(injected.response.headers.get("content-length")), injected.body.length);
  assert.equal(injected.response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(injected.response.headers.get("accept-ranges"), "none");
  assert.equal(injected.response.headers.get("x-content-type-options"), "nosniff");
  const etag = injected.response.headers.get("etag")!;
  assert.ok(etag !== plain.response.headers.get("etag"), "another representation, another tag");
  assert.match(etag, /^"[^"]+"$/, "strong");
  const other = await fetchDir("/", {}, { ...opts, htmlSnippet: "<script>other</script>" });
  assert.ok(other.response.headers.get("etag") !== etag, "another snippet, another tag");

  const revalidated = await fetchDir("/", { "if-none-match": etag }, withSnippet);
  assert.equal(revalidated.response.status, 304);
  assert.equal(revalidated.body.length, 0);
  const stale = await fetchDir("/", { "if-none-match": plain.response.headers.get("etag")! }, {
    ...withSnippet,
  });
  assert.equal(stale.response.status, 200, "the plain file's tag does not match");
  const failed = await fetchDir("/", { "if-match": '"nope"' }, withSnippet);
  assert.equal(failed.response.status, 412);

  const head = await fetchDir("/", {}, withSnippet, "HEAD");
  assert.equal(head.body.length, 0);
  assert.equal(head.response.headers.get("content-length"), String(injected.body.length));
  assert.equal(head.response.headers.get("etag"), etag);

  const spa = await fetchDir("/no/such/route", { accept: "text/html" }, {
    ...withSnippet,
    spa: true,
  });
  assert.equal(spa.text, injected.text, "the SPA fallback is injected too");
  const listing = await fetchDir("/sub/", {}, withSnippet);
  assert.ok(listing.text.endsWith(`${SNIPPET}</body>\n</html>\n`), "listings get it too");
  const viaServeFile = await serveFile(
    new Request("http://x/"),
    `${root}/index.html`,
    { htmlSnippet: SNIPPET },
  );
  assert.equal(await viaServeFile.text(), injected.text);
});

test("inject: never into other types, and a Range on HTML gets the whole page", async () => {
  for (const path of ["/digits.txt", "/style.css", "/app.js"]) {
    const plain = await fetchDir(path);
    const injected = await fetchDir(path, {}, withSnippet);
    assert.deepEqual(injected.body, plain.body, path);
    assert.equal(injected.response.headers.get("etag"), plain.response.headers.get("etag"));
  }
  const ranged = await fetchDir("/", { range: "bytes=0-3" }, withSnippet);
  assert.equal(ranged.response.status, 200);
  assert.equal(ranged.response.headers.get("content-range"), null);
  assert.equal(ranged.text, `<h1>home</h1>\n${SNIPPET}`);
  const plainRange = await fetchDir("/", { range: "bytes=0-3" });
  assert.equal(plainRange.response.status, 206, "without the snippet, ranges as ever");
});

test("inject: compressed as negotiated, never from a precompressed sibling", async () => {
  const page = `<!DOCTYPE html><html><body>${"<p>lorem ipsum</p>\n".repeat(200)}</body></html>`;
  await Deno.writeTextFile(`${root}/big.html`, page);
  await Deno.writeTextFile(`${root}/big.html.gz`, "PRECOMPRESSED");
  try {
    const gz = await fetchDir("/big.html", { "accept-encoding": "gzip" }, withSnippet);
    assert.equal(gz.response.headers.get("content-encoding"), "gzip");
    assert.equal(gz.response.headers.get("vary"), "Accept-Encoding");
    assert.equal(Number(gz.response.headers.get("content-length")), gz.body.length);
    const expected = page.replace("</body>", `${SNIPPET}</body>`);
    assert.equal(text(gunzipSync(gz.body)), expected);
    assert.match(gz.response.headers.get("etag")!, /-gzip"$/);
    const identity = await fetchDir("/big.html", {}, withSnippet);
    assert.equal(identity.text, expected);
    assert.ok(identity.response.headers.get("etag") !== gz.response.headers.get("etag"));
    const br = await fetchDir("/big.html", { "accept-encoding": "br" }, withSnippet);
    assert.equal(br.response.headers.get("content-encoding"), "br");
    const off = await fetchDir("/big.html", { "accept-encoding": "gzip" }, {
      ...withSnippet,
      compress: false,
    });
    assert.equal(off.text, expected);
    assert.equal(off.response.headers.get("vary"), null);
    // Without the snippet the sibling is used, as before.
    const sibling = await fetchDir("/big.html", { "accept-encoding": "gzip" });
    assert.equal(sibling.text, "PRECOMPRESSED");
  } finally {
    await Deno.remove(`${root}/big.html`);
    await Deno.remove(`${root}/big.html.gz`);
  }
});
