/**
 * Static files over real sockets. In process: `serve()` with `serveDir` as the handler, driven
 * with raw bytes (fetch would normalize `..` away) and with fetch. Through the CLI: a directory
 * served with `--allow-read=DIR` only, and a 1 GiB download that must not grow the server's
 * memory, nor buffer the file for a client that stops reading.
 */
import assert from "node:assert/strict";
import { serve, serveDir, type Server } from "../../lib/mod.ts";
import { field, fromLatin1, RawClient, type RawResponse, sleep, stop, text } from "../_raw.ts";
import { publicApiSwitch } from "../_spawn.ts";

/**
 * Deno 2.9 runs tests without the op and resource sanitizers unless asked (`--sanitize-ops`,
 * `--sanitize-resources`); these tests ask, so a file left open by a cancelled stream fails them.
 */
function test(name: string, fn: () => Promise<void> | void, ignore = false): void {
  Deno.test({ name, fn, ignore, sanitizeOps: true, sanitizeResources: true });
}

const SERVER = new URL("../../server.ts", import.meta.url).pathname;
const root = await Deno.makeTempDir({ prefix: "static-server-" });
const outside = await Deno.makeTempDir({ prefix: "static-outside-" });
await Deno.writeTextFile(`${outside}/secret.txt`, "OUTSIDE-SECRET");
await Deno.writeTextFile(`${root}/index.html`, "<h1>served</h1>\n");
await Deno.writeTextFile(`${root}/digits.txt`, "0123456789".repeat(10));
await Deno.writeTextFile(`${root}/.env`, "KEY=1\n");
await Deno.symlink(`${outside}/secret.txt`, `${root}/leak.txt`);

