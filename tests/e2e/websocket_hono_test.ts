/**
 * Hono's `hono/deno` `upgradeWebSocket` through `server.ts --app`, with no change to the app
 * (tests/fixtures/hono_websocket_app.ts): it calls `Deno.upgradeWebSocket`, which our server
 * answers for its own requests, and returns the response through Hono's middleware.
 */
import assert from "node:assert/strict";
import { FIXTURES, spawnServer, within } from "../_spawn.ts";

const APP = `${FIXTURES}hono_websocket_app.ts`;

Deno.test("hono/deno upgradeWebSocket runs unchanged under server.ts --app", async () => {
  const server = await spawnServer(["--host", "127.0.0.1", "--port", "0", "--app", APP, "-q"]);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
    const messages: string[] = [];
    const got = (n: number) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => messages.length >= n ? resolve() : setTimeout(check, 5);
          check();
        }),
        5000,
        `${n} messages`,
      );
    ws.onmessage = (event) => messages.push(event.data);
    await got(1);
    assert.equal(messages[0], "welcome", "onOpen ran after the 101");
    ws.send("hi");
    await got(2);
    assert.equal(messages[1], "echo: hi");
    const closed = new Promise<CloseEvent>((resolve) => ws.onclose = resolve);
    ws.close(4000);
    assert.equal((await within(closed, 5000, "the close")).code, 4000);
    await server.waitFor("stderr", /hono socket closed 4000/);

    const chat = new WebSocket(`ws://127.0.0.1:${server.port}/ws/chat`, ["chat.v1", "x"]);
    await within(new Promise((resolve) => chat.onopen = resolve), 5000, "open");
    assert.equal(chat.protocol, "chat.v1", "Hono asks for the first subprotocol offered");
    const answer = new Promise<string>((resolve) => chat.onmessage = (e) => resolve(e.data));
    chat.send("which?");
    assert.equal(await within(answer, 5000, "the answer"), "protocol chat.v1");
    const chatClosed = new Promise((resolve) => chat.onclose = resolve);
    chat.close();
    await within(chatClosed, 5000, "the close");

    // Hono's logger saw the 101 go by.
    await server.waitFor("stderr", /--> GET \/ws 101/);
    const plain = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(await plain.text(), "hello");
  } finally {
    const result = await server.stop("SIGTERM");
    assert.equal(result.code, 0, result.stderr);
  }
});
