/**
 * serveDir and serveFile with plain `Request`s: a fixture tree built in a temporary directory
 * (with a secret next to the root, symlinks out of it, dotfiles, a directory without an index),
 * then table after table: traversal, ranges, conditional requests, content codings, streaming,
 * listings, SPA, CORS, permissions.
 */
import assert from "node:assert/strict";
import {
  parseRange,
  serveDir,
  type ServeDirOptions,
  serveFile,
  smallFileCache,
} from "../../lib/static/mod.ts";
import { acceptedCodings, refusesIdentity } from "../../lib/static/negotiate.ts";
import { noteArrival, readDelivered, readStarting } from "../../lib/shared/arrival.ts";

// ---- The fixture tree, built once -------------------------------------------------------------

const base = await Deno.makeTempDir({ prefix: "static-test-" });
const root = `${base}/root`;
const SECRET = "TOP-SECRET-OUTSIDE-THE-ROOT";
await Deno.mkdir(`${root}/sub/deeper`, { recursive: true });
await Deno.mkdir(`${root}/empty`);
await Deno.mkdir(`${root}/.git`);
await Deno.mkdir(`${root}/app`);
await Deno.mkdir(`${root}/trap`);
await Deno.mkdir(`${base}/outside-dir`);
await Deno.writeTextFile(`${base}/secret.txt`, SECRET);
await Deno.writeTextFile(`${base}/outside-dir/secret.txt`, SECRET);
await Deno.writeTextFile(`${root}/index.html`, "<h1>home</h1>\n");
await Deno.writeTextFile(`${root}/app/index.html`, "<div id=app></div>\n");
await Deno.writeTextFile(`${root}/.env`, "PASSWORD=1\n");
await Deno.writeTextFile(`${root}/.git/config`, "[core]\n");
await Deno.writeTextFile(`${root}/sub/hello.txt`, "hello world\n");
await Deno.writeTextFile(`${root}/sub/deeper/a b.txt`, "spaced\n");
const digits = "0123456789".repeat(100); // 1000 bytes
await Deno.writeTextFile(`${root}/digits.txt`, digits);
const css = "body { color: red; }\n".repeat(200); // compressible, over 1 KiB
await Deno.writeTextFile(`${root}/style.css`, css);
const smallCss = "a { color: blue; }\n"; // compressible, under 1 KiB
await Deno.writeTextFile(`${root}/small.css`, smallCss);
await Deno.writeTextFile(`${root}/app.js`, "console.log('plain');\n");
await Deno.writeTextFile(`${root}/app.js.gz`, "GZ-BYTES");
await Deno.writeTextFile(`${root}/app.js.br`, "BR-BYTES");
// A sibling left over from before the source was edited: older than it, so skipped.
await Deno.writeTextFile(`${root}/stale.js`, "console.log('new');\n");
await Deno.writeTextFile(`${root}/stale.js.gz`, "OLD-GZ");
await Deno.utime(`${root}/stale.js.gz`, new Date(2000, 0, 1), new Date(2000, 0, 1));
const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31 + (i >> 8)) & 0xff);
await Deno.writeFile(`${root}/big.bin`, big);
// Symlinks: out of the root (a file, a directory, an index, a precompressed sibling), to a
// dotfile, inside the root, and a loop.
await Deno.symlink(`${base}/secret.txt`, `${root}/escape.txt`);
await Deno.symlink(`${base}/outside-dir`, `${root}/escape-dir`);
await Deno.symlink(`${base}/secret.txt`, `${root}/trap/index.html`);
await Deno.writeTextFile(`${root}/leak.js`, "console.log('leak.js');\n");
await Deno.symlink(`${base}/secret.txt`, `${root}/leak.js.gz`);
await Deno.symlink(`${root}/.env`, `${root}/env-link.txt`);
await Deno.symlink(`${root}/sub/hello.txt`, `${root}/inside-link.txt`);
await Deno.symlink(`${root}/loop`, `${root}/loop`);
const hostileName = `<img src=x onerror=alert(1)>.txt`;
await Deno.writeTextFile(`${root}/sub/${hostileName}`, "x");

/**
 * Deno 2.9 runs tests without the op and resource sanitizers unless asked (`--sanitize-ops`,
 * `--sanitize-resources`); these tests ask, so a file left open by a cancelled stream fails them.
 */
function test(name: string, fn: () => Promise<void> | void, ignore = false): void {
  Deno.test({ name, fn, ignore, sanitizeOps: true, sanitizeResources: true });
}

const opts: ServeDirOptions = { fsRoot: root };
const BASE_URL = "http://localhost";

function get(path: string, headers: HeadersInit = {}, method = "GET"): Request {
  return new Request(BASE_URL + path, { method, headers });
}

/** serveDir, with the body read whole (so no test leaves a stream open). */
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

