/**
 * The CLI's main function in process (exit codes, the one line on stderr, `--version`), the
 * entry point's output. The module graph and its layers are tests/layers_test.ts's.
 */

import assert from "node:assert/strict";
import denoJson from "../../deno.json" with { type: "json" };
import { main } from "../../lib/cli/main.ts";
import { announce } from "../../lib/cli/lifecycle.ts";
import { parseCommandLine, USAGE } from "../../lib/cli/flags.ts";
import { runServer } from "../_spawn.ts";

/** Runs `body` with console.log and console.error captured; returns what each printed. */
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

Deno.test("main: --version prints the given version and Deno's, exit 0", async () => {
  let code = -1;
  const { out, err } = await captured(async () => code = await main(["--version"], "9.8.7"));
  assert.equal(code, 0);
  assert.deepEqual(out, [`tcp-http 9.8.7 (Deno ${Deno.version.deno})`]);
  assert.deepEqual(err, []);
});

Deno.test("main: --help prints the usage, exit 0", async () => {
  let code = -1;
  const { out } = await captured(async () => code = await main(["-h"], "0.0.0"));
  assert.equal(code, 0);
  assert.deepEqual(out, [USAGE]);
});

Deno.test("main: a bad command line is exit 2, a failure to start exit 1, one line each", async () => {
  const table: [args: string[], code: number, line: RegExp][] = [
    [["--bogus"], 2, /^tcp-http: unknown flag --bogus \(see --help\)$/],
    [["--port", "-1"], 2, /^tcp-http: --port must be a whole number from 0 to 65535, got "-1"$/],
    [
      ["--port", "nope"],
      2,
      /^tcp-http: --port must be a whole number from 0 to 65535, got "nope"$/,
    ],
    [["--port", "0", "/no/such/dir"], 1, /^tcp-http: no such directory: \/no\/such\/dir$/],
    [
      ["--port", "0", "--app", "/no/such/app.ts"],
      1,
      /^tcp-http: app not found: \/no\/such\/app\.ts$/,
    ],
  ];
  for (const [args, expected, line] of table) {
    let code = -1;
    const { out, err } = await captured(async () => code = await main(args, "0.0.0"));
    assert.equal(code, expected, args.join(" "));
    assert.deepEqual(out, [], args.join(" "));
    assert.equal(err.length, 1, args.join(" "));
    assert.match(err[0], line);
  }
});

Deno.test("lifecycle: announce names what is served and the URL with the bound port", async () => {
  const addr = (hostname: string, port: number): Deno.NetAddr => ({
    transport: "tcp",
    hostname,
    port,
  });
  const table: [args: string[], bound: Deno.NetAddr, workers: number, line: string][] = [
    [[], addr("127.0.0.1", 8080), 1, "Serving the demo site on http://localhost:8080/"],
    [["-p", "0", "site"], addr("127.0.0.1", 41234), 1, "Serving site on http://localhost:41234/"],
    [["--app", "a.ts"], addr("::1", 9), 1, "Serving a.ts on http://localhost:9/"],
    [["--host", "::1"], addr("::1", 80), 1, "Serving the demo site on http://[::1]:80/"],
    [
      ["--host", "192.0.2.7"],
      addr("192.0.2.7", 80),
      1,
      "Serving the demo site on http://192.0.2.7:80/",
    ],
    [[], addr("127.0.0.1", 80), 4, "Serving the demo site on http://localhost:80/ with 4 workers"],
  ];
  for (const [args, bound, workers, line] of table) {
    const { out } = await captured(() => announce(parseCommandLine(args), bound, workers));
    assert.deepEqual(out, [line]);
  }
});

Deno.test("main: server.ts --version prints the version from deno.json", async () => {
  const result = await runServer(["--version"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, `tcp-http ${denoJson.version} (Deno ${Deno.version.deno})\n`);
});
