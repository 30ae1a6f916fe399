import assert from "node:assert/strict";
import { rateLimit, RateLimiter } from "../../lib/handlers/ratelimit.ts";
import { TrustedProxies } from "../../lib/handlers/clientip.ts";
import { createAccessLogger } from "../../lib/handlers/log.ts";
import { serve } from "../../lib/mod.ts";
import type { ServeHandlerInfo } from "../../lib/shared/types.ts";

/** A limiter on a clock the test moves by hand. */
function limiterAt(options: { rate: number; burst: number; maxKeys?: number }) {
  const clock = { now: 0 };
  return { clock, limiter: new RateLimiter({ ...options, now: () => clock.now }) };
}

Deno.test("ratelimit: token buckets, step by step", () => {
  // Each step: milliseconds to advance the clock, then "ok N" (allowed, N tokens remaining)
  // or "wait N" (refused, Retry-After N seconds).
  const table: { rate: number; burst: number; steps: string }[] = [
    { rate: 1, burst: 2, steps: "0 ok 1, 0 ok 0, 0 wait 1, 999 wait 1, 1 ok 0, 0 wait 1" },
    // 2 per second: half a second earns a token; half a token still means a whole second's
    // wait (the smallest Retry-After); a long idle refills only up to the burst.
    {
      rate: 2,
      burst: 3,
      steps: "0 ok 2, 0 ok 1, 0 ok 0, 0 wait 1, 500 ok 0, 250 wait 1, 10000 ok 2",
    },
    // One request every ten seconds: Retry-After counts the whole wait, rounded up.
    { rate: 0.1, burst: 1, steps: "0 ok 0, 0 wait 10, 4000 wait 6, 5500 wait 1, 500 ok 0" },
    // Refused requests cost nothing: the wait shrinks as time passes, not as clients retry.
    { rate: 1, burst: 1, steps: "0 ok 0, 0 wait 1, 0 wait 1, 0 wait 1, 1000 ok 0" },
    {
      rate: 100,
      burst: 5,
      steps: "0 ok 4, 0 ok 3, 0 ok 2, 0 ok 1, 0 ok 0, 0 wait 1, 10 ok 0, 50 ok 4",
    },
    // A fractional burst: at most one request at once, a second's credit kept at most.
    { rate: 1, burst: 1.5, steps: "0 ok 0, 0 wait 1, 500 ok 0, 0 wait 1, 5000 ok 0, 0 wait 1" },
    // A clock stepping back (Date.now under NTP) earns nothing and takes nothing away.
    { rate: 1, burst: 2, steps: "0 ok 1, -60000 ok 0, 0 wait 1, 1000 ok 0" },
  ];
  for (const { rate, burst, steps } of table) {
    const { clock, limiter } = limiterAt({ rate, burst });
    for (const step of steps.split(", ")) {
      const [advance, verdict, n] = step.split(" ");
      clock.now += Number(advance);
      const expected = verdict === "ok"
        ? { allowed: true, remaining: Number(n), retryAfter: 0 }
        : { allowed: false, remaining: 0, retryAfter: Number(n) };
      assert.deepEqual(limiter.take("client"), expected, `rate ${rate}, burst ${burst}: ${step}`);
    }
  }
});

Deno.test("ratelimit: keys are independent", () => {
  const { limiter } = limiterAt({ rate: 1, burst: 1 });
  assert.equal(limiter.take("a").allowed, true);
  assert.equal(limiter.take("a").allowed, false);
  assert.equal(limiter.take("b").allowed, true);
  assert.equal(limiter.take("a").allowed, false);
});

