/**
 * SIGTERM with WebSockets open: every socket gets close 1001 ("going away") and the process
 * exits 0 once they have answered; one that never answers is cut when the grace period ends.
 */
import assert from "node:assert/strict";
import { FIXTURES, spawnServer, within } from "../_spawn.ts";
import { closeBody, frame, RawSocket } from "../engine/_websocket.ts";
import { Opcode } from "../../lib/ws/mod.ts";

const APP = `${FIXTURES}hono_websocket_app.ts`;

Deno.test("SIGTERM closes open WebSockets with 1001 and exits 0", async () => {
  const server = await spawnServer(["--host", "127.0.0.1", "--port", "0", "--app", APP, "-q"]);
  const sockets: WebSocket[] = [];
  try {
    const closes: Promise<CloseEvent>[] = [];
    for (let i = 0; i < 3; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
      await within(new Promise((resolve) => ws.onmessage = resolve), 5000, "welcome");
      closes.push(new Promise((resolve) => ws.onclose = resolve));
      sockets.push(ws);
    }
    server.kill("SIGTERM");
    for (const closed of closes) {
      const event = await within(closed, 5000, "the close");
      assert.equal(event.code, 1001);
      assert.equal(event.reason, "going away");
    }
    const result = await server.wait(10_000);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.match(/hono socket closed 1001/g)?.length, 3);
  } finally {
    server.kill("SIGKILL");
    await server.wait().catch(() => {});
  }
});

Deno.test("SIGTERM: a WebSocket that never answers the close is cut at the grace period", async () => {
  const server = await spawnServer([
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--app",
    APP,
    "-q",
    "--grace-period",
    "0.5",
  ]);
  let raw: RawSocket | null = null;
  try {
    const opened = await RawSocket.open(server.port);
    raw = opened.socket;
    assert.equal(opened.status, 101);
    assert.equal((await raw.readFrame())?.opcode, Opcode.Text); // welcome
    const started = Date.now();
    server.kill("SIGTERM");
    assert.deepEqual(await raw.expectClose(), { code: 1001, reason: "going away" });
    await raw.expectEof(5000);
    const result = await server.wait(5000);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(Date.now() - started < 4000, "well before the close timeout of 5 s");
    // Too late: the connection is gone.
    await raw.write(frame(Opcode.Close, closeBody(1001))).catch(() => {});
  } finally {
    raw?.close();
    server.kill("SIGKILL");
    await server.wait().catch(() => {});
  }
});
