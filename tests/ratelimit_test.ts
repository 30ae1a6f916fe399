import assert from "node:assert/strict";
import { rateLimit, RateLimiter } from "../lib/ratelimit.ts";
import { TrustedProxies } from "../lib/clientip.ts";
import { serve } from "../lib/mod.ts";

Deno.test("ratelimit: token bucket with burst, refill and Retry-After", () => {
  let now = 0;
  const limiter = new RateLimiter({ rate: 2, burst: 3, now: () => now });
  const take = () => limiter.take("a");
  assert.deepEqual([take().allowed, take().allowed, take().allowed], [true, true, true]);
  const refused = take();
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfter, 1);
  now += 500; // half a second earns one token at 2/s
  assert.equal(take().allowed, true);
  assert.equal(take().allowed, false);
  now += 10_000; // a long idle refills only up to the burst
  assert.equal(take().remaining, 2);
  const slow = new RateLimiter({ rate: 0.1, burst: 1, now: () => now });
  slow.take("b");
  assert.equal(slow.take("b").retryAfter, 10);
  assert.equal(limiter.take("other").allowed, true, "keys are independent");
});

Deno.test("ratelimit: memory stays bounded however many clients appear", () => {
  let now = 0;
  const limiter = new RateLimiter({ rate: 1, burst: 1, maxKeys: 1000, now: () => now++ });
  for (let i = 0; i < 1_000_000; i++) limiter.take(`client-${i}`);
  assert.equal(limiter.size, 1000);
  assert.throws(() => new RateLimiter({ rate: 0, burst: 1 }), RangeError);
});

Deno.test("ratelimit: the wrapper answers 429 with Retry-After, per client address", async () => {
  const handler = rateLimit(() => new Response("ok"), {
    rate: 1,
    burst: 2,
    trusted: new TrustedProxies(["127.0.0.1"]),
  });
  const info = { remoteAddr: { transport: "tcp" as const, hostname: "127.0.0.1", port: 1 } };
  const from = (ip: string) => new Request("http://x/", { headers: { "x-forwarded-for": ip } });
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    const response = await handler(from("1.1.1.1"), info);
    statuses.push(response.status);
    if (response.status === 429) assert.ok(Number(response.headers.get("retry-after")) >= 1);
    await response.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  const other = await handler(from("2.2.2.2"), info);
  assert.equal(other.status, 200);
  await other.body?.cancel();
});

Deno.test("ratelimit: over real sockets, with the access log hook", async () => {
  const lines: string[] = [];
  const { createAccessLogger } = await import("../lib/log.ts");
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onExchange: createAccessLogger({ format: "common", write: (line) => lines.push(line) }),
  }, rateLimit(() => new Response("ok"), { rate: 1, burst: 2 }));
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const response = await fetch(url);
      statuses.push(response.status);
      if (response.status === 429) assert.ok(response.headers.get("retry-after"));
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 429]);
    assert.equal(lines.length, 3);
    assert.match(lines[2], /"GET \/ HTTP\/1\.1" 429 /);
  } finally {
    await server.shutdown();
  }
});
