import assert from "node:assert/strict";
import {
  createAccessLogger,
  escapeField,
  formatEntry,
  type LogFormat,
} from "../../lib/handlers/log.ts";
import type { ExchangeRecord } from "../../lib/shared/types.ts";
import { TrustedProxies } from "../../lib/handlers/clientip.ts";
import { serve } from "../../lib/mod.ts";

/** Apache's documentation example: 10 Oct 2000, 13:55:36 UTC. */
const TIME = new Date(Date.UTC(2000, 9, 10, 13, 55, 36, 250));
const CLF_TIME = "[10/Oct/2000:13:55:36 +0000]";
/** The pretty format shows local time, for the person at the terminal. */
const LOCAL = [TIME.getHours(), TIME.getMinutes(), TIME.getSeconds()]
  .map((n) => String(n).padStart(2, "0")).join(":");

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

const browser = { referer: "http://www.example.com/start.html", "user-agent": "Mozilla/4.08" };

Deno.test("log: exact lines for each format", () => {
  const table: [LogFormat, ExchangeRecord, string, string][] = [
    [
      "common",
      record(),
      "127.0.0.1",
      `127.0.0.1 - - ${CLF_TIME} "GET /apache_pb.gif HTTP/1.1" 200 2326`,
    ],
    [
      "common",
      record({ method: "HEAD", minorVersion: 0, status: 304, bytes: 0 }),
      "2001:db8::1",
      `2001:db8::1 - - ${CLF_TIME} "HEAD /apache_pb.gif HTTP/1.0" 304 -`,
    ],
    [
      "combined",
      record({}, browser),
      "127.0.0.1",
      `127.0.0.1 - - ${CLF_TIME} "GET /apache_pb.gif HTTP/1.1" 200 2326 ` +
      `"http://www.example.com/start.html" "Mozilla/4.08"`,
    ],
    [
      "combined",
      record({ request: null, method: "CONNECT", target: "example.com:443", status: 405 }),
      "198.51.100.7",
      `198.51.100.7 - - ${CLF_TIME} "CONNECT example.com:443 HTTP/1.1" 405 2326 "-" "-"`,
    ],
    [
      "json",
      record({ duration: 12.34567 }, browser),
      "203.0.113.9",
      '{"time":"2000-10-10T13:55:36.250Z","remote":"203.0.113.9","method":"GET",' +
      '"target":"/apache_pb.gif","version":"HTTP/1.1","status":200,"bytes":2326,' +
      '"duration_ms":12.346,"referer":"http://www.example.com/start.html",' +
      '"user_agent":"Mozilla/4.08"}',
    ],
    [
      "json",
      record({ request: null, status: 400, bytes: 0 }),
      "127.0.0.1",
      '{"time":"2000-10-10T13:55:36.250Z","remote":"127.0.0.1","method":"GET",' +
      '"target":"/apache_pb.gif","version":"HTTP/1.1","status":400,"bytes":0,' +
      '"duration_ms":1.5,"referer":"","user_agent":""}',
    ],
    ["pretty", record(), "127.0.0.1", `${LOCAL} GET /apache_pb.gif 200 1.5 ms 2.3 KiB`],
    [
      "pretty",
      record({ method: "POST", target: "/api", status: 201, bytes: 12, duration: 0.04 }),
      "127.0.0.1",
      `${LOCAL} POST /api 201 0.0 ms 12 B`,
    ],
    [
      "pretty",
      record({ status: 503, bytes: 5 * 1024 * 1024, duration: 2500 }),
      "127.0.0.1",
      `${LOCAL} GET /apache_pb.gif 503 2.50 s 5.0 MiB`,
    ],
  ];
  for (const [format, rec, client, expected] of table) {
    assert.equal(formatEntry(format, rec, client, TIME, false), expected, expected);
  }
});

Deno.test("log: pretty colours the status by class, and only when asked", () => {
  const table: [number, string][] = [
    [101, "101"],
    [200, "\x1b[32m200\x1b[0m"],
    [302, "\x1b[36m302\x1b[0m"],
    [404, "\x1b[33m404\x1b[0m"],
    [500, "\x1b[31m500\x1b[0m"],
  ];
  for (const [status, coloured] of table) {
    assert.equal(
      formatEntry("pretty", record({ status, bytes: 0 }), "127.0.0.1", TIME, true),
      `\x1b[2m${LOCAL}\x1b[0m GET /apache_pb.gif ${coloured} \x1b[2m1.5 ms 0 B\x1b[0m`,
    );
  }
  const lines: string[] = [];
  createAccessLogger({ format: "pretty", color: false, write: (l) => lines.push(l) })(record());
  assert.ok(!lines[0].includes("\x1b"), "color: false");
  createAccessLogger({ format: "common", color: true, write: (l) => lines.push(l) })(record());
  assert.ok(!lines[1].includes("\x1b"), "only pretty is ever coloured");
});

