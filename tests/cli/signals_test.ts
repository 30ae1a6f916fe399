/**
 * Graceful shutdown of the real process: SIGTERM and SIGINT let an in-flight request finish,
 * refuse new connections and exit 0; with `--grace-period` a handler that never answers is cut
 * and the process still exits 0 in bounded time. Plus the library-level guarantee underneath.
 */

import assert from "node:assert/strict";
import { serve } from "../../lib/engine/server.ts";
import { FIXTURES, parseResponse, readAll, sleep, spawnServer, within } from "../_spawn.ts";

const HOST = "127.0.0.1";
const encoder = new TextEncoder();
const SLOW_APP = `${FIXTURES}slow_app.ts`;

/** Resolves once connecting to `port` is refused; fails if it still accepts after `timeoutMs`. */
async function untilRefused(port: number, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      (await Deno.connect({ hostname: HOST, port })).close();
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionRefused) return;
      throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(`port ${port} still accepts connections ${timeoutMs} ms into the shutdown`);
    }
    await sleep(10);
  }
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test({
    name: `signals: ${signal} lets an in-flight request finish, refuses new connections, exits 0`,
    async fn() {
      const server = await spawnServer(["--host", HOST, "--port", "0", "--app", SLOW_APP]);
      let conn: Deno.Conn | null = null;
      try {
        conn = await Deno.connect({ hostname: HOST, port: server.port });
        // A keep-alive request: the server must finish it and then close the connection.
        await conn.write(encoder.encode(`GET /slow HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
        await server.waitFor("stderr", /slow request started/);

        server.kill(signal);
        await server.waitFor("stderr", /shutting down/);
        // The listener closes as the shutdown starts (its socket a moment later: Deno closes it
        // once the pending accept is cancelled); from then on connections are refused.
        await untilRefused(server.port);
        const response = parseResponse(
          await within(readAll(conn), 5_000, "the in-flight response"),
        );
        // Closing our end at the server's FIN, as clients do, ends its linger at once.
        conn.close();
        conn = null;
        assert.equal(response.status, 200);
        assert.equal(response.body, "slow response, complete\n");
        assert.equal(response.headers.get("connection"), "close");

        const result = await server.wait(10_000);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.signal, null);
      } finally {
        conn?.close();
        server.kill("SIGKILL");
        await server.wait().catch(() => {});
      }
    },
  });

  Deno.test({
    name: `signals: ${signal} with --grace-period 0.3 cuts a stuck handler and exits 0`,
    async fn() {
      const server = await spawnServer([
        "--host",
        HOST,
        "--port",
        "0",
        "--app",
        SLOW_APP,
        "--grace-period",
        "0.3",
      ]);
      let conn: Deno.Conn | null = null;
      try {
        conn = await Deno.connect({ hostname: HOST, port: server.port });
        await conn.write(encoder.encode(`GET /stuck HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
        await server.waitFor("stderr", /stuck request started/);

        server.kill(signal);
        // Well under the default grace period of 10 s: the 0.3 s one was used.
        const result = await server.wait(5_000);
        assert.equal(result.code, 0, result.stderr);
        // The stuck request's connection was closed, with no answer to give.
        const rest = await within(readAll(conn), 2_000, "the cut connection");
        assert.equal(rest.length, 0);
        conn.close();
        conn = null;
      } finally {
        conn?.close();
        server.kill("SIGKILL");
        await server.wait().catch(() => {});
      }
    },
  });
}

Deno.test({
  name: "signals: a second signal exits at once with 130",
  async fn() {
    const server = await spawnServer(["--host", HOST, "--port", "0", "--app", SLOW_APP]);
    let conn: Deno.Conn | null = null;
    try {
      conn = await Deno.connect({ hostname: HOST, port: server.port });
      await conn.write(encoder.encode(`GET /stuck HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
      await server.waitFor("stderr", /stuck request started/);
      server.kill("SIGTERM");
      await server.waitFor("stderr", /shutting down/);
      // The default grace period is 10 s; the second signal does not wait for it.
      server.kill("SIGINT");
      const result = await server.wait(3_000);
      assert.equal(result.code, 130);
    } finally {
      conn?.close();
      server.kill("SIGKILL");
      await server.wait().catch(() => {});
    }
  },
});

Deno.test("signals: shutdown() ends after the grace period even if a handler never settles", async () => {
  let started!: () => void;
  const inFlight = new Promise<void>((resolve) => started = resolve);
  const server = serve(
    { hostname: HOST, port: 0, onListen() {}, gracePeriod: 300 },
    () => {
      started();
      return new Promise<Response>(() => {});
    },
  );
  const conn = await Deno.connect({ hostname: HOST, port: server.addr.port });
  try {
    await conn.write(encoder.encode(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
    await within(inFlight, 2_000, "the request reaching the handler");
    await within(server.shutdown(), 2_000, "shutdown with a stuck handler");
    assert.equal((await within(readAll(conn), 1_000, "the cut connection")).length, 0);
  } finally {
    conn.close();
  }
});
