/**
 * JavaScript cost per request without sockets, load generator or kernel: the numbers a change to
 * the parser or the connection loop moves, free of the noise wrk runs carry on a shared machine.
 *
 *   deno run --allow-all bench/inprocess.ts parse            # the head parser alone
 *   deno run --allow-all bench/inprocess.ts pipeline [DEPTH] # one Connection, DEPTH GETs per read
 *   deno run --allow-all bench/inprocess.ts connections      # a Connection per request (close)
 *   deno run --allow-all bench/inprocess.ts static [DEPTH]   # a 16 KiB file through serveDir
 *   deno run --allow-all bench/inprocess.ts compare DIR [DEPTH]  # this lib/ against DIR's lib/
 *   deno run --allow-all bench/inprocess.ts compare-static DIR [DEPTH]  # the same, serving a file
 *
 * A fake `Deno.Conn` hands the connection the same request bytes on every read and takes every
 * write at once. Each mode runs 12 rounds and prints the fastest and the median, in µs (ns for
 * `parse`) per request. Add `--cpu-prof --cpu-prof-md` after `deno run` to see where the time goes.
 * Wall time on one core, so compare runs made one after the other, never across machines.
 *
 * @module
 */

import { Connection, type ConnectionConfig } from "../lib/engine/connection.ts";
import { DEFAULT_LIMITS } from "../lib/h1/errors.ts";
import { RequestHeadParser } from "../lib/h1/request_head.ts";
import { serveDir } from "../lib/static/mod.ts";

const encoder = new TextEncoder();
const WRK_HEAD = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
const BROWSER_HEAD = "GET /assets/app.js?v=3 HTTP/1.1\r\nHost: localhost:8080\r\n" +
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) " +
  "Chrome/120.0 Safari/537.36\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.9\r\n" +
  "Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n" +
  "Referer: http://localhost:8080/\r\nSec-Fetch-Mode: cors\r\n\r\n";
const ROUNDS = 12;

const config: ConnectionConfig = {
  handler: () => new Response("Hello, World!"),
  limits: DEFAULT_LIMITS,
  timeouts: { headerTimeout: 1e9, idleTimeout: 1e9, bodyTimeout: 1e9, writeTimeout: 1e9 },
  scheme: "http",
  serverName: "tcp-http",
  maxDrainBytes: 256 * 1024,
  onError: () => new Response("error", { status: 500 }),
  onInternalError: (error) => console.error(error),
};

/** A connection whose peer sends `bytes` on each of `reads` reads, then closes. */
function fakeConn(bytes: Uint8Array, reads: number): Deno.Conn {
  let left = reads;
  const address = (port: number) => ({ transport: "tcp", hostname: "127.0.0.1", port });
  return {
    remoteAddr: address(40000),
    localAddr: address(8080),
    read(buffer: Uint8Array) {
      if (left-- <= 0) return Promise.resolve(null);
      buffer.set(bytes);
      return Promise.resolve(bytes.length);
    },
    write: (data: Uint8Array) => Promise.resolve(data.length),
    close() {},
    closeWrite: () => Promise.resolve(),
    setNoDelay() {},
  } as unknown as Deno.Conn;
}

/** Runs `round` ROUNDS times; each returns its cost per request. Prints fastest and median. */
async function report(what: string, unit: string, round: () => Promise<number> | number) {
  const costs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) costs.push(await round());
  costs.sort((a, b) => a - b);
  const fastest = costs[0].toFixed(3);
  const median = costs[ROUNDS >> 1].toFixed(3);
  console.log(`${what}: fastest ${fastest}, median ${median} ${unit} per request`);
}

