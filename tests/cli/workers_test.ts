/**
 * `--workers 2` on Linux: isolates sharing one port through SO_REUSEPORT. Fresh connections
 * reach both; an isolate that dies of an uncaught error is logged and replaced while the other
 * keeps answering; SIGTERM stops everything with exit code 0.
 */

import assert from "node:assert/strict";
import { FIXTURES, get, spawnServer } from "../_spawn.ts";

const HOST = "127.0.0.1";
const APP = `${FIXTURES}worker_app.ts`;

/** The ids answering `count` fresh connections (each request must succeed). */
async function idsOf(port: number, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await get(port, "/");
    assert.equal(response.status, 200);
    ids.push(response.body.trim());
  }
  return ids;
}

Deno.test({
  name: "workers: two isolates share the port, a crashed one is restarted, SIGTERM exits 0",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const server = await spawnServer([
      "--host",
      HOST,
      "--port",
      "0",
      "--workers",
      "2",
      "--app",
      APP,
      "--quiet",
    ]);
    try {
      assert.match(server.stdout, /with 2 workers/);
      const port = server.port;

      // The kernel spreads fresh connections over both isolates.
      const before = new Set(await idsOf(port, 40));
      assert.equal(before.size, 2, `two isolates answered: ${[...before]}`);

      // One isolate dies of an uncaught error (50 ms after answering); the supervisor says so
      // and starts another.
      const crash = await get(port, "/crash");
      const crashedAt = Date.now();
      assert.equal(crash.status, 200);
      const crashed = /^crashing (\S+)/.exec(crash.body)?.[1];
      assert.ok(crashed && before.has(crashed), crash.body);

      // Requests keep being answered throughout, soon by two isolates again: the survivor and
      // a new one (a fresh id), never the dead one. Only a connection that the dying isolate
      // had already accepted when it died may be lost; that is within a moment of the crash.
      const after = new Set<string>();
      let lost = 0;
      const deadline = Date.now() + 10_000;
      while (after.size < 2 || !/worker \d+ died/.test(server.stderr)) {
        assert.ok(Date.now() < deadline, `a second isolate came back (seen: ${[...after]})`);
        try {
          const response = await get(port, "/");
          assert.equal(response.status, 200);
          const id = response.body.trim();
          if (id !== crashed) after.add(id);
        } catch (error) {
          if (Date.now() - crashedAt > 500) throw error;
          lost++;
        }
      }
      assert.ok(lost <= 2, `${lost} connections lost at the crash`);
      assert.match(server.stderr, /worker \d+ died \(.*crash requested.*\); restarting it/);
      const survivor = [...before].find((id) => id !== crashed)!;
      assert.ok(after.has(survivor), "the other isolate kept serving");
      assert.equal(after.size, 2);
      // The dead isolate no longer answers.
      assert.ok(!(await idsOf(port, 20)).includes(crashed));

      const result = await server.stop("SIGTERM", 15_000);
      assert.equal(result.code, 0, result.stderr);
    } finally {
      server.kill("SIGKILL");
      await server.wait().catch(() => {});
    }
  },
});
