/**
 * Issue 17's rough edges of the command line: the addresses announced on a wildcard host, the
 * JSON banner and JSON handler errors with `--log-format json`, `-H`/`--cors` on an app's
 * responses, what Ctrl-C waits for, and `--workers` without `--unstable-net`.
 */

import assert from "node:assert/strict";
import { announce, networkUrls, shutdownMessage } from "../../lib/cli/lifecycle.ts";
import { parseCommandLine } from "../../lib/cli/flags.ts";
import { withAppFlags } from "../../lib/cli/app_flags.ts";
import { jsonOnError } from "../../lib/cli/json_errors.ts";
import type { Handler, ServeHandlerInfo } from "../../lib/mod.ts";
import { FIXTURES, ROOT, SERVER, spawnServer } from "../_spawn.ts";

async function captured(body: () => unknown): Promise<{ out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => out.push(args.join(" "));
  console.error = (...args: unknown[]) => err.push(args.join(" "));
  try {
    await body();
  } finally {
    console.log = log;
    console.error = error;
  }
  return { out, err };
}

const addr = (hostname: string, port: number): Deno.NetAddr => ({
  transport: "tcp",
  hostname,
  port,
});

function nic(family: "IPv4" | "IPv6", address: string): Deno.NetworkInterfaceInfo {
  return { family, address, name: "eth0", netmask: "", scopeid: null, cidr: "", mac: "" };
}

const INTERFACES = () => [
  nic("IPv4", "127.0.0.1"),
  nic("IPv6", "::1"),
  nic("IPv4", "192.168.1.5"),
  nic("IPv4", "10.0.0.2"),
  nic("IPv6", "fe80::1"),
  nic("IPv6", "2001:db8::5"),
];

Deno.test("announce: a wildcard host prints localhost, then every LAN address", async () => {
  const v4 = await captured(() =>
    announce(parseCommandLine(["--host", "0.0.0.0"]), addr("0.0.0.0", 8080), 1, INTERFACES)
  );
  assert.deepEqual(v4.out, [
    "Serving the demo site on http://localhost:8080/",
    "  on your network: http://192.168.1.5:8080/",
    "  on your network: http://10.0.0.2:8080/",
  ]);
  // :: is dual-stack: IPv6 addresses too, in brackets; link-local ones need a zone, left out.
  const v6 = await captured(() =>
    announce(
      parseCommandLine(["--host", "::", "--cert", "c", "--key", "k"]),
      addr("::", 443),
      1,
      INTERFACES,
    )
  );
  assert.deepEqual(v6.out, [
    "Serving the demo site on https://localhost:443/",
    "  on your network: https://192.168.1.5:443/",
    "  on your network: https://10.0.0.2:443/",
    "  on your network: https://[2001:db8::5]:443/",
  ]);
  const loopbackOnly = await captured(() =>
    announce(parseCommandLine(["--host", "0.0.0.0"]), addr("0.0.0.0", 1), 1, () => [
      nic("IPv4", "127.0.0.1"),
    ])
  );
  assert.deepEqual(loopbackOnly.out.slice(1), ["  on your network: none (loopback only)"]);
});

Deno.test("announce: without the permission to list interfaces, it says how, and goes on", async () => {
  const denied = () => {
    throw new Deno.errors.NotCapable('Requires sys access to "networkInterfaces"');
  };
  const { out } = await captured(() =>
    announce(parseCommandLine(["--host", "0.0.0.0"]), addr("0.0.0.0", 80), 1, denied)
  );
  assert.deepEqual(out, [
    "Serving the demo site on http://localhost:80/",
    "  on your network: every address here (run with --allow-sys=networkInterfaces to list them)",
  ]);
  assert.equal(networkUrls("0.0.0.0", 80, false, denied), null);
});

Deno.test("announce: --log-format json makes the banner one JSON line", async () => {
  const { out } = await captured(() =>
    announce(
      parseCommandLine(["--host", "0.0.0.0", "--log-format", "json", "site"]),
      addr("0.0.0.0", 80),
      1,
      INTERFACES,
    )
  );
  assert.equal(out.length, 1);
  const line = JSON.parse(out[0]);
  assert.equal(line.level, "info");
  assert.equal(line.message, "Serving site");
  assert.equal(line.url, "http://localhost:80/");
  assert.deepEqual(line.network, ["http://192.168.1.5:80/", "http://10.0.0.2:80/"]);
  assert.ok(!Number.isNaN(Date.parse(line.time)));
});

Deno.test("shutdown: the first signal says what it waits for", () => {
  assert.equal(shutdownMessage(0, 10), "tcp-http: shutting down (again to force)");
  assert.equal(
    shutdownMessage(1, 10),
    "tcp-http: shutting down, waiting for 1 response (at most 10 s); Ctrl-C again to force",
  );
  assert.match(shutdownMessage(3), /waiting for 3 responses; Ctrl-C again/);
});

const INFO = {
  remoteAddr: addr("127.0.0.1", 1),
  completed: Promise.resolve(),
} as unknown as ServeHandlerInfo;