Deno.test("ratelimit: memory stays bounded however many clients appear", () => {
  const { clock, limiter } = limiterAt({ rate: 1, burst: 1, maxKeys: 1000 });
  let most = 0;
  for (let i = 0; i < 1_000_000; i++) {
    clock.now = i; // a new client every millisecond, each emptying its bucket
    limiter.take(`client-${i}`);
    if (limiter.size > most) most = limiter.size;
  }
  assert.equal(most, 1000);

  // Least recently used goes first: a client that keeps coming keeps its (empty) bucket.
  const lru = limiterAt({ rate: 1, burst: 1, maxKeys: 3 });
  lru.limiter.take("steady");
  for (let i = 0; i < 100; i++) {
    lru.limiter.take(`drive-by-${i}`);
    assert.equal(lru.limiter.take("steady").allowed, false, `round ${i}`);
  }
  assert.equal(lru.limiter.size, 3);
});

Deno.test("ratelimit: buckets that refilled are forgotten as requests go by", () => {
  const { clock, limiter } = limiterAt({ rate: 10, burst: 5 });
  for (let i = 0; i < 1000; i++) limiter.take(`client-${i}`);
  assert.equal(limiter.size, 1000);
  clock.now += 1000; // every bucket is full again by now: nothing to remember
  for (let i = 0; i < 600; i++) limiter.take("busy");
  assert.equal(limiter.size, 1, "only the busy client is left");
  // A forgotten client starts with a full bucket: exactly what it had earned anyway.
  assert.deepEqual(limiter.take("client-1"), { allowed: true, remaining: 4, retryAfter: 0 });
});

Deno.test("ratelimit: bad options are refused", () => {
  const bad = [
    { rate: 0, burst: 1 },
    { rate: -1, burst: 1 },
    { rate: NaN, burst: 1 },
    { rate: Infinity, burst: 1 },
    { rate: 1, burst: 0 },
    { rate: 1, burst: 0.5 },
    { rate: 1, burst: NaN },
    { rate: 1, burst: 1, maxKeys: 0 },
    { rate: 1, burst: 1, maxKeys: 1.5 },
  ];
  for (const options of bad) {
    assert.throws(() => new RateLimiter(options), RangeError, JSON.stringify(options));
  }
  const ok = () => new Response("ok");
  for (const ipv6Prefix of [-1, 129, 1.5]) {
    assert.throws(() => rateLimit(ok, { rate: 1, burst: 1, ipv6Prefix }), RangeError);
  }
});

const info = (hostname: string): ServeHandlerInfo => ({
  remoteAddr: { transport: "tcp", hostname, port: 40000 },
  completed: Promise.resolve(),
});
const get = (headers: Record<string, string> = {}) => new Request("http://x/", { headers });

/** Statuses of `requests` sent through `handler` in order, checking every 429 on the way. */
async function statuses(
  handler: ReturnType<typeof rateLimit>,
  requests: [Request, ServeHandlerInfo][],
): Promise<number[]> {
  const out: number[] = [];
  for (const [request, from] of requests) {
    const response = await handler(request, from);
    out.push(response.status);
    if (response.status === 429) {
      assert.equal(response.statusText, "Too Many Requests");
      assert.match(response.headers.get("retry-after")!, /^[1-9][0-9]*$/);
      assert.equal(response.headers.get("ratelimit-remaining"), "0");
      assert.equal(await response.text(), "429 Too Many Requests\n");
    } else {
      assert.equal(await response.text(), "ok");
    }
  }
  return out;
}

