/**
 * Interop with nghttp2 (the library behind curl's HTTP/2): a throwaway h2c loop on
 * Deno.listen around H2ServerConnection, driven by `nghttp` and `h2load`. Skipped when the
 * tools are missing (Debian: nghttp2-client). The loop is the smallest engine possible, not
 * the real one: read → receive → respond → write.
 */
import assert from "node:assert/strict";
import { H2ServerConnection } from "../../lib/h2/mod.ts";

async function has(tool: string): Promise<boolean> {
  try {
    return (await new Deno.Command(tool, { args: ["--version"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

const tools = (await has("nghttp")) && (await has("h2load"));
if (!tools) console.log("nghttp_test: skipped, nghttp/h2load not installed");

const BODY = new TextEncoder().encode("hello from h2\n");

async function serveConn(conn: Deno.Conn): Promise<void> {
  const h2 = new H2ServerConnection();
  const buf = new Uint8Array(65536);
  const pending = new Map<number, Uint8Array>();
  const flush = async () => {
    while (h2.hasOutput) await conn.write(h2.takeOutput());
  };
  try {
    await flush();
    while (!h2.closed) {
      const n = await conn.read(buf);
      if (n === null) break;
      for (const ev of h2.receive(buf.subarray(0, n))) {
        if (ev.type === "request") {
          const body = ev.pseudo.path === "/big" ? new Uint8Array(1 << 20).fill(0x2e) : BODY;
          h2.respond(ev.streamId, 200, [["content-type", "text/plain"], [
            "content-length",
            String(body.length),
          ]]);
          const sent = h2.sendData(ev.streamId, body, true);
          if (sent < body.length) pending.set(ev.streamId, body.subarray(sent));
        } else if (ev.type === "data") {
          h2.consumed(ev.streamId, ev.data.length);
        } else if (ev.type === "windowOpen") {
          const rest = pending.get(ev.streamId);
          if (rest) {
            const sent = h2.sendData(ev.streamId, rest, true);
            if (sent < rest.length) pending.set(ev.streamId, rest.subarray(sent));
            else pending.delete(ev.streamId);
          }
        } else if (ev.type === "reset") {
          pending.delete(ev.streamId);
        }
      }
      await flush();
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

Deno.test({
  name: "nghttp and h2load (nghttp2) against H2ServerConnection over h2c",
  ignore: !tools,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    const conns: Promise<void>[] = [];
    const accepting = (async () => {
      for await (const conn of listener) conns.push(serveConn(conn));
    })();
    try {
      const get = await new Deno.Command("nghttp", {
        args: ["-n", "-s", `http://127.0.0.1:${port}/`, `http://127.0.0.1:${port}/big`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stats = new TextDecoder().decode(get.stdout);
      assert.equal(get.code, 0, new TextDecoder().decode(get.stderr) + stats);
      assert.match(stats, /200\s+14\s+\//);
      assert.match(stats, /200\s+1M\s+\/big/);

      const load = await new Deno.Command("h2load", {
        args: ["-n", "2000", "-c", "4", "-m", "16", `http://127.0.0.1:${port}/`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const report = new TextDecoder().decode(load.stdout);
      assert.equal(load.code, 0, report);
      assert.match(report, /2000 succeeded, 0 failed, 0 errored/, report);
      assert.match(report, /status codes: 2000 2xx/, report);
    } finally {
      listener.close();
      await accepting.catch(() => {});
      await Promise.all(conns);
    }
  },
});
