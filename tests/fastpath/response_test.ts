/**
 * Tests for `lib/fastpath/response.ts`: what the fast paths read from a `Response` is what the public API
 * gives, and the wire shows the fields as the handler set them.
 */
import { publicApiOnly } from "../../lib/fastpath/mode.ts";
import assert from "node:assert/strict";
import {
  bytesByReference,
  fastBodiesAvailable,
  type Fields,
  responseFields,
  SharedFields,
  staticBody,
  withBytes,
} from "../../lib/fastpath/response.ts";
import { RawClient, text, withServer } from "../_raw.ts";

Deno.test("the response fast paths are in use on this Deno unless TCP_HTTP_PUBLIC_API=1 (if not, lib/fastpath/response.ts needs updating)", () => {
  assert.equal(fastBodiesAvailable, !publicApiOnly);
  assert.equal(bytesByReference, !publicApiOnly);
});

/** A test of the fast path itself: with TCP_HTTP_PUBLIC_API=1 there is none to test. */
function fastPathTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name, ignore: publicApiOnly, fn });
}

fastPathTest(
  "staticBody: in-memory bodies as given, streams and used bodies left alone",
  async () => {
    const bytes = new Uint8Array([1, 2, 3]);
    assert.equal(staticBody(new Response("text")), "text");
    assert.equal(staticBody(new Response("text", { status: 201 })), "text");
    assert.equal(staticBody(Response.json({ a: 1 })), '{"a":1}');
    assert.deepEqual(staticBody(new Response(bytes)), bytes);
    assert.equal(staticBody(new Response(null, { status: 204 })), null);
    assert.equal(staticBody(new Response(new ReadableStream())), undefined);
    const used = new Response("read already");
    await used.text();
    assert.equal(staticBody(used), undefined);
    const streamed = new Response("its stream was taken");
    streamed.body;
    assert.equal(staticBody(streamed), undefined);
  },
);

/** Fields as the public iterator shows them: lower-cased, sorted, repeats joined. */
function publicView(fields: Fields | SharedFields): [string, string][] {
  return [...new Headers(listOf(fields).map(([n, v]) => [n, v]))];
}

/** The pairs of a field list, shared or not (undefined stays undefined). */
function listOf(fields: Fields | SharedFields): Fields;
function listOf(fields: Fields | SharedFields | undefined): Fields | undefined;
function listOf(fields: Fields | SharedFields | undefined): Fields | undefined {
  return fields instanceof SharedFields ? fields.list : fields;
}

const RESPONSES: [string, () => Response][] = [
  ["plain text", () => new Response("hello")],
  ["JSON", () => Response.json([1, 2])],
  ["bytes", () => new Response(new Uint8Array(4))],
  ["no body", () => new Response(null, { status: 304, headers: { etag: '"x"' } })],
  ["redirect", () => Response.redirect("http://a.test/next", 307)],
  [
    "init headers",
    () =>
      new Response("x", { headers: { "Content-Type": "text/html", "X-Frame-Options": "DENY" } }),
  ],
  ["changed after construction", () => {
    const response = new Response("x", { headers: { "x-a": "1" } });
    response.headers.set("x-a", "2");
    response.headers.append("vary", "origin");
    response.headers.append("vary", "accept-encoding");
    response.headers.delete("content-type");
    return response;
  }],
  ["bytes by reference", () => {
    const template = new Response(null, { headers: { "Content-Type": "a/b", etag: '"1"' } });
    return withBytes(template, new Uint8Array([1, 2]))!;
  }],
  ["cookies", () => {
    const response = new Response("x");
    response.headers.append("set-cookie", "a=1");
    response.headers.append("set-cookie", "b=2");
    return response;
  }],
];

for (const [name, make] of RESPONSES) {
  fastPathTest(`responseFields gives the public fields: ${name}`, () => {
    const fields = responseFields(make());
    assert.ok(fields !== undefined);
    assert.deepEqual(publicView(fields), [...make().headers]);
  });
}

fastPathTest("responseFields keeps the handler's order and repeated fields", () => {
  const response = new Response("x", { headers: [["X-Z", "1"], ["x-a", "2"], ["X-Z", "3"]] });
  assert.deepEqual(
    listOf(responseFields(response))?.filter(([n]) => n.toLowerCase() !== "content-type"),
    [
      ["X-Z", "1"],
      ["x-a", "2"],
      ["X-Z", "3"],
    ],
  );
});

