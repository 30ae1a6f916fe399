/**
 * The library surface `Deno.serve` users expect: `serve({ port, handler })`, `ref()`/`unref()`,
 * `await using` (`Symbol.asyncDispose`), `localhost` on both loopbacks, and `inFlight`, the
 * count of connections a graceful shutdown waits for.
 */

import assert from "node:assert/strict";
import { serve, type Server } from "../../lib/mod.ts";
import { RawClient, stop, text, waitFor, within } from "../_raw.ts";

const MOD = new URL("../../lib/mod.ts", import.meta.url).href;

async function get(hostname: string, port: number): Promise<string> {
  const response = await fetch(
    `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`,
  );
  return await response.text();
}

/** Whether this machine has an IPv6 loopback to listen on. */
function hasIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test("serve: the options-with-handler form, as Deno.serve({ port, handler })", async () => {
  let listened: Deno.NetAddr | undefined;
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: (addr) => listened = addr,
    handler: (request) => new Response(`hi ${new URL(request.url).pathname}`),
  });
  try {
    assert.equal(listened, server.addr);
    assert.equal(await get("127.0.0.1", server.addr.port), "hi /");
  } finally {
    await stop(server);
  }
  assert.throws(() => serve({ port: 0 } as never), TypeError);
  // The handler argument wins over none in the options; both forms type-check.
  const two = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("2"));
  await stop(two);
});

Deno.test("serve: await using shuts the server down at the end of the block", async () => {
  let port = 0;
  let server: Server;
  {
    await using s = serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      handler: () => new Response("ok"),
    });
    server = s;
    port = s.addr.port;
    assert.equal(await get("127.0.0.1", port), "ok");
  }
  await within(server.finished, "finished after the block");
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("serve: localhost answers on 127.0.0.1 and ::1, on the same port", async () => {
  const server = serve(
    { hostname: "localhost", port: 0, onListen() {} },
    (request) => new Response(new URL(request.url).hostname),
  );
  try {
    assert.equal(server.addr.hostname, "127.0.0.1");
    const port = server.addr.port;
    assert.equal(await get("127.0.0.1", port), "127.0.0.1");
    if (hasIpv6Loopback()) assert.equal(await get("::1", port), "[::1]");
  } finally {
    await stop(server);
  }
  // And shutdown closes both.
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }),
    Deno.errors.ConnectionRefused,
  );
  if (hasIpv6Loopback()) {
    await assert.rejects(
      Deno.connect({ hostname: "::1", port: server.addr.port }),
      Deno.errors.ConnectionRefused,
    );
  }
});

Deno.test("serve: localhost with a port taken on ::1 alone is a port in use", {
  ignore: !hasIpv6Loopback(),
}, () => {
  const taken = Deno.listen({ hostname: "::1", port: 0 });
  try {
    assert.throws(
      () =>
        serve(
          { hostname: "localhost", port: taken.addr.port, onListen() {} },
          () => new Response(),
        ),
      Deno.errors.AddrInUse,
    );
    // Nothing was left listening on 127.0.0.1.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: taken.addr.port });
    probe.close();
  } finally {
    taken.close();
  }
});

Deno.test("serve: inFlight counts connections with a request in progress", async () => {
  const release = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    entered.resolve();
    await release.promise;
    return new Response("done");
  });
  try {
    await using idle = await RawClient.connect(server.addr.port);
    await using busy = await RawClient.connect(server.addr.port);
    await waitFor(() => server.connections === 2, "two connections");
    assert.equal(server.inFlight, 0, "connected, nothing asked");
    await busy.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await within(entered.promise, "the handler to start");
    assert.equal(server.inFlight, 1);
    release.resolve();
    assert.equal(text(await busy.response()), "done");
    await waitFor(() => server.inFlight === 0, "the connection to be idle again");
    assert.equal(server.connections, 2);
    await idle.close();
  } finally {
    await stop(server);
  }
});

/** Runs `code` (with `serve` imported) in a child process; resolves with its exit, or "running". */
async function runScript(code: string, ms: number): Promise<number | "running"> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--no-prompt", "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(
    new TextEncoder().encode(`import { serve } from ${JSON.stringify(MOD)};\n${code}`),
  );
  await writer.close();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"running">((resolve) =>
    timer = setTimeout(() => resolve("running"), ms)
  );
  const result = await Promise.race([child.status.then((s) => s.code), timeout]);
  clearTimeout(timer);
  if (result === "running") child.kill("SIGKILL");
  await child.status;
  await child.stderr.cancel();
  return result;
}

Deno.test("serve: unref() lets the process exit while the server runs; ref() keeps it", async () => {
  const start =
    `const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response());\n`;
  // A connection of its own, open and idle, must not keep it alive either.
  const connect = `const conn = await Deno.connect(server.addr); conn.unref();\n`;
  assert.equal(await runScript(`${start}server.unref();`, 10_000), 0);
  assert.equal(
    await runScript(
      `${start}server.unref();\n${connect}await new Promise((r) => setTimeout(r, 100));`,
      10_000,
    ),
    0,
  );
  assert.equal(await runScript(`${start}server.unref(); server.ref();`, 1500), "running");
  assert.equal(await runScript(start, 1500), "running");
});
