import assert from "node:assert/strict";
import { CliError, parseCommandLine } from "../../lib/cli/flags.ts";
import { runServer, spawnServer } from "../_spawn.ts";

// ---- Flag parsing, as a table ---------------------------------------------------------------

Deno.test("cli: defaults are the tutorial's: localhost:8080, demo site", () => {
  const config = parseCommandLine([]);
  assert.equal(config.host, "localhost");
  assert.equal(config.port, 8080);
  assert.equal(config.root, undefined);
  assert.equal(config.app, undefined);
  assert.equal(config.listing, true);
  assert.equal(config.compress, true);
  assert.equal(config.workers, 1);
  assert.equal(config.logFormat, "common");
  assert.equal(parseCommandLine([], true).logFormat, "pretty");
});

Deno.test("cli: --header trims SP and HTAB around the name and value, nothing else", () => {
  const table: [flag: string, expected: [string, string]][] = [
    ["X-A:1", ["X-A", "1"]],
    [" X-A \t:\t one  two \t", ["X-A", "one  two"]],
    ["X-A: \u00a0v\u00a0", ["X-A", "\u00a0v\u00a0"]], // NBSP is obs-text, part of the value
    ["X-A: caf\u00e9", ["X-A", "caf\u00e9"]],
    ["X-Empty:", ["X-Empty", ""]],
    ["X-A: a:b", ["X-A", "a:b"]],
  ];
  for (const [flag, expected] of table) {
    assert.deepEqual(parseCommandLine(["-H", flag]).headers, [expected], JSON.stringify(flag));
  }
  assert.deepEqual(parseCommandLine(["--trusted-proxy", "[2001:db8::]/32"]).trustedProxies, [
    "[2001:db8::]/32",
  ]);
});

Deno.test("cli: every flag maps to its setting", () => {
  const config = parseCommandLine([
    "--host=0.0.0.0",
    "-p",
    "0",
    "site",
    "--no-listing",
    "--dotfiles",
    "--follow-symlinks",
    "--spa",
    "--cors",
    "--no-compress",
    "--no-etag",
    "-H",
    "X-A: 1",
    "--header",
    "X-B:two words",
    "--cache-control",
    "no-cache",
    "--rate-limit",
    "5",
    "--rate-burst",
    "7",
    "--trusted-proxy",
    "10.0.0.0/8",
    "--trusted-proxy",
    "::1",
    "--max-connections",
    "50",
    "--max-connections-per-ip",
    "5",
    "--header-timeout",
    "2.5",
    "--idle-timeout",
    "60",
    "--max-body-size",
    "10M",
    "--log-format",
    "json",
    "--quiet",
    "--grace-period",
    "3",
    "--workers",
    "2",
  ]);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.port, 0);
  assert.equal(config.root, "site");
  assert.equal(config.listing, false);
  assert.equal(config.dotfiles, true);
  assert.equal(config.followSymlinks, true);
  assert.equal(config.spa, true);
  assert.equal(config.cors, true);
  assert.equal(config.compress, false);
  assert.equal(config.etag, false);
  assert.deepEqual(config.headers, [["X-A", "1"], ["X-B", "two words"]]);
  assert.equal(config.cacheControl, "no-cache");
  assert.equal(config.rateLimit, 5);
  assert.equal(config.rateBurst, 7);
  assert.deepEqual(config.trustedProxies, ["10.0.0.0/8", "::1"]);
  assert.equal(config.maxConnections, 50);
  assert.equal(config.maxConnectionsPerIp, 5);
  assert.equal(config.headerTimeout, 2500);
  assert.equal(config.idleTimeout, 60_000);
  assert.equal(config.maxBodyBytes, 10 * 1024 * 1024);
  assert.equal(config.logFormat, "json");
  assert.equal(config.quiet, true);
  assert.equal(config.gracePeriod, 3);
  assert.equal(config.workers, 2);
  assert.equal(parseCommandLine(["--root", "x"]).root, "x");
  assert.equal(parseCommandLine(["--workers", "auto"]).workers, navigator.hardwareConcurrency);
});

