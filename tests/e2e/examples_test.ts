import assert from "node:assert/strict";
import { createApp, PUBLIC_DIR } from "../../examples/static_and_api.ts";
import { createApi as createTodoApi } from "../../examples/json_api.ts";
import { createSseApp } from "../../examples/sse.ts";
import { type ChatLine, createChatApp } from "../../examples/chat.ts";
import { loadApp } from "../../lib/handlers/app.ts";
import { serve, type Server } from "../../lib/mod.ts";
import type { Handler, ServeHandlerInfo } from "../../lib/shared/types.ts";

const info: ServeHandlerInfo = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
  completed: Promise.resolve(),
};

/** Serves `handler` on a free port for the duration of `body`. */
async function withServer(
  handler: Handler,
  body: (base: string, server: Server) => Promise<void>,
): Promise<void> {
  const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await body(`http://127.0.0.1:${server.addr.port}`, server);
  } finally {
    await server.shutdown();
    await server.finished;
  }
}

function json(method: string, body?: string): RequestInit {
  return { method, body, headers: { "content-type": "application/json" } };
}

// --- json_api.ts -----------------------------------------------------------------------------

Deno.test("json_api: create, list, get, update, patch and delete a todo", async () => {
  const api = createTodoApi();
  const call = (path: string, init?: RequestInit) =>
    api.fetch(new Request(`http://localhost${path}`, init), info);

  assert.deepEqual(await (await call("/todos")).json(), []);

  const created = await call("/todos", json("POST", '{"title":"milk"}'));
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("location"), "/todos/1");
  assert.deepEqual(await created.json(), { id: 1, title: "milk", done: false });
  await (await call("/todos", json("POST", '{"title":"eggs","done":true}'))).body?.cancel();

  const one = await call("/todos/1");
  assert.match(one.headers.get("content-type")!, /^application\/json/);
  assert.deepEqual(await one.json(), { id: 1, title: "milk", done: false });

  const put = await call("/todos/1", json("PUT", '{"title":"oat milk"}'));
  assert.deepEqual(await put.json(), { id: 1, title: "oat milk", done: false });
  const patched = await call("/todos/1", json("PATCH", '{"done":true}'));
  assert.deepEqual(await patched.json(), { id: 1, title: "oat milk", done: true });
  assert.equal((await (await call("/todos")).json()).length, 2);

  const deleted = await call("/todos/1", { method: "DELETE" });
  assert.equal(deleted.status, 204);
  assert.equal(deleted.body, null);
  const gone = await call("/todos/1");
  assert.equal(gone.status, 404);
  assert.deepEqual(await gone.json(), { error: "no todo with id 1" });
});

Deno.test("json_api: 400 for invalid JSON or fields, 404 and 405 for the wrong place", async () => {
  const api = createTodoApi();
  const call = async (path: string, init?: RequestInit) => {
    const response = await api.fetch(new Request(`http://localhost${path}`, init), info);
    return { status: response.status, body: await response.json().catch(() => null) };
  };
  assert.deepEqual(await call("/todos", json("POST", "{not json")), {
    status: 400,
    body: { error: "the body is not valid JSON" },
  });
  assert.equal((await call("/todos", json("POST", "[1]"))).status, 400);
  assert.equal((await call("/todos", json("POST", "{}"))).body.error, "title is required");
  assert.equal((await call("/todos", json("POST", '{"title":""}'))).status, 400);
  assert.equal((await call("/todos", json("POST", '{"title":"x","done":"yes"}'))).status, 400);
  assert.equal((await call("/todos/9", json("PATCH", "{}"))).status, 404);
  assert.equal((await call("/todos/abc")).status, 404, ":id is digits only");
  assert.deepEqual(await call("/nothing"), { status: 404, body: { error: "no such resource" } });
  assert.equal((await call("/todos", { method: "DELETE" })).status, 405);
});

Deno.test("json_api over a real socket", async () => {
  await withServer(createTodoApi().fetch, async (base) => {
    const signal = AbortSignal.timeout(5000);
    const created = await fetch(`${base}/todos`, { ...json("POST", '{"title":"x"}'), signal });
    assert.equal(created.status, 201);
    const location = created.headers.get("location")!;
    await created.body?.cancel();
    const fetched = await fetch(new URL(location, base), { signal });
    assert.deepEqual(await fetched.json(), { id: 1, title: "x", done: false });
    const bad = await fetch(`${base}/todos`, { ...json("POST", "{"), signal });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
  });
});

// --- sse.ts ----------------------------------------------------------------------------------