Deno.test("app flags: -H and --cors apply to an app's responses and preflights", async () => {
  const app: Handler = (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/redirect") return Response.redirect("http://x/elsewhere", 302);
    if (path === "/own") {
      return new Response("own", { headers: { "access-control-allow-origin": "https://a" } });
    }
    return new Response(`${request.method} ${path}`, { headers: { "x-a": "app" } });
  };
  const handler = withAppFlags(app, { headers: [["X-A", "flag"], ["X-B", "2"]], cors: true });
  const plain = await handler(new Request("http://x/p"), INFO);
  assert.equal(await plain.text(), "GET /p");
  assert.equal(plain.headers.get("x-a"), "flag", "-H wins over the app's field");
  assert.equal(plain.headers.get("x-b"), "2");
  assert.equal(plain.headers.get("access-control-allow-origin"), "*");
  // Response.redirect's fields are immutable: the flags still apply, to a copy.
  const redirect = await handler(new Request("http://x/redirect"), INFO);
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.get("location"), "http://x/elsewhere");
  assert.equal(redirect.headers.get("x-b"), "2");
  // The app's own CORS answer stands.
  const own = await handler(new Request("http://x/own"), INFO);
  assert.equal(own.headers.get("access-control-allow-origin"), "https://a");
  // A preflight is answered for the app, allowing what it asks for.
  const preflight = await handler(
    new Request("http://x/api", {
      method: "OPTIONS",
      headers: {
        origin: "https://b",
        "access-control-request-method": "DELETE",
        "access-control-request-headers": "content-type, x-token",
      },
    }),
    INFO,
  );
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-methods"), "DELETE");
  assert.equal(preflight.headers.get("access-control-allow-headers"), "content-type, x-token");
  assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
  // An OPTIONS that is no preflight is the app's.
  const options = await handler(new Request("http://x/api", { method: "OPTIONS" }), INFO);
  assert.equal(await options.text(), "OPTIONS /api");
  // No flags: the app's handler itself.
  assert.equal(withAppFlags(app, { headers: [], cors: false }), app);
});

Deno.test("json errors: a handler's error is one JSON line on stderr, and a 500", async () => {
  const { err } = await captured(async () => {
    const response = jsonOnError(new Error("boom\nsecond line"), new Request("http://x/a?b"));
    assert.equal(response.status, 500);
    await response.body?.cancel();
  });
  assert.equal(err.length, 1);
  const line = JSON.parse(err[0]);
  assert.equal(line.level, "error");
  assert.equal(line.method, "GET");
  assert.equal(line.url, "http://x/a?b");
  assert.match(line.error, /^Error: boom\nsecond line\n {4}at /);
});

Deno.test("cli: --app with -H and --cors, --log-format json: stdout is JSON lines only", async () => {
  const dir = await Deno.makeTempDir();
  const app = `${dir}/app.ts`;
  await Deno.writeTextFile(
    app,
    `export default { fetch(request: Request) {
      if (new URL(request.url).pathname === "/boom") throw new Error("boom");
      return new Response("app");
    } };`,
  );
  const server = await spawnServer([
    "--app",
    app,
    "-p",
    "0",
    "--cors",
    "-H",
    "X-Flag: 1",
    "--log-format",
    "json",
  ]);
  try {
    const response = await fetch(server.url);
    assert.equal(await response.text(), "app");
    assert.equal(response.headers.get("x-flag"), "1");
    assert.equal(response.headers.get("access-control-allow-origin"), "*");
    const boom = await fetch(new URL("/boom", server.url));
    assert.equal(boom.status, 500);
    await boom.body?.cancel();
    await server.waitFor("stderr", /"handler error"/, 5000);
    await server.waitFor("stdout", /"status":500/, 5000);
  } finally {
    server.kill("SIGTERM");
    await server.wait();
    await Deno.remove(dir, { recursive: true });
  }
  const lines = server.stdout.trim().split("\n");
  assert.ok(lines.length >= 3, server.stdout);
  for (const line of lines) JSON.parse(line); // every line of stdout is JSON
  const errors = server.stderr.trim().split("\n").filter((line) => line.startsWith("{"));
  assert.equal(errors.length, 1, server.stderr);
  assert.equal(JSON.parse(errors[0]).message, "handler error");
});

Deno.test("cli: Ctrl-C with a response in flight says what it waits for", async () => {
  const server = await spawnServer([
    "--app",
    `${FIXTURES}slow_app.ts`,
    "-p",
    "0",
    "--grace-period",
    "1",
    "-q",
  ]);
  try {
    const stuck = fetch(new URL("/stuck", server.url)).then((r) => r.body?.cancel()).catch(
      () => {},
    );
    await server.waitFor("stderr", /stuck request started/, 5000);
    server.kill("SIGINT");
    await server.waitFor("stderr", /waiting for 1 response \(at most 1 s\); Ctrl-C again/, 5000);
    const result = await server.wait();
    assert.equal(result.code, 0, "the grace period cut it, a graceful exit");
    await stuck;
  } finally {
    server.kill("SIGKILL");
    await server.wait().catch(() => {});
  }
});

Deno.test("cli: --workers without --unstable-net is our own line, not Deno's", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-net", "--allow-read", SERVER, "--workers", "2"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 1, stderr);
  assert.match(stderr, /^tcp-http: --workers needs Deno's --unstable-net .*\n$/);
  assert.doesNotMatch(stderr, /Unstable API/);
});