Deno.test("log: escapeField leaves nothing that could end a field or a line", () => {
  const table: [string, string][] = [
    ["plain /x?a=1&b=2", "plain /x?a=1&b=2"],
    ['a"b', 'a\\"b'],
    ["a\\b", "a\\\\b"],
    ['\\"', '\\\\\\"'],
    ["a\nb\rc", "a\\x0ab\\x0dc"],
    ["\x00\x01\x1b[31m\x1f", "\\x00\\x01\\x1b[31m\\x1f"],
    ["tab\there", "tab\\x09here"],
    ["del\x7f", "del\\x7f"],
    ["caf\xe9 \xff\x80", "caf\\xe9 \\xff\\x80"], // Latin-1: one character per byte sent
    ["€", "\\xe2\\x82\\xac"], // wider characters as their UTF-8 bytes
    ["😀", "\\xf0\\x9f\\x98\\x80"],
    ["\ud800", "\\xef\\xbf\\xbd"], // a lone surrogate does not throw
    ["", ""],
  ];
  for (const [input, expected] of table) assert.equal(escapeField(input), expected, input);
});

// deno-lint-ignore no-control-regex -- looking for control characters is the point
const CONTROL = /[\x00-\x1f]/;
// deno-lint-ignore no-control-regex -- as above
const NOT_PRINTABLE_ASCII = /[\x00-\x1f\x7f-\uffff]/;
/** Header values cannot hold NUL, CR or LF at all. */
// deno-lint-ignore no-control-regex -- as above
const headerSafe = (text: string) => text.replace(/[\x00\n\r]/g, "");

/** Combined format, field by field (the regex a log analyser would use). */
const COMBINED =
  /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$/;

Deno.test("log: hostile targets and user agents cannot forge lines or fields", () => {
  const hostile = [
    'evil" 200 1 "-" "-"',
    'x" "y',
    "back\\slash\\",
    "\\",
    '"',
    "ends with a backslash\\",
    "bell\x07 esc\x1b[2J",
    "nul\x00",
    'line\nbreak 127.0.0.1 - - [01/Jan/2000:00:00:00 +0000] "GET /admin HTTP/1.1" 200 1',
    "obs-text \xc3\xa9\xff",
  ];
  for (const text of hostile) {
    const rec = record({ target: `/${text}`, method: "GET" }, {
      referer: headerSafe(text),
      "user-agent": headerSafe(text),
    });
    const line = formatEntry("combined", rec, "127.0.0.1", TIME);
    assert.ok(!NOT_PRINTABLE_ASCII.test(line), `only printable ASCII: ${line}`);
    const fields = COMBINED.exec(line);
    assert.ok(fields, `still nine fields: ${line}`);
    assert.equal(fields[1], "127.0.0.1");
    assert.equal(fields[6], "200");
    assert.equal(fields[7], "2326");
    assert.equal(fields[5], escapeField(`GET /${text} HTTP/1.1`));

    // JSON lines parse back to exactly what was sent.
    const json = formatEntry("json", rec, "127.0.0.1", TIME);
    assert.ok(!json.includes("\n"));
    const parsed = JSON.parse(json);
    assert.equal(parsed.target, `/${text}`);
    assert.equal(parsed.user_agent, headerSafe(text));
    assert.equal(parsed.status, 200);

    const pretty = formatEntry("pretty", rec, "127.0.0.1", TIME, false);
    assert.ok(!CONTROL.test(pretty), `no escapes in pretty: ${pretty}`);
  }
});

Deno.test("log: the logger resolves clients behind trusted proxies", () => {
  const lines: string[] = [];
  const log = createAccessLogger({
    format: "common",
    write: (line) => lines.push(line),
    trusted: new TrustedProxies(["127.0.0.1"]),
    now: () => TIME,
  });
  const fromProxy = { "x-forwarded-for": "6.6.6.6, 203.0.113.9" };
  log(record({}, fromProxy));
  log(record({ remoteAddr: { transport: "tcp", hostname: "198.51.100.2", port: 1 } }, fromProxy));
  log(record({ request: null }, fromProxy));
  assert.deepEqual(lines.map((line) => line.split(" ")[0]), [
    "203.0.113.9",
    "198.51.100.2", // an untrusted peer's header is ignored
    "127.0.0.1", // no request (refused before one was built): the peer
  ]);
  // Without trusted proxies the headers are never looked at.
  const plain: string[] = [];
  createAccessLogger({ format: "json", write: (line) => plain.push(line) })(
    record({}, fromProxy),
  );
  assert.equal(JSON.parse(plain[0]).remote, "127.0.0.1");
});