async function decompress(body: Uint8Array<ArrayBuffer>, format: string): Promise<string> {
  const stream = new Blob([body]).stream().pipeThrough(
    new DecompressionStream(format as CompressionFormat),
  );
  return await new Response(stream).text();
}

// ---- Basics -----------------------------------------------------------------------------------

test("static: index.html, types, validators, nosniff, no surprise Cache-Control", async () => {
  const { response, text } = await fetchDir("/");
  assert.equal(response.status, 200);
  assert.equal(text, "<h1>home</h1>\n");
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(response.headers.get("content-length"), "14");
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  assert.equal(response.headers.get("accept-ranges"), "bytes");
  assert.match(response.headers.get("etag")!, /^"[^"]+"$/, "a strong ETag");
  assert.ok(Date.parse(response.headers.get("last-modified")!) > 0);
  assert.equal(response.headers.get("cache-control"), null);
  const unknown = await fetchDir("/big.bin");
  assert.equal(unknown.response.headers.get("content-type"), "application/octet-stream");
  assert.equal(unknown.response.headers.get("vary"), null, "not compressible, no Vary");
});

test("static: HEAD has GET's headers and no body", async () => {
  for (const path of ["/digits.txt", "/big.bin", "/", "/sub/"]) {
    const head = await fetchDir(path, {}, opts, "HEAD");
    const full = await fetchDir(path);
    assert.equal(head.body.length, 0, path);
    assert.equal(head.response.headers.get("content-length"), String(full.body.length), path);
    for (const name of ["content-type", "etag", "last-modified", "accept-ranges", "vary"]) {
      assert.equal(head.response.headers.get(name), full.response.headers.get(name), name);
    }
  }
});

test("static: a directory without its slash gets 301 to a relative Location, query kept", async () => {
  const cases: [string, ServeDirOptions, string][] = [
    ["/sub?x=1&y=2", opts, "./sub/?x=1&y=2"],
    ["/sub/deeper", opts, "./deeper/"],
    ["/app", opts, "./app/"],
    ["//sub", opts, "./sub/"],
    ["/static", { ...opts, urlRoot: "static" }, "./static/"],
    ["/static/sub", { ...opts, urlRoot: "/static/" }, "./sub/"],
  ];
  for (const [path, options, location] of cases) {
    const { response } = await fetchDir(path, {}, options);
    assert.equal(response.status, 301, path);
    assert.equal(response.headers.get("location"), location, path);
  }
  // "//evil.example/sub" names the path "/evil.example/sub" here, and no such directory exists;
  // whatever the path, Location is "./name/", which stays on this site.
  const evil = await fetchDir("//evil.example/sub");
  assert.equal(evil.response.status, 404);
  assert.equal(evil.response.headers.get("location"), null);
});

test("static: methods other than GET, HEAD, OPTIONS get 405 with Allow", async () => {
  for (const method of ["POST", "PUT", "DELETE", "PATCH", "PROPFIND"]) {
    const { response } = await fetchDir("/digits.txt", {}, opts, method);
    assert.equal(response.status, 405, method);
    assert.equal(response.headers.get("allow"), "GET, HEAD, OPTIONS");
  }
  const options = await fetchDir("/digits.txt", {}, opts, "OPTIONS");
  assert.equal(options.response.status, 204);
  assert.equal(options.response.headers.get("allow"), "GET, HEAD, OPTIONS");
});

