/**
 * Tests of the harness's parts that can go wrong quietly: reading wrk's report and /proc, the
 * command line, the rendering, and the raw loop's request counting. No benchmark runs here.
 *
 * deno test --allow-all bench/
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { renderChart } from "./chart.ts";
import { latency } from "./format.ts";
import { parseOptions } from "./options.ts";
import { parseCpuTicks, parseRssKiB } from "./procs.ts";
import { addRatios, renderMarkdown, renderText } from "./report.ts";
import type { RunResults } from "./results.ts";
import { parseWrk } from "./wrk.ts";

const KEEPALIVE = `Running 2s test @ http://127.0.0.1:18081/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   743.08us  686.90us   9.88ms   94.42%
    Req/Sec    54.41k     8.75k   60.84k    85.71%
  Latency Distribution
     50%  657.00us
     75%  794.00us
     90%    1.00ms
     99%    4.34ms
  113636 requests in 2.10s, 9.97MB read
  Socket errors: connect 0, read 12, write 0, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:  54038.66
Transfer/sec:      4.74MB
`;

const PIPELINED = `Running 2s test @ http://127.0.0.1:18082/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     0.86ms    1.24ms  15.68ms   78.72%
    Req/Sec   550.16k    85.87k  669.58k    85.00%
  Latency Distribution
     50%  755.00us
     75%    1.45ms
     90%    0.00us
     99%    0.00us
  1094176 requests in 2.00s, 96.00MB read
Requests/sec: 545948.61
Transfer/sec:     47.90MB
`;

Deno.test("parseWrk reads counts, rates, percentiles and errors", () => {
  const report = parseWrk(KEEPALIVE);
  assertEquals(report.requests, 113_636);
  assertEquals(report.seconds, 2.1);
  assertEquals(report.requestsPerSecond, 54_038.66);
  assertEquals(report.bytesPerSecond, 4.74 * 2 ** 20);
  assertEquals(report.p50Ms, 0.657);
  assertEquals(report.p99Ms, 4.34);
  assertEquals(report.errors, 20);
  assertEquals(report.errorDetail, "read 12, timeout 3, non-2xx 5");
});

Deno.test("parseWrk turns the 0 wrk prints for unreachable percentiles into null", () => {
  const report = parseWrk(PIPELINED);
  assertEquals(report.p50Ms, 0.755);
  assertEquals(report.p99Ms, null);
  assertEquals(report.errors, 0);
  assertEquals(report.errorDetail, "");
  assertEquals(latency(report.p99Ms), "n/a");
});

Deno.test("parseWrk refuses a report without latencies", () => {
  assertThrows(() => parseWrk("Requests/sec: 1\n"));
});

Deno.test("parseCpuTicks counts fields after the command name, which may hold spaces", () => {
  const stat = "4242 (deno (main) x) S 1 4242 4242 0 -1 4194560 9 0 0 0 1234 567 0 0 20 0 9 0";
  assertEquals(parseCpuTicks(stat), 1234 + 567);
});

Deno.test("parseRssKiB reads VmRSS", () => {
  assertEquals(parseRssKiB("Name:\tdeno\nVmHWM:\t  50000 kB\nVmRSS:\t   43264 kB\n"), 43_264);
});

Deno.test("parseOptions: defaults, --quick, --duration and filters", () => {
  const defaults = parseOptions([]);
  assert(defaults !== "help");
  assertEquals(defaults.seconds, 5);
  assertEquals(defaults.servers, ["ours", "deno_serve", "raw"]);
  const quick = parseOptions(["--quick", "--servers", "raw,ours", "--shapes", "close"]);
  assert(quick !== "help");
  assertEquals([quick.seconds, quick.warmupSeconds], [2, 1]);
  assertEquals(quick.servers, ["ours", "raw"]);
  assertEquals(quick.shapes, ["close"]);
  const long = parseOptions(["--duration", "9", "--no-results"]);
  assert(long !== "help");
  assertEquals([long.seconds, long.writeResults], [9, false]);
  assertEquals(parseOptions(["-h"]), "help");
  assertThrows(() => parseOptions(["--servers", "nginx"]));
  assertThrows(() => parseOptions(["--duration", "0"]));
  assertThrows(() => parseOptions(["--bogus"]));
});

function sampleResults(): RunResults {
  const wrk = (rps: number) => ({ ...parseWrk(KEEPALIVE), requestsPerSecond: rps });
  return {
    command: "deno task bench --quick",
    machine: {
      cpu: "AMD EPYC <test> & co",
      cores: 2,
      kernel: "linux 6.1",
      deno: "2.9.6",
      v8: "15.0",
      wrk: "wrk 4.1.0",
      commit: "abc1234",
      loadAverage: "0.01 0.02 0.03",
      date: "2025-01-01T00:00:00.000Z",
    },
    settings: {
      seconds: 2,
      warmupSeconds: 1,
      wrkThreads: 1,
      connections: 50,
      pipelineDepth: 16,
      clockTicksPerSecond: 100,
      openFilesLimit: 20_000,
    },
    load: [
      { shape: "keepalive", server: "ours", status: "ok", wrk: wrk(30_000) },
      { shape: "keepalive", server: "deno_serve", status: "ok", wrk: wrk(40_000) },
      { shape: "static-1m", server: "raw", status: "skipped", note: "n/a: no files" },
    ],
    memory: [
      {
        server: "deno_serve",
        status: "ok",
        memory: { connections: 2000, rssStartKiB: 1000, rssWithKiB: 5000, kibPerConnection: 2 },
      },
      {
        server: "ours",
        status: "ok",
        memory: { connections: 2000, rssStartKiB: 1000, rssWithKiB: 7000, kibPerConnection: 3 },
      },
    ],
    notes: [],
  };
}

Deno.test("addRatios compares with Deno.serve, and the reports show it", () => {
  const results = sampleResults();
  addRatios(results);
  assertEquals(results.load[0].ratio, 0.75);
  assertEquals(results.memory[1].ratio, 1.5);
  const text = renderText(results);
  assert(text.includes("0.75×"), text);
  assert(text.includes("n/a: no files"), text);
  const markdown = renderMarkdown(results);
  assert(markdown.includes("| keep-alive | ours | 30,000 | 0.75× |"), markdown);
  assert(markdown.includes("`deno task bench --quick`"), markdown);
});

Deno.test("renderChart draws one bar per measured row and escapes text", () => {
  const results = sampleResults();
  addRatios(results);
  const svg = renderChart(results);
  assert(svg.startsWith("<svg "), svg);
  assert(svg.trimEnd().endsWith("</svg>"), svg);
  assertEquals(svg.match(/<rect x=/g)?.length, 2);
  assert(svg.includes("AMD EPYC &lt;test&gt; &amp; co"), svg);
  assert(!svg.includes("NaN"), svg);
});

Deno.test("the raw loop counts requests split across reads and answers each", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      new URL("servers/raw.ts", import.meta.url).pathname,
      String(port),
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const conn = await connectWithin(port, 10_000);
    const encoder = new TextEncoder();
    // Two requests; the second's "\r\n\r\n" straddles two writes.
    await conn.write(
      encoder.encode("GET / HTTP/1.1\r\nhost: a\r\n\r\nGET / HTTP/1.1\r\nhost: a\r\n\r"),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await conn.write(encoder.encode("\n"));
    let text = "";
    const buffer = new Uint8Array(4096);
    while ((text.match(/Hello, World!/g)?.length ?? 0) < 2) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    conn.close();
    assertEquals(text.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
  } finally {
    server.kill();
    await server.status;
  }
});

async function connectWithin(port: number, ms: number): Promise<Deno.Conn> {
  const deadline = Date.now() + ms;
  while (true) {
    try {
      return await Deno.connect({ hostname: "127.0.0.1", port });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
