/**
 * Static files over real sockets: the CLI serving a directory, driven with raw bytes (fetch
 * would normalize `..` away), and a 1 GiB download that must not grow the server's memory,
 * nor buffer the file for a client that stops reading.
 */
import assert from "node:assert/strict";

const SERVER = new URL("../server.ts", import.meta.url).pathname;
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
    stderr: "inherit",
  }).spawn();
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
      return (await child.status).code;
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

Deno.test("static over sockets: GET, HEAD, ranges, 304, traversal, dotfiles, symlinks", async () => {
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

Deno.test("static over sockets: a missing root is a one-line error", async () => {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", SERVER, "--port", "0", `${root}/nope`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(result.code, 1);
  assert.equal(
    new TextDecoder().decode(result.stderr).trim(),
    `tcp-http: no such directory: ${root}/nope`,
  );
});

Deno.test("static over sockets: a 1 GiB file downloads in bounded memory; a stalled reader is not buffered", async () => {
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
    console.log(
      `1 GiB download: RSS ${before} KiB at start, peak ${peak} KiB; stalled reader ${whileStalled} KiB`,
    );
  } finally {
    assert.equal(await server.stop(), 0);
    await Deno.remove(bigDir, { recursive: true });
  }
});

globalThis.addEventListener("unload", () => {
  Deno.removeSync(root, { recursive: true });
  Deno.removeSync(outside, { recursive: true });
});
