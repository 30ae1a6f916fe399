/**
 * Tests of the harness's parts that can go wrong quietly: reading wrk's report and /proc, the
 * command line, the rendering, how rounds are aggregated, and the raw loop's request counting. No benchmark runs here.
 *
 * deno test --allow-all bench/
 *
 * @module
 */

import { assert, assertEquals, assertThrows } from "./assert.ts";
import { renderChart } from "./chart.ts";
import type { IdleMemory } from "./memory.ts";
import { latency } from "./format.ts";
import { parseOptions } from "./options.ts";
import { parseCpuTicks, parseRssKiB } from "./procs.ts";
import { addRatios, renderMarkdown, renderText } from "./report.ts";
import type { LoadRow, MemoryRow, Round, RunResults } from "./results.ts";
import { aggregateRounds, median, roundOrder } from "./rounds.ts";
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
  assertEquals(defaults.servers, ["ours", "deno_serve", "nginx", "raw"]);
  const quick = parseOptions(["--quick", "--servers", "raw,ours", "--shapes", "close"]);
  assert(quick !== "help");
  assertEquals([quick.seconds, quick.warmupSeconds], [2, 1]);
  assertEquals(quick.servers, ["ours", "raw"]);
  assertEquals(quick.shapes, ["close"]);
  const long = parseOptions(["--duration", "9", "--no-results"]);
  assert(long !== "help");
  assertEquals([long.seconds, long.writeResults], [9, false]);
  assertEquals(parseOptions(["-h"]), "help");
  assertThrows(() => parseOptions(["--servers", "caddy"]));
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
      rounds: 1,
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

Deno.test("median: the middle of an odd count, the mean of the middle two of an even one", () => {
  assertEquals(median([7]), 7);
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([55_000, 83_000, 61_000]), 61_000);
  assertEquals(median([4, 1, 3, 2]), 2.5);
  assertEquals(median([10, 20]), 15);
  const values = [3, 1, 2];
  median(values);
  assertEquals(values, [3, 1, 2]); // not sorted in place
  assertThrows(() => median([]));
});

Deno.test("roundOrder rotates the servers by one per round, starting as given", () => {
  const servers = ["ours", "deno_serve", "raw"];
  assertEquals(roundOrder(servers, 0), ["ours", "deno_serve", "raw"]);
  assertEquals(roundOrder(servers, 1), ["deno_serve", "raw", "ours"]);
  assertEquals(roundOrder(servers, 2), ["raw", "ours", "deno_serve"]);
  assertEquals(roundOrder(servers, 3), servers);
  assertEquals(roundOrder(["ours"], 5), ["ours"]);
  assertEquals(roundOrder([], 1), []);
});

Deno.test("parseOptions: --rounds defaults to 1 and takes whole numbers", () => {
  const defaults = parseOptions([]);
  assert(defaults !== "help");
  assertEquals(defaults.rounds, 1);
  const three = parseOptions(["--rounds", "3", "--quick"]);
  assert(three !== "help");
  assertEquals([three.rounds, three.seconds], [3, 2]);
  assertThrows(() => parseOptions(["--rounds", "0"]));
  assertThrows(() => parseOptions(["--rounds", "1.5"]));
  assertThrows(() => parseOptions(["--rounds", "many"]));
  assertThrows(() => parseOptions(["--rounds", "51"]));
});

/** A measured keep-alive row with these req/s and a few numbers derived from them. */
function okRow(server: LoadRow["server"], rps: number, extra: Partial<LoadRow> = {}): LoadRow {
  const wrk = {
    ...parseWrk(KEEPALIVE),
    requestsPerSecond: rps,
    requests: rps * 5,
    bytesPerSecond: rps * 100,
    p50Ms: rps / 100_000,
    errors: 0,
    errorDetail: "",
  };
  return {
    shape: "keepalive",
    server,
    status: "ok",
    wrk,
    cpuMicrosPerRequest: 1e6 / rps,
    cpuPercent: 100,
    ...extra,
  };
}

function failedRow(server: LoadRow["server"], note: string): LoadRow {
  return { shape: "keepalive", server, status: "failed", note };
}

function memoryRow(server: MemoryRow["server"], kibPerConnection: number): MemoryRow {
  const memory: IdleMemory = {
    connections: 2000,
    rssStartKiB: 30_000,
    rssWithKiB: 30_000 + kibPerConnection * 2000,
    kibPerConnection,
  };
  return { server, status: "ok", memory };
}

