/**
 * The dev-server flags end to end: --upload, --overwrite, --auth and --watch parsed and checked,
 * the plain-HTTP warning, the watcher's debounce and paths, and a spawned server taking uploads
 * behind Basic auth, a 1 GiB multipart upload in bounded memory, and live reload's endpoint.
 */
import assert from "node:assert/strict";
import { CliError, parseCommandLine } from "../../lib/cli/flags.ts";
import { isLoopback, plainHttpWarning } from "../../lib/cli/files.ts";
import { urlPathOf, watchTree } from "../../lib/cli/watch.ts";
import { LIVE_RELOAD_PATH } from "../../lib/handlers/live_reload.ts";
import { spawnServer, until, within } from "../_spawn.ts";

const WRITE = ["--allow-net", "--allow-read", "--allow-write"];

Deno.test("devserver: flags", () => {
  const off = parseCommandLine(["."]);
  assert.deepEqual([off.watch, off.upload, off.overwrite, off.auth], [false, false, false, []]);
  const on = parseCommandLine([
    "--watch",
    "--upload",
    "--overwrite",
    "--auth",
    "alice:pa:ss",
    "--auth=bob:",
    "site",
  ]);
  assert.deepEqual([on.watch, on.upload, on.overwrite], [true, true, true]);
  assert.deepEqual(on.auth, [["alice", "pa:ss"], ["bob", ""]]);
  assert.deepEqual(parseCommandLine(["--auth", "a:b"]).auth, [["a", "b"]], "auth on the demo");
  for (
    const [args, message] of [
      [["--watch"], /--watch needs a directory/],
      [["--upload", "--app", "x.ts"], /--upload needs a directory/],
      [["--overwrite", "."], /--overwrite needs --upload/],
      [["--auth", "nocolon", "."], /--auth must look like "user:password"/],
      [["--auth", ":pw", "."], /--auth must look like/],
      [["--auth", "a:b\nc", "."], /--auth must look like/],
    ] as [string[], RegExp][]
  ) {
    assert.throws(
      () => parseCommandLine(args),
      (e) => e instanceof CliError && message.test(e.message),
    );
  }
  assert.throws(
    () => parseCommandLine(["--auth", "secretuser"]),
    (e) => e instanceof CliError && !e.message.includes("secretuser"),
    "a malformed --auth is not echoed",
  );
});

Deno.test("devserver: the plain-HTTP warning, only off loopback and without TLS", () => {
  const warn = (args: string[]) => plainHttpWarning(parseCommandLine(args));
  assert.equal(warn(["--upload", "."]), null);
  assert.equal(warn(["--host", "127.0.0.2", "--auth", "a:b"]), null);
  assert.equal(warn(["--host", "::1", "--auth", "a:b"]), null);
  assert.equal(warn(["--host", "0.0.0.0", "."]), null, "nothing to protect");
  assert.equal(
    warn(["--host", "0.0.0.0", "--upload", "--auth", "a:b", "."]),
    "tcp-http: warning: passwords and uploads travel in the clear over HTTP on 0.0.0.0; anyone " +
      "on the network can read them (use --cert/--key, or --host localhost)",
  );
  assert.match(warn(["--host", "::", "--auth", "a:b"])!, /passwords travel/);
  assert.equal(warn(["--host", "0.0.0.0", "--auth", "a:b", "--cert", "c", "--key", "k"]), null);
  for (const host of ["localhost", "LOCALHOST", "app.localhost", "127.0.0.1", "[::1]"]) {
    assert.ok(isLoopback(host), host);
  }
  for (const host of ["0.0.0.0", "::", "192.168.1.2", "example.com", "128.0.0.1"]) {
    assert.ok(!isLoopback(host), host);
  }
});

