import assert from "node:assert/strict";
import { parseRange, serveDir, type ServeDirOptions, serveFile } from "../lib/static.ts";
import { contentType, isCompressible } from "../lib/mime.ts";

// ---- A fixture tree, built once -------------------------------------------------------------

const base = await Deno.makeTempDir({ prefix: "static-test-" });
const root = `${base}/root`;
const SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT";
await Deno.mkdir(`${root}/sub/deeper`, { recursive: true });
await Deno.mkdir(`${root}/empty`);
await Deno.mkdir(`${root}/.git`);
await Deno.mkdir(`${root}/app`);
await Deno.writeTextFile(`${base}/secret.txt`, SECRET);
await Deno.writeTextFile(`${root}/index.html`, "<h1>home</h1>\n");
await Deno.writeTextFile(`${root}/app/index.html`, "<div id=app></div>\n");
await Deno.writeTextFile(`${root}/.env`, "PASSWORD=1\n");
await Deno.writeTextFile(`${root}/.git/config`, "[core]\n");
await Deno.writeTextFile(`${root}/sub/hello.txt`, "hello world\n");
await Deno.writeTextFile(`${root}/sub/deeper/a b.txt`, "spaced\n");
const digits = "0123456789".repeat(100); // 1000 bytes
await Deno.writeTextFile(`${root}/digits.txt`, digits);
const css = "body { color: red; }\n".repeat(200); // compressible, > 1 KiB
await Deno.writeTextFile(`${root}/style.css`, css);
await Deno.writeTextFile(`${root}/app.js`, "console.log('plain');\n");
await Deno.writeTextFile(`${root}/app.js.gz`, "GZ-BYTES");
await Deno.writeTextFile(`${root}/app.js.br`, "BR-BYTES");
const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);
await Deno.writeFile(`${root}/big.bin`, big);
await Deno.symlink(`${base}/secret.txt`, `${root}/escape.txt`);
await Deno.symlink(`${root}/sub/hello.txt`, `${root}/inside-link.txt`);
const hostileName = `<img src=x onerror=alert(1)>.txt`;
await Deno.writeTextFile(`${root}/sub/${hostileName}`, "x");

const opts: ServeDirOptions = { fsRoot: root };
const BASE_URL = "http://localhost";

function get(path: string, headers: HeadersInit = {}, method = "GET"): Request {
  return new Request(BASE_URL + path, { method, headers });
}

async function fetchDir(
  path: string,
  headers: HeadersInit = {},
  options: ServeDirOptions = opts,
  method = "GET",
) {
  const response = await serveDir(get(path, headers, method), options);
  const body = new Uint8Array(await response.arrayBuffer());
  return { response, body, text: new TextDecoder().decode(body) };
}

// ---- Basics -------------------------------------------------------------------------------

Deno.test("static: index.html, types, validators, nosniff", async () => {
  const { response, text } = await fetchDir("/");
  assert.equal(response.status, 200);
  assert.equal(text, "<h1>home</h1>\n");
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  assert.equal(response.headers.get("accept-ranges"), "bytes");
  assert.match(response.headers.get("etag")!, /^"[^"]+"$/, "a strong ETag");
  assert.ok(response.headers.get("last-modified"));
  assert.equal(response.headers.get("cache-control"), null, "no surprise max-age");
});

Deno.test("static: HEAD has GET's headers and no body", async () => {
  const head = await fetchDir("/digits.txt", {}, opts, "HEAD");
  const getResponse = await fetchDir("/digits.txt");
  assert.equal(head.body.length, 0);
  assert.equal(head.response.headers.get("content-length"), "1000");
  for (const name of ["content-type", "etag", "last-modified", "accept-ranges"]) {
    assert.equal(head.response.headers.get(name), getResponse.response.headers.get(name), name);
  }
});

Deno.test("static: a directory without a slash redirects, keeping the query", async () => {
  const { response } = await fetchDir("/sub?x=1&y=2");
  assert.equal(response.status, 301);
  assert.equal(response.headers.get("location"), "./sub/?x=1&y=2");
  const evil = await fetchDir("//sub");
  assert.ok(!evil.response.headers.get("location")?.startsWith("//"), "no protocol-relative");
});

