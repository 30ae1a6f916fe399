/** The connection's memory: output without a copy (two buffers taking turns), closed-stream ids. */
import assert from "node:assert/strict";
import { CLIENT_PREFACE, H2ServerConnection } from "../../lib/h2/mod.ts";
import { concat } from "./_util.ts";
import { Client, GET, settingsFrame } from "./_client.ts";

Deno.test("h2 output: takeOutputView gives what takeOutput would, valid until the next take", () => {
  const a = new H2ServerConnection();
  const b = new H2ServerConnection();
  const client = new Client();
  for (const server of [a, b]) server.receive(concat(CLIENT_PREFACE, settingsFrame()));
  assert.deepEqual(a.takeOutputView(), b.takeOutput());
  assert.equal(a.takeOutputView().length, 0);
  assert.equal(a.outputLength, 0);

  const request = client.headers(1, GET, { endStream: true });
  for (const server of [a, b]) {
    server.receive(request);
    server.respond(1, 200, [["content-type", "text/plain"]]);
    server.sendData(1, new Uint8Array(40_000).fill(1), true);
  }
  const first = a.takeOutputView();
  const kept = first.slice();
  assert.deepEqual(first, b.takeOutput());
  assert.equal(a.outputLength, 0);
  // Output queued after the take goes to the other buffer: the view is untouched.
  a.ping(new Uint8Array(8).fill(9));
  assert.deepEqual(first, kept);
  const second = a.takeOutputView();
  assert.equal(second.length, 17);
  assert.notEqual(second.buffer, first.buffer);
});

Deno.test("h2 closed memory: the last rememberClosed ids are known; older ones are forgotten", () => {
  const server = new H2ServerConnection({ rememberClosed: 4 });
  const client = new Client();
  server.receive(concat(CLIENT_PREFACE, settingsFrame()));
  server.takeOutput();
  // Stream 1 stays open while 3..19 open and close: it does not push them out when it closes.
  server.receive(client.headers(1, GET));
  for (let id = 3; id <= 19; id += 2) {
    server.receive(client.headers(id, GET, { endStream: true }));
    server.respond(id, 204, [], true);
  }
  server.reset(1);
  server.takeOutput();
  // 19 is remembered as closed both ways: HEADERS on it is STREAM_CLOSED (§5.1).
  server.receive(client.headers(19, GET, { endStream: true }));
  const out = client.read(server.takeOutput());
  const last = out.at(-1);
  assert.equal(last?.type === "GOAWAY" && last.code, 0x5);

  // Stream 3 is forgotten (4 slots): DATA on it is a stream error, not ignored or fatal.
  const other = new H2ServerConnection({ rememberClosed: 4 });
  const c2 = new Client();
  other.receive(concat(CLIENT_PREFACE, settingsFrame()));
  other.takeOutput();
  for (let id = 1; id <= 11; id += 2) {
    other.receive(c2.headers(id, GET));
    other.reset(id); // closed by us: late frames ignored while remembered
  }
  other.takeOutput();
  other.receive(c2.data(11, "x"));
  assert.deepEqual(c2.read(other.takeOutput()).filter((f) => f.type === "RST_STREAM"), []);
  other.receive(c2.data(1, "x"));
  assert.deepEqual(c2.read(other.takeOutput()).filter((f) => f.type === "RST_STREAM"), [
    { type: "RST_STREAM", streamId: 1, code: 0x5 },
  ]);
});