fastPathTest("responseFields shares one list per lone content type, and only that", () => {
  const text = responseFields(new Response("a"));
  assert.ok(text instanceof SharedFields && Object.isFrozen(text.list));
  assert.equal(responseFields(new Response("b")), text);
  const json = responseFields(Response.json({ a: 1 }));
  assert.notEqual(json, text);
  assert.deepEqual(listOf(json), [["content-type", "application/json"]]);
  // A response whose fields were changed has its own list, with the change in it.
  const changed = new Response("c");
  changed.headers.set("x-a", "1");
  const own = responseFields(changed);
  assert.ok(own !== undefined && !(own instanceof SharedFields));
  assert.deepEqual(publicView(own), [["content-type", "text/plain;charset=UTF-8"], ["x-a", "1"]]);
  assert.deepEqual(listOf(responseFields(new Response("d"))), [[
    "content-type",
    "text/plain;charset=UTF-8",
  ]]);
});

fastPathTest("withBytes: the bytes by reference for us, a copy for anybody else", async () => {
  const bytes = new TextEncoder().encode("original");
  const template = new Response(null, { headers: { "content-type": "text/plain", "x-a": "1" } });
  const fields = [["content-type", "text/plain"], ["x-a", "1"]];
  const make = () => withBytes(template, bytes)!;

  // The connection's view: the very bytes and the template's fields, nothing copied or read.
  const ours = make();
  assert.equal(staticBody(ours), bytes);
  assert.deepEqual(listOf(responseFields(ours)), fields);
  assert.equal(staticBody(ours), bytes, "reading the fields left the body where it was");
  assert.equal(ours.bodyUsed, false);
  assert.equal(ours.status, 200);

  // Everybody else's: the same body and fields, in bytes of their own.
  const consumers: [string, (response: Response) => Promise<Uint8Array>][] = [
    ["bytes()", (response) => response.bytes()],
    ["body", async (response) => (await response.body!.getReader().read()).value!],
    ["clone", (response) => response.clone().bytes()],
    ["the original after a clone", async (response) => {
      await response.clone().bytes();
      return response.bytes();
    }],
    ["headers first", (response) => {
      assert.deepEqual([...response.headers], fields);
      return response.bytes();
    }],
    ["a new Response", (response) => new Response(response.body, response).bytes()],
  ];
  for (const [how, read] of consumers) {
    const response = make();
    const got = await read(response);
    assert.equal(new TextDecoder().decode(got), "original", how);
    assert.notEqual(got.buffer, bytes.buffer, how);
    got.fill(0);
    assert.equal(new TextDecoder().decode(bytes), "original", how);
    // Read publicly once, the response holds a copy of its own (or nothing, once consumed).
    assert.notEqual(staticBody(response), bytes, how);
  }
  // Responses from one template share one list of its fields; another template has its own.
  const [a, b] = [make(), make()];
  assert.ok(responseFields(a) instanceof SharedFields);
  assert.equal(responseFields(a), responseFields(b));
  const other = new Response(null, { headers: { "content-type": "text/plain", "x-a": "2" } });
  const fromOther = withBytes(other, bytes)!;
  assert.deepEqual(listOf(responseFields(fromOther)), [["content-type", "text/plain"], [
    "x-a",
    "2",
  ]]);
  // Changed through the public API, a response has its own fields again.
  a.headers.set("x-a", "changed");
  assert.ok(!(responseFields(a) instanceof SharedFields));
  assert.deepEqual(listOf(responseFields(a)), [["content-type", "text/plain"], ["x-a", "changed"]]);
  assert.deepEqual(listOf(responseFields(b)), fields);
  // The template itself is never changed by what its clones go through.
  assert.equal(template.body, null);
  assert.deepEqual([...template.headers], fields);
});

fastPathTest("withBytes: Deno.serve sends such a response whole", async () => {
  const bytes = new Uint8Array(100_000).map((_, i) => i & 0xff);
  const template = new Response(null, { headers: { "content-type": "application/x-test" } });
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => withBytes(template, bytes)!,
  );
  const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
  assert.equal(response.headers.get("content-type"), "application/x-test");
  assert.deepEqual(await response.bytes(), bytes);
});

fastPathTest("responseFields does not consume the body", async () => {
  const response = new Response("still here");
  responseFields(response);
  assert.equal(await response.text(), "still here");
});

fastPathTest(
  "connection: response fields go out in the handler's order, repeats on their own lines",
  async () => {
    await withServer(() => {
      const response = new Response("ok", { headers: [["X-Z", "1"], ["X-A", "2"]] });
      response.headers.append("x-z", "3");
      return response;
    }, async (port) => {
      await using client = await RawClient.connect(port);
      await client.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
      const response = await client.response();
      assert.equal(text(response), "ok");
      const mine = response.fields.filter(([n]) => n.startsWith("x-"));
      assert.deepEqual(mine, [["x-z", "1"], ["x-a", "2"], ["x-z", "3"]]);
      assert.match(response.head, /\r\nx-z: 1\r\n/, "names are written lower-cased");
    });
  },
);
