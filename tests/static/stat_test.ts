/**
 * One stat for the requests that arrived before it (stat.ts).
 */
import assert from "node:assert/strict";
import { serveDir } from "../../lib/static/mod.ts";
import { noteArrival, readDelivered, readStarting } from "../../lib/shared/arrival.ts";
import { fetchDir, get, opts, root, test } from "./_fixture.ts";

test("static: a stat made after a request arrived serves it too; one made before never does", async () => {
  const path = `${root}/arrival.txt`;
  await Deno.writeTextFile(path, "one");
  try {
    // What our connection notes on each request: when the read that brought it was started, and
    // the turn of the event loop it was handed over in.
    const arrived = () => {
      const request = get("/arrival.txt");
      noteArrival(request, readDelivered(readStarting()));
      return request;
    };
    assert.equal((await fetchDir("/arrival.txt")).text, "one"); // now cached
    const first = arrived();
    const second = arrived();
    assert.equal(await (await serveDir(first, opts)).text(), "one");
    Deno.writeTextFileSync(path, "two!");
    // `second` arrived before the stat made for `first`, which is as fresh as it needs: the file
    // changed after it arrived. A request that arrives after the change never gets that stat.
    assert.equal(await (await serveDir(second, opts)).text(), "one");
    assert.equal(await (await serveDir(arrived(), opts)).text(), "two!");
    // A request without an arrival (not from our connection) is always looked up afresh.
    Deno.writeTextFileSync(path, "three");
    assert.equal((await fetchDir("/arrival.txt")).text, "three");
  } finally {
    await Deno.remove(path);
  }
});