/** Starts server.ts on DIR with --allow-read for DIR only; resolves with its port and pid. */
async function startServer(dir: string, extra: string[] = []) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...publicApiSwitch(),
      "--allow-net",
      `--allow-read=${dir}`,
      SERVER,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--quiet",
      ...extra,
      dir,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Collected, so a run of the suite stays quiet; anything but the shutdown line is shown.
  let stderr = "";
  const errors = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/:(\d+)\//.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${text}`);
    text += value;
  }
  const port = Number(/:(\d+)\//.exec(text)![1]);
  return {
    port,
    pid: child.pid,
    rssKiB: () =>
      Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`))![1]),
    async stop() {
      child.kill("SIGTERM");
      await reader.cancel();
      const { code } = await child.status;
      await errors;
      const unexpected = stderr.split("\n").filter((line) =>
        line !== "" && !line.startsWith("tcp-http: shutting down")
      );
      if (unexpected.length > 0) console.error(unexpected.join("\n"));
      return code;
    },
  };
}

/** One raw request; the whole response as latin1 text (the server closes: Connection: close). */
async function raw(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder("latin1").decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

const get = (path: string, headers = "") =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`;

test("static in Deno.serve: serveDir's cached files come out whole there too", async () => {
  // Library users may call serveDir from Deno.serve, which reads responses its own way.
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => serveDir(request, { fsRoot: root, cors: true }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  const digits = "0123456789".repeat(10);
  for (let i = 0; i < 3; i++) {
    const response = await fetch(`${url}/digits.txt`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), digits);
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  }
  const page = await fetch(`${url}/index.html`);
  assert.equal(await page.text(), "<h1>served</h1>\n");
  const etag = page.headers.get("etag")!;
  const revalidated = await fetch(`${url}/index.html`, { headers: { "if-none-match": etag } });
  assert.equal(revalidated.status, 304);
  await revalidated.body?.cancel();
  const head = await fetch(`${url}/digits.txt`, { method: "HEAD" });
  assert.equal(head.headers.get("content-length"), String(digits.length));
  await head.body?.cancel();
});

test("static over sockets: a request sent after a file changed never gets the old file", async () => {
  // Each version is longer than the last and replaces the file whole (a new inode), so a body
  // tells which version it is and no reader can see a half-written one.
  const content = (version: number) => `v${version}:${"x".repeat(version)}`;
  const versionOf = (body: string) => Number(body.slice(1, body.indexOf(":")));
  const path = `${root}/versioned.txt`;
  await Deno.writeTextFile(path, content(0));
  let latest = 0;
  let writing = true;
  const server = serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => serveDir(request, { fsRoot: root }),
  );
  try {
    const writer = async () => {
      for (let version = 1; version <= 60; version++) {
        await Deno.writeTextFile(`${path}.tmp`, content(version));
        await Deno.rename(`${path}.tmp`, path);
        latest = version;
        await sleep(2);
      }
      writing = false;
    };
    let answered = 0;
    const reader = async () => {
      await using client = await RawClient.connect(server.addr.port);
      while (writing) {
        const floor = latest;
        await client.write("GET /versioned.txt HTTP/1.1\r\nHost: a\r\n\r\n");
        const version = versionOf(text(await client.response()));
        assert.ok(version >= floor, `version ${version} served for a request sent after ${floor}`);
        answered++;
      }
    };
    await Promise.all([writer(), reader(), reader(), reader(), reader()]);
    assert.ok(answered > 60, `${answered} requests`);
  } finally {
    await stop(server);
    await Deno.remove(path);
  }
});

test("static over sockets: GET, HEAD, ranges, 304, traversal, dotfiles, symlinks", async () => {
  const server = await startServer(root);
  try {
    const home = await raw(server.port, get("/"));
    assert.match(home, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(home, /content-type: text\/html; charset=utf-8\r\n/);
    assert.ok(home.endsWith("<h1>served</h1>\n"));

    const head = await raw(server.port, get("/digits.txt").replace("GET", "HEAD"));
    assert.match(head, /content-length: 100\r\n/);
    assert.ok(head.endsWith("\r\n\r\n"), "HEAD has no body");

    const range = await raw(server.port, get("/digits.txt", "Range: bytes=10-14\r\n"));
    assert.match(range, /^HTTP\/1\.1 206 /);
    assert.match(range, /content-range: bytes 10-14\/100\r\n/);
    assert.ok(range.endsWith("\r\n\r\n01234"));

    const etag = /etag: (\S+)\r\n/.exec(head)![1];
    const notModified = await raw(server.port, get("/digits.txt", `If-None-Match: ${etag}\r\n`));
    assert.match(notModified, /^HTTP\/1\.1 304 /);

    for (
      const path of [
        "/../secret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/.env",
        "/leak.txt",
        "/..\\secret.txt",
      ]
    ) {
      const response = await raw(server.port, get(path));
      assert.match(response, /^HTTP\/1\.1 (400|404) /, path);
      assert.ok(!response.includes("OUTSIDE-SECRET") && !response.includes("KEY=1"), path);
    }
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test("static over sockets: a missing root is a one-line error", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...publicApiSwitch(),
      "--allow-net",
      "--allow-read",
      SERVER,
      "--port",
      "0",
      `${root}/nope`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 1);
  assert.equal(
    new TextDecoder().decode(result.stderr).trim(),
    `tcp-http: no such directory: ${root}/nope`,
  );
});

test("static over sockets: a 1 GiB file downloads in bounded memory; a stalled reader is not buffered", async () => {
  const bigDir = await Deno.makeTempDir({ prefix: "static-big-" });
  const size = 1024 * 1024 * 1024;
  const file = await Deno.open(`${bigDir}/big.bin`, { write: true, create: true });
  await file.truncate(size); // sparse: fast to make, and read back as zeros
  file.close();
  const server = await startServer(bigDir);
  try {
    const before = server.rssKiB();
    // Full download, counting bytes as they come.
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await conn.write(new TextEncoder().encode(get("/big.bin")));
    const buf = new Uint8Array(1024 * 1024);
    let received = 0;
    let peak = before;
    let reads = 0;
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      received += n;
      if (++reads % 256 === 0) peak = Math.max(peak, server.rssKiB());
    }
    conn.close();
    assert.ok(received > size, `the whole file arrived (${received} bytes with the head)`);
    assert.ok(peak < before + 100 * 1024, `RSS stayed bounded: ${before} → peak ${peak} KiB`);

    // A client that asks for the file and never reads: the server must not read it all.
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    await stalled.write(new TextEncoder().encode(get("/big.bin")));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const whileStalled = server.rssKiB();
    assert.ok(
      whileStalled < before + 100 * 1024,
      `a stalled reader does not make the server buffer the file (${whileStalled} KiB)`,
    );
    stalled.close();
    if (Deno.env.get("TCP_HTTP_TEST_VERBOSE") === "1") {
      console.log(
        `1 GiB download: RSS ${before} KiB at start, peak ${peak} KiB; stalled reader ${whileStalled} KiB`,
      );
    }
  } finally {
    assert.equal(await server.stop(), 0);
    await Deno.remove(bigDir, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(root, { recursive: true });
  Deno.removeSync(outside, { recursive: true });
});

// ---- In process: serve() + serveDir ----------------------------------------------------------

const fixture = await Deno.makeTempDir({ prefix: "static-serve-" });
const fsRoot = `${fixture}/root`;
const SECRET = "IN-PROCESS-SECRET";
const digits = "0123456789".repeat(100);
const css = "main { display: grid; }\n".repeat(300);
await Deno.mkdir(`${fsRoot}/sub`, { recursive: true });
await Deno.writeTextFile(`${fixture}/secret.txt`, SECRET);
await Deno.writeTextFile(`${fsRoot}/index.html`, "<h1>in process</h1>\n");
await Deno.writeTextFile(`${fsRoot}/digits.txt`, digits);
await Deno.writeTextFile(`${fsRoot}/style.css`, css);
await Deno.writeTextFile(`${fsRoot}/sub/a.txt`, "a\n");
await Deno.writeTextFile(`${fsRoot}/.env`, "KEY=IN-PROCESS\n");
await Deno.symlink(`${fixture}/secret.txt`, `${fsRoot}/leak.txt`);
{
  const file = await Deno.open(`${fsRoot}/huge.bin`, { write: true, create: true });
  await file.truncate(64 * 1024 * 1024); // sparse
  file.close();
}

function startStatic(): Server {
  return serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, gracePeriod: 2_000 },
    (request) => serveDir(request, { fsRoot }),
  );
}

/** Sends `requests` on one connection, pipelined in one write, and reads every response. */
async function exchange(port: number, requests: string[]): Promise<RawResponse[]> {
  await using client = await RawClient.connect(port);
  await client.write(requests.join(""));
  return await client.responses(requests.length, requests.map((r) => r.startsWith("HEAD ")));
}

const req = (target: string, headers = "", method = "GET") =>
  `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;

test("static in process: GET, HEAD, ranges, 304, gzip as raw bytes on one keep-alive connection", async () => {
  const server = startStatic();
  try {
    const port = server.addr.port;
    const [home, head, range, multi, unsatisfiable, gzip, redirect, dotfile] = await exchange(
      port,
      [
        req("/"),
        req("/digits.txt", "", "HEAD"),
        req("/digits.txt", "Range: bytes=10-14\r\n"),
        req("/digits.txt", "Range: bytes=0-1,-2\r\n"),
        req("/digits.txt", "Range: bytes=5000-\r\n"),
        req("/style.css", "Accept-Encoding: gzip\r\n"),
        req("/sub?q=1"),
        req("/.env"),
      ],
    );
    assert.equal(home.status, 200);
    assert.equal(text(home), "<h1>in process</h1>\n");
    assert.equal(field(home, "content-type"), "text/html; charset=utf-8");
    assert.equal(field(home, "x-content-type-options"), "nosniff");

    assert.equal(head.status, 200);
    assert.equal(field(head, "content-length"), "1000", "HEAD keeps the handler's length");
    assert.equal(head.body.length, 0);
    const etag = field(head, "etag")!;
    assert.match(etag, /^"[^"]+"$/);

    assert.equal(range.status, 206);
    assert.equal(field(range, "content-range"), "bytes 10-14/1000");
    assert.equal(text(range), "01234");

    assert.equal(multi.status, 206);
    assert.match(field(multi, "content-type")!, /^multipart\/byteranges; boundary=/);
    assert.equal(multi.framing, "length");
    assert.match(text(multi), /content-range: bytes 0-1\/1000\r\n\r\n01\r\n/);
    assert.match(text(multi), /content-range: bytes 998-999\/1000\r\n\r\n89\r\n/);

    assert.equal(unsatisfiable.status, 416);
    assert.equal(field(unsatisfiable, "content-range"), "bytes */1000");

    assert.equal(gzip.status, 200);
    assert.equal(field(gzip, "content-encoding"), "gzip");
    assert.equal(field(gzip, "vary"), "Accept-Encoding");
    const unzipped = await new Response(
      new Blob([gzip.body as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
        new DecompressionStream("gzip"),
      ),
    ).text();
    assert.equal(unzipped, css);

    assert.equal(redirect.status, 301);
    assert.equal(field(redirect, "location"), "./sub/?q=1");
    assert.equal(dotfile.status, 404);

    // Revalidation, with the ETag from HEAD.
    const [notModified, stale] = await exchange(port, [
      req("/digits.txt", `If-None-Match: ${etag}\r\n`),
      req("/digits.txt", `If-Match: "nope"\r\n`),
    ]);
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.length, 0);
    assert.equal(field(notModified, "etag"), etag);
    assert.equal(stale.status, 412);
  } finally {
    await stop(server);
  }
});

test("static in process: hostile targets as raw bytes never leak", async () => {
  const server = startStatic();
  try {
    const targets = [
      "/../secret.txt",
      "/../../../../../../etc/passwd",
      "/..%2fsecret.txt",
      "/%2e%2e/secret.txt",
      "/%2e%2e%2fsecret.txt",
      "/sub/..%2f..%2fsecret.txt",
      "/..\\secret.txt",
      "/sub\\..\\..\\secret.txt",
      "/%5c..%5csecret.txt",
      "/%00",
      "/digits.txt%00.html",
      "/%zz",
      "/C:/secret.txt",
      "/c:%5csecret.txt",
      "//etc/passwd",
      `/${fixture}/secret.txt`,
      "/%2f" + fixture.slice(1).replaceAll("/", "%2f") + "%2fsecret.txt",
      "/leak.txt",
      "/.env",
      "http://127.0.0.1/../secret.txt",
      "http://127.0.0.1/..%2fsecret.txt",
    ];
    for (const target of targets) {
      // One connection each: the engine may close after refusing a target it cannot parse.
      await using client = await RawClient.connect(server.addr.port);
      await client.write(req(target, "Connection: close\r\n"));
      const response = await client.response();
      assert.ok([400, 404].includes(response.status), `${target} → ${response.status}`);
      const all = response.head + fromLatin1(response.body);
      assert.ok(!all.includes(SECRET) && !all.includes("KEY=IN-PROCESS"), target);
      assert.ok(!all.includes("root:"), target);
    }
  } finally {
    await stop(server);
  }
});

test("static in process: through fetch: decoding, ranges, 304, HEAD, redirects", async () => {
  const server = startStatic();
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    // fetch asks for gzip and br itself and decodes what comes back.
    const styled = await fetch(`${base}/style.css`);
    assert.equal(styled.status, 200);
    assert.equal(await styled.text(), css);

    const ranged = await fetch(`${base}/digits.txt`, { headers: { range: "bytes=-3" } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get("content-range"), "bytes 997-999/1000");
    assert.equal(await ranged.text(), "789");

    const first = await fetch(`${base}/digits.txt`);
    await first.body?.cancel();
    const again = await fetch(`${base}/digits.txt`, {
      headers: { "if-none-match": first.headers.get("etag")! },
    });
    assert.equal(again.status, 304);
    await again.body?.cancel();

    const head = await fetch(`${base}/digits.txt`, { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), "1000");
    assert.equal((await head.arrayBuffer()).byteLength, 0);

    const redirected = await fetch(`${base}/sub?x=1`, { redirect: "manual" });
    assert.equal(redirected.status, 301);
    assert.equal(redirected.headers.get("location"), "./sub/?x=1");
    await redirected.body?.cancel();
    const followed = await fetch(`${base}/sub?x=1`);
    assert.equal(followed.url, `${base}/sub/?x=1`);
    assert.match(await followed.text(), /Index of \/sub\//);

    const huge = await fetch(`${base}/huge.bin`);
    assert.equal(huge.headers.get("content-length"), String(64 * 1024 * 1024));
    let received = 0;
    for await (const chunk of huge.body!) received += chunk.length;
    assert.equal(received, 64 * 1024 * 1024);
  } finally {
    await stop(server);
  }
});

test("static in process: a client that leaves mid-download gets its file closed", async () => {
  const server = startStatic();
  try {
    const client = await RawClient.connect(server.addr.port);
    await client.write(req("/huge.bin"));
    await client.until("\r\n\r\n");
    // Stop reading until the socket buffers fill and the server waits in a write, with no read
    // of the file in flight: then only the stream's cancel can close the file.
    await sleep(300);
    await client.close();
    // The engine's write fails, it cancels the body, the stream closes the file; the resource
    // sanitizer fails this test if an FsFile is still open once the server has stopped.
  } finally {
    await stop(server, 5_000);
  }
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(fixture, { recursive: true });
});