test("static: errors a person can read, never a throw", async () => {
  const cases: [string, number][] = [
    ["/nope.txt", 404],
    ["/digits.txt/under-a-file", 404], // ENOTDIR
    ["/loop", 404], // ELOOP
    [`/${"a".repeat(300)}`, 404], // ENAMETOOLONG
    ["/%zz", 400],
  ];
  for (const [path, status] of cases) {
    const { response, text } = await fetchDir(path);
    assert.equal(response.status, status, path);
    assert.equal(response.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.match(text, new RegExp(`^${status} `));
  }
  // A root that does not exist is a 404 too, not an exception.
  const { response } = await fetchDir("/", {}, { fsRoot: `${base}/no-such-root` });
  assert.equal(response.status, 404);
});

// ---- Safety -----------------------------------------------------------------------------------

/** Every path must answer 400 or 404 with no byte of the secret next to the root. */
const TRAVERSAL = [
  "/../secret.txt",
  "/..%2fsecret.txt",
  "/%2e%2e/secret.txt",
  "/%2e%2e%2fsecret.txt",
  "/sub/../../secret.txt",
  "/sub/%2e%2e/%2e%2e/secret.txt",
  "/sub%2f..%2f..%2fsecret.txt",
  "/sub/..%2f..%2fsecret.txt",
  "/..%5csecret.txt",
  "/%5c..%5csecret.txt",
  "/%5C..%5C..%5Csecret.txt",
  "/sub\\..\\..\\secret.txt",
  "/%2e%2e%5csecret.txt",
  "/%252e%252e/secret.txt",
  "/..%252fsecret.txt",
  "/%00/secret.txt",
  "/digits.txt%00.html",
  "/sub/..%00/secret.txt",
  "/%",
  "/%zz",
  "/%c0%ae%c0%ae/secret.txt",
  "/%c0%af..%c0%afsecret.txt",
  "/C:/secret.txt",
  "/c:%5csecret.txt",
  "/C%3A%5Csecret.txt",
  `/${base}/secret.txt`,
  `//${base.slice(1)}/secret.txt`,
  `/%2f${base.slice(1).replaceAll("/", "%2f")}%2fsecret.txt`,
  "/%2fetc%2fpasswd",
  "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc/passwd",
  "/sub/.%2e/.%2e/secret.txt",
  "/sub/%2E%2E/%2E%2E/secret.txt",
  "/./../secret.txt",
  "/..;/secret.txt",
  "/escape.txt",
  "/escape-dir/secret.txt",
  "/escape-dir/",
  "/trap/index.html",
  "/env-link.txt",
  "/.env",
  "/.git/config",
  "/.git/",
  "/sub/../.env",
  "/%2eenv",
  "/loop",
];

for (const path of TRAVERSAL) {
  test(`static: traversal ${path} never leaks`, async () => {
    for (const method of ["GET", "HEAD"]) {
      const { response, text } = await fetchDir(path, {}, opts, method);
      assert.ok([400, 404].includes(response.status), `${method} ${path} → ${response.status}`);
      assert.ok(!text.includes(SECRET), "no byte from outside the root");
      assert.ok(!text.includes("PASSWORD") && !text.includes("[core]"), "no dotfile content");
    }
  });
}

test("static: an index.html or a .gz sibling that links out of the root is not served", async () => {
  const trap = await fetchDir("/trap/");
  assert.equal(trap.response.status, 200, "a listing instead");
  assert.ok(!trap.text.includes(SECRET));
  assert.ok(!trap.text.includes("index.html"), "the link is not listed either");
  const leak = await fetchDir("/leak.js", { "accept-encoding": "gzip" });
  assert.equal(leak.response.headers.get("content-encoding"), null);
  assert.equal(leak.text, "console.log('leak.js');\n");
  const spa = await fetchDir("/nowhere", { accept: "text/html" }, {
    fsRoot: `${root}/trap`,
    spa: true,
  });
  assert.equal(spa.response.status, 404);
  assert.ok(!spa.text.includes(SECRET));
});

test("static: symlinks inside the root are served; outside only with followSymlinks", async () => {
  assert.equal((await fetchDir("/inside-link.txt")).text, "hello world\n");
  const follow = { ...opts, followSymlinks: true };
  assert.equal((await fetchDir("/escape.txt", {}, follow)).text, SECRET);
  assert.equal((await fetchDir("/escape-dir/secret.txt", {}, follow)).text, SECRET);
  // Following links out does not unhide dotfiles: a link to .env is still .env.
  assert.equal((await fetchDir("/env-link.txt", {}, follow)).response.status, 404);
  const both = { ...opts, followSymlinks: true, dotfiles: true };
  assert.equal((await fetchDir("/env-link.txt", {}, both)).text, "PASSWORD=1\n");
});

test("static: a served path later swapped for a link out of the root is refused", async () => {
  // The guard remembers paths it let through; the memory must not outlive the file it named.
  await Deno.mkdir(`${root}/swap/dir`, { recursive: true });
  await Deno.writeTextFile(`${root}/swap/file.txt`, "inside\n");
  await Deno.writeTextFile(`${root}/swap/dir/secret.txt`, "inside too\n");
  try {
    assert.equal((await fetchDir("/swap/file.txt")).text, "inside\n");
    assert.equal((await fetchDir("/swap/dir/secret.txt")).text, "inside too\n");
    await Deno.remove(`${root}/swap/file.txt`);
    await Deno.symlink(`${base}/secret.txt`, `${root}/swap/file.txt`);
    await Deno.remove(`${root}/swap/dir`, { recursive: true });
    await Deno.symlink(`${base}/outside-dir`, `${root}/swap/dir`);
    for (const path of ["/swap/file.txt", "/swap/dir/secret.txt"]) {
      const { response, text } = await fetchDir(path);
      assert.equal(response.status, 404, path);
      assert.ok(!text.includes(SECRET), path);
    }
  } finally {
    await Deno.remove(`${root}/swap`, { recursive: true });
  }
});

test("static: dotfiles and dot-directories only with dotfiles: true", async () => {
  const options = { ...opts, dotfiles: true };
  assert.equal((await fetchDir("/.env", {}, options)).text, "PASSWORD=1\n");
  assert.equal((await fetchDir("/.git/config", {}, options)).text, "[core]\n");
  assert.equal((await fetchDir("/env-link.txt", {}, options)).text, "PASSWORD=1\n");
});

test("static: a path's verdict is kept apart for each urlRoot and dotfiles setting", async () => {
  // serveDir keeps the verdict on each path; asking again, with other options, must not reuse it.
  const hidden = { ...opts, dotfiles: true };
  const rooted = { ...opts, urlRoot: "static" };
  for (let round = 0; round < 2; round++) {
    assert.equal((await fetchDir("/.env", {}, opts)).response.status, 404);
    assert.equal((await fetchDir("/.env", {}, hidden)).text, "PASSWORD=1\n");
    assert.equal((await fetchDir("/sub/hello.txt", {}, rooted)).response.status, 404);
    assert.equal((await fetchDir("/sub/hello.txt", {}, opts)).text, "hello world\n");
    assert.equal((await fetchDir("/static/sub/hello.txt", {}, rooted)).text, "hello world\n");
    assert.equal((await fetchDir("/sub%2fhello.txt", {}, opts)).response.status, 400);
  }
});

test("static: urlRoot is stripped and nothing outside it is served", async () => {
  const options = { ...opts, urlRoot: "static" };
  assert.equal((await fetchDir("/static/sub/hello.txt", {}, options)).text, "hello world\n");
  assert.equal((await fetchDir("/static/", {}, options)).text, "<h1>home</h1>\n");
  assert.equal((await fetchDir("/sub/hello.txt", {}, options)).response.status, 404);
  assert.equal((await fetchDir("/staticx/sub/hello.txt", {}, options)).response.status, 404);
  assert.equal((await fetchDir("/", {}, options)).response.status, 404);
  // A dot in the URL prefix is not a dotfile.
  const wellKnown = { ...opts, urlRoot: ".well-known/files" };
  assert.equal((await fetchDir("/.well-known/files/digits.txt", {}, wellKnown)).text, digits);
});

test("static: percent-encoded names are decoded", async () => {
  assert.equal((await fetchDir("/sub/deeper/a%20b.txt")).text, "spaced\n");
  assert.equal((await fetchDir(`/sub/${encodeURIComponent(hostileName)}`)).text, "x");
  assert.equal((await fetchDir("/%64igits.txt")).text, digits);
});

// ---- Listings ---------------------------------------------------------------------------------

test("static: listings are sorted, escaped, with a parent link; listing: false gives 404", async () => {
  const { response, text } = await fetchDir("/sub/");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(text, /<title>Index of \/sub\/<\/title>/);
  assert.ok(text.indexOf("deeper/") < text.indexOf("hello.txt"), "directories first");
  assert.ok(text.indexOf(encodeURIComponent(hostileName)) < text.indexOf("hello.txt"), "by name");
  assert.ok(text.includes('href="../"'));
  assert.ok(!text.includes("<img"), "names are escaped");
  assert.ok(text.includes("&#60;img src=x onerror=alert(1)&#62;.txt"));
  assert.ok(text.includes(`href="${encodeURIComponent(hostileName)}"`), "hrefs are encoded");
  assert.match(text, /hello\.txt<\/a><\/td><td>12 B<\/td><td>\d{4}-\d\d-\d\d \d\d:\d\d</);

  const empty = await fetchDir("/empty/");
  assert.equal(empty.response.status, 200);
  const off = await fetchDir("/sub/", {}, { ...opts, listing: false });
  assert.equal(off.response.status, 404);
  const prefixed = await fetchDir("/files/sub/", {}, { ...opts, urlRoot: "files" });
  assert.match(prefixed.text, /Index of \/files\/sub\//);
  const top = await fetchDir("/files/empty/", {}, { ...opts, urlRoot: "files" });
  assert.ok(top.text.includes('href="../"'));
});

test("static: the root listing leaves out dotfiles and links out of the root", async () => {
  const options = { fsRoot: root, listing: true };
  await Deno.rename(`${root}/index.html`, `${root}/index.html.off`);
  try {
    const { text } = await fetchDir("/", {}, options);
    assert.ok(!text.includes('href="../"'), "no parent above the root");
    for (const hidden of [".env", ".git", "escape.txt", "escape-dir", "env-link.txt"]) {
      assert.ok(!text.includes(`>${hidden}`), `${hidden} is not listed`);
    }
    for (const shown of ["digits.txt", "sub/", "inside-link.txt"]) {
      assert.ok(text.includes(`>${shown}`), `${shown} is listed`);
    }
    const all = await fetchDir("/", {}, { ...options, dotfiles: true, followSymlinks: true });
    for (const name of [".env", ".git/", "escape.txt", "escape-dir/", "env-link.txt"]) {
      assert.ok(all.text.includes(`>${name}<`), `${name} is listed when allowed`);
    }
  } finally {
    await Deno.rename(`${root}/index.html.off`, `${root}/index.html`);
  }
});

// ---- Conditional requests (RFC 9110 §13) ------------------------------------------------------

/** The same instant in the three HTTP-date formats of RFC 9110 §5.6.7. */
function httpDates(date: Date): string[] {
  const days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const imf = date.toUTCString();
  const [, dd, mon, yyyy, time] = imf.split(" ");
  const rfc850 = `${days[date.getUTCDay()]}, ${dd}-${mon}-${yyyy.slice(2)} ${time} GMT`;
  const asctime = `${imf.slice(0, 3)} ${mon} ${
    String(date.getUTCDate()).padStart(2)
  } ${time} ${yyyy}`;
  return [imf, rfc850, asctime];
}

test("static: conditional requests, in the order of §13.2.2", async () => {
  const first = await fetchDir("/digits.txt");
  const etag = first.response.headers.get("etag")!;
  const lastModified = first.response.headers.get("last-modified")!;
  const later = new Date(Date.parse(lastModified) + 60_000).toUTCString();
  const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
  const [, rfc850, asctime] = httpDates(new Date(Date.parse(lastModified)));
  const cases: [HeadersInit, number][] = [
    [{ "if-none-match": etag }, 304],
    [{ "if-none-match": `W/${etag}` }, 304], // weak comparison for If-None-Match
    [{ "if-none-match": `"other", ${etag}` }, 304],
    [{ "if-none-match": `"other",${etag},"more"` }, 304],
    [{ "if-none-match": "*" }, 304],
    [{ "if-none-match": '"other"' }, 200],
    [{ "if-none-match": etag.slice(1, -1) }, 200], // unquoted is not the tag
    [{ "if-modified-since": lastModified }, 304],
    [{ "if-modified-since": rfc850 }, 304],
    [{ "if-modified-since": asctime }, 304],
    [{ "if-modified-since": later }, 304],
    [{ "if-modified-since": earlier }, 200],
    [{ "if-modified-since": "not a date" }, 200],
    [{ "if-modified-since": "2026-01-01" }, 200], // not an HTTP-date
    // If-None-Match wins over If-Modified-Since (§13.1.3).
    [{ "if-none-match": '"other"', "if-modified-since": later }, 200],
    [{ "if-match": etag }, 200],
    [{ "if-match": `"other", ${etag}` }, 200],
    [{ "if-match": "*" }, 200],
    [{ "if-match": '"other"' }, 412],
    [{ "if-match": `W/${etag}` }, 412], // strong comparison for If-Match
    [{ "if-unmodified-since": earlier }, 412],
    [{ "if-unmodified-since": lastModified }, 200],
    [{ "if-unmodified-since": later }, 200],
    [{ "if-unmodified-since": "garbage" }, 200],
    [{ "if-match": etag, "if-unmodified-since": earlier }, 200], // If-Match wins
    [{ "if-match": '"other"', "if-none-match": etag }, 412], // 412 is decided first
    [{ "if-match": etag, "if-none-match": etag }, 304],
  ];
  for (const [headers, status] of cases) {
    for (const method of ["GET", "HEAD"]) {
      const { response, body } = await fetchDir("/digits.txt", headers, opts, method);
      assert.equal(response.status, status, `${method} ${JSON.stringify(headers)}`);
      if (status === 304) {
        assert.equal(body.length, 0);
        assert.equal(response.headers.get("etag"), etag);
        assert.equal(response.headers.get("vary"), "Accept-Encoding");
        assert.equal(response.headers.get("content-type"), null);
      }
    }
  }
});

test("static: etag: false sends no ETag; dates still work; tags never match but *", async () => {
  const options = { ...opts, etag: false };
  const { response } = await fetchDir("/digits.txt", {}, options);
  assert.equal(response.headers.get("etag"), null);
  const lastModified = response.headers.get("last-modified")!;
  const cases: [HeadersInit, number][] = [
    [{ "if-modified-since": lastModified }, 304],
    [{ "if-none-match": '"anything"' }, 200],
    [{ "if-none-match": "*" }, 304],
    [{ "if-match": "*" }, 200],
    [{ "if-match": '"anything"' }, 412],
    [{ range: "bytes=0-1", "if-range": '"anything"' }, 200],
    [{ range: "bytes=0-1", "if-range": lastModified }, 206],
  ];
  for (const [headers, status] of cases) {
    assert.equal((await fetchDir("/digits.txt", headers, options)).response.status, status);
  }
});

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

/** Byte equality without node:assert's diff, which takes minutes on megabytes. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

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

test("static: If-Range decides between the range and the whole file", async () => {
  const { response } = await fetchDir("/digits.txt");
  const etag = response.headers.get("etag")!;
  const lastModified = response.headers.get("last-modified")!;
  const later = new Date(Date.parse(lastModified) + 1000).toUTCString();
  const cases: [string, number][] = [
    [etag, 206],
    ['"old"', 200],
    [`W/${etag}`, 200], // If-Range compares strongly
    [lastModified, 206],
    [httpDates(new Date(Date.parse(lastModified)))[2], 206],
    [later, 200], // a date must match exactly
    ["garbage", 200],
  ];
  for (const [ifRange, status] of cases) {
    const result = await fetchDir("/digits.txt", { range: "bytes=0-1", "if-range": ifRange });
    assert.equal(result.response.status, status, ifRange);
    assert.equal(result.text, status === 206 ? "01" : digits);
  }
});

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

// ---- Big files, bounded memory ----------------------------------------------------------------

test("static: a 64 MiB file streams in bounded chunks; cancelling midway closes it", async () => {
  const size = 64 * 1024 * 1024;
  const path = `${root}/huge.bin`;
  const file = await Deno.open(path, { write: true, create: true });
  await file.truncate(size); // sparse: quick to make
  await file.seek(size - 4, Deno.SeekMode.Start);
  await file.write(new TextEncoder().encode("TAIL"));
  file.close();
  try {
    const response = await serveDir(get("/huge.bin"), opts);
    assert.equal(response.headers.get("content-length"), String(size));
    const reader = response.body!.getReader();
    let total = 0;
    let largest = 0;
    let chunks = 0;
    let last = new Uint8Array();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.length;
      largest = Math.max(largest, value.length);
      chunks++;
      last = value;
    }
    assert.equal(total, size);
    assert.ok(largest <= 256 * 1024, `chunks are bounded (largest ${largest})`);
    assert.ok(chunks >= size / (256 * 1024), `${chunks} chunks`);
    assert.equal(new TextDecoder().decode(last.slice(-4)), "TAIL");

    // Nothing is read ahead of the consumer: pulls happen only on demand.
    const lazy = await serveDir(get("/huge.bin"), opts);
    const lazyReader = lazy.body!.getReader();
    for (let i = 0; i < 3; i++) await lazyReader.read();
    await lazyReader.cancel(); // the resource sanitizer fails the test if the file stays open

    const ranged = await serveDir(get("/huge.bin", { range: `bytes=${size - 10}-` }), opts);
    assert.equal(new TextDecoder().decode(await ranged.arrayBuffer()).slice(-4), "TAIL");
  } finally {
    await Deno.remove(path);
  }
});

test("static: a file removed mid-stream is still served whole; one that shrinks errors the stream", async () => {
  const bytes = big.slice(0, 2 * 1024 * 1024);
  await Deno.writeFile(`${root}/going.bin`, bytes);
  const response = await serveDir(get("/going.bin"), opts);
  await Deno.remove(`${root}/going.bin`); // the open file lives on until closed
  assert.ok(sameBytes(new Uint8Array(await response.arrayBuffer()), bytes));

  await Deno.writeFile(`${root}/shrinking.bin`, bytes);
  try {
    const shrinking = await serveDir(get("/shrinking.bin"), opts);
    assert.equal(shrinking.headers.get("content-length"), String(bytes.length));
    const reader = shrinking.body!.getReader();
    await reader.read();
    await Deno.truncate(`${root}/shrinking.bin`, 100_000);
    // Fewer bytes than Content-Length promised: the stream errors, so the engine cuts the
    // connection instead of sending a short body as if complete. The file is closed.
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) break;
    }, /shrank/);
  } finally {
    await Deno.remove(`${root}/shrinking.bin`);
  }
  // And one that vanished before the request is a plain 404.
  assert.equal((await fetchDir("/going.bin")).response.status, 404);
});

test("static: a file that changes is not served stale from the cache", async () => {
  await Deno.writeTextFile(`${root}/changing.txt`, "one");
  try {
    const first = await fetchDir("/changing.txt");
    assert.equal(first.text, "one");
    await Deno.writeTextFile(`${root}/changing.txt`, "two!");
    const second = await fetchDir("/changing.txt");
    assert.equal(second.text, "two!");
    assert.notEqual(second.response.headers.get("etag"), first.response.headers.get("etag"));
    // Same size, new content, mtime forced back: a new inode still tells them apart.
    const mtime = (await Deno.stat(`${root}/changing.txt`)).mtime!;
    await Deno.writeTextFile(`${root}/changing.tmp`, "3333");
    await Deno.utime(`${root}/changing.tmp`, mtime, mtime);
    await Deno.rename(`${root}/changing.tmp`, `${root}/changing.txt`);
    assert.equal((await fetchDir("/changing.txt")).text, "3333");
  } finally {
    await Deno.remove(`${root}/changing.txt`);
  }
});

test("static: a cached file cannot be changed through the responses it is served in", async () => {
  const path = "/digits.txt";
  // Each way a handler can get at a response's bytes, each writing over what it got.
  const readers: [string, (response: Response) => Promise<Uint8Array>][] = [
    ["bytes()", (response) => response.bytes()],
    ["arrayBuffer()", async (response) => new Uint8Array(await response.arrayBuffer())],
    ["body reader", async (response) => (await response.body!.getReader().read()).value!],
    ["a clone's bytes()", (response) => response.clone().bytes()],
    ["Response(body, response)", (response) => new Response(response.body, response).bytes()],
  ];
  for (const [how, read] of readers) {
    const bytes = await read(await serveDir(get(path), opts));
    assert.equal(new TextDecoder().decode(bytes), digits, how);
    bytes.fill(0x58);
    assert.equal((await fetchDir(path)).text, digits, `after writing over ${how}`);
  }
  // The same through compression on the fly: the compressed bytes are cached too.
  const gzip = { "accept-encoding": "gzip" };
  const compressed = await serveDir(get("/style.css", gzip), opts);
  assert.equal(compressed.headers.get("content-encoding"), "gzip");
  (await compressed.bytes()).fill(0);
  assert.equal(await decompress((await fetchDir("/style.css", gzip)).body, "gzip"), css);
});

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

test("static: a stat made after a request arrived serves it too; one made before never does", async () => {
  const path = `${root}/arrival.txt`;
  await Deno.writeTextFile(path, "one");
  try {
    // What our connection notes on each request: when the read that brought it was started, and
    // the turn of the event loop it was handed over in.
    const arrived = () => {
      const request = get("/arrival.txt");
      noteArrival(request, readDelivered(readStarting()));
      return request;
    };
    assert.equal((await fetchDir("/arrival.txt")).text, "one"); // now cached
    const first = arrived();
    const second = arrived();
    assert.equal(await (await serveDir(first, opts)).text(), "one");
    Deno.writeTextFileSync(path, "two!");
    // `second` arrived before the stat made for `first`, which is as fresh as it needs: the file
    // changed after it arrived. A request that arrives after the change never gets that stat.
    assert.equal(await (await serveDir(second, opts)).text(), "one");
    assert.equal(await (await serveDir(arrived(), opts)).text(), "two!");
    // A request without an arrival (not from our connection) is always looked up afresh.
    Deno.writeTextFileSync(path, "three");
    assert.equal((await fetchDir("/arrival.txt")).text, "three");
  } finally {
    await Deno.remove(path);
  }
});

test("static: the small-file cache counts what it holds and keeps to its budget", async () => {
  const dir = await Deno.makeTempDir({ prefix: "static-cache-" });
  try {
    const options = { fsRoot: dir };
    const style = "p { margin: 0 }\n".repeat(125); // 2,000 bytes, compressible
    await Deno.writeTextFile(`${dir}/a.css`, style);
    const grew = async (path: string, headers: HeadersInit, opts: ServeDirOptions) => {
      const before = smallFileCache().bytes;
      const { response, body } = await fetchDir(path, headers, opts);
      assert.equal(response.status, 200);
      return { grew: smallFileCache().bytes - before, length: body.length };
    };
    const first = await grew("/a.css", {}, options);
    assert.ok(first.grew > style.length, `a new entry counts more than its bytes: ${first.grew}`);
    assert.equal((await grew("/a.css", {}, options)).grew, 0, "a hit adds nothing");
    // Another set of fields is another prepared response, and it is counted.
    const other = await grew("/a.css", {}, { ...options, headers: [["x-a", "1"]] });
    assert.ok(other.grew > 0, "a second template is counted");
    // A compressed form is counted too, bytes and template.
    const gzip = await grew("/a.css", { "accept-encoding": "gzip" }, options);
    assert.ok(gzip.grew > gzip.length, `gzip form: ${gzip.grew} for ${gzip.length} bytes`);

    // Past the budget the least recently used go, and what is evicted is read again when asked.
    const block = new Uint8Array(60 * 1024);
    const files = Math.ceil(smallFileCache().budget / block.length) + 20;
    for (let i = 0; i < files; i++) {
      block[0] = i & 0xff;
      await Deno.writeFile(`${dir}/f${i}.bin`, block);
      await fetchDir(`/f${i}.bin`, {}, options);
      assert.ok(smallFileCache().bytes <= smallFileCache().budget, `after ${i + 1} files`);
    }
    assert.ok(smallFileCache().entries < files);
    const again = await fetchDir("/f0.bin", {}, options);
    assert.equal(again.body.length, block.length);
    assert.equal(again.body[0], 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---- SPA, CORS, headers -----------------------------------------------------------------------

test("static: spa serves index.html with 200 to HTML navigations only", async () => {
  const options = { ...opts, spa: true };
  const navigation = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };
  for (const path of ["/some/client/route", "/users/42?tab=1", "/missing.png", "/digits.txt/x"]) {
    const page = await fetchDir(path, navigation, options);
    assert.equal(page.response.status, 200, path);
    assert.equal(page.text, "<h1>home</h1>\n");
    assert.equal(page.response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(page.response.headers.get("vary")!, /Accept\b/, "the answer depends on Accept");
  }
  const head = await fetchDir("/route", navigation, options, "HEAD");
  assert.equal(head.response.status, 200);
  assert.equal(head.response.headers.get("content-length"), "14");
  // Scripts, images and fetches do not ask for HTML: a missing asset stays 404.
  for (const accept of ["*/*", "image/avif,image/webp,*/*", "application/json"]) {
    const asset = await fetchDir("/missing.js", { accept }, options);
    assert.equal(asset.response.status, 404, accept);
  }
  // Existing files, hidden files and refused paths are not SPA routes.
  assert.equal((await fetchDir("/digits.txt", navigation, options)).text, digits);
  assert.equal((await fetchDir("/.env", navigation, options)).response.status, 404);
  assert.equal((await fetchDir("/%2fetc", navigation, options)).response.status, 400);
  assert.equal((await fetchDir("/route", navigation)).response.status, 404, "off by default");
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

// ---- serveFile --------------------------------------------------------------------------------

test("static: serveFile serves one file with the same machinery", async () => {
  const path = `${root}/digits.txt`;
  const ok = await serveFile(get("/any/url"), path);
  assert.equal(await ok.text(), digits);
  assert.equal(ok.headers.get("content-type"), "text/plain; charset=utf-8");
  const ranged = await serveFile(get("/x", { range: "bytes=-3" }), path);
  assert.equal(ranged.status, 206);
  assert.equal(await ranged.text(), "789");
  const etag = ok.headers.get("etag")!;
  const cached = await serveFile(get("/x", { "if-none-match": etag }), path);
  assert.equal(cached.status, 304);
  const options = await serveFile(get("/x", {}, "OPTIONS"), path);
  assert.equal(options.status, 204);
  assert.equal(options.headers.get("allow"), "GET, HEAD, OPTIONS");
  const headers = await serveFile(get("/x"), path, {
    headers: [["x-served-by", "serveFile"]],
    etag: false,
    cacheControl: "no-cache",
  });
  assert.equal(headers.headers.get("x-served-by"), "serveFile");
  assert.equal(headers.headers.get("etag"), null);
  assert.equal(headers.headers.get("cache-control"), "no-cache");
  await headers.body?.cancel();
  for (
    const [request, target, status] of [
      [get("/x"), `${root}/nope.txt`, 404],
      [get("/x"), `${root}/sub`, 404], // a directory
      [get("/x", {}, "POST"), path, 405],
    ] as const
  ) {
    const response = await serveFile(request, target);
    assert.equal(response.status, status, target);
    await response.body?.cancel();
  }
});

// ---- Permissions ------------------------------------------------------------------------------

test("static: runs with --allow-read=ROOT only; reads it is denied are 403", async () => {
  const script = `${base}/restricted.ts`;
  const staticUrl = new URL("../../lib/static/serve.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { serveDir, serveFile } from ${JSON.stringify(staticUrl)};
const [root, outside] = Deno.args;
const out: Record<string, unknown> = {};
for (const path of ["/", "/digits.txt", "/sub/", "/escape.txt", "/trap/", "/../secret.txt"]) {
  const response = await serveDir(new Request("http://x" + path, { headers: { range: "bytes=0-" } }), { fsRoot: root });
  out[path] = [response.status, (await response.text()).includes(${JSON.stringify(SECRET)})];
}
const denied = await serveFile(new Request("http://x/"), outside);
out.outside = denied.status;
await denied.body?.cancel();
console.log(JSON.stringify(out));
`,
  );
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      `--allow-read=${root}`,
      "--no-prompt",
      script,
      root,
      `${base}/secret.txt`,
    ],
    cwd: base,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const stderr = new TextDecoder().decode(result.stderr);
  assert.equal(result.code, 0, stderr);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(result.stdout)), {
    "/": [206, false],
    "/digits.txt": [206, false],
    "/sub/": [200, false],
    "/escape.txt": [404, false],
    "/trap/": [200, false],
    "/../secret.txt": [404, false],
    outside: 403,
  });
});

// Root reads any file whatever its mode, so the check only means something for other users.
const isRoot = Deno.uid() === 0;
test("static: an unreadable file is 403, never a throw", async () => {
  await Deno.writeTextFile(`${root}/locked.txt`, "x");
  await Deno.chmod(`${root}/locked.txt`, 0o000);
  try {
    const { response } = await fetchDir("/locked.txt");
    assert.equal(response.status, 403);
  } finally {
    await Deno.remove(`${root}/locked.txt`);
  }
}, isRoot);

// Clean up after every test in this file has run.
globalThis.addEventListener("unload", () => {
  Deno.removeSync(base, { recursive: true });
});