Deno.test("cli: grouped short flags, attached values, values that start with a dash", () => {
  const grouped = parseCommandLine(["-qp", "0"]);
  assert.equal(grouped.quiet, true);
  assert.equal(grouped.port, 0);
  assert.equal(parseCommandLine(["-p0"]).port, 0);
  assert.equal(parseCommandLine(["--port=81"]).port, 81);
  assert.equal(parseCommandLine(["--root", "-dir"]).root, "-dir");
  assert.equal(parseCommandLine(["--", "-dir"]).root, "-dir");
  assert.equal(parseCommandLine(["--no-cors"]).cors, false);
  assert.deepEqual(parseCommandLine(["-H", "X-A: -1"]).headers, [["X-A", "-1"]]);
  // -H and --cors apply to an app's responses, so they go with --app.
  const app = parseCommandLine(["--app", "a.ts", "--cors", "-H", "X-A: 1"]);
  assert.equal(app.cors, true);
  assert.deepEqual(app.headers, [["X-A", "1"]]);
});

const BAD: [string[], RegExp][] = [
  // Our own words, never node:util's (unbalanced quotes, "ambiguous"), with a guess when close.
  [["--bogus"], /^unknown flag --bogus \(see --help\)$/],
  [["--prot", "80"], /^unknown flag --prot \(did you mean --port\?\)$/],
  [["--log-formt", "json"], /^unknown flag --log-formt \(did you mean --log-format\?\)$/],
  [["--max-conections", "3"], /\(did you mean --max-connections\?\)$/],
  [["--no-cros"], /^unknown flag --no-cros \(did you mean --no-cors\?\)$/],
  [["-port", "80"], /^unknown flag -port \(did you mean --port\?\)$/],
  [["-P", "80"], /^unknown flag -P \(did you mean -p\?\)$/],
  [["-x"], /^unknown flag -x \(see --help\)$/],
  [["--port"], /^--port needs a value$/],
  [["-p"], /^-p needs a value$/],
  [["--port", "--host", "x"], /^--port needs a value$/],
  [["--cors=yes"], /^--cors is a switch and takes no value$/],
  [["--port", "-1"], /^--port must be a whole number from 0 to 65535, got "-1"$/],
  [["-p", "-1"], /^--port must be a whole number from 0 to 65535, got "-1"$/],
  [["--idle-timeout", "-5"], /^--idle-timeout must be a number of at least 0.001, got "-5"$/],
  // With --app the app answers everything: a directory-only flag would be ignored.
  [["--app", "a.ts", "--spa"], /^--spa is for serving a directory and does nothing with --app/],
  [["--app", "a.ts", "--no-listing"], /^--no-listing is for serving a directory/],
  [["--app", "a.ts", "--cache-control", "no-store"], /^--cache-control is for serving/],
  [["--port", "http"], /--port must be a whole number/],
  [["--port", "65536"], /--port must be a whole number from 0 to 65535/],
  [["--port", "8.5"], /--port must be a whole number/],
  [["a", "b"], /at most one directory/],
  [["a", "--root", "b"], /either as an argument or with --root/],
  [["a", "--app", "x.ts"], /--app and a directory/],
  [["--cert", "c.pem"], /--cert and --key go together/],
  [["--host", ""], /--host cannot be empty/],
  [["--log-format", "xml"], /--log-format must be/],
  [["--rate-limit", "fast"], /--rate-limit must be a number/],
  [["--rate-burst", "3"], /--rate-burst needs --rate-limit/],
  [["--header", "no colon"], /--header must look like/],
  [["--header", "Bad Name: x"], /--header must look like/],
  // A header flag is a field (RFC 9110 §5): a token name, a value without controls or
  // characters past ISO-8859-1; only SP and HTAB count as the whitespace around them.
  [["--header", ": x"], /--header must look like/],
  [["--header", "X-A\u00a0: x"], /--header must look like/],
  [["--header", "X(A): x"], /--header must look like/],
  [["--header", "X-A: a\x01b"], /--header must look like/],
  [["--header", "X-A: a\x7fb"], /--header must look like/],
  [["--header", "X-A: a\rb"], /--header must look like/],
  [["--header", "X-A: \u20ac"], /--header must look like/],
  // --trusted-proxy is checked by the parser that uses it (leading zeros, IPv6 shape, prefix).
  [["--trusted-proxy", "010.0.0.1"], /--trusted-proxy must be/],
  [["--trusted-proxy", ":::"], /--trusted-proxy must be/],
  [["--trusted-proxy", "1::2::3"], /--trusted-proxy must be/],
  [["--trusted-proxy", "fd00::/129"], /--trusted-proxy must be/],
  [["--trusted-proxy", "\u00a010.0.0.1"], /--trusted-proxy must be/],
  [["--trusted-proxy", "300.1.1.1"], /--trusted-proxy must be/],
  [["--trusted-proxy", "10.0.0.0/33"], /--trusted-proxy must be/],
  [["--max-body-size", "lots"], /--max-body-size must be a size/],
  [["--max-connections", "0"], /--max-connections must be a whole number from 1/],
  [["--workers", "0"], /--workers must be a whole number from 1/],
  [["--grace-period", "soon"], /--grace-period must be a number/],
];