const [mode = "pipeline", arg] = Deno.args;
if (mode === "parse") {
  for (const [name, head] of [["wrk's head", WRK_HEAD], ["a browser's head", BROWSER_HEAD]]) {
    const batch = encoder.encode(head.repeat(16));
    const parser = new RequestHeadParser(DEFAULT_LIMITS);
    const batches = 50_000;
    await report(`parse, ${name} (${head.length} bytes)`, "ns", () => {
      const started = performance.now();
      for (let i = 0; i < batches; i++) {
        for (let at = 0;;) {
          const parsed = parser.parse(batch, at, batch.length);
          if (parsed === null) break;
          at += parsed.consumed;
        }
      }
      return (performance.now() - started) * 1e6 / (batches * 16);
    });
  }
} else if (mode === "pipeline") {
  const depth = Number(arg ?? 16);
  const batch = encoder.encode(WRK_HEAD.repeat(depth));
  const reads = Math.ceil(320_000 / depth);
  await report(`one connection, ${depth} requests per read`, "µs", async () => {
    const started = performance.now();
    await new Connection(fakeConn(batch, reads), config).serve();
    return (performance.now() - started) * 1000 / (reads * depth);
  });
} else if (mode === "static") {
  const depth = Number(arg ?? 1);
  const root = Deno.makeTempDirSync({ prefix: "inprocess-" });
  try {
    Deno.writeFileSync(`${root}/16k.bin`, new Uint8Array(16 * 1024).fill(0x61));
    const files = { ...config, handler: (request: Request) => serveDir(request, { fsRoot: root }) };
    const batch = encoder.encode(WRK_HEAD.replace("/ ", "/16k.bin ").repeat(depth));
    const reads = Math.ceil(40_000 / depth);
    await report(`a 16 KiB file, ${depth} requests per read`, "µs", async () => {
      const started = performance.now();
      await new Connection(fakeConn(batch, reads), files).serve();
      return (performance.now() - started) * 1000 / (reads * depth);
    });
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
} else if (mode === "connections") {
  const request = encoder.encode(WRK_HEAD.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"));
  const total = 50_000;
  await report("a connection per request, 50 at a time", "µs", async () => {
    const started = performance.now();
    for (let i = 0; i < total; i += 50) {
      const open = [];
      for (let j = 0; j < 50; j++) open.push(new Connection(fakeConn(request, 1), config).serve());
      await Promise.all(open);
    }
    return (performance.now() - started) * 1000 / total;
  });
} else if ((mode === "compare" || mode === "compare-static") && arg !== undefined) {
  await compare(arg, Number(Deno.args[2] ?? 1), mode === "compare-static");
} else {
  console.error(
    "usage: deno run --allow-all bench/inprocess.ts parse | pipeline [DEPTH] | connections | " +
      "static [DEPTH] | compare OTHER_CHECKOUT [DEPTH] | compare-static OTHER_CHECKOUT [DEPTH]",
  );
  Deno.exit(2);
}

/** A module of another checkout, at its path in the current layout or the one before it. */
async function importEither(base: URL, path: string, before: string) {
  const url = new URL(path, base);
  return await import(exists(url) ? url.href : new URL(before, base).href);
}

function exists(url: URL): boolean {
  try {
    return Deno.statSync(url).isFile;
  } catch {
    return false;
  }
}

/**
 * `pipeline DEPTH` for this checkout's `lib/` and another's (a `git worktree` of the old commit),
 * in one process, taking turns round by round: both run on the same warm engine at the same
 * moments, so a change of a few percent shows, which separate runs minutes apart hide.
 */
async function compare(other: string, depth: number, files: boolean): Promise<void> {
  const rounds = 30;
  const otherUrl = toDirectoryUrl(other);
  const theirs = await importEither(otherUrl, "lib/engine/connection.ts", "lib/connection.ts");
  const root = files ? Deno.makeTempDirSync({ prefix: "inprocess-" }) : "";
  try {
    let head = WRK_HEAD;
    let mine = config;
    let yours = config;
    if (files) {
      // Each side serves the file with its own serveDir, so a change to lib/static.ts shows.
      Deno.writeFileSync(`${root}/16k.bin`, new Uint8Array(16 * 1024).fill(0x61));
      const theirStatic = await importEither(otherUrl, "lib/static/mod.ts", "lib/static.ts");
      mine = { ...config, handler: (request) => serveDir(request, { fsRoot: root }) };
      yours = { ...config, handler: (request) => theirStatic.serveDir(request, { fsRoot: root }) };
      head = WRK_HEAD.replace("/ ", "/16k.bin ");
    }
    const sides = [
      { name: "this checkout", make: (conn: Deno.Conn) => new Connection(conn, mine) },
      { name: other, make: (conn: Deno.Conn) => new theirs.Connection(conn, yours) },
    ];
    const batch = encoder.encode(head.repeat(depth));
    const reads = Math.ceil((files ? 10_000 : 40_000) / depth);
    const costs = sides.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      // Each side goes first in every other round.
      for (const i of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const started = performance.now();
        await sides[i].make(fakeConn(batch, reads)).serve();
        costs[i].push((performance.now() - started) * 1000 / (reads * depth));
      }
    }
    const medians = costs.map((c) => c.sort((a, b) => a - b)[rounds >> 1]);
    const what = files ? "a 16 KiB file, " : "";
    sides.forEach(({ name }, i) => {
      const [fastest, quarter] = [costs[i][0], costs[i][rounds >> 2]];
      console.log(
        `${name}: fastest ${fastest.toFixed(3)}, first quartile ${quarter.toFixed(3)}, ` +
          `median ${
            medians[i].toFixed(3)
          } µs per request (${what}${depth} per read, ${rounds} rounds)`,
      );
    });
    console.log(`this checkout / ${other}, medians: ${(medians[0] / medians[1]).toFixed(3)}`);
  } finally {
    if (files) Deno.removeSync(root, { recursive: true });
  }
}

function toDirectoryUrl(path: string): URL {
  const absolute = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  return new URL(`file://${absolute.endsWith("/") ? absolute : `${absolute}/`}`);
}