Deno.test("sse: events stream in order, and cancelling the body stops the timer", async () => {
  const logs: string[] = [];
  const app = createSseApp({ intervalMs: 5, log: (m) => logs.push(m) });

  const page = await app.fetch(new Request("http://localhost/"), info);
  assert.match(await page.text(), /new EventSource\("\/events"\)/);

  const response = await app.fetch(new Request("http://localhost/events"), info);
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assert.equal(response.headers.get("cache-control"), "no-cache");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while ((text.match(/event: tick/g) ?? []).length < 3) text += (await reader.read()).value;
  assert.match(text, /^retry: 1000\n\nid: 1\nevent: tick\ndata: \{"n":1,/);
  assert.match(text, /id: 3\nevent: tick\ndata: \{"n":3,/);

  await reader.cancel();
  assert.deepEqual(logs, ["sse: client disconnected after 3 events; timer stopped"]);
});

Deno.test("sse: a client hanging up cancels the stream through the engine", async () => {
  const { promise: disconnected, resolve } = Promise.withResolvers<string>();
  const app = createSseApp({ intervalMs: 10, log: resolve });
  // An emergency stop, so that if the engine never cancels the body the test still ends.
  const stop = new AbortController();
  const handler: Handler = async (request, info) => {
    const response = await app.fetch(request, info);
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    response.body!.pipeTo(writable, { signal: stop.signal }).catch(() => {});
    return new Response(readable, response);
  };
  await withServer(handler, async (_base, server) => {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(new TextEncoder().encode("GET /events HTTP/1.1\r\nHost: a\r\n\r\n"));
      const reader = conn.readable.getReader();
      let text = "";
      while (!text.includes("id: 2\n")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      assert.match(text, /^HTTP\/1\.1 200 /);
      assert.match(text, /content-type: text\/event-stream/i);
      reader.releaseLock();
      conn.close();

      let timeout: ReturnType<typeof setTimeout> | undefined;
      const message = await Promise.race([
        disconnected,
        new Promise<string>((_, reject) => {
          timeout = setTimeout(
            () => reject(new Error("the engine never cancelled the body")),
            3000,
          );
        }),
      ]).finally(() => clearTimeout(timeout));
      assert.match(message, /^sse: client disconnected after \d+ events; timer stopped$/);
    } finally {
      stop.abort();
    }
  });
});

// --- app.ts ----------------------------------------------------------------------------------

Deno.test("app: the --app example loads through loadApp and answers over a socket", async () => {
  const handler = await loadApp(new URL("../../examples/app.ts", import.meta.url).href);
  await withServer(handler, async (base) => {
    const response = await fetch(`${base}/hello/Ada`, { signal: AbortSignal.timeout(5000) });
    assert.equal(await response.text(), "Hello, Ada! (from 127.0.0.1)\n");
  });
});

// --- static_and_api.ts -----------------------------------------------------------------------

Deno.test({
  name: "static_and_api: files from serveDir at /, the API under /api",
  async fn() {
    await withServer(createApp(PUBLIC_DIR).fetch, async (base) => {
      const get = (path: string, init: RequestInit = {}) =>
        fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(5000) });

      const index = await get("/");
      assert.equal(index.status, 200);
      assert.match(index.headers.get("content-type")!, /^text\/html/);
      assert.match(await index.text(), /Static files and an API/);
      const css = await get("/style.css");
      assert.match(css.headers.get("content-type")!, /^text\/css/);
      await css.body?.cancel();

      const time = await (await get("/api/time")).json();
      assert.ok(!Number.isNaN(Date.parse(time.time)));
      assert.deepEqual(await (await get("/api/hello/Ada")).json(), { hello: "Ada" });
      const echo = await get("/api/echo", { method: "POST", body: "hi there" });
      assert.equal(await echo.text(), "hi there");

      const noEndpoint = await get("/api/nope");
      assert.equal(noEndpoint.status, 404);
      assert.deepEqual(await noEndpoint.json(), { error: "no such endpoint" });
      const noFile = await get("/missing.txt");
      assert.equal(noFile.status, 404);
      await noFile.body?.cancel();
    });
  },
});

// --- chat.ts ---------------------------------------------------------------------------------

Deno.test("chat: messages reach everyone in the room; a newcomer gets the history", async () => {
  await withServer(createChatApp({ history: 10 }).fetch, async (base) => {
    const page = await fetch(`${base}/`, { signal: AbortSignal.timeout(5000) });
    assert.match(await page.text(), /new WebSocket/);
    const ws = base.replace("http", "ws");
    const join = async (name: string) => {
      const socket = new WebSocket(`${ws}/ws?name=${name}`);
      const lines: ChatLine[] = [];
      socket.onmessage = (event) => lines.push(JSON.parse(event.data));
      await new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = reject;
      });
      return { socket, lines };
    };
    const seen = async (lines: ChatLine[], n: number) => {
      const deadline = Date.now() + 5000;
      while (lines.length < n && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(lines.length >= n, `${n} lines, got ${JSON.stringify(lines)}`);
    };
    const ada = await join("ada");
    await seen(ada.lines, 1);
    const bob = await join("bob");
    await seen(ada.lines, 2);
    bob.socket.send("hello, ada");
    await seen(ada.lines, 3);
    await seen(bob.lines, 3); // ada's join (history), his own join, his message
    const summary = (lines: ChatLine[]) => lines.map((l) => `${l.kind} ${l.from} ${l.text}`.trim());
    assert.deepEqual(summary(ada.lines), ["join ada", "join bob", "message bob hello, ada"]);
    assert.deepEqual(summary(bob.lines), ["join ada", "join bob", "message bob hello, ada"]);
    const gone = new Promise((resolve) => bob.socket.onclose = resolve);
    bob.socket.close();
    await gone;
    await seen(ada.lines, 4);
    assert.equal(summary(ada.lines)[3], "leave bob");
    const closed = new Promise((resolve) => ada.socket.onclose = resolve);
    ada.socket.close();
    await closed;

    const plain = await fetch(`${base}/ws`, { signal: AbortSignal.timeout(5000) });
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
  });
});