Deno.test("ratelimit: the wrapper answers 429 with Retry-After, per client", async () => {
  let calls = 0;
  const ok = () => {
    calls++;
    return new Response("ok");
  };
  const trusted = new TrustedProxies(["127.0.0.1"]);
  const handler = rateLimit(ok, { rate: 1, burst: 2, trusted });
  const viaProxy = (ip: string): [Request, ServeHandlerInfo] => [
    get({ "x-forwarded-for": ip }),
    info("127.0.0.1"),
  ];
  assert.deepEqual(
    await statuses(handler, [viaProxy("1.1.1.1"), viaProxy("1.1.1.1"), viaProxy("1.1.1.1")]),
    [200, 200, 429],
  );
  assert.equal(calls, 2, "a refused request never reaches the handler");
  // Another client behind the same proxy has its own bucket.
  assert.deepEqual(await statuses(handler, [viaProxy("2.2.2.2")]), [200]);
  // An untrusted peer cannot dodge its limit by claiming to be someone else.
  const direct = (xff: string): [Request, ServeHandlerInfo] => [
    get({ "x-forwarded-for": xff }),
    info("198.51.100.9"),
  ];
  assert.deepEqual(
    await statuses(handler, [direct("3.3.3.3"), direct("4.4.4.4"), direct("5.5.5.5")]),
    [200, 200, 429],
  );
  // Nor by rotating through a /64 of IPv6 addresses, nor by writing IPv4 as mapped IPv6.
  assert.deepEqual(
    await statuses(handler, [
      [get(), info("2001:db8:1:2::1")],
      [get(), info("2001:db8:1:2::2")],
      [get(), info("2001:db8:1:2:ffff::3")],
      [get(), info("2001:db8:1:3::1")],
      [get(), info("192.0.2.1")],
      [get(), info("::ffff:192.0.2.1")],
      [get(), info("::ffff:c000:201")],
    ]),
    [200, 200, 429, 200, 200, 200, 429],
  );
  // Retry-After and the RateLimit fields on a refusal.
  const slow = rateLimit(ok, { rate: 0.2, burst: 3 });
  for (let i = 0; i < 3; i++) await (await slow(get(), info("192.0.2.9"))).body?.cancel();
  const refused = await slow(get(), info("192.0.2.9"));
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "5");
  assert.equal(refused.headers.get("ratelimit-limit"), "3");
  assert.equal(refused.headers.get("ratelimit-remaining"), "0");
  assert.equal(refused.headers.get("ratelimit-reset"), "5");
  assert.equal(refused.headers.get("content-type"), "text/plain; charset=utf-8");
  await refused.body?.cancel();
});

Deno.test("ratelimit: ipv6Prefix 128 and a custom key", async () => {
  const ok = () => new Response("ok");
  const perAddress = rateLimit(ok, { rate: 1, burst: 1, ipv6Prefix: 128 });
  assert.deepEqual(
    await statuses(perAddress, [
      [get(), info("2001:db8::1")],
      [get(), info("2001:db8::2")],
      [get(), info("2001:db8::1")],
    ]),
    [200, 200, 429],
  );
  const perToken = rateLimit(ok, {
    rate: 1,
    burst: 1,
    key: (request) => request.headers.get("x-api-key") ?? "anonymous",
  });
  assert.deepEqual(
    await statuses(perToken, [
      [get({ "x-api-key": "a" }), info("192.0.2.1")],
      [get({ "x-api-key": "b" }), info("192.0.2.1")],
      [get({ "x-api-key": "a" }), info("192.0.2.2")],
    ]),
    [200, 200, 429],
  );
});

Deno.test("ratelimit: over real sockets, with the access log hook", async () => {
  const lines: string[] = [];
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onExchange: createAccessLogger({ format: "common", write: (line) => lines.push(line) }),
  }, rateLimit(() => new Response("ok"), { rate: 1, burst: 2 }));
  try {
    const url = `http://127.0.0.1:${server.addr.port}/limited`;
    const seen: [number, string | null][] = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(url);
      seen.push([response.status, response.headers.get("retry-after")]);
      await response.body?.cancel();
    }
    assert.deepEqual(seen, [[200, null], [200, null], [429, "1"]]);
    assert.equal(lines.length, 3);
    const pattern = /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/limited HTTP\/1\.1" (\d{3}) (\d+)$/;
    assert.deepEqual(lines.map((line) => pattern.exec(line)?.slice(1)), [
      ["200", "2"],
      ["200", "2"],
      ["429", "22"],
    ]);
  } finally {
    await server.shutdown();
  }
});
