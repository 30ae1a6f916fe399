import assert from "node:assert/strict";
import { demoSite } from "../../lib/cli/demo.ts";
import { serve } from "../../lib/mod.ts";
import type { ServeHandlerInfo } from "../../lib/shared/types.ts";

const info: ServeHandlerInfo = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
  completed: Promise.resolve(),
};
const site = demoSite();

async function get(path: string, method = "GET") {
  const response = await site.fetch(new Request(`http://localhost${path}`, { method }), info);
  return { response, text: await response.text() };
}

Deno.test("demo site: / says hello and links to /about", async () => {
  const { response, text } = await get("/");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(text, /<h1>Hello from my Deno server!<\/h1>/);
  assert.match(text, /<a href="\/about">\/about<\/a>/);
});

Deno.test("demo site: /about says how the server is built", async () => {
  const { response, text } = await get("/about");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(text, /About This Server/);
  assert.match(text, /raw TCP/);
  assert.match(text, /HTTP\/1\.1 parser/);
});

Deno.test("demo site: anything else is an HTML 404 page", async () => {
  for (const path of ["/missing", "/about/", "/index.html", "/a/b/c"]) {
    const { response, text } = await get(path);
    assert.equal(response.status, 404, path);
    assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(text, /404 - Page Not Found/);
  }
});

Deno.test("demo site: HEAD keeps the headers without a body; POST is 405", async () => {
  const head = await get("/", "HEAD");
  assert.equal(head.response.status, 200);
  assert.equal(head.response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(head.text, "");
  const post = await get("/about", "POST");
  assert.equal(post.response.status, 405);
  assert.equal(post.response.headers.get("allow"), "GET, HEAD, OPTIONS");
});

Deno.test("demo site over a real socket", async () => {
  const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, site.fetch);
  try {
    const base = `http://127.0.0.1:${server.addr.port}`;
    const home = await fetch(`${base}/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(home.status, 200);
    assert.match(await home.text(), /Hello/);
    const missing = await fetch(`${base}/nope`, { signal: AbortSignal.timeout(5000) });
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /404 - Page Not Found/);
  } finally {
    await server.shutdown();
    await server.finished;
  }
});
