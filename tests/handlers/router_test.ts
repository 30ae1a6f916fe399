import assert from "node:assert/strict";
import { Router } from "../../lib/handlers/router.ts";
import type { ServeHandlerInfo } from "../../lib/shared/types.ts";

const info: ServeHandlerInfo = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
  completed: Promise.resolve(),
};

function request(path: string, init?: RequestInit): Request {
  return new Request(`http://localhost${path}`, init);
}

async function call(router: Router, path: string, init?: RequestInit) {
  const response = await router.fetch(request(path, init), info);
  return { response, status: response.status, text: await response.text() };
}

/** Answers with the pattern it was registered under and its params. */
function tagged(pattern: string) {
  return (_req: Request, { params }: { params: Record<string, string> }) =>
    Response.json({ pattern, params });
}

async function winner(router: Router, path: string, method = "GET"): Promise<string> {
  const response = await router.fetch(request(path, { method }), info);
  if (response.status !== 200) {
    await response.body?.cancel();
    return String(response.status);
  }
  return (await response.json()).pattern;
}

/** A small deterministic PRNG, so a failing order can be reproduced. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

Deno.test("Router routes by method and path and hands over decoded params", async () => {
  const router = new Router()
    .get("/", () => new Response("home"))
    .get("/users/:id", (_req, { params }) => new Response(`user ${params.id}`))
    .post("/users", () => new Response("created", { status: 201 }))
    .get("/files/*", (_req, { params }) => new Response(`file ${params["0"]}`))
    .get("/docs/:path*", (_req, { params }) => new Response(`doc ${params.path ?? "(index)"}`));

  assert.equal((await call(router, "/")).text, "home");
  assert.equal((await call(router, "/users/42")).text, "user 42");
  assert.equal((await call(router, "/users/a%20b")).text, "user a b");
  assert.equal((await call(router, "/users/%E0%A4%A")).text, "user %E0%A4%A"); // malformed: raw
  assert.equal((await call(router, "/users", { method: "POST" })).status, 201);
  assert.equal((await call(router, "/files/a/b.txt")).text, "file a/b.txt");
  assert.equal((await call(router, "/docs/guide/intro")).text, "doc guide/intro");
  assert.equal((await call(router, "/docs")).text, "doc (index)");
  assert.equal((await call(router, "/users/7?tab=/x#frag")).text, "user 7");
});

Deno.test("Router matches static paths exactly: case, trailing slash, percent-encoding", async () => {
  const router = new Router()
    .get("/about", () => new Response("about"))
    .get("/café", () => new Response("café"));
  assert.equal((await call(router, "/about")).status, 200);
  assert.equal((await call(router, "/about/")).status, 404);
  assert.equal((await call(router, "/About")).status, 404);
  assert.equal((await call(router, "/caf%C3%A9")).text, "café");
  assert.equal((await call(router, "/café")).text, "café");
});

Deno.test("Router precedence does not depend on registration order", async () => {
  const patterns = [
    "/users",
    "/users/me",
    "/users/:id",
    "/users/:id.json",
    "/users/:id(\\d+)",
    "/users/:id?",
    "/users/*",
    "/:section/list",
    "/*",
  ];
  const expected: [string, string][] = [
    ["/users", "/users"], // end beats optional and wildcard
    ["/users/me", "/users/me"], // static beats everything
    ["/users/42", "/users/:id(\\d+)"], // constrained beats plain
    ["/users/ada", "/users/:id"], // param beats optional and wildcard
    ["/users/ada.json", "/users/:id.json"], // mixed beats param
    ["/users/1/posts", "/users/*"], // only the wildcards match two segments
    ["/users/", "/users/*"],
    ["/users/list", "/users/:id"], // decided at the first segment: static "users" beats ":section"
    ["/posts/list", "/:section/list"], // param + static beats a bare wildcard
    ["/elsewhere", "/*"],
  ];
  const orders = [patterns, [...patterns].reverse()];
  for (let seed = 1; seed <= 40; seed++) orders.push(shuffled(patterns, seed));

  for (const order of orders) {
    const router = new Router();
    for (const pattern of order) router.get(pattern, tagged(pattern));
    for (const [path, pattern] of expected) {
      assert.equal(await winner(router, path), pattern, `${path} with order ${order.join(" ")}`);
    }
  }
});

Deno.test("Router precedence: more required segments win, then registration order breaks ties", async () => {
  for (const order of [["/a/*", "/a/:b/*"], ["/a/:b/*", "/a/*"]]) {
    const router = new Router();
    for (const pattern of order) router.get(pattern, tagged(pattern));
    assert.equal(await winner(router, "/a/b/c"), "/a/:b/*");
  }
  for (const order of [["/o/*", "/o/:id?"], ["/o/:id?", "/o/*"]]) {
    const router = new Router();
    for (const pattern of order) router.get(pattern, tagged(pattern));
    assert.equal(await winner(router, "/o"), "/o/:id?", "optional beats wildcard");
  }
  for (const [first, second] of [["/t/:x", "/t/:y"], ["/t/:y", "/t/:x"]]) {
    const router = new Router().get(first, tagged(first)).get(second, tagged(second));
    assert.equal(await winner(router, "/t/1"), first, "same kinds: the first registered wins");
  }
  // `all` competes on specificity with method routes; a catch-all does not hide a GET route.
  for (const order of [0, 1]) {
    const router = new Router();
    const add = [() => router.all("/*", tagged("all /*")), () => router.get("/x", tagged("/x"))];
    if (order) add.reverse();
    add.forEach((f) => f());
    assert.equal(await winner(router, "/x"), "/x");
    assert.equal(await winner(router, "/x", "DELETE"), "all /*");
  }
});

Deno.test("Router answers 404 for unmatched paths, with a custom notFound", async () => {
  const plain = new Router().get("/", () => new Response("home"));
  const { status, text, response } = await call(plain, "/nope");
  assert.equal(status, 404);
  assert.match(response.headers.get("content-type")!, /^text\/plain/);
  assert.match(text, /Not Found/);

  const custom = new Router({
    notFound: (req, { params, info }) =>
      new Response(`no ${new URL(req.url).pathname} for ${info.remoteAddr.hostname}`, {
        status: 404,
        headers: { "x-params": JSON.stringify(params) },
      }),
  });
  const answer = await call(custom, "/nope");
  assert.equal(answer.status, 404);
  assert.equal(answer.text, "no /nope for 127.0.0.1");
  assert.equal(answer.response.headers.get("x-params"), "{}");
});

Deno.test("Router answers 405 with a sorted Allow that includes HEAD and OPTIONS", async () => {
  const router = new Router()
    .put("/items/:id", () => new Response("put"))
    .get("/items/:id", () => new Response("get"))
    .delete("/items/*", () => new Response("delete"))
    .post("/items", () => new Response("post"));

  const { status, response, text } = await call(router, "/items/1", { method: "POST" });
  assert.equal(status, 405);
  assert.equal(response.headers.get("allow"), "DELETE, GET, HEAD, OPTIONS, PUT");
  assert.match(text, /Method Not Allowed/);

  const post = await call(router, "/items", { method: "GET" });
  assert.equal(post.status, 405);
  assert.equal(post.response.headers.get("allow"), "OPTIONS, POST");

  const custom = await call(router, "/items/1", { method: "PURGE" });
  assert.equal(custom.status, 405);
  assert.equal((await call(router, "/other", { method: "POST" })).status, 404);
});

Deno.test("Router answers OPTIONS with 204 and Allow unless a route handles it", async () => {
  const router = new Router()
    .get("/a", () => new Response("a"))
    .post("/a", () => new Response("a"))
    .get("/cors/*", () => new Response("c"))
    .options("/cors/*", () => new Response(null, { status: 204, headers: { "x-cors": "yes" } }));

  const auto = await call(router, "/a", { method: "OPTIONS" });
  assert.equal(auto.status, 204);
  assert.equal(auto.response.headers.get("allow"), "GET, HEAD, OPTIONS, POST");
  assert.equal(auto.text, "");

  const explicit = await call(router, "/cors/x", { method: "OPTIONS" });
  assert.equal(explicit.response.headers.get("x-cors"), "yes");
  assert.equal((await call(router, "/none", { method: "OPTIONS" })).status, 404);
});

Deno.test("Router answers HEAD from GET routes: headers kept, body dropped and cancelled", async () => {
  let cancelled = false;
  const router = new Router()
    .get("/page", () =>
      new Response("<h1>hi</h1>", {
        headers: { "content-type": "text/html; charset=utf-8", "x-extra": "1" },
      }))
    .get("/stream", () =>
      new Response(
        new ReadableStream({
          pull: (c) => c.enqueue(new Uint8Array(8)),
          cancel: () => void (cancelled = true),
        }),
      ));

  const page = await call(router, "/page", { method: "HEAD" });
  assert.equal(page.status, 200);
  assert.equal(page.response.body, null);
  assert.equal(page.response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(page.response.headers.get("x-extra"), "1");

  const stream = await call(router, "/stream", { method: "HEAD" });
  assert.equal(stream.response.body, null);
  await Promise.resolve();
  assert.ok(cancelled, "the GET body is cancelled");
  assert.equal((await call(router, "/stream", { method: "POST" })).status, 405);
});

Deno.test("Router: an explicit HEAD route beats the GET route of the same pattern", async () => {
  for (const order of [0, 1]) {
    const router = new Router();
    const add = [
      () => router.get("/x", () => new Response("get", { headers: { "x-by": "get" } })),
      () => router.head("/x", () => new Response(null, { headers: { "x-by": "head" } })),
    ];
    if (order) add.reverse();
    add.forEach((f) => f());
    const { response } = await call(router, "/x", { method: "HEAD" });
    assert.equal(response.headers.get("x-by"), "head");
  }
});

Deno.test("Router lets route errors propagate unless onError is given", async () => {
  const boom = new Error("boom");
  const build = (options = {}) =>
    new Router(options)
      .get("/sync", () => {
        throw boom;
      })
      .get("/async", () => Promise.reject(boom));

  const bare = build();
  assert.throws(() => bare.fetch(request("/sync"), info), boom);
  await assert.rejects(async () => await bare.fetch(request("/async"), info), boom);

  const seen: unknown[] = [];
  const handled = build({
    onError: (error: unknown, req: Request) => {
      seen.push(error);
      return new Response(`caught at ${new URL(req.url).pathname}`, { status: 500 });
    },
  });
  assert.equal((await call(handled, "/sync")).text, "caught at /sync");
  assert.equal((await call(handled, "/async")).text, "caught at /async");
  assert.deepEqual(seen, [boom, boom]);
});

Deno.test("Router.mount: a sub-router matches the rest of the path, the request is unchanged", async () => {
  const api = new Router()
    .get("/", () => new Response("api root"))
    .get("/users/:id", (req, { params }) => new Response(`${params.id} at ${req.url}`));
  const router = new Router()
    .get("/", () => new Response("home"))
    .mount("/api/", api);

  assert.equal((await call(router, "/api")).text, "api root");
  assert.equal((await call(router, "/api/")).text, "api root");
  assert.equal(
    (await call(router, "/api/users/7?q=1")).text,
    "7 at http://localhost/api/users/7?q=1",
  );
  assert.equal((await call(router, "/apis")).status, 404, "the prefix ends at a segment");

  // The sub-router's own 404 and 405 stand; its automatic HEAD and OPTIONS work under the prefix.
  assert.equal((await call(router, "/api/nope")).status, 404);
  const wrong = await call(router, "/api/users/7", { method: "DELETE" });
  assert.equal(wrong.status, 405);
  assert.equal(wrong.response.headers.get("allow"), "GET, HEAD, OPTIONS");
  const head = await call(router, "/api/users/7", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.response.body, null);
});

Deno.test("Router.mount: handlers keep the prefix unless stripPrefix; specific routes still win", async () => {
  const echo = (req: Request) => new Response(new URL(req.url).pathname);
  for (const order of [0, 1]) {
    const router = new Router();
    const add = [
      () => router.mount("/", echo),
      () => router.get("/api/time", () => new Response("time")),
      () => router.mount("/strip", echo, { stripPrefix: true }),
      () => router.mount("/app", { fetch: (req) => new Response(`app ${req.method}`) }),
    ];
    if (order) add.reverse();
    add.forEach((f) => f());

    assert.equal((await call(router, "/static/a.css")).text, "/static/a.css");
    assert.equal((await call(router, "/api/time")).text, "time");
    assert.equal((await call(router, "/api/other")).text, "/api/other");
    assert.equal((await call(router, "/strip/x/y")).text, "/x/y");
    assert.equal((await call(router, "/strip")).text, "/");
    assert.equal((await call(router, "/app/z", { method: "PUT" })).text, "app PUT");
  }
});

Deno.test("Router.mount: stripPrefix passes the request body along", async () => {
  const router = new Router().mount("/up", async (req) => new Response(await req.text()), {
    stripPrefix: true,
  });
  const { text } = await call(router, "/up/load", { method: "POST", body: "payload" });
  assert.equal(text, "payload");
});

Deno.test("Router.fetch is bound and sees routes added after the first request", async () => {
  const router = new Router().get("/a", () => new Response("a"));
  const { fetch } = router;
  const first = await fetch(request("/b"), info);
  assert.equal(first.status, 404);
  await first.body?.cancel();
  router.get("/b", () => new Response("b"));
  assert.equal(await (await fetch(request("/b"), info)).text(), "b");
});

Deno.test("Router routes custom methods and methods given in lower case", async () => {
  const router = new Router()
    .on(
      ["purge", "GET"],
      "/cache/:key",
      (req, { params }) => new Response(`${req.method} ${params.key}`),
    );
  assert.equal((await call(router, "/cache/k", { method: "PURGE" })).text, "PURGE k");
  assert.equal((await call(router, "/cache/k")).text, "GET k");
});

Deno.test("Router rejects bad patterns, prefixes and methods when they are registered", () => {
  const router = new Router();
  const ok = () => new Response();
  assert.throws(() => router.get("users", ok), /must start with "\/"/);
  assert.throws(() => router.on("BAD METHOD", "/", ok), /not an HTTP method/);
  // A method is a token (RFC 9110 §9.1), the one grammar the parser uses too.
  for (const method of ["", "GET\r\n", "G(T", "GÉT", "\u00a0GET", "GET\t", "M\u2028"]) {
    assert.throws(() => router.on(method, "/", ok), /not an HTTP method/, JSON.stringify(method));
  }
  for (const method of ["M-SEARCH", "purge", "X_Y.1", "!#$%&'*+-.^_`|~"]) {
    router.on(method, "/", ok);
  }
  assert.throws(() => router.mount("/files/:id", ok), /literal path/);
  assert.throws(() => router.mount("api", ok), /literal path/);
  assert.throws(() => router.get("/(", ok), TypeError);
});

Deno.test("Router matches exactly as URLPattern does (fast paths cross-checked)", async () => {
  const pieces = ["a", "b", "ab", ".", "-", "$", "[x]", ":p", ":q", ":p.json", "v:p", ":p-:q"];
  const optional = ["", "", "", "/*", "/:r?", "/:r(\\d+)", "{/:r}?", "/*.txt", "/:r*"];
  const values = ["7", "ab", "x-y", "a%20b", "a.b", "%E2%82%AC"];
  const tails = ["", "", "/", "/12", "/a/b", "/f.txt", "/x"];
  const pathPieces = [
    "a",
    "b",
    "ab",
    ".",
    "-",
    "$",
    "[x]",
    "7",
    "x.json",
    "va",
    "1-2",
    "",
    "a%20b",
  ];
  let state = 7;
  let matched = 0;
  const pick = <T>(list: readonly T[]) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return list[state % list.length];
  };
  for (let n = 0; n < 300; n++) {
    const segments = Array.from({ length: 1 + (n % 3) }, () => pick(pieces));
    const pattern = "/" + segments.join("/") + pick(optional);
    let compiled: URLPattern;
    try {
      compiled = new URLPattern({ pathname: pattern });
    } catch {
      continue; // a name used twice
    }
    const router = new Router().get(pattern, (_req, { params }) => Response.json(params));
    for (let m = 0; m < 20; m++) {
      // Half the paths are built from the pattern, so plenty of them match.
      const path = m % 2
        ? "/" + Array.from({ length: 1 + (m % 4) }, () => pick(pathPieces)).join("/")
        : "/" + segments.map((seg) => seg.replace(/:[a-z]+/g, () => pick(values))).join("/") +
          pick(tails);
      const expected = compiled.exec({ pathname: path });
      const response = await router.fetch(request(path), info);
      if (expected === null) {
        assert.equal(response.status, 404, `${pattern} should not match ${path}`);
        await response.body?.cancel();
        continue;
      }
      const groups = Object.fromEntries(
        Object.entries(expected.pathname.groups)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => [k, decodeURIComponent(v!)]),
      );
      matched++;
      assert.equal(response.status, 200, `${pattern} should match ${path}`);
      assert.deepEqual(await response.json(), groups, `${pattern} on ${path}`);
    }
  }
  assert.ok(matched > 1000, `only ${matched} paths matched: the cross-check is too weak`);
});
