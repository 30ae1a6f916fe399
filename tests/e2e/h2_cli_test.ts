/**
 * The command line and HTTP/2: on by default (h2c by prior knowledge, with the access log
 * saying HTTP/2.0), off with --no-http2, and SIGTERM's graceful shutdown sends GOAWAY.
 */

import assert from "node:assert/strict";
import { parseCommandLine } from "../../lib/cli/flags.ts";
import { spawnServer } from "../_spawn.ts";
import { get, H2Socket } from "../engine/_h2.ts";
import { CLIENT_PREFACE } from "../../lib/h2/mod.ts";

Deno.test("cli: --no-http2 parses; HTTP/2 is on by default", () => {
  assert.equal(parseCommandLine([]).http2, true);
  assert.equal(parseCommandLine(["--no-http2"]).http2, false);
});

Deno.test("cli: the server answers h2c, logs HTTP/2.0, and says GOAWAY on SIGTERM", async () => {
  const server = await spawnServer(["--port", "0", "--log-format", "common"]);
  try {
    await using h2 = await H2Socket.open(server.port);
    await h2.request(1, get("/"));
    const res = await h2.response(1);
    assert.equal(res.status, 200);
    await server.waitFor("stdout", /"GET \/ HTTP\/2\.0" 200 \d+/);
    server.kill("SIGTERM");
    const goaway = await h2.until((f) => f.type === "GOAWAY", "GOAWAY on SIGTERM", 5_000);
    assert.deepEqual(goaway, { type: "GOAWAY", lastStreamId: 1, code: 0, debug: "" });
    await h2.closedByServer(5_000);
    assert.equal((await server.wait()).code, 0);
  } finally {
    server.kill("SIGKILL");
    await server.wait().catch(() => {});
  }
});

Deno.test("cli: with --no-http2 the HTTP/2 preface is refused as HTTP/1.1 (505)", async () => {
  const server = await spawnServer(["--port", "0", "--no-http2", "-q"]);
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      await conn.write(CLIENT_PREFACE);
      const buf = new Uint8Array(1024);
      const n = await conn.read(buf);
      assert.match(new TextDecoder().decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 505 /);
    } finally {
      conn.close();
    }
  } finally {
    server.kill("SIGTERM");
    await server.wait();
  }
});
