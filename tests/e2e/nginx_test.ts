/**
 * Behind Debian's nginx as a keep-alive reverse proxy: two server instances in one upstream,
 * request bodies (fixed and chunked, buffered and streamed by nginx), X-Forwarded-For, and
 * upstream connections that nginx reuses. The nginx configuration is read from
 * docs/deployment.md, so the documented one is the one tested.
 */

import assert from "node:assert/strict";
import { clientAddress, TrustedProxies } from "../../lib/handlers/clientip.ts";
import { serve, type Server } from "../../lib/engine/server.ts";
import type { Handler } from "../../lib/shared/types.ts";
import { canRun, sleep, within } from "../_spawn.ts";

const HOST = "127.0.0.1";
const decoder = new TextDecoder();

const HAVE_NGINX = await canRun("nginx", ["-v"]);
const HAVE_CURL = await canRun("curl", ["--version"]);
if (!HAVE_NGINX) console.log("nginx_test: skipped: nginx is not installed (apt-get install nginx)");

/** A port nobody listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const DOC = new URL("../../docs/deployment.md", import.meta.url);

/**
 * The reverse-proxy configuration from docs/deployment.md (the nginx block after its
 * "nginx-config" marker), with the test's ports, wrapped in a main configuration that keeps
 * every file nginx writes under `prefix`.
 */