for (const [args, message] of BAD) {
  Deno.test(`cli: rejects ${JSON.stringify(args)}`, () => {
    assert.throws(() => parseCommandLine(args), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("\n"), "one line");
      return true;
    });
  });
}

// ---- The real process, spawned ---------------------------------------------------------------

Deno.test("cli: --help and --version print and exit 0", async () => {
  const help = await runServer(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: server\.ts/);
  assert.match(help.stdout, /--port/);
  const version = await runServer(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^tcp-http \d+\.\d+\.\d+/);
});

Deno.test("cli: a bad flag is one line on stderr and exit code 2", async () => {
  const result = await runServer(["--port", "nope"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr.trim().split("\n").length, 1);
  assert.match(result.stderr, /^tcp-http: --port must be a whole number/);
});

Deno.test("cli: port 0 serves the demo site, SIGTERM exits 0", async () => {
  const server = await spawnServer(["--port", "0", "--host", "127.0.0.1"]);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const home = await fetch(server.url);
  assert.equal(home.status, 200);
  assert.match(await home.text(), /href="\/about"/);
  const about = await fetch(new URL("/about", server.url));
  assert.equal(about.status, 200);
  await about.body?.cancel();
  const missing = await fetch(new URL("/nope", server.url));
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /404/);
  const { code, stdout } = await server.stop();
  assert.equal(code, 0);
  assert.match(stdout, /GET \/about/, "the access log has the requests");
});

Deno.test("cli: a port in use is one line and a non-zero exit", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const result = await runServer(["--host", "127.0.0.1", "--port", String(port)]);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim(), `tcp-http: port ${port} on 127.0.0.1 is already in use`);
  } finally {
    listener.close();
  }
});

Deno.test("cli: missing --allow-net is one line and a non-zero exit", async () => {
  const result = await runServer(["--port", "0"], { permissions: ["--no-prompt"] });
  assert.equal(result.code, 1);
  assert.match(result.stderr.trim(), /^tcp-http: no permission to listen on localhost:0/);
  assert.equal(result.stderr.trim().split("\n").length, 1);
});

Deno.test("cli: a missing directory is one line and exit code 1", async () => {
  const result = await runServer(["--port", "0", "/no/such/dir"]);
  assert.equal(result.code, 1);
  assert.equal(result.stderr.trim(), "tcp-http: no such directory: /no/such/dir");
});
