/**
 * serveDir and serveFile put together, with plain `Request`s on the shared fixture tree
 * (_fixture.ts): index, types and validators, HEAD, redirects, methods, errors, big files in
 * bounded memory, SPA, serveFile, permissions. Each piece has its own file beside this one.
 */
import assert from "node:assert/strict";
import { serveDir, type ServeDirOptions, serveFile } from "../../lib/static/mod.ts";
import {
  base,
  big,
  digits,
  fetchDir,
  get,
  opts,
  root,
  sameBytes,
  SECRET,
  test,
} from "./_fixture.ts";

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