async function nginxConfig(prefix: string, listen: number, upstreams: number[]): Promise<string> {
  const doc = await Deno.readTextFile(DOC);
  const block = /<!-- nginx-config:[^>]*-->\s*```nginx\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, "docs/deployment.md has the nginx block after its nginx-config marker");
  let site = block;
  const substitute = (from: string, to: string) => {
    assert.equal(site.split(from).length, 2, `the documented config has "${from}" once`);
    site = site.replace(from, to);
  };
  substitute("server 127.0.0.1:8080;", `server ${HOST}:${upstreams[0]};`);
  substitute("server 127.0.0.1:8081;", `server ${HOST}:${upstreams[1]};`);
  substitute("listen 80;", `listen ${HOST}:${listen};`);
  return `
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${prefix}/access.log;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;

${site}
}
`;
}

/** A running nginx started by this test. */
interface Nginx {
  port: number;
  prefix: string;
  stop(): Promise<void>;
}

async function startNginx(upstreams: number[]): Promise<Nginx> {
  const prefix = await Deno.makeTempDir({ prefix: "nginx_test_" });
  // Run as root, nginx's workers become "nobody" and must reach the temp paths it creates here.
  await Deno.chmod(prefix, 0o755);
  const port = freePort();
  try {
    await Deno.writeTextFile(`${prefix}/nginx.conf`, await nginxConfig(prefix, port, upstreams));
  } catch (error) {
    await Deno.remove(prefix, { recursive: true });
    throw error;
  }
  const child = new Deno.Command("nginx", {
    args: [
      "-p",
      prefix,
      "-e",
      `${prefix}/error.log`,
      "-c",
      `${prefix}/nginx.conf`,
      "-g",
      "daemon off;",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const cleanup = async () => {
    await status;
    await stderr;
    await Deno.remove(prefix, { recursive: true });
  };
  const stop = async () => {
    try {
      child.kill("SIGQUIT"); // graceful: finish requests, then exit
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, 5_000);
    await status.finally(() => clearTimeout(timer));
    await cleanup();
  };
  // Wait until it accepts connections (or dies).
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      const log = await Deno.readTextFile(`${prefix}/error.log`).catch(() => "");
      const err = await stderr;
      await cleanup();
      throw new Error(`nginx exited at start: ${err}${log}`);
    }
    try {
      (await Deno.connect({ hostname: HOST, port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error("nginx did not start listening within 10 s");
      }
      await sleep(20);
    }
  }
  return { port, prefix, stop };
}

/** What an instance saw of a request, as its JSON answer. */
interface Seen {
  name: string;
  method: string;
  url: string;
  xff: string | null;
  xfp: string | null;
  transferEncoding: string | null;
  contentLength: string | null;
  length: number;
  sha256: string;
  client: string;
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An instance that answers with its name and what it saw; it records each peer port. */
function instance(name: string, peers: Set<number>, requests: { count: number }): Handler {
  const trusted = new TrustedProxies([HOST]);
  return async (request, info) => {
    peers.add(info.remoteAddr.port);
    requests.count++;
    const path = new URL(request.url).pathname;
    if (path.endsWith("/big")) {
      // A streamed (chunked) 1 MiB response with a known pattern.
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent === 1024) return controller.close();
            controller.enqueue(new Uint8Array(1024).fill(sent++ % 256));
          },
        }),
        { headers: { "x-instance": name } },
      );
    }
    const body = new Uint8Array(await request.arrayBuffer());
    const seen: Seen = {
      name,
      method: request.method,
      url: request.url,
      xff: request.headers.get("x-forwarded-for"),
      xfp: request.headers.get("x-forwarded-proto"),
      transferEncoding: request.headers.get("transfer-encoding"),
      contentLength: request.headers.get("content-length"),
      length: body.length,
      sha256: await sha256(body),
      client: clientAddress(request, info.remoteAddr, trusted),
    };
    return Response.json(seen);
  };
}

Deno.test({
  name: "nginx: a keep-alive reverse proxy in front of two instances",
  ignore: !HAVE_NGINX,
  async fn() {
    const peers = { a: new Set<number>(), b: new Set<number>() };
    const requests = { a: { count: 0 }, b: { count: 0 } };
    const servers: Server[] = [
      serve({ hostname: HOST, port: 0, onListen() {} }, instance("a", peers.a, requests.a)),
      serve({ hostname: HOST, port: 0, onListen() {} }, instance("b", peers.b, requests.b)),
    ];
    let nginx: Nginx | null = null;
    const client = Deno.createHttpClient({});
    try {
      nginx = await startNginx(servers.map((s) => s.addr.port));
      const base = `http://${HOST}:${nginx.port}`;
      const ask = async (path: string, init: RequestInit = {}): Promise<Seen> => {
        const response = await within(fetch(`${base}${path}`, { ...init, client }), 10_000, path);
        assert.equal(response.status, 200, `${path}: ${response.status}`);
        return await response.json();
      };

      // Requests reach both instances, with the client's address and the original Host.
      const names = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const seen = await ask(`/hello/${i}`);
        names.add(seen.name);
        assert.equal(seen.method, "GET");
        assert.equal(seen.url, `http://${HOST}/hello/${i}`, "Host is nginx's $host");
        assert.equal(seen.xff, HOST);
        assert.equal(seen.xfp, "http");
        assert.equal(seen.client, HOST);
      }
      assert.deepEqual([...names].sort(), ["a", "b"]);

      // Request bodies arrive intact: small and 1 MiB, with a length and chunked from the
      // client; nginx buffers them under / and streams them (chunked) under /stream/.
      const small = new TextEncoder().encode("hello, upstream");
      const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 7 + (i >> 10)) % 256);
      const bigHash = await sha256(big);
      for (const prefix of ["", "/stream"]) {
        const s = await ask(`${prefix}/echo`, { method: "POST", body: small });
        assert.equal(s.length, small.length);
        assert.equal(s.sha256, await sha256(small));
        const fixed = await ask(`${prefix}/echo`, { method: "POST", body: big });
        assert.equal(fixed.length, big.length);
        assert.equal(fixed.sha256, bigHash);
        const chunked = await ask(`${prefix}/echo`, {
          method: "POST",
          body: ReadableStream.from(
            Array.from({ length: 16 }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536)),
          ),
        });
        assert.equal(chunked.length, big.length, `${prefix}/echo chunked`);
        assert.equal(chunked.sha256, bigHash);
        if (prefix === "/stream") {
          assert.equal(chunked.transferEncoding, "chunked", "nginx passed the upload on chunked");
        } else {
          assert.equal(chunked.contentLength, String(big.length), "nginx buffered the upload");
        }
      }

      // A streamed response passes through whole.
      for (const path of ["/big", "/stream/big"]) {
        const response = await fetch(`${base}${path}`, { client });
        const bytes = new Uint8Array(await response.arrayBuffer());
        assert.equal(bytes.length, 1024 * 1024, path);
        for (let i = 0; i < 1024; i++) assert.equal(bytes[i * 1024 + 1023], i % 256);
      }

      // nginx reused its upstream connections instead of opening one per request.
      const total = requests.a.count + requests.b.count;
      const connections = peers.a.size + peers.b.size;
      assert.equal(total, 28, "every request reached an instance once (no retries)");
      assert.ok(
        connections <= 4,
        `${connections} upstream connections carried ${total} requests`,
      );

      // From another loopback address, the client address is that one, and a forged
      // X-Forwarded-For in front of it does not fool a server trusting only nginx.
      if (HAVE_CURL) {
        const output = await new Deno.Command("curl", {
          args: [
            "-sS",
            "--max-time",
            "10",
            "--interface",
            "127.0.0.2",
            "-H",
            "X-Forwarded-For: 203.0.113.7",
            `${base}/who`,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        if (output.success) {
          const seen: Seen = JSON.parse(decoder.decode(output.stdout));
          assert.equal(seen.xff, "203.0.113.7, 127.0.0.2");
          assert.equal(seen.client, "127.0.0.2");
        } else {
          console.log(`  (skipped the 127.0.0.2 check: ${decoder.decode(output.stderr).trim()})`);
        }
      }

      const log = await Deno.readTextFile(`${nginx.prefix}/error.log`);
      assert.doesNotMatch(log, /\[(error|crit|alert|emerg)\]/, log);
    } finally {
      client.close();
      await nginx?.stop();
      await Promise.all(servers.map((s) => s.shutdown()));
    }
  },
});