Deno.test("log: a failing writer is reported once and never reaches the server", () => {
  const errors: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    const log = createAccessLogger({
      format: "common",
      write: () => {
        throw new Error("disk full");
      },
    });
    log(record());
    log(record());
  } finally {
    console.error = original;
  }
  assert.equal(errors.length, 1);
  assert.match(String(errors[0][0]), /access log failed/);
  assert.throws(
    () => createAccessLogger({ format: "apache" as LogFormat }),
    TypeError,
  );
});

/** Replaces `Deno.stdout.write` for the duration of `fn`. */
async function withStdout(
  write: (bytes: Uint8Array) => Promise<number>,
  fn: () => Promise<void>,
): Promise<void> {
  const original = Deno.stdout.write;
  Deno.stdout.write = write;
  try {
    await fn();
  } finally {
    Deno.stdout.write = original;
  }
}

/** A fresh copy of log.ts: its stdout batch is module state, and each test wants its own. */
async function freshLog(name: string): Promise<typeof import("../../lib/handlers/log.ts")> {
  return await import(`../../lib/handlers/log.ts?${name}`);
}

Deno.test("log: stdout lines are batched into few writes, in order, none lost", async () => {
  const { createAccessLogger, flush } = await freshLog("batch");
  const writes: string[] = [];
  const decoder = new TextDecoder();
  await withStdout(async (bytes) => {
    await new Promise((resolve) => setTimeout(resolve, 1)); // a slowish terminal
    // Write at most 10 000 bytes at a time, as a pipe may: the rest must follow.
    const n = Math.min(bytes.length, 10_000);
    writes.push(decoder.decode(bytes.subarray(0, n)));
    return n;
  }, async () => {
    let i = 0;
    const log = createAccessLogger({ format: "common", now: () => TIME });
    // 2000 requests in one event-loop turn, then 50 turns of 20.
    for (; i < 2000; i++) log(record({ target: `/${i}` }));
    for (let turn = 0; turn < 50; turn++) {
      for (let j = 0; j < 20; j++, i++) log(record({ target: `/${i}` }));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    await flush();
    await flush(); // nothing waiting: resolves at once
  });
  const lines = writes.join("").split("\n");
  assert.equal(lines.pop(), "", "every line ends with a newline");
  assert.equal(lines.length, 3000);
  lines.forEach((line, n) => assert.match(line, new RegExp(`"GET /${n} HTTP/1\\.1"`)));
  // About 64 bytes a line: 3000 lines are ~190 KB, so ~20 writes of 10 000 bytes, plus a few
  // for the turns; one write per request would be 3000.
  assert.ok(writes.length < 80, `${writes.length} writes`);
});

Deno.test("log: a stalled stdout drops lines (and says so) instead of growing forever", async () => {
  const { createAccessLogger, flush } = await freshLog("stalled");
  const { promise: unstalled, resolve: unstall } = Promise.withResolvers<void>();
  let written = 0;
  const errors: string[] = [];
  const original = console.error;
  console.error = (message: string) => errors.push(message);
  try {
    await withStdout(async (bytes) => {
      await unstalled;
      written += bytes.length;
      return bytes.length;
    }, async () => {
      const log = createAccessLogger({ format: "common", now: () => TIME });
      const big = "x".repeat(1000);
      log(record({ target: "/first" }));
      await new Promise((resolve) => setTimeout(resolve, 5)); // the first write is stuck now
      for (let i = 0; i < 10_000; i++) log(record({ target: `/${big}` })); // ~10 MB
      unstall();
      await flush();
    });
  } finally {
    console.error = original;
  }
  assert.ok(written > 4_000_000 && written < 5_000_000, `${written} bytes written`);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /^tcp-http: \d+ access log lines dropped/);
});

Deno.test("log: a closed stdout stops logging, not serving", async () => {
  const { createAccessLogger, flush } = await freshLog("broken");
  let calls = 0;
  await withStdout(() => {
    calls++;
    return Promise.reject(new Deno.errors.BrokenPipe("closed"));
  }, async () => {
    const log = createAccessLogger({ format: "json", now: () => TIME });
    log(record());
    await flush();
    log(record());
    await flush();
  });
  assert.equal(calls, 1, "no more writes after the pipe broke");
});

