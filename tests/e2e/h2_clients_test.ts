/**
 * Real HTTP/2 clients against our server: curl (`--http2` over TLS with a self-signed
 * certificate, `--http2-prior-knowledge` in cleartext), nghttp and h2load (Debian's
 * nghttp2-client), python-hyper/h2 through httpx (Debian's python3-httpx and python3-h2, run
 * with /usr/bin/python3), and headless Chromium loading a page with several assets over HTTPS,
 * whose `nextHopProtocol` must be h2. The files come from `serveDir`: ranges, compression,
 * 304, and a body large enough to be copied from the file, all over HTTP/2.
 *
 * Each client is skipped, with the reason printed, when it is not installed; every command is
 * bounded in time.
 */

import assert from "node:assert/strict";
import { type ExchangeRecord, serve, type Server } from "../../lib/mod.ts";
import { serveDir } from "../../lib/static/mod.ts";
import { canRun } from "../_spawn.ts";

const HOST = "127.0.0.1";
const decoder = new TextDecoder();
const PYTHON = "/usr/bin/python3";

const HAVE = {
  openssl: await canRun("openssl", ["version"]),
  curl: await canRun("curl", ["--version"]) &&
    (await output("curl", ["--version"])).includes("HTTP2"),
  nghttp: await canRun("nghttp", ["--version"]),
  h2load: await canRun("h2load", ["--version"]),
  httpx: await canRun(PYTHON, ["-c", "import h2, httpx"]),
  chromium: ["chromium", "chromium-browser", "google-chrome"].find((name) => {
    try {
      return new Deno.Command("which", { args: [name], stdout: "null", stderr: "null" })
        .outputSync().success;
    } catch {
      return false;
    }
  }),
};
const skip = (what: string, why: string) => console.log(`h2_clients_test: ${what} skipped: ${why}`);
if (!HAVE.openssl) skip("TLS checks", "openssl is not installed");
if (!HAVE.curl) skip("curl checks", "curl with HTTP/2 is not installed");
if (!HAVE.nghttp || !HAVE.h2load) skip("nghttp/h2load checks", "apt-get install nghttp2-client");
if (!HAVE.httpx) skip("httpx checks", "/usr/bin/python3 lacks h2 or httpx (python3-h2, -httpx)");
if (!HAVE.chromium) skip("the browser check", "no chromium on PATH");

