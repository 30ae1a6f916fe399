/**
 * Interop: python-hyper/h2 (the sans-I/O library ours is modelled on) as the client, its
 * bytes fed to H2ServerConnection and our output fed back, over a pipe. Skipped when no
 * python3 with the h2 package is installed (Debian: python3-h2).
 */
import assert from "node:assert/strict";
import { type Field, H2ServerConnection } from "../../lib/h2/mod.ts";
import { hex, toHex } from "./_util.ts";

const SCRIPT = new URL("./fixtures/h2_client.py", import.meta.url).pathname;

async function findPython(): Promise<string | null> {
  for (const exe of ["python3", "/usr/bin/python3"]) {
    try {
      const { code } = await new Deno.Command(exe, {
        args: ["-c", "import h2"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (code === 0) return exe;
    } catch {
      // not installed
    }
  }
  return null;
}

const python = await findPython();
if (python === null) console.log("python_h2_test: skipped, no python3 with the h2 package");

Deno.test({
  name: "python-hyper/h2 client: GET, POST with body, 100 KB download, trailers, GOAWAY",
  ignore: python === null,
  async fn() {
    const child = new Deno.Command(python!, {
      args: [SCRIPT],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    const nextLine = async (): Promise<string> => {
      while (!buffered.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error("python exited early");
        buffered += value;
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    };

    const server = new H2ServerConnection({ initialWindowSize: 65535 });
    const big = new Uint8Array(100_000).fill(0x62);
    const pending = new Map<number, Uint8Array>(); // bodies waiting for window
    const bodies = new Map<number, number>();
    const requests: Record<number, { path?: string; headers: Field[] }> = {};
    const seen: string[] = [];
    let result: Record<string, unknown> | undefined;

    const send = (id: number, body: Uint8Array) => {
      const n = server.sendData(id, body, true);
      if (n < body.length) pending.set(id, body.subarray(n));
      else pending.delete(id);
    };

    try {
      for (let round = 0; round < 100 && result === undefined; round++) {
        const msg = JSON.parse(await nextLine());
        for (const e of msg.events) {
          if (e.error) throw new Error(`python saw ${e.error} ${e.code}`);
          if (e.responses) result = e.responses;
        }
        for (const ev of server.receive(hex(msg.out))) {
          seen.push(ev.type);
          switch (ev.type) {
            case "request":
              requests[ev.streamId] = { path: ev.pseudo.path, headers: ev.headers };
              if (ev.pseudo.path === "/") {
                server.respond(ev.streamId, 200, [["content-type", "text/plain"]]);
                send(ev.streamId, new TextEncoder().encode("hi"));
              } else if (ev.pseudo.path === "/big") {
                server.respond(ev.streamId, 200, [["content-length", String(big.length)]]);
                send(ev.streamId, big);
              }
              break;
            case "data":
              bodies.set(ev.streamId, (bodies.get(ev.streamId) ?? 0) + ev.data.length);
              server.consumed(ev.streamId, ev.data.length);
              if (ev.endStream && ev.streamId === 3) {
                server.respond(ev.streamId, 201, [["x-received", String(bodies.get(3))]], true);
              }
              break;
            case "trailers":
              server.respond(ev.streamId, 200, [["content-type", "text/plain"]]);
              server.sendData(ev.streamId, new TextEncoder().encode("ok"));
              server.sendTrailers(ev.streamId, [["x-status", "done"]]);
              break;
            case "windowOpen": {
              const rest = pending.get(ev.streamId);
              if (rest) send(ev.streamId, rest);
              break;
            }
            case "connectionError":
              throw new Error(`connection error: ${ev.message}`);
          }
        }
        if (result === undefined) {
          await writer.write(new TextEncoder().encode(toHex(server.takeOutput()) + "\n"));
        } else if (msg.out) server.receive(hex(msg.out)); // its GOAWAY
      }
    } finally {
      await writer.close().catch(() => {});
      await lines.cancel().catch(() => {});
      const status = await child.status;
      const err = await new Response(child.stderr).text();
      if (!status.success && result === undefined) console.error(err);
    }

    assert.ok(result, "python finished");
    assert.deepEqual(requests[1].headers, [["user-agent", "python-h2"], ["cookie", "a=1; b=2"]]);
    assert.equal(bodies.get(3), 11);
    assert.ok(seen.includes("windowOpen"), "the 100 KB body waited for WINDOW_UPDATE");
    const r = result as Record<string, { headers: string[][]; body: number; trailers: string[][] }>;
    assert.deepEqual(r["1"].headers, [[":status", "200"], ["content-type", "text/plain"]]);
    assert.equal(r["1"].body, 2);
    assert.deepEqual(r["3"].headers, [[":status", "201"], ["x-received", "11"]]);
    assert.equal(r["5"].body, 100_000);
    assert.deepEqual(r["7"].trailers, [["x-status", "done"]]);
    assert.equal(server.closed, true, "python's GOAWAY with nothing in flight");
  },
});