Deno.test("log: hostile bytes over a real socket stay inside their quotes", async () => {
  const lines: string[] = [];
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onExchange: createAccessLogger({ format: "combined", write: (line) => lines.push(line) }),
  }, () => new Response("ok"));
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    // Raw bytes: a quote and backslash in the target, obs-text and quotes in the user agent.
    const head = 'GET /a"b\\c HTTP/1.1\r\nHost: x\r\nReferer: "-" "forged\r\n' +
      'User-Agent: ev"il\\ \xe9\xff\r\nConnection: close\r\n\r\n';
    await conn.write(Uint8Array.from(head, (c) => c.charCodeAt(0)));
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    for (let n; (n = await conn.read(buffer)) !== null;) chunks.push(buffer.slice(0, n));
    conn.close();
    assert.match(new TextDecoder().decode(chunks[0]), /^HTTP\/1\.1 200 /);
  } finally {
    await server.shutdown();
  }
  assert.equal(lines.length, 1);
  const fields = COMBINED.exec(lines[0]);
  assert.ok(fields, lines[0]);
  assert.equal(fields[5], 'GET /a\\"b\\\\c HTTP/1.1');
  assert.equal(fields[6], "200");
  assert.equal(fields[8], '\\"-\\" \\"forged');
  assert.equal(fields[9], 'ev\\"il\\\\ \\xe9\\xff');
});

Deno.test("log: requests refused with an error status are logged too", async () => {
  const lines: string[] = [];
  const server = serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    maxBodyBytes: 10,
    onExchange: createAccessLogger({ format: "combined", write: (line) => lines.push(line) }),
  }, async (request) => new Response(await request.text()));
  const send = async (head: string) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    await conn.write(new TextEncoder().encode(head));
    const buffer = new Uint8Array(4096);
    const n = await conn.read(buffer);
    conn.close();
    return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
  };
  try {
    // Refused while parsing the head: there is no request line to log.
    assert.match(await send("NOT A REQUEST\r\n\r\n"), /^HTTP\/1\.1 400 /);
    // Refused once the request line was parsed: by the head (a Content-Length over the limit)
    // or while the handler read the body (chunks over the limit). The request line is known.
    const declared = "POST /declared HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world";
    assert.match(await send(declared), /^HTTP\/1\.1 413 /);
    const chunked = "POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "b\r\nhello world\r\n0\r\n\r\n";
    assert.match(await send(chunked), /^HTTP\/1\.1 413 /);
  } finally {
    await server.shutdown();
  }
  const fields = lines.map((line) => COMBINED.exec(line));
  assert.deepEqual(
    fields.map((f) => f && [f[5], f[6]]),
    [["-", "400"], ["POST /declared HTTP/1.1", "413"], ["POST /chunked HTTP/1.1", "413"]],
    lines.join("\n"),
  );
  assert.ok(fields.every((f) => Number(f![7]) > 0), "the error body's length");
});

Deno.test("log: in a --workers isolate, stdout writes stay within PIPE_BUF and end at a line end", async () => {
  // The worker stubs its own stdout, logs lines of many lengths, and reports its writes.
  const source = `
    import { createAccessLogger, flush } from ${
    JSON.stringify(import.meta.resolve("../../lib/handlers/log.ts"))
  };
    const writes = [];
    Deno.stdout.write = async (bytes) => { writes.push(new TextDecoder().decode(bytes)); return bytes.length; };
    const log = createAccessLogger({ format: "json" });
    for (let i = 0; i < 500; i++) {
      log({ request: null, method: "GET", target: "/" + "x".repeat(i * 7 % 300), minorVersion: 1,
        status: 200, bytes: i, remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
        duration: 1 });
    }
    log({ request: null, method: "GET", target: "/" + "y".repeat(6000), minorVersion: 1,
      status: 200, bytes: 0, remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
      duration: 1 });
    await flush();
    self.postMessage(writes);
  `;
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  const worker = new Worker(url, { type: "module" });
  try {
    const writes = await new Promise<string[]>((resolve, reject) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        reject(new Error(event.message));
      };
    });
    const lines = writes.join("").split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, 501);
    lines.forEach((line, i) => assert.equal(JSON.parse(line).bytes, i === 500 ? 0 : i));
    for (const write of writes) {
      assert.ok(write.endsWith("\n"), "every write ends at a line end");
      const size = new TextEncoder().encode(write).length;
      assert.ok(size <= 4096 || write.split("\n").length === 2, `${size} bytes in one write`);
    }
    assert.ok(writes.length > 20, `${writes.length} writes`);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});
