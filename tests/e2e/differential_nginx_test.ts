/**
 * A bounded run of scripts/differential.ts in CI: 2,000 mutated requests (the same seeded cases
 * as tests/h1/differential_test.ts makes) sent over sockets to our server and to nginx (Debian's,
 * proxying to an upstream that answers 200, so it reads and checks request bodies), each on its
 * own connection. Skipped, with a line saying so, where nginx is not installed.
 *
 * It fails when we answer 2xx to a request that nginx refuses (4xx, 5xx or a close) unless the
 * RFC grammar (tests/h1/_oracle.ts) accepts it: either outright (nginx is stricter than the RFC:
 * lower-case methods, `OPTIONS *`, an empty Host …) or through one of the leniencies we keep on
 * purpose (OUR_LENIENCIES, listed in docs/security.md), which are counted by name. It also fails
 * when we answer 2xx and nginx is still waiting for bytes: the two read the framing differently.
 */

import assert from "node:assert/strict";
import {
  bodyState,
  type CaseResult,
  cases,
  exchange,
  grammarVerdict,
  haveNginx,
  runCases,
  startInProcess,
  startNginx,
} from "../../scripts/differential.ts";
import { latin1Bytes } from "../h1/_mutate.ts";

const CASES = 2_000;
const SEED = 20240613;

const HAVE_NGINX = await haveNginx();
if (!HAVE_NGINX) {
  console.log("differential_nginx_test: skipped: nginx is not installed (apt-get install nginx)");
}

Deno.test({
  name: "differential over sockets: nothing we accept is refused by nginx and the RFC grammar",
  ignore: !HAVE_NGINX,
  // The servers are stopped at the end; connections they close on their own side may still be
  // winding down in the runtime when the test returns.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const started = performance.now();
    const inProcess = startInProcess();
    const nginx = await startNginx();
    let results: CaseResult[];
    try {
      // Both answer a plain request first, or the run means nothing.
      const plain = latin1Bytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.equal((await exchange(inProcess.ours.port, plain, 2000)).outcome, "2xx");
      assert.equal((await exchange(nginx.port, plain, 2000)).outcome, "2xx");
      results = await runCases(cases(CASES, SEED), [inProcess.ours, nginx], {
        concurrency: 16,
        timeoutMs: 400,
      });
    } finally {
      await nginx.stop();
      await inProcess.stop();
    }
    const failures: string[] = [];
    const allowed = new Map<string, number>();
    const combos = new Map<string, number>();
    for (const r of results) {
      const ours = r.outcomes.ours.outcome;
      const theirs = r.outcomes.nginx.outcome;
      const key = `ours ${ours} | nginx ${theirs}`;
      combos.set(key, (combos.get(key) ?? 0) + 1);
      if (ours !== "2xx" || theirs === "2xx") continue;
      const verdict = grammarVerdict(r.input);
      if (theirs === "timeout") {
        // We answered before the body ended: fine when the grammar waits for it too (a GET's
        // handler gets no body; the engine drains it after the answer). Not when it is complete.
        const early = "answered before a body the handler does not read";
        if (bodyState(r.input) === "waiting") allowed.set(early, (allowed.get(early) ?? 0) + 1);
        else failures.push(`nginx waits for more bytes (${verdict}): ${JSON.stringify(r.input)}`);
      } else if (verdict.startsWith("invalid")) {
        failures.push(
          `nginx ${r.outcomes.nginx.status ?? theirs}, ${verdict}: ${JSON.stringify(r.input)}`,
        );
      } else {
        allowed.set(verdict, (allowed.get(verdict) ?? 0) + 1);
      }
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`differential over sockets: ${results.length} cases against nginx, ${seconds} s`);
    for (const [k, n] of [...combos].sort((a, b) => b[1] - a[1])) console.log(`  ${n}  ${k}`);
    console.log("  we accept, nginx refuses, allowed by the RFC grammar:");
    for (const [k, n] of allowed) console.log(`    ${n}  ${k}`);
    assert.equal(results.length, CASES);
    assert.deepEqual(failures, []);
  },
});
