/**
 * Every response serveDir and serveFile make carries its reason phrase as `statusText`, as a
 * response from `fetch` does: a handler or test reading it never sees "". The cached files'
 * prepared responses (cloned from a template by the fast path) included.
 */
import assert from "node:assert/strict";
import { serveDir, serveFile } from "../../lib/static/mod.ts";
import { withStatusText } from "../../lib/static/status.ts";
import { fetchDir, get, opts, root, test } from "./_fixture.ts";

const cases: [string, string, HeadersInit, number, string, string?][] = [
  ["small cached file", "/digits.txt", {}, 200, "OK"],
  ["small cached file again (prepared response)", "/digits.txt", {}, 200, "OK"],
  ["compressed small file", "/style.css", { "accept-encoding": "gzip" }, 200, "OK"],
  ["precompressed sibling", "/app.js", { "accept-encoding": "br" }, 200, "OK"],
  ["big file", "/big.bin", {}, 200, "OK"],
  ["index.html", "/", {}, 200, "OK"],
  ["listing", "/sub/", {}, 200, "OK"],
  ["range", "/digits.txt", { range: "bytes=0-9" }, 206, "Partial Content"],
  ["ranges", "/digits.txt", { range: "bytes=0-1,5-6" }, 206, "Partial Content"],
  ["unsatisfiable range", "/digits.txt", { range: "bytes=5000-" }, 416, "Range Not Satisfiable"],
  ["missing", "/nope.txt", {}, 404, "Not Found"],
  ["dotfile", "/.env", {}, 404, "Not Found"],
  ["directory without slash", "/sub", {}, 301, "Moved Permanently"],
  ["bad path", "/%00", {}, 400, "Bad Request"],
  ["precondition", "/digits.txt", { "if-match": '"nope"' }, 412, "Precondition Failed"],
  ["HEAD", "/digits.txt", {}, 200, "OK", "HEAD"],
  ["HEAD of a listing", "/sub/", {}, 200, "OK", "HEAD"],
  ["OPTIONS", "/digits.txt", {}, 204, "No Content", "OPTIONS"],
  ["POST", "/digits.txt", {}, 405, "Method Not Allowed", "POST"],
];

test("static: every serveDir response has its statusText", async () => {
  for (const [what, path, headers, status, statusText, method] of cases) {
    const { response } = await fetchDir(path, headers, opts, method);
    assert.equal(response.status, status, what);
    assert.equal(response.statusText, statusText, what);
  }
  const etag = (await fetchDir("/digits.txt")).response.headers.get("etag")!;
  const notModified = await fetchDir("/digits.txt", { "if-none-match": etag });
  assert.equal(notModified.response.status, 304);
  assert.equal(notModified.response.statusText, "Not Modified");
  // A cached file's response, cloned: the clone keeps it too.
  const cached = await serveDir(get("/digits.txt"), opts);
  assert.equal(cached.clone().statusText, "OK");
  await cached.body?.cancel();
});

test("static: every serveFile response has its statusText", async () => {
  const table: [string, HeadersInit, number, string, string?][] = [
    [`${root}/digits.txt`, {}, 200, "OK"],
    [`${root}/digits.txt`, { range: "bytes=1-2" }, 206, "Partial Content"],
    [`${root}/big.bin`, {}, 200, "OK"],
    [`${root}/nope.txt`, {}, 404, "Not Found"],
    [`${root}/sub`, {}, 404, "Not Found"],
    [`${root}/digits.txt`, {}, 405, "Method Not Allowed", "DELETE"],
    [`${root}/digits.txt`, {}, 204, "No Content", "OPTIONS"],
  ];
  for (const [path, headers, status, statusText, method] of table) {
    const response = await serveFile(get("/x", headers, method), path);
    await response.body?.cancel();
    assert.equal(response.status, status, path);
    assert.equal(response.statusText, statusText, `${method ?? "GET"} ${path}`);
  }
});

test("static: withStatusText adds the phrase only where it is missing, keeping the rest", async () => {
  const bare = new Response("body", { status: 404, headers: { "x-a": "1" } });
  const fixed = withStatusText(bare);
  assert.equal(fixed.statusText, "Not Found");
  assert.equal(fixed.status, 404);
  assert.equal(fixed.headers.get("x-a"), "1");
  assert.equal(await fixed.text(), "body");
  const own = new Response(null, { status: 404, statusText: "Gone Fishing" });
  assert.equal(withStatusText(own), own);
  const unknown = new Response(null, { status: 299 });
  assert.equal(withStatusText(unknown), unknown);
});