function rounds(...load: LoadRow[][]): Round[] {
  return load.map((rows, i) => ({
    round: i + 1,
    order: roundOrder(["ours", "deno_serve", "raw"] as const, i),
    load: rows,
    memory: [],
  }));
}

function find(rows: LoadRow[], server: string): LoadRow {
  const row = rows.find((r) => r.server === server);
  assert(row !== undefined, `no row for ${server}`);
  return row;
}

Deno.test("aggregateRounds: medians, min–max, and the ratio from the medians", () => {
  const { load } = aggregateRounds(rounds(
    [okRow("ours", 30_000), okRow("deno_serve", 40_000)],
    [okRow("ours", 60_000), okRow("deno_serve", 50_000)],
    [okRow("ours", 45_000), okRow("deno_serve", 90_000)],
  ));
  const ours = find(load, "ours");
  const base = find(load, "deno_serve");
  assertEquals(ours.status, "ok");
  assertEquals(ours.wrk?.requestsPerSecond, 45_000);
  assertEquals(ours.wrk?.requests, 225_000);
  assertEquals(ours.wrk?.p50Ms, 0.45);
  assertEquals(ours.wrk?.bytesPerSecond, 4_500_000);
  assertEquals(ours.cpuMicrosPerRequest, 1e6 / 45_000);
  assertEquals(base.wrk?.requestsPerSecond, 50_000);
  // 45k / 50k; not the median of the per-round ratios (0.75, 1.2, 0.5 → 0.75).
  assertEquals(ours.ratio, 0.9);
  assertEquals(base.ratio, 1);
  assertEquals(ours.spread, {
    rounds: 3,
    measured: 3,
    min: 30_000,
    max: 60_000,
    ratioMin: 0.5,
    ratioMax: 1.2,
  });
  assertEquals(base.spread, { rounds: 3, measured: 3, min: 40_000, max: 90_000 });
  assertEquals(ours.note, undefined);
});

Deno.test("aggregateRounds: an even number of rounds takes the mean of the middle two", () => {
  const { load } = aggregateRounds(rounds(
    [okRow("ours", 30_000), okRow("deno_serve", 40_000)],
    [okRow("ours", 50_000), okRow("deno_serve", 60_000)],
  ));
  assertEquals(find(load, "ours").wrk?.requestsPerSecond, 40_000);
  assertEquals(find(load, "deno_serve").wrk?.requestsPerSecond, 50_000);
  assertEquals(find(load, "ours").ratio, 0.8);
});

Deno.test("aggregateRounds: a failed round leaves the medians of the others, and says so", () => {
  const { load } = aggregateRounds(rounds(
    [okRow("ours", 30_000), okRow("deno_serve", 40_000)],
    [failedRow("ours", "the server exited"), okRow("deno_serve", 80_000)],
    [okRow("ours", 50_000), failedRow("deno_serve", "wrk failed")],
  ));
  const ours = find(load, "ours");
  const base = find(load, "deno_serve");
  assertEquals(ours.status, "ok");
  assertEquals(ours.wrk?.requestsPerSecond, 40_000); // of rounds 1 and 3
  assertEquals(base.wrk?.requestsPerSecond, 60_000); // of rounds 1 and 2
  assertEquals(ours.ratio, 40_000 / 60_000);
  // Only round 1 measured both, so it alone gives a per-round ratio.
  assertEquals(ours.spread, {
    rounds: 3,
    measured: 2,
    min: 30_000,
    max: 50_000,
    ratioMin: 0.75,
    ratioMax: 0.75,
  });
  assertEquals(ours.note, "measured in 2 of 3 rounds; round 2 failed: the server exited");
  assertEquals(base.note, "measured in 2 of 3 rounds; round 3 failed: wrk failed");
  const results = { ...sampleResults(), load, memory: [] };
  results.settings.rounds = 3;
  const text = renderText(results);
  assert(text.includes("30,000–50,000 (2 of 3)"), text);
  assert(text.includes("0.75–0.75×"), text);
  assert(text.includes("round 2 failed: the server exited"), text);
});

