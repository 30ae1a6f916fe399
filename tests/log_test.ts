import assert from "node:assert/strict";
import { createAccessLogger, escapeField, formatEntry } from "../lib/log.ts";
import type { ExchangeRecord } from "../lib/connection.ts";
import { TrustedProxies } from "../lib/clientip.ts";

const time = new Date(Date.UTC(2000, 9, 10, 13, 55, 36));
function record(over: Partial<ExchangeRecord> = {}, headers: HeadersInit = {}): ExchangeRecord {
  return {
    request: new Request("http://x/apache_pb.gif", { headers }),
    method: "GET",
    target: "/apache_pb.gif",
    minorVersion: 1,
    status: 200,
    bytes: 2326,
    remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5555 },
    duration: 1.5,
    ...over,
  };
}

Deno.test("log: common and combined formats", () => {
  assert.equal(
    formatEntry("common", record(), "127.0.0.1", time),
    '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif HTTP/1.1" 200 2326',
  );
  const withAgent = record({ bytes: 0 }, { referer: "http://a/", "user-agent": "curl/8" });
  assert.equal(
    formatEntry("combined", withAgent, "127.0.0.1", time),
    '127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /apache_pb.gif HTTP/1.1" 200 - ' +
      '"http://a/" "curl/8"',
  );
  assert.match(formatEntry("combined", record(), "127.0.0.1", time), /200 2326 "-" "-"$/);
});

Deno.test("log: json lines parse back", () => {
  const line = formatEntry(
    "json",
    record({ minorVersion: 0 }, { "user-agent": "x" }),
    "1.2.3.4",
    time,
  );
  const parsed = JSON.parse(line);
  assert.deepEqual(parsed, {
    time: "2000-10-10T13:55:36.000Z",
    remote: "1.2.3.4",
    method: "GET",
    target: "/apache_pb.gif",
    version: "HTTP/1.0",
    status: 200,
    bytes: 2326,
    duration_ms: 1.5,
    referer: "",
    user_agent: "x",
  });
});

Deno.test("log: hostile fields cannot forge lines or break quotes", () => {
  assert.equal(escapeField('a"b\\c'), 'a\\"b\\\\c');
  assert.equal(escapeField("a\nb\rc\x00"), "a\\x0ab\\x0dc\\x00");
  // Header values cannot hold CR or LF (the parser refuses them), but quotes, backslashes
  // and obs-text bytes can.
  const hostile = record({}, { "user-agent": 'evil" "x" \\ \xff' });
  const line = formatEntry("combined", hostile, "127.0.0.1", time);
  assert.ok(!line.includes("\n"), "one line");
  assert.ok(line.endsWith('"evil\\" \\"x\\" \\\\ \\xff"'), line);
  const pretty = formatEntry("pretty", record({ status: 404 }), "127.0.0.1", time);
  assert.match(pretty, /^13:55:36 GET \/apache_pb\.gif .*404.* 1\.5 ms 2326 B$/);
});

Deno.test("log: the logger resolves clients behind trusted proxies", () => {
  const lines: string[] = [];
  const log = createAccessLogger({
    format: "common",
    write: (line) => lines.push(line),
    trusted: new TrustedProxies(["127.0.0.1"]),
    now: () => time,
  });
  log(record({}, { "x-forwarded-for": "203.0.113.9" }));
  log(record({ remoteAddr: { transport: "tcp", hostname: "198.51.100.2", port: 1 } }, {
    "x-forwarded-for": "203.0.113.9",
  }));
  assert.match(lines[0], /^203\.0\.113\.9 /);
  assert.match(lines[1], /^198\.51\.100\.2 /, "an untrusted peer's header is ignored");
});