Deno.test("static: listings are sorted, escaped, with a parent link; --no-listing gives 404", async () => {
  const { response, text } = await fetchDir("/sub/");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.ok(text.indexOf("deeper/") < text.indexOf("hello.txt"), "directories first");
  assert.ok(text.includes('href="../"'));
  assert.ok(!text.includes("<img src=x"), "names are escaped");
  assert.ok(text.includes("&#60;img src=x onerror=alert(1)&#62;.txt"));
  assert.ok(text.includes(encodeURIComponent(hostileName)), "hrefs are encoded");
  const root = await fetchDir("/empty/");
  assert.equal(root.response.status, 200);
  const off = await fetchDir("/sub/", {}, { ...opts, listing: false });
  assert.equal(off.response.status, 404);
  const rootListing = await fetchDir("/", {}, { ...opts });
  assert.ok(!rootListing.text.includes(".env"));
});

Deno.test("static: listings leave dotfiles out", async () => {
  await Deno.remove(`${root}/index.html`);
  try {
    const { text } = await fetchDir("/");
    assert.ok(!text.includes(".env") && !text.includes(".git"));
    assert.ok(text.includes("digits.txt"));
    const shown = await fetchDir("/", {}, { ...opts, dotfiles: true });
    assert.ok(shown.text.includes(".env"));
  } finally {
    await Deno.writeTextFile(`${root}/index.html`, "<h1>home</h1>\n");
  }
});

Deno.test("static: methods other than GET, HEAD, OPTIONS get 405 with Allow", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const { response } = await fetchDir("/digits.txt", {}, opts, method);
    assert.equal(response.status, 405, method);
    assert.equal(response.headers.get("allow"), "GET, HEAD, OPTIONS");
  }
});

// ---- Safety ---------------------------------------------------------------------------------

const TRAVERSAL = [
  "/../secret.txt",
  "/..%2fsecret.txt",
  "/%2e%2e/secret.txt",
  "/%2e%2e%2fsecret.txt",
  "/sub/../../secret.txt",
  "/sub/%2e%2e/%2e%2e/secret.txt",
  "/sub%2f..%2f..%2fsecret.txt",
  "/..%5csecret.txt",
  "/%5c..%5csecret.txt",
  "/sub\\..\\..\\secret.txt",
  "/%2e%2e%5csecret.txt",
  "/%252e%252e/secret.txt",
  "/%00/secret.txt",
  "/digits.txt%00.html",
  "/%",
  "/%zz",
  "/%c0%ae%c0%ae/secret.txt",
  "/C:/secret.txt",
  "/c:%5csecret.txt",
  `/${base}/secret.txt`,
  `//${base.slice(1)}/secret.txt`,
  "/escape.txt",
  "/.env",
  "/.git/config",
  "/sub/.%2e/.%2e/secret.txt",
  "/sub/%2E%2E/%2E%2E/secret.txt",
  "/./../secret.txt",
  "/..;/secret.txt",
  "/sub/..%00/secret.txt",
  "/%2fetc%2fpasswd",
  "/..%252fsecret.txt",
  "/%c0%af..%c0%afsecret.txt",
];

for (const path of TRAVERSAL) {
  Deno.test(`static: traversal ${path} never leaks`, async () => {
    const { response, text } = await fetchDir(path);
    assert.ok([400, 404].includes(response.status), `${path} → ${response.status}`);
    assert.ok(!text.includes(SECRET), "no byte from outside the root");
    assert.ok(!text.includes("PASSWORD"), "no dotfile content");
  });
}

Deno.test("static: symlinks inside the root are served; outside only with followSymlinks", async () => {
  assert.equal((await fetchDir("/inside-link.txt")).text, "hello world\n");
  assert.equal((await fetchDir("/escape.txt")).response.status, 404);
  const followed = await fetchDir("/escape.txt", {}, { ...opts, followSymlinks: true });
  assert.equal(followed.text, SECRET);
});

Deno.test("static: dotfiles are served only with dotfiles: true", async () => {
  const { text } = await fetchDir("/.env", {}, { ...opts, dotfiles: true });
  assert.equal(text, "PASSWORD=1\n");
});

Deno.test("static: urlRoot is stripped and nothing outside it is served", async () => {
  const options = { ...opts, urlRoot: "static" };
  assert.equal((await fetchDir("/static/sub/hello.txt", {}, options)).text, "hello world\n");
  assert.equal((await fetchDir("/sub/hello.txt", {}, options)).response.status, 404);
  assert.equal((await fetchDir("/staticx/sub/hello.txt", {}, options)).response.status, 404);
});

Deno.test("static: percent-encoded names are decoded", async () => {
  assert.equal((await fetchDir("/sub/deeper/a%20b.txt")).text, "spaced\n");
});

// ---- Conditional requests (RFC 9110 §13) ----------------------------------------------------

