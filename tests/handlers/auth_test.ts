/**
 * HTTP Basic auth (handlers/auth.ts, RFC 7617): the challenge, credentials right and wrong in
 * either part, several users, UTF-8, malformed fields, preflights.
 */
import assert from "node:assert/strict";
import { basicAuth, parseBasic } from "../../lib/handlers/auth.ts";
import type { ServeHandlerInfo } from "../../lib/shared/types.ts";

const info = {} as ServeHandlerInfo;
const ok = () => new Response("secret");
const basic = (user: string, password: string) => {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
};
const call = (handler: ReturnType<typeof basicAuth>, headers: HeadersInit = {}, method = "GET") =>
  Promise.resolve(handler(new Request("http://localhost/", { headers, method }), info));

Deno.test("auth: 401 with a Basic challenge in UTF-8; the right login passes", async () => {
  const handler = basicAuth(ok, {
    credentials: [["alice", "s3:cret"], ["b\u00f6b", "p\u00e4ss \u2603"]],
  });
  const refused = await call(handler);
  assert.equal(refused.status, 401);
  assert.equal(
    refused.headers.get("www-authenticate"),
    'Basic realm="tcp-http", charset="UTF-8"',
  );
  assert.equal(refused.headers.get("cache-control"), "no-store");
  assert.equal(await refused.text(), "401 Unauthorized\n");

  const passed = await call(handler, { authorization: basic("alice", "s3:cret") });
  assert.equal(await passed.text(), "secret");
  const utf8 = await call(handler, { authorization: basic("b\u00f6b", "p\u00e4ss \u2603") });
  assert.equal(utf8.status, 200, "user names and passwords in UTF-8");
  const lower = await call(handler, {
    authorization: basic("alice", "s3:cret").replace("Basic", "bAsIc"),
  });
  assert.equal(lower.status, 200, "the scheme is case-insensitive");

  for (
    const header of [
      basic("alice", "s3:cre"), // password wrong by a character
      basic("alic", "s3:cret"), // user wrong
      basic("alice", ""),
      basic("", "s3:cret"),
      basic("alice", "p\u00e4ss \u2603"), // another user's password
      basic("ALICE", "s3:cret"),
      "Basic !!!",
      "Basic " + btoa("no colon"),
      "Bearer abc",
      "Basic",
      "Basic " + btoa("alice:s3:cret") + " extra",
    ]
  ) {
    const response = await call(handler, { authorization: header });
    assert.equal(response.status, 401, header);
    await response.body?.cancel();
  }
});

Deno.test("auth: a CORS preflight passes, other OPTIONS do not; the realm is quoted", async () => {
  const handler = basicAuth(() => new Response(null, { status: 204 }), {
    credentials: [["a", "b"]],
    realm: 'my "files"',
  });
  const preflight = await call(handler, { "access-control-request-method": "GET" }, "OPTIONS");
  assert.equal(preflight.status, 204);
  const options = await call(handler, {}, "OPTIONS");
  assert.equal(options.status, 401);
  assert.equal(
    options.headers.get("www-authenticate"),
    'Basic realm="my \\"files\\"", charset="UTF-8"',
  );
  assert.throws(() => basicAuth(ok, { credentials: [] }), TypeError);
  assert.throws(() => basicAuth(ok, { credentials: [["a:b", "c"]] }), TypeError);
});

Deno.test("auth: parseBasic", () => {
  assert.deepEqual(parseBasic(basic("u", "p:q")), ["u", "p:q"]);
  assert.deepEqual(parseBasic(`  basic\t${btoa("u:")}  `), ["u", ""]);
  assert.equal(parseBasic(null), null);
  assert.equal(parseBasic(`Basic ${btoa("\xff\xfe:x")}`), null, "not UTF-8");
});