Deno.test("aggregateRounds: failed in every round is failed; skipped in every round, skipped", () => {
  const skipped: LoadRow = {
    shape: "static-1m",
    server: "raw",
    status: "skipped",
    note: "n/a: no files",
  };
  const { load } = aggregateRounds(rounds(
    [failedRow("ours", "boom"), okRow("deno_serve", 40_000), skipped],
    [failedRow("ours", "bang"), okRow("deno_serve", 50_000), skipped],
    [failedRow("ours", "boom"), okRow("deno_serve", 60_000), skipped],
  ));
  const ours = find(load, "ours");
  assertEquals(ours.status, "failed");
  assertEquals(ours.wrk, undefined);
  assertEquals(ours.ratio, undefined);
  assertEquals(ours.note, "rounds 1, 3 failed: boom; round 2 failed: bang");
  const raw = find(load, "raw");
  assertEquals([raw.status, raw.note, raw.spread], ["skipped", "n/a: no files", undefined]);
  const results = { ...sampleResults(), load, memory: [] };
  results.settings.rounds = 3;
  const text = renderText(results);
  assert(text.includes("failed"), text);
  assert(!text.includes("NaN"), text);
});

Deno.test("aggregateRounds: n/a latencies stay n/a, wrk errors add up round by round", () => {
  const { load } = aggregateRounds(
    rounds(
      [okRow("ours", 30_000, { note: "wrk counted errors: read 2" })],
      [okRow("ours", 40_000)],
      [okRow("ours", 50_000)],
    ).map((round) => {
      const row = round.load[0];
      if (row.wrk && round.round === 1) {
        row.wrk = { ...row.wrk, p99Ms: null, errors: 2, errorDetail: "read 2" };
      }
      return round;
    }),
  );
  const ours = find(load, "ours");
  assertEquals(ours.wrk?.p99Ms, null);
  assertEquals(ours.wrk?.p50Ms, 0.4);
  assertEquals(ours.wrk?.errors, 2);
  assertEquals(ours.wrk?.errorDetail, "round 1: read 2");
  assertEquals(ours.note, "round 1: wrk counted errors: read 2");
  assertEquals(ours.ratio, undefined); // no baseline
  assertEquals(ours.spread?.ratioMin, undefined);
});

Deno.test("aggregateRounds: memory takes medians of each number and the ratio of medians", () => {
  const memory = [[2, 3], [4, 3.5], [3, 9]].map(([base, ours], i): Round => ({
    round: i + 1,
    order: [],
    load: [],
    memory: [memoryRow("deno_serve", base), memoryRow("ours", ours)],
  }));
  const aggregated = aggregateRounds(memory).memory;
  const ours = aggregated.find((row) => row.server === "ours");
  assertEquals(ours?.memory?.kibPerConnection, 3.5);
  assertEquals(ours?.memory?.rssWithKiB, 37_000);
  assertEquals(ours?.ratio, 3.5 / 3);
  assertEquals(ours?.spread, {
    rounds: 3,
    measured: 3,
    min: 3,
    max: 9,
    ratioMin: 0.875,
    ratioMax: 3,
  });
});

Deno.test("the reports show rounds, spreads, and the chart draws a line per spread", () => {
  const results: RunResults = {
    ...sampleResults(),
    ...aggregateRounds(rounds(
      [okRow("ours", 30_000), okRow("deno_serve", 40_000)],
      [okRow("ours", 60_000), okRow("deno_serve", 50_000)],
      [okRow("ours", 45_000), okRow("deno_serve", 90_000)],
    )),
  };
  results.settings.rounds = 3;
  const text = renderText(results);
  assert(text.includes("Medians of 3 rounds"), text);
  assert(text.includes("req/s min–max"), text);
  assert(text.includes("30,000–60,000"), text);
  assert(text.includes("0.50–1.20×"), text);
  const markdown = renderMarkdown(results);
  assert(markdown.includes("Rounds: 3."), markdown);
  assert(
    markdown.includes("| keep-alive | ours | 45,000 | 30,000–60,000 | 0.90× | 0.50–1.20× |"),
    markdown,
  );
  assert(markdown.includes("| keep-alive | Deno.serve | 50,000 | 40,000–90,000 | 1.00× | — |"));
  const svg = renderChart(results);
  assertEquals(svg.match(/<rect x=/g)?.length, 2);
  assertEquals(svg.match(/<path d=/g)?.length, 2);
  assert(svg.includes("median of 3 rounds"), svg);
  assert(!svg.includes("NaN"), svg);
});

Deno.test("one round renders as before: no spread columns, and says it is one run", () => {
  const results = sampleResults();
  addRatios(results);
  const text = renderText(results);
  assert(!text.includes("min–max"), text);
  assert(!text.includes("Medians"), text);
  assert(renderMarkdown(results).includes("Rounds: 1."));
  assert(!renderChart(results).includes("<path"));
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