Deno.test("static: conditional requests", async () => {
  const first = await fetchDir("/digits.txt");
  const etag = first.response.headers.get("etag")!;
  const lastModified = first.response.headers.get("last-modified")!;
  const later = new Date(Date.parse(lastModified) + 60_000).toUTCString();
  const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
  const cases: [HeadersInit, number][] = [
    [{ "if-none-match": etag }, 304],
    [{ "if-none-match": `W/${etag}` }, 304], // weak comparison for If-None-Match
    [{ "if-none-match": `"other", ${etag}` }, 304],
    [{ "if-none-match": "*" }, 304],
    [{ "if-none-match": '"other"' }, 200],
    [{ "if-modified-since": lastModified }, 304],
    [{ "if-modified-since": later }, 304],
    [{ "if-modified-since": earlier }, 200],
    [{ "if-modified-since": "not a date" }, 200],
    // If-None-Match wins over If-Modified-Since (§13.2.2).
    [{ "if-none-match": '"other"', "if-modified-since": later }, 200],
    [{ "if-match": etag }, 200],
    [{ "if-match": "*" }, 200],
    [{ "if-match": '"other"' }, 412],
    [{ "if-match": `W/${etag}` }, 412], // strong comparison for If-Match
    [{ "if-unmodified-since": earlier }, 412],
    [{ "if-unmodified-since": later }, 200],
    [{ "if-match": etag, "if-unmodified-since": earlier }, 200], // If-Match wins
  ];
  for (const [headers, status] of cases) {
    const { response, body } = await fetchDir("/digits.txt", headers);
    assert.equal(response.status, status, JSON.stringify(headers));
    if (status === 304) {
      assert.equal(body.length, 0);
      assert.equal(response.headers.get("etag"), etag);
    }
  }
});

// ---- Ranges (RFC 9110 §14) ------------------------------------------------------------------