Deno.test("devserver: the watcher reports URL paths once per burst, hidden names left out", async () => {
  assert.equal(urlPathOf("/srv/site", "/srv/site/a b/c.css", false), "/a b/c.css");
  assert.equal(urlPathOf("/srv/site/", "/srv/site", false), "/");
  assert.equal(urlPathOf("/srv/site", "/srv/siteX/a", false), null);
  assert.equal(urlPathOf("/srv/site", "/srv/site/.git/index", false), null);
  assert.equal(urlPathOf("/srv/site", "/srv/site/.git/index", true), "/.git/index");
  assert.equal(urlPathOf("/srv/site", "/srv/site/index.html~", true), null);

  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "watch-test-" }));
  const bursts: string[][] = [];
  const watcher = watchTree(dir, (paths) => bursts.push(paths.sort()), { debounceMs: 150 });
  try {
    await new Promise((resolve) => setTimeout(resolve, 100)); // the watch is in place
    await Deno.writeTextFile(`${dir}/a.html`, "1");
    await Deno.writeTextFile(`${dir}/.a.html.swp`, "swap");
    await Deno.writeTextFile(`${dir}/style.css`, "1");
    await Deno.writeTextFile(`${dir}/a.html`, "2");
    await until(() => bursts.length > 0, 5000, "a burst");
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(bursts, [["/a.html", "/style.css"]], "one call for the burst");
  } finally {
    watcher.close();
    watcher.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const auth = { authorization: `Basic ${btoa("alice:pw")}` };

Deno.test({
  name: "devserver: a spawned server takes uploads behind auth and warns off loopback",
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "devserver-" });
    const server = await spawnServer(
      ["--host", "0.0.0.0", "-p", "0", "-q", "--upload", "--auth", "alice:pw", root],
      { permissions: WRITE },
    );
    try {
      await server.waitFor("stderr", /warning: passwords and uploads travel in the clear/);
      assert.equal(server.stderr.trim().split("\n").length, 1, "one line");
      const base = `http://127.0.0.1:${server.port}`;
      const refused = await fetch(`${base}/a.txt`, { method: "PUT", body: "x" });
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get("www-authenticate")!, /^Basic realm="tcp-http"/);
      await refused.body?.cancel();
      const created = await fetch(`${base}/a.txt`, { method: "PUT", body: "hello", headers: auth });
      assert.equal(created.status, 201);
      await created.body?.cancel();
      const exists = await fetch(`${base}/a.txt`, { method: "PUT", body: "x", headers: auth });
      assert.equal(exists.status, 409);
      await exists.body?.cancel();
      const got = await fetch(`${base}/a.txt`, { headers: auth });
      assert.equal(await got.text(), "hello");

      const form = new FormData();
      form.append("file", new Blob(["from a form"]), "b.txt");
      const posted = await fetch(`${base}/`, {
        method: "POST",
        body: form,
        headers: { ...auth, accept: "text/html" },
        redirect: "manual",
      });
      assert.equal(posted.status, 303);
      await posted.body?.cancel();
      const listing = await (await fetch(`${base}/`, { headers: auth })).text();
      assert.ok(listing.includes('<form method="post"'), "the listing has the form");
      assert.ok(listing.includes(">b.txt</a>"));
      const options = await fetch(`${base}/`, { method: "OPTIONS", headers: auth });
      assert.equal(options.headers.get("allow"), "GET, HEAD, OPTIONS, PUT, POST");
      await options.body?.cancel();
      const tooBig = await fetch(`${base}/huge.bin`, {
        method: "PUT",
        body: new Uint8Array(101 * 1024 * 1024),
        headers: auth,
      });
      assert.equal(tooBig.status, 413, "past --max-body-size (100M by default)");
      await tooBig.body?.cancel();
    } finally {
      server.kill("SIGTERM");
      await server.wait();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "devserver: a 1 GiB multipart upload goes to disk in bounded memory",
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "devserver-big-" });
    const server = await spawnServer(
      ["-p", "0", "-q", "--upload", "--max-body-size", "2G", root],
      { permissions: WRITE },
    );
    const rssKiB = () =>
      Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${server.child.pid}/status`))![1]);
    try {
      const GIB = 1024 ** 3;
      const CHUNK = 1024 * 1024;
      const boundary = "----bigUploadBoundary";
      const encoder = new TextEncoder();
      const head = encoder.encode(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`,
      );
      const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
      const block = new Uint8Array(CHUNK).map((_, i) => (i * 13) & 0xff);
      const before = rssKiB();
      let peak = before;
      let sent = -1;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === -1) controller.enqueue(head);
          else if (sent < GIB) controller.enqueue(block.slice());
          else if (sent === GIB) controller.enqueue(tail);
          else return controller.close();
          sent = sent === -1 ? 0 : sent + (sent < GIB ? CHUNK : 1);
          if (sent % (64 * CHUNK) === 0) peak = Math.max(peak, rssKiB());
        },
      });
      const response = await within(
        fetch(`${server.url}`, {
          method: "POST",
          body,
          headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
        }),
        120_000,
        "1 GiB upload",
      );
      assert.equal(response.status, 201, await response.text());
      peak = Math.max(peak, rssKiB());
      const info = await Deno.stat(`${root}/big.bin`);
      assert.equal(info.size, GIB);
      const file = await Deno.open(`${root}/big.bin`);
      const sample = new Uint8Array(CHUNK);
      await file.seek(GIB - CHUNK, Deno.SeekMode.Start);
      let got = 0;
      while (got < CHUNK) got += (await file.read(sample.subarray(got)))!;
      file.close();
      assert.deepEqual(sample, block, "the last megabyte arrived intact");
      assert.ok(peak < before + 100 * 1024, `RSS stayed bounded: ${before} → peak ${peak} KiB`);
      if (Deno.env.get("TCP_HTTP_TEST_VERBOSE") === "1") {
        console.log(`1 GiB multipart upload: server RSS ${before} KiB at start, peak ${peak} KiB`);
      }
    } finally {
      server.kill("SIGTERM");
      await server.wait();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name: "devserver: --watch injects the script into pages and answers its endpoint",
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "devserver-watch-" });
    await Deno.writeTextFile(`${root}/index.html`, "<body><p>one</p></body>");
    const server = await spawnServer(["-p", "0", "-q", "--watch", root]);
    try {
      const page = await (await fetch(server.url)).text();
      assert.ok(page.startsWith("<body><p>one</p><script>"), page);
      assert.ok(page.includes(LIVE_RELOAD_PATH));
      const css = await fetch(`${server.url}x.css`);
      assert.equal(css.status, 404);
      await css.body?.cancel();
      const ws = new WebSocket(`${server.url.replace("http", "ws")}${LIVE_RELOAD_PATH.slice(1)}`);
      const message = new Promise<string>((resolve) => ws.onmessage = (e) => resolve(e.data));
      const closed = new Promise<number>((resolve) => ws.onclose = (e) => resolve(e.code));
      await within(new Promise((resolve) => ws.onopen = resolve), 5000, "open");
      await new Promise((resolve) => setTimeout(resolve, 200));
      await Deno.writeTextFile(`${root}/style.css`, "p { color: red }");
      assert.deepEqual(JSON.parse(await within(message, 5000, "message")), { css: ["/style.css"] });
      server.kill("SIGTERM");
      assert.equal(await within(closed, 5000, "close on shutdown"), 1001);
      assert.equal((await server.wait()).code, 0);
    } finally {
      server.kill("SIGKILL");
      await server.wait().catch(() => {});
      await Deno.remove(root, { recursive: true });
    }
  },
});
