import assert from "node:assert/strict";
import { ErrorCode, Flag, FrameType, SettingId } from "../../lib/h2/mod.ts";
import { connected, GET, type Out, settingsFrame } from "./_client.ts";
import { frame, u32 } from "./_util.ts";

function goawayCode(out: Out[]): number | undefined {
  const g = out.find((o) => o.type === "GOAWAY");
  return g && (g as { code: number }).code;
}

Deno.test("rapid reset (CVE-2023-44487): HEADERS then RST_STREAM in a loop → GOAWAY ENHANCE_YOUR_CALM", () => {
  const { server, client } = connected({ maxResets: 50 });
  let id = 1, requests = 0;
  for (; id < 1000 && !server.closed; id += 2) {
    for (const e of server.receive(client.headers(id, GET, { endStream: true }))) {
      if (e.type === "request") requests++;
    }
    server.receive(frame(FrameType.RST_STREAM, 0, id, u32(ErrorCode.CANCEL)));
  }
  assert.equal(requests, 51, "the 51st reset is one too many");
  assert.equal(server.closed, true);
  assert.equal(goawayCode(client.read(server.takeOutput())), ErrorCode.ENHANCE_YOUR_CALM);
});

Deno.test("rapid reset: cancels mixed with completed requests stay within budget", () => {
  const { server, client } = connected({ maxResets: 5 });
  for (let id = 1; id < 400; id += 4) {
    server.receive(client.headers(id, GET, { endStream: true }));
    server.respond(id, 200, [], true); // completed: earns a reset back
    server.receive(client.headers(id + 2, GET, { endStream: true }));
    server.receive(frame(FrameType.RST_STREAM, 0, id + 2, u32(ErrorCode.CANCEL)));
  }
  assert.equal(server.closed, false);
  // Resetting a stream whose response is complete costs nothing either.
  assert.equal(goawayCode(client.read(server.takeOutput())), undefined);
});

Deno.test("REFUSED_STREAM past SETTINGS_MAX_CONCURRENT_STREAMS; room again once one ends", () => {
  const { server, client } = connected({ maxConcurrentStreams: 3 });
  const events = [1, 3, 5, 7].flatMap((id) =>
    server.receive(client.headers(id, GET, { endStream: true }))
  );
  assert.deepEqual(events.map((e) => e.type === "request" && e.streamId), [1, 3, 5]);
  assert.deepEqual(client.read(server.takeOutput()), [{
    type: "RST_STREAM",
    streamId: 7,
    code: ErrorCode.REFUSED_STREAM,
  }]);
  // DATA the client had in flight for the refused stream is ignored.
  assert.deepEqual(server.receive(client.data(7, "x", true)), []);
  server.respond(1, 204, [], true);
  assert.equal(server.receive(client.headers(9, GET, { endStream: true }))[0].type, "request");
  assert.equal(server.closed, false);
});

Deno.test("PING and SETTINGS floods → ENHANCE_YOUR_CALM; useful frames earn budget back", () => {
  const ping = frame(FrameType.PING, 0, 0, new Array(8).fill(1));
  for (
    const [what, flood] of [["PING", ping], [
      "SETTINGS",
      settingsFrame([[SettingId.ENABLE_PUSH, 0]]),
    ], [
      "PRIORITY",
      frame(FrameType.PRIORITY, 0, 3, [0, 0, 0, 0, 1]),
    ]] as const
  ) {
    const { server, client } = connected({ maxControlFrames: 100 });
    let n = 0;
    for (; n < 10_000 && !server.closed; n++) server.receive(flood);
    assert.equal(n, 100, what); // the handshake SETTINGS took one
    assert.equal(goawayCode(client.read(server.takeOutput())), ErrorCode.ENHANCE_YOUR_CALM, what);
  }
  const { server } = connected({ maxControlFrames: 10 });
  const client = connected().client;
  for (let id = 1; id < 200; id += 2) {
    server.receive(client.headers(id, GET, { endStream: true }));
    server.respond(id, 200, [], true);
    server.receive(ping);
  }
  assert.equal(server.closed, false);
});

Deno.test("empty DATA frames without END_STREAM are bounded", () => {
  const { server, client } = connected({ maxEmptyFrames: 8 });
  server.receive(client.headers(1, GET));
  let n = 0;
  for (; n < 1000 && !server.closed; n++) server.receive(frame(FrameType.DATA, 0, 1));
  assert.equal(n, 9);
  assert.equal(goawayCode(client.read(server.takeOutput())), ErrorCode.ENHANCE_YOUR_CALM);
  // Data in between resets the run.
  const c = connected({ maxEmptyFrames: 2 });
  c.server.receive(c.client.headers(1, GET));
  for (let i = 0; i < 50; i++) {
    c.server.receive(frame(FrameType.DATA, 0, 1));
    c.server.receive(frame(FrameType.DATA, 0, 1, [1]));
  }
  assert.equal(c.server.closed, false);
  // END_STREAM on an empty frame is meaningful, not counted.
  assert.equal(c.server.receive(frame(FrameType.DATA, Flag.END_STREAM, 1))[0].type, "data");
});