Deno.test("static: parseRange table", () => {
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
    ["bytes=1000-", "unsatisfiable"],
    ["bytes=5000-6000", "unsatisfiable"],
    ["bytes=-0", "unsatisfiable"],
    ["bytes=5-1", null],
    ["bytes=abc", null],
    ["items=0-1", null],
    ["bytes=", null],
    ["bytes=-", null],
    ["bytes=" + Array.from({ length: 20 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(","), null],
  ];
  for (const [header, expected] of cases) {
    assert.deepEqual(parseRange(header, size), expected, header);
  }
});

Deno.test("static: single range → 206 with Content-Range", async () => {
  const { response, text } = await fetchDir("/digits.txt", { range: "bytes=10-19" });
  assert.equal(response.status, 206);
  assert.equal(response.headers.get("content-range"), "bytes 10-19/1000");
  assert.equal(response.headers.get("content-length"), "10");
  assert.equal(text, digits.slice(10, 20));
  const suffix = await fetchDir("/big.bin", { range: "bytes=-5" });
  assert.deepEqual(suffix.body, big.slice(-5));
  const open = await fetchDir("/big.bin", { range: `bytes=${big.length - 70000}-` });
  assert.deepEqual(open.body, big.slice(big.length - 70000));
});

Deno.test("static: several ranges → multipart/byteranges", async () => {
  const { response, text } = await fetchDir("/digits.txt", { range: "bytes=0-1,5-6" });
  assert.equal(response.status, 206);
  const type = response.headers.get("content-type")!;
  const boundary = /boundary=(\S+)/.exec(type)![1];
  assert.ok(type.startsWith("multipart/byteranges"));
  assert.equal(
    Number(response.headers.get("content-length")),
    new TextEncoder().encode(text).length,
  );
  const parts = text.split(`--${boundary}`);
  assert.equal(parts.length, 4); // preamble, two parts, the closing "--"
  assert.match(parts[1], /content-range: bytes 0-1\/1000\r\n\r\n01\r\n$/);
  assert.match(parts[2], /content-range: bytes 5-6\/1000\r\n\r\n56\r\n$/);
  assert.equal(parts[3], "--\r\n");
});

Deno.test("static: unsatisfiable → 416 with bytes */size; bad syntax is ignored", async () => {
  const { response } = await fetchDir("/digits.txt", { range: "bytes=5000-" });
  assert.equal(response.status, 416);
  assert.equal(response.headers.get("content-range"), "bytes */1000");
  const ignored = await fetchDir("/digits.txt", { range: "bytes=zz" });
  assert.equal(ignored.response.status, 200);
  assert.equal(ignored.body.length, 1000);
});

Deno.test("static: If-Range decides between the range and the whole file", async () => {
  const { response } = await fetchDir("/digits.txt");
  const etag = response.headers.get("etag")!;
  const lastModified = response.headers.get("last-modified")!;
  const ok = await fetchDir("/digits.txt", { range: "bytes=0-1", "if-range": etag });
  assert.equal(ok.response.status, 206);
  const stale = await fetchDir("/digits.txt", { range: "bytes=0-1", "if-range": '"old"' });
  assert.equal(stale.response.status, 200);
  const byDate = await fetchDir("/digits.txt", { range: "bytes=0-1", "if-range": lastModified });
  assert.equal(byDate.response.status, 206);
});

// ---- Compression ----------------------------------------------------------------------------

Deno.test("static: precompressed siblings chosen by Accept-Encoding", async () => {
  const br = await fetchDir("/app.js", { "accept-encoding": "gzip, br" });
  assert.equal(br.text, "BR-BYTES");
  assert.equal(br.response.headers.get("content-encoding"), "br");
  assert.equal(br.response.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.equal(br.response.headers.get("vary"), "Accept-Encoding");
  const gz = await fetchDir("/app.js", { "accept-encoding": "gzip, br;q=0" });
  assert.equal(gz.text, "GZ-BYTES");
  assert.notEqual(gz.response.headers.get("etag"), br.response.headers.get("etag"));
  const plain = await fetchDir("/app.js", { "accept-encoding": "identity" });
  assert.equal(plain.text, "console.log('plain');\n");
  assert.equal(plain.response.headers.get("content-encoding"), null);
});

Deno.test("static: on-the-fly gzip round-trips; never on ranges; off with compress: false", async () => {
  const { response, body } = await fetchDir("/style.css", { "accept-encoding": "gzip" });
  assert.equal(response.headers.get("content-encoding"), "gzip");
  assert.equal(response.headers.get("vary"), "Accept-Encoding");
  const unzipped = await new Response(
    new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).text();
  assert.equal(unzipped, css);
  const ranged = await fetchDir("/style.css", { "accept-encoding": "gzip", range: "bytes=0-3" });
  assert.equal(ranged.response.status, 206);
  assert.equal(ranged.response.headers.get("content-encoding"), null);
  const off = await fetchDir("/style.css", { "accept-encoding": "gzip" }, {
    ...opts,
    compress: false,
  });
  assert.equal(off.response.headers.get("content-encoding"), null);
  assert.equal(off.text, css);
  // A big compressible file is gzipped as a stream.
  const text = "lorem ipsum ".repeat(20_000);
  await Deno.writeTextFile(`${root}/big.txt`, text);
  const streamed = await fetchDir("/big.txt", { "accept-encoding": "gzip" });
  const back = await new Response(
    new Blob([streamed.body]).stream().pipeThrough(new DecompressionStream("gzip")),
  ).text();
  assert.equal(back, text);
});

// ---- Big files, bounded memory ----------------------------------------------------------------

Deno.test("static: big files stream in bounded chunks and cancelling closes the file", async () => {
  const response = await serveDir(get("/big.bin"), opts);
  assert.equal(response.headers.get("content-length"), String(big.length));
  const reader = response.body!.getReader();
  let total = 0;
  let largest = 0;
  for (let i = 0; i < 5; i++) {
    const { value } = await reader.read();
    total += value!.length;
    largest = Math.max(largest, value!.length);
  }
  assert.ok(largest <= 256 * 1024, "chunks are bounded");
  assert.deepEqual(total, 5 * 256 * 1024);
  // The resource sanitizer fails this test if the file stays open.
  await reader.cancel();
  const whole = await fetchDir("/big.bin");
  assert.deepEqual(whole.body, big);
});

Deno.test("static: a file that changes is not served stale from the cache", async () => {
  await Deno.writeTextFile(`${root}/changing.txt`, "one");
  assert.equal((await fetchDir("/changing.txt")).text, "one");
  await new Promise((resolve) => setTimeout(resolve, 20));
  await Deno.writeTextFile(`${root}/changing.txt`, "two!");
  assert.equal((await fetchDir("/changing.txt")).text, "two!");
});

// ---- SPA, CORS, headers -----------------------------------------------------------------------

Deno.test("static: spa serves index.html with 200 to HTML navigations only", async () => {
  const options = { ...opts, spa: true };
  const page = await fetchDir("/some/client/route", { accept: "text/html,*/*" }, options);
  assert.equal(page.response.status, 200);
  assert.equal(page.text, "<h1>home</h1>\n");
  const asset = await fetchDir("/missing.js", { accept: "*/*" }, options);
  assert.equal(asset.response.status, 404);
  const off = await fetchDir("/some/client/route", { accept: "text/html" });
  assert.equal(off.response.status, 404);
});

Deno.test("static: cors adds headers and answers preflights allowing Range and Authorization", async () => {
  const options = { ...opts, cors: true };
  const { response } = await fetchDir("/digits.txt", { origin: "https://a.example" }, options);
  assert.equal(response.headers.get("access-control-allow-origin"), "*");
  assert.match(response.headers.get("access-control-expose-headers")!, /Content-Range/);
  const preflight = await fetchDir(
    "/digits.txt",
    {
      origin: "https://a.example",
      "access-control-request-method": "GET",
      "access-control-request-headers": "range, authorization",
    },
    options,
    "OPTIONS",
  );
  assert.equal(preflight.response.status, 204);
  assert.match(preflight.response.headers.get("access-control-allow-methods")!, /GET/);
  assert.match(preflight.response.headers.get("access-control-allow-headers")!, /range/i);
  assert.match(preflight.response.headers.get("access-control-allow-headers")!, /authorization/i);
  const noCors = await fetchDir(
    "/digits.txt",
    { "access-control-request-method": "GET" },
    opts,
    "OPTIONS",
  );
  assert.equal(noCors.response.headers.get("access-control-allow-origin"), null);
  assert.equal(noCors.response.headers.get("allow"), "GET, HEAD, OPTIONS");
});

Deno.test("static: extra headers and cache-control", async () => {
  const options = {
    ...opts,
    headers: [["X-Frame-Options", "DENY"]] as [string, string][],
    cacheControl: "no-cache",
  };
  const { response } = await fetchDir("/digits.txt", {}, options);
  assert.equal(response.headers.get("x-frame-options"), "DENY");
  assert.equal(response.headers.get("cache-control"), "no-cache");
});

Deno.test("static: serveFile serves one file and 404s a missing one", async () => {
  const ok = await serveFile(get("/whatever"), `${root}/sub/hello.txt`);
  assert.equal(await ok.text(), "hello world\n");
  const missing = await serveFile(get("/whatever"), `${root}/nope.txt`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

// Root reads any file whatever its mode, so the check only means something for other users.
const isRoot = Deno.uid() === 0;
if (isRoot) {
  console.log("static_test: the 403 test is ignored: running as root, which reads any file");
}
Deno.test({
  name: "static: an unreadable file is 403, never a throw",
  ignore: isRoot,
  async fn() {
    await Deno.writeTextFile(`${root}/locked.txt`, "x");
    await Deno.chmod(`${root}/locked.txt`, 0o000);
    const { response } = await fetchDir("/locked.txt");
    assert.equal(response.status, 403);
  },
});

// ---- MIME table -------------------------------------------------------------------------------

Deno.test("mime: the web platform's types, charset on text", () => {
  const table: [string, string | undefined][] = [
    ["a.html", "text/html; charset=utf-8"],
    ["a.css", "text/css; charset=utf-8"],
    ["a.js", "text/javascript; charset=utf-8"],
    ["a.mjs", "text/javascript; charset=utf-8"],
    ["a.json", "application/json; charset=utf-8"],
    ["a.map", "application/json; charset=utf-8"],
    ["a.wasm", "application/wasm"],
    ["a.svg", "image/svg+xml; charset=utf-8"],
    ["a.png", "image/png"],
    ["A.JPG", "image/jpeg"],
    ["a.webp", "image/webp"],
    ["a.avif", "image/avif"],
    ["a.ico", "image/x-icon"],
    ["a.woff2", "font/woff2"],
    ["a.mp4", "video/mp4"],
    ["a.webm", "video/webm"],
    ["a.mp3", "audio/mpeg"],
    ["a.txt", "text/plain; charset=utf-8"],
    ["a.md", "text/markdown; charset=utf-8"],
    ["site.webmanifest", "application/manifest+json; charset=utf-8"],
    ["a.pdf", "application/pdf"],
    ["noext", undefined],
    [".bashrc", undefined],
    ["dir.d/file", undefined],
    ["a.unknownext", undefined],
  ];
  for (const [name, type] of table) assert.equal(contentType(name), type, name);
  assert.equal(isCompressible("text/css; charset=utf-8"), true);
  assert.equal(isCompressible("application/wasm"), true);
  assert.equal(isCompressible("image/png"), false);
  assert.equal(isCompressible("video/mp4"), false);
});

// Clean up after every test in this file has run.
globalThis.addEventListener("unload", () => {
  Deno.removeSync(base, { recursive: true });
});
