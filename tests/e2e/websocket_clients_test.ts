/**
 * Real WebSocket clients against our server, whose handler is written for `Deno.serve`
 * (`Deno.upgradeWebSocket`): Deno's own `WebSocket`, npm `ws`, Debian's python3-websockets
 * (10.4, run with /usr/bin/python3) and headless Chromium (a page from our server). Each echoes
 * text and a 1 MiB binary message and closes with codes both ways; those that can also send
 * fragmented messages and pings; with permessage-deflate and without (`?compression=0` turns it
 * off on the server). A client that is not installed is skipped with a printed reason.
 */

import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import WebSocketClient from "ws";
import { serve, type Server } from "../../lib/mod.ts";

const PYTHON = "/usr/bin/python3";
const MIB = 1024 * 1024;

function which(names: string[]): string | undefined {
  return names.find((name) => {
    try {
      return new Deno.Command("which", { args: [name], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  });
}

const chromium = which(["chromium", "chromium-browser", "google-chrome"]);
if (!chromium) console.log("websocket_clients_test: Chromium skipped: no chromium on PATH");
const python = (() => {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import websockets"], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!python) {
  console.log("websocket_clients_test: python skipped: no python3-websockets for /usr/bin/python3");
}

/** What the server's sockets saw when they closed. */
interface Closed {
  code: number;
  reason: string;
  wasClean: boolean;
}

/** The echo server: the handler an app for Deno.serve would have. */
function echoServer(
  onReport?: (report: Record<string, unknown>) => void,
): { server: Server; closes: Closed[]; extensions: string[] } {
  const closes: Closed[] = [];
  const extensions: string[] = [];
  const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/report") {
      onReport?.(await request.json());
      return new Response(null, { status: 204 });
    }
    if (request.headers.get("upgrade") !== "websocket") {
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    const compression = url.searchParams.get("compression") !== "0";
    const { socket, response } = Deno.upgradeWebSocket(request, { compression } as never);
    socket.onopen = () => extensions.push(socket.extensions);
    socket.onmessage = (event) => {
      if (event.data === "server-close") socket.close(4001, "server bye");
      else socket.send(event.data);
    };
    socket.onclose = (e) => closes.push({ code: e.code, reason: e.reason, wasClean: e.wasClean });
    return response;
  });
  return { server, closes, extensions };
}

async function withEcho(
  body: (port: number, closes: Closed[], extensions: string[]) => Promise<void>,
): Promise<void> {
  const { server, closes, extensions } = echoServer();
  try {
    await body(server.addr.port, closes, extensions);
  } finally {
    await server.shutdown();
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** 1 MiB of a pattern a client can check. */
function big(): Uint8Array {
  const bytes = new Uint8Array(MIB);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 10)) & 0xff;
  return bytes;
}

// ---- Deno's WebSocket --------------------------------------------------------------------------

Deno.test("clients: Deno's WebSocket echoes text and 1 MiB, closes with codes both ways", async () => {
  await withEcho(async (port, closes, extensions) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`);
    ws.binaryType = "arraybuffer";
    const messages: unknown[] = [];
    const next = () =>
      within(
        new Promise<unknown>((resolve) => {
          const wait = () => messages.length ? resolve(messages.shift()) : setTimeout(wait, 2);
          wait();
        }),
        5000,
        "an echo",
      );
    ws.onmessage = (event) => messages.push(event.data);
    await within(new Promise((resolve) => ws.onopen = resolve), 5000, "open");
    ws.send("héllo ✓");
    assert.equal(await next(), "héllo ✓");
    const payload = big();
    ws.send(payload);
    assert.deepEqual(new Uint8Array((await next()) as ArrayBuffer), payload);
    const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
    ws.close(4000, "client bye");
    const event = await within(closed, 5000, "the close");
    assert.equal(event.code, 4000);
    await until(() => closes.length === 1, "the server's close event");
    assert.deepEqual(closes[0], { code: 4000, reason: "client bye", wasClean: true });
    assert.deepEqual(extensions, [""], "Deno's client does not offer permessage-deflate");

    const second = new WebSocket(`ws://127.0.0.1:${port}/echo`);
    await within(new Promise((resolve) => second.onopen = resolve), 5000, "open");
    const serverClosed = new Promise<CloseEvent>((resolve) => second.onclose = resolve);
    second.send("server-close");
    const byServer = await within(serverClosed, 5000, "the server's close");
    assert.equal(byServer.code, 4001);
    assert.equal(byServer.reason, "server bye");
  });
});

// ---- npm ws ------------------------------------------------------------------------------------

for (const deflate of [true, false]) {
  Deno.test(`clients: npm ws ${deflate ? "with" : "without"} permessage-deflate: echo, fragments, ping, close codes`, async () => {
    await withEcho(async (port, closes) => {
      const ws = new WebSocketClient(`ws://127.0.0.1:${port}/echo`, {
        perMessageDeflate: deflate,
      });
      const messages: { data: Buffer; binary: boolean }[] = [];
      ws.on("message", (data: Buffer, binary: boolean) => messages.push({ data, binary }));
      const next = async () => {
        await until(() => messages.length > 0, "an echo");
        return messages.shift()!;
      };
      await within(new Promise((resolve) => ws.once("open", resolve)), 5000, "open");
      assert.equal(ws.extensions, deflate ? "permessage-deflate" : "");
      ws.send("héllo ✓");
      const text = await next();
      assert.equal(text.binary, false);
      assert.equal(text.data.toString(), "héllo ✓");
      const payload = big();
      ws.send(payload);
      assert.deepEqual(new Uint8Array((await next()).data), payload);
      // A fragmented message: three frames, one message back.
      ws.send("frag", { fin: false });
      ws.send("men", { fin: false });
      ws.send("ted", { fin: true });
      assert.equal((await next()).data.toString(), "fragmented");
      const pong = new Promise<Buffer>((resolve) => ws.once("pong", resolve));
      ws.ping("are you there");
      assert.equal((await within(pong, 5000, "the pong")).toString(), "are you there");
      const closed = new Promise<number>((resolve) => ws.once("close", resolve));
      ws.close(4000, "client bye");
      assert.equal(await within(closed, 5000, "the close"), 4000);
      await until(() => closes.length === 1, "the server's close event");
      assert.deepEqual(closes[0], { code: 4000, reason: "client bye", wasClean: true });
    });
  });
}

Deno.test("clients: npm ws sees the server's close code and compression off when the server says so", async () => {
  await withEcho(async (port) => {
    const ws = new WebSocketClient(`ws://127.0.0.1:${port}/echo?compression=0`);
    await within(new Promise((resolve) => ws.once("open", resolve)), 5000, "open");
    assert.equal(ws.extensions, "");
    const closed = new Promise<[number, Buffer]>((resolve) =>
      ws.once("close", (code: number, reason: Buffer) => resolve([code, reason]))
    );
    ws.send("server-close");
    const [code, reason] = await within(closed, 5000, "the close");
    assert.equal(code, 4001);
    assert.equal(reason.toString(), "server bye");
  });
});

// ---- python3-websockets ------------------------------------------------------------------------

const PYTHON_CLIENT = `
import asyncio, json, sys
import websockets

async def main(url, compression):
    out = {}
    async with websockets.connect(url, compression=compression, max_size=None) as ws:
        out["extensions"] = [type(e).__name__ for e in ws.extensions]
        await ws.send("héllo ✓")
        out["text"] = await ws.recv()
        payload = bytes((i * 7 + (i >> 10)) & 0xff for i in range(1 << 20))
        await ws.send(payload)
        out["binary_ok"] = (await ws.recv()) == payload
        await ws.send(["frag", "men", "ted"])
        out["fragmented"] = await ws.recv()
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, 5)
        out["pong"] = True
        await ws.close(4000, "client bye")
        out["close_code"] = ws.close_code
    async with websockets.connect(url, compression=compression) as ws:
        await ws.send("server-close")
        try:
            await ws.recv()
        except websockets.ConnectionClosed as e:
            out["server_close"] = [e.rcvd.code, e.rcvd.reason]
    print(json.dumps(out))

asyncio.run(asyncio.wait_for(main(sys.argv[1], None if sys.argv[2] == "none" else "deflate"), 20))
`;

for (const compression of ["deflate", "none"]) {
  Deno.test({
    name: `clients: python3-websockets with compression=${compression}`,
    ignore: !python,
    async fn() {
      await withEcho(async (port, closes) => {
        const child = new Deno.Command(PYTHON, {
          args: ["-c", PYTHON_CLIENT, `ws://127.0.0.1:${port}/echo`, compression],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const timer = setTimeout(() => child.kill("SIGKILL"), 25_000);
        const { success, stdout, stderr } = await child.output().finally(() => clearTimeout(timer));
        assert.ok(success, new TextDecoder().decode(stderr));
        const out = JSON.parse(new TextDecoder().decode(stdout));
        assert.deepEqual(out, {
          extensions: compression === "deflate" ? ["PerMessageDeflate"] : [],
          text: "héllo ✓",
          binary_ok: true,
          fragmented: "fragmented",
          pong: true,
          close_code: 4000,
          server_close: [4001, "server bye"],
        });
        await until(() => closes.length === 2, "the server's close events");
        assert.deepEqual(closes[0], { code: 4000, reason: "client bye", wasClean: true });
      });
    },
  });
}

// ---- Chromium ----------------------------------------------------------------------------------

const PAGE = `<!DOCTYPE html><meta charset="utf-8"><script type="module">
const report = (data) => fetch("/report", { method: "POST", body: JSON.stringify(data) });
const open = (query) => new Promise((resolve, reject) => {
  const ws = new WebSocket(\`ws://\${location.host}/echo\${query}\`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => resolve(ws);
  ws.onerror = () => reject(new Error("error on " + query));
});
const next = (ws) => new Promise((resolve) => ws.onmessage = (e) => resolve(e.data));
async function run(query) {
  const ws = await open(query);
  const out = { extensions: ws.extensions };
  ws.send("héllo ✓");
  out.text = await next(ws);
  const payload = new Uint8Array(1 << 20);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 10)) & 0xff;
  ws.send(payload);
  const back = new Uint8Array(await next(ws));
  out.binaryOk = back.length === payload.length && back.every((b, i) => b === payload[i]);
  const closed = new Promise((resolve) => ws.onclose = (e) => resolve([e.code, e.reason, e.wasClean]));
  ws.close(4000, "client bye");
  out.clientClose = await closed;
  const second = await open(query);
  const byServer = new Promise((resolve) => second.onclose = (e) => resolve([e.code, e.reason]));
  second.send("server-close");
  out.serverClose = await byServer;
  return out;
}
Promise.all([run(""), run("?compression=0")]).then(
  ([on, off]) => report({ on, off }),
  (error) => report({ error: String(error) }),
);
</script>`;

Deno.test({
  name: "clients: headless Chromium, with and without permessage-deflate",
  ignore: !chromium,
  sanitizeResources: false, // Chromium's own sockets to us may outlive the page
  sanitizeOps: false,
  async fn() {
    const { promise: reported, resolve } = Promise.withResolvers<Record<string, unknown>>();
    const { server, closes } = echoServer(resolve);
    const profile = await Deno.makeTempDir({ prefix: "ws-browser-profile-" });
    const browser = new Deno.Command(chromium!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        `--user-data-dir=${profile}`,
        `http://127.0.0.1:${server.addr.port}/`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const timer = setTimeout(() => resolve({ error: "no report within 30 s" }), 30_000);
    try {
      const result = await reported;
      assert.equal(result.error, undefined, String(result.error));
      const expected = (extensions: string) => ({
        extensions,
        text: "héllo ✓",
        binaryOk: true,
        clientClose: [4000, "client bye", true],
        serverClose: [4001, "server bye"],
      });
      assert.deepEqual(
        result.on,
        expected("permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
      );
      assert.deepEqual(result.off, expected(""));
      await until(() => closes.length >= 4, "the server's close events");
      assert.ok(closes.some((c) => c.code === 4000 && c.wasClean));
    } finally {
      clearTimeout(timer);
      browser.kill("SIGKILL");
      await browser.status;
      await server.shutdown();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