async function output(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).output();
    return decoder.decode(out.stdout);
  } catch {
    return "";
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a client to its end, killed after `timeout` ms. */
async function run(command: string, args: string[], timeout = 20_000): Promise<Run> {
  const out = await new Deno.Command(command, {
    args,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeout),
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

const PIXEL = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

/** Enough assets that a browser would want more than one connection's worth of HTTP/1.1. */
const ASSETS = 12;
const PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="style.css"></head>
<body><h1>h2</h1>
${Array.from({ length: ASSETS }, (_, i) => `<img src="img/${i}.png">`).join("\n")}
<script type="module" src="app.mjs"></script></body></html>
`;
const APP = `
const images = [...document.images];
await Promise.all(images.map((img) => img.complete ? null : new Promise((r) => img.onload = img.onerror = r)));
const entries = performance.getEntries().filter((e) => "nextHopProtocol" in e);
await fetch("/report", { method: "POST", body: JSON.stringify({
  protocols: entries.map((e) => [new URL(e.name).pathname, e.nextHopProtocol]),
  images: images.filter((img) => img.naturalWidth === 1).length,
  color: getComputedStyle(document.querySelector("h1")).color,
}) });
`;

interface Fixture {
  dir: string;
  root: string;
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
  big: Uint8Array;
  bigSha: string;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function makeFixture(): Promise<Fixture> {
  const dir = await Deno.makeTempDir({ prefix: "h2_clients_" });
  const root = `${dir}/root`;
  await Deno.mkdir(`${root}/img`, { recursive: true });
  await Deno.writeTextFile(`${root}/index.html`, PAGE);
  await Deno.writeTextFile(`${root}/style.css`, "h1 { color: rgb(1, 2, 3); }\n");
  await Deno.writeTextFile(`${root}/app.mjs`, APP);
  for (let i = 0; i < ASSETS; i++) await Deno.writeFile(`${root}/img/${i}.png`, PIXEL);
  await Deno.writeTextFile(`${root}/text.txt`, "compress me, ".repeat(2000));
  // Past the small-file cache: copied from the file, in several windows' worth.
  const big = new Uint8Array(700_000);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  await Deno.writeFile(`${root}/big.bin`, big);
  let cert = "", key = "";
  if (HAVE.openssl) {
    const made = await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ]);
    assert.equal(made.code, 0, made.stderr);
    cert = await Deno.readTextFile(`${dir}/cert.pem`);
    key = await Deno.readTextFile(`${dir}/key.pem`);
  }
  return {
    dir,
    root,
    certPath: `${dir}/cert.pem`,
    keyPath: `${dir}/key.pem`,
    cert,
    key,
    big,
    bigSha: await sha256(big),
  };
}

const fixture = await makeFixture();
globalThis.addEventListener("unload", () => Deno.removeSync(fixture.dir, { recursive: true }));

/** A server with serveDir, /echo (POST: length and SHA-256) and /report; TLS when asked. */
function startServer(
  tls: boolean,
  log: ExchangeRecord[] = [],
  onReport?: (body: unknown) => void,
): Server {
  return serve({
    hostname: HOST,
    port: 0,
    onListen() {},
    onExchange: (record) => log.push(record),
    ...(tls ? { cert: fixture.cert, key: fixture.key } : {}),
  }, async (request, info) => {
    const path = new URL(request.url).pathname;
    if (path === "/echo") {
      const body = new Uint8Array(await request.arrayBuffer());
      return new Response(`${info.protocol} ${body.length} ${await sha256(body)}\n`);
    }
    if (path === "/report") {
      onReport?.(await request.json());
      return new Response(null, { status: 204 });
    }
    return serveDir(request, { fsRoot: fixture.root });
  });
}

function base(server: Server, tls: boolean): string {
  return `${tls ? "https" : "http"}://${HOST}:${server.addr.port}`;
}

// ---- curl ---------------------------------------------------------------------------------

async function curlChecks(tls: boolean): Promise<void> {
  const server = startServer(tls);
  const url = base(server, tls);
  const mode = tls ? ["-k", "--http2"] : ["--http2-prior-knowledge"];
  const out = `${fixture.dir}/curl-${tls}.bin`;
  try {
    const curl = (args: string[]) => run("curl", ["-sS", ...mode, ...args]);
    // A page, as HTTP/2.
    let r = await curl(["-o", "/dev/null", "-w", "%{http_version} %{http_code}", `${url}/`]);
    assert.equal(r.stdout, "2 200", r.stderr);
    // A large file copied from the file, across many windows.
    r = await curl(["-o", out, "-w", "%{http_code} %{size_download}", `${url}/big.bin`]);
    assert.equal(r.stdout, "200 700000", r.stderr);
    assert.equal(await sha256(await Deno.readFile(out)), fixture.bigSha);
    // A range, a conditional request, compression.
    r = await curl(["-o", out, "-w", "%{http_code}", "-r", "100-199", `${url}/big.bin`]);
    assert.equal(r.stdout, "206");
    assert.deepEqual(await Deno.readFile(out), fixture.big.subarray(100, 200));
    r = await curl(["-D", "-", "-o", "/dev/null", `${url}/text.txt`]);
    const etag = /^etag: (.*)\r$/m.exec(r.stdout)?.[1];
    assert.ok(etag, r.stdout);
    r = await curl([
      "-o",
      "/dev/null",
      "-w",
      "%{http_code}",
      "-H",
      `If-None-Match: ${etag}`,
      `${url}/text.txt`,
    ]);
    assert.equal(r.stdout, "304");
    r = await curl(["-D", "-", "-o", out, "--compressed", `${url}/text.txt`]);
    assert.match(r.stdout, /^content-encoding: (gzip|br)\r$/m);
    assert.equal(await Deno.readTextFile(out), "compress me, ".repeat(2000));
    // An upload of 1 MB, streamed to the handler under flow control.
    const upload = `${fixture.dir}/upload.bin`;
    await Deno.writeFile(upload, fixture.big.subarray(0, 500_000));
    r = await curl(["--data-binary", `@${upload}`, `${url}/echo`]);
    assert.equal(r.stdout, `HTTP/2 500000 ${await sha256(fixture.big.slice(0, 500_000))}\n`);
    // Several URLs on one connection, at once. (Not in cleartext: curl 7.88's --parallel fails
    // there with "Error in the HTTP2 framing layer" against Deno.serve's h2c as well.)
    if (!tls) return;
    r = await curl([
      "--parallel",
      "-o",
      "/dev/null",
      "-o",
      "/dev/null",
      "-o",
      "/dev/null",
      "-w",
      "%{http_version}/%{http_code} ",
      `${url}/img/0.png`,
      `${url}/img/1.png`,
      `${url}/style.css`,
    ]);
    assert.equal(r.stdout, "2/200 2/200 2/200 ", r.stderr);
  } finally {
    await server.shutdown();
  }
}

Deno.test({
  name: "h2 clients: curl --http2 over TLS (ALPN h2): files, ranges, 304, gzip, uploads",
  ignore: !HAVE.curl || !HAVE.openssl,
  fn: () => curlChecks(true),
});

Deno.test({
  name: "h2 clients: curl --http2-prior-knowledge in cleartext (h2c)",
  ignore: !HAVE.curl,
  fn: () => curlChecks(false),
});

// ---- nghttp and h2load ----------------------------------------------------------------------

Deno.test({
  name: "h2 clients: nghttp fetches a page and its assets; h2load's requests all succeed",
  ignore: !HAVE.nghttp || !HAVE.h2load,
  async fn() {
    for (const tls of HAVE.openssl ? [true, false] : [false]) {
      const server = startServer(tls);
      const url = base(server, tls);
      try {
        // -a: the assets the page links to, on the same connection.
        const page = await run("nghttp", ["-a", "-n", "-s", `${url}/`]);
        assert.equal(page.code, 0, page.stderr);
        for (
          const path of ["/", "/style.css", "/app.mjs", "/img/0.png", `/img/${ASSETS - 1}.png`]
        ) {
          assert.match(page.stdout, new RegExp(` 200 .* ${path.replaceAll(".", "\\.")}\n`), path);
        }
        const load = await run("h2load", ["-n", "600", "-c", "4", "-m", "16", `${url}/style.css`]);
        assert.equal(load.code, 0, load.stderr);
        assert.match(load.stdout, /requests: 600 total, 600 started, 600 done, 600 succeeded/);
        assert.match(load.stdout, /status codes: 600 2xx/);
        if (tls) assert.match(load.stdout, /Application protocol: h2/);
      } finally {
        await server.shutdown();
      }
    }
  },
});

// ---- python-hyper/h2 through httpx ------------------------------------------------------------

const PYTHON_CLIENT = `
import hashlib, json, sys
import httpx
base = sys.argv[1]
out = {}
with httpx.Client(http2=True, verify=False) as client:
    r = client.get(base + "/big.bin")
    out["big"] = [r.http_version, r.status_code, hashlib.sha256(r.content).hexdigest()]
    r = client.get(base + "/big.bin", headers={"range": "bytes=10-19"})
    out["range"] = [r.status_code, r.headers.get("content-range"), len(r.content)]
    r = client.post(base + "/echo", content=b"x" * 300000)
    out["echo"] = r.text
    out["streams"] = [client.get(base + "/img/%d.png" % i).status_code for i in range(5)]
print(json.dumps(out))
`;

Deno.test({
  name: "h2 clients: python-hyper/h2 through httpx (http2=True), TLS and h2c",
  ignore: !HAVE.httpx,
  async fn() {
    // httpx speaks h2c only by prior knowledge when told to; TLS is its HTTP/2 path.
    for (const tls of HAVE.openssl ? [true] : []) {
      const server = startServer(tls);
      try {
        const r = await run(PYTHON, ["-c", PYTHON_CLIENT, base(server, tls)]);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout);
        assert.deepEqual(out.big, ["HTTP/2", 200, fixture.bigSha]);
        assert.deepEqual(out.range, [206, "bytes 10-19/700000", 10]);
        const x = new TextEncoder().encode("x".repeat(300_000));
        assert.equal(out.echo, `HTTP/2 300000 ${await sha256(x)}\n`);
        assert.deepEqual(out.streams, [200, 200, 200, 200, 200]);
      } finally {
        await server.shutdown();
      }
    }
  },
});

const PYTHON_H2C = `
import json, socket, sys
import h2.connection, h2.config, h2.events
port = int(sys.argv[1])
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
for i in range(3):
    conn.send_headers(1 + 2 * i, [(":method", "GET"), (":scheme", "http"), (":authority", "a"),
                                  (":path", "/img/%d.png" % i)], end_stream=True)
sock.sendall(conn.data_to_send())
done, statuses, sizes = set(), {}, {}
while len(done) < 3:
    data = sock.recv(65536)
    if not data:
        break
    for ev in conn.receive_data(data):
        if isinstance(ev, h2.events.ResponseReceived):
            statuses[ev.stream_id] = dict(ev.headers)[b":status"].decode()
        elif isinstance(ev, h2.events.DataReceived):
            sizes[ev.stream_id] = sizes.get(ev.stream_id, 0) + len(ev.data)
            conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            done.add(ev.stream_id)
    sock.sendall(conn.data_to_send())
conn.close_connection()
sock.sendall(conn.data_to_send())
print(json.dumps([statuses, sizes]))
`;

Deno.test({
  name: "h2 clients: python-hyper/h2's own connection over h2c (prior knowledge)",
  ignore: !HAVE.httpx,
  async fn() {
    const server = startServer(false);
    try {
      const r = await run(PYTHON, ["-c", PYTHON_H2C, String(server.addr.port)]);
      assert.equal(r.code, 0, r.stderr);
      const [statuses, sizes] = JSON.parse(r.stdout);
      assert.deepEqual(statuses, { "1": "200", "3": "200", "5": "200" });
      assert.deepEqual(sizes, { "1": PIXEL.length, "3": PIXEL.length, "5": PIXEL.length });
    } finally {
      await server.shutdown();
    }
  },
});

// ---- Chromium -----------------------------------------------------------------------------

Deno.test({
  name: "h2 clients: headless Chromium loads a page and its assets over h2 (nextHopProtocol)",
  ignore: !HAVE.chromium || !HAVE.openssl,
  sanitizeResources: false, // Chromium's own sockets to us may outlive the page
  sanitizeOps: false,
  async fn() {
    const log: ExchangeRecord[] = [];
    const { promise: reported, resolve } = Promise.withResolvers<Record<string, unknown>>();
    const server = startServer(true, log, (body) => resolve(body as Record<string, unknown>));
    const profile = await Deno.makeTempDir({ prefix: "h2-browser-profile-" });
    const browser = new Deno.Command(HAVE.chromium!, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--ignore-certificate-errors",
        `--user-data-dir=${profile}`,
        `${base(server, true)}/`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const timer = setTimeout(() => resolve({ error: "no report within 30 s" }), 30_000);
    try {
      const result = await reported;
      assert.equal(result.error, undefined, String(result.error));
      assert.equal(result.color, "rgb(1, 2, 3)");
      assert.equal(result.images, ASSETS);
      const protocols = result.protocols as [string, string][];
      assert.ok(protocols.length >= ASSETS + 2, JSON.stringify(protocols));
      for (const [path, protocol] of protocols) assert.equal(protocol, "h2", path);
      // The server saw them as HTTP/2 too, on one connection.
      const h2 = log.filter((r) => r.protocol === "HTTP/2");
      assert.ok(h2.length >= ASSETS + 3, `${h2.length} HTTP/2 exchanges`);
      assert.equal(new Set(h2.map((r) => r.remoteAddr.port)).size, 1);
    } finally {
      clearTimeout(timer);
      browser.kill("SIGKILL");
      await browser.status;
      await server.shutdown();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
