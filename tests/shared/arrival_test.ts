/**
 * Tests for `lib/arrival.ts`: the rule that says when a lookup is as fresh as a request, the
 * turns it rests on, and the arrival our connection records on each request it makes.
 */
import assert from "node:assert/strict";
import {
  type Arrival,
  arrivalOf,
  lookedUpSince,
  lookupStarting,
  noteArrival,
  readDelivered,
  readStarting,
} from "../../lib/shared/arrival.ts";
import { RawClient, text, withServer } from "../_raw.ts";

const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("arrival: a lookup counts for a read only if made after it started, in its turn or later", async () => {
  // A read started, then a lookup, then the read's result (delivered before this turn began).
  const started = readStarting();
  const lookup = lookupStarting();
  const read = readDelivered(started);
  assert.ok(lookedUpSince(lookup, read), "same turn, read started first");
  await nextTurn();
  assert.ok(lookedUpSince(lookupStarting(), read), "a later turn, read started first");

  // A lookup made before the read was started: the read may have returned newer bytes at once.
  const early = lookupStarting();
  const late = readDelivered(readStarting());
  assert.ok(!lookedUpSince(early, late), "the read started after the lookup");

  // A read handed over in a later turn than the lookup: its bytes may have come after it.
  const pending = readStarting();
  const before = lookupStarting();
  await nextTurn();
  const delivered = readDelivered(pending);
  assert.ok(delivered.turn > before.turn);
  assert.ok(!lookedUpSince(before, delivered), "delivered in a later turn");
});

Deno.test("arrival: turns end when the microtask queue runs dry, never later", async () => {
  const first = lookupStarting();
  await Promise.resolve();
  const sameRun = lookupStarting();
  assert.ok(sameRun.turn >= first.turn);
  assert.ok(sameRun.at > first.at);
  await nextTurn();
  const next = lookupStarting();
  assert.ok(next.turn > sameRun.turn, "a new turn of the event loop is a new turn");
});

Deno.test("arrival: only requests our connection made carry one", () => {
  const request = new Request("http://a.test/");
  assert.equal(arrivalOf(request), undefined);
  const arrival = readDelivered(readStarting());
  noteArrival(request, arrival);
  assert.equal(arrivalOf(request), arrival);
  assert.equal(arrivalOf(request.clone()), undefined, "a copy is not the request that arrived");
});

Deno.test("arrival: each request over a socket carries its read's arrival, older than the handler", async () => {
  const seen: (Arrival | undefined)[] = [];
  const fresh: boolean[] = [];
  await withServer((request) => {
    const arrival = arrivalOf(request);
    seen.push(arrival);
    fresh.push(arrival !== undefined && lookedUpSince(lookupStarting(), arrival));
    return new Response("ok");
  }, async (port) => {
    await using client = await RawClient.connect(port);
    for (let i = 0; i < 3; i++) {
      await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal(text(await client.response()), "ok");
    }
    // Two requests in one write: both came with the same read.
    await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(text(await client.response()), "ok");
    assert.equal(text(await client.response()), "ok");
  });
  assert.equal(seen.length, 5);
  assert.ok(seen.every((arrival) => arrival !== undefined));
  assert.deepEqual(fresh, [true, true, true, true, true]);
  const [a, b, c] = seen as Arrival[];
  assert.ok(a.started < b.started && b.started < c.started, "one read per request, in order");
  assert.equal(seen[3], seen[4], "pipelined requests share the read that brought them");
});
