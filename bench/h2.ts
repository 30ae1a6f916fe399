/**
 * The HTTP/2 benchmark: h2load (Debian's nghttp2-client) against our server and `Deno.serve`
 * over TLS, one certificate, in the same run; and HTTP/1.1 on the same TLS ports for
 * comparison.
 *
 *   deno run --allow-all bench/h2.ts [--duration S] [--warmup S] [--rounds N] [--cpu-prof]
 *                                    [--only h1]   (only the HTTPS keep-alive rows, wrk)
 *
 * Rows: `h2 -m 16` is `h2load -c 50 -m 16` (50 connections, 16 streams each); `h1 wrk` is
 * `wrk -t1 -c50` (keep-alive, one request at a time per connection, as bench/run.ts's
 * keep-alive shape; h2load's own HTTP/1.1 client stalls 40 ms per response on the file here,
 * against either server); `h1 -m 16` is `h2load --h1 -c 50 -m 16` (16 requests pipelined). Shapes: hello world and a 16 KiB file.
 * Each row is a fresh server process: a warm-up run, then the measured run, with the server's
 * CPU time read from /proc around it. Prints a Markdown table; writes bench/out/h2.json.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Children, clockTicksPerSecond, cpuTicks } from "./procs.ts";
import { type Profile, startServer } from "./server.ts";
import { runWrk } from "./wrk.ts";
import type { ServerSpec } from "./suite.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    rounds: { type: "string", default: "1" },
    "cpu-prof": { type: "boolean", default: false },
    only: { type: "string" },
  },
});
if (values.only !== undefined && values.only !== "h1") {
  console.error(`--only takes "h1" (the wrk rows), not "${values.only}"`);
  Deno.exit(2);
}
const SECONDS = Number(values.duration);
const WARMUP = Number(values.warmup);
const ROUNDS = Number(values.rounds);
const CONNECTIONS = 50;

type Kind = "ours" | "deno_serve" | "raw_deno" | "raw_node";
/** How the table names each server. */
const LABELS: Record<Kind, string> = {
  ours: "ours",
  deno_serve: "Deno.serve",
  raw_deno: "raw loop, Deno.listenTls",
  raw_node: "raw loop, node:tls",
};
interface Row {
  shape: "hello" | "16k";
  server: Kind;
  protocol: "h2 -m 16" | "h1 wrk" | "h1 -m 16";
}

const ROWS: Row[] = [];
for (const shape of ["hello", "16k"] as const) {
  ROWS.push({ shape, server: "ours", protocol: "h2 -m 16" });
  ROWS.push({ shape, server: "deno_serve", protocol: "h2 -m 16" });
  ROWS.push({ shape, server: "ours", protocol: "h1 wrk" });
  ROWS.push({ shape, server: "ours", protocol: "h1 -m 16" });
  ROWS.push({ shape, server: "deno_serve", protocol: "h1 wrk" });
}
// What TLS itself costs each way, below any HTTP code: the floor for HTTPS keep-alive.
ROWS.push({ shape: "hello", server: "raw_deno", protocol: "h1 wrk" });
ROWS.push({ shape: "hello", server: "raw_node", protocol: "h1 wrk" });
if (values.only === "h1") {
  for (let i = ROWS.length - 1; i >= 0; i--) if (ROWS[i].protocol !== "h1 wrk") ROWS.splice(i, 1);
}

interface Result extends Row {
  round: number;
  rps: number;
  meanLatencyMs: number;
  succeeded: number;
  failed: number;
  non2xx: number;
  cpuUsPerRequest: number;
  cpuPercent: number;
}

const decoder = new TextDecoder();
const children = new Children();
Deno.addSignalListener("SIGINT", async () => {
  await children.killAll();
  Deno.exit(130);
});

async function run(args: string[]): Promise<string> {
  const child = children.spawn("h2load", args, { stdout: "piped", stderr: "piped" });
  const out = await child.output();
  const text = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  if (!out.success) throw new Error(`h2load ${args.join(" ")} failed:\n${text}`);
  return text;
}

function loadArgs(row: Row, port: number, seconds: number): string[] {
  const path = row.shape === "hello" ? "/" : "/16k.bin";
  const h1 = row.protocol.startsWith("h1") ? ["--h1"] : [];
  return [
    ...h1,
    "-c",
    String(CONNECTIONS),
    "-m",
    "16",
    "-D",
    String(seconds),
    `https://127.0.0.1:${port}${path}`,
  ];
}

function parse(text: string): Omit<Result, keyof Row | "round" | "cpuUsPerRequest" | "cpuPercent"> {
  const need = (re: RegExp) => {
    const m = text.match(re);
    if (!m) throw new Error(`unexpected h2load output (${re}):\n${text}`);
    return m;
  };
  const finished = need(/finished in [\d.]+m?s, ([\d.]+) req\/s/);
  const requests = need(
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/,
  );
  const codes = need(/status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/);
  const latency = need(/time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/);
  const scale = latency[2] === "us" ? 1e-3 : latency[2] === "s" ? 1e3 : 1;
  return {
    rps: Number(finished[1]),
    succeeded: Number(requests[1]),
    failed: Number(requests[2]),
    non2xx: Number(codes[2]) + Number(codes[3]) + Number(codes[4]),
    meanLatencyMs: Number(latency[1]) * scale,
  };
}

async function measure(row: Row, round: number, dir: string, ticks: number): Promise<Result> {
  const spec: ServerSpec = {
    name: row.server === "ours" ? "ours" : "deno_serve",
    label: row.server,
    file: "servers/tls.ts",
    needs: () => [],
    args: () => [],
  };
  const profile: Profile | undefined = values["cpu-prof"]
    ? {
      dir: new URL("./out/profiles/", import.meta.url).pathname,
      name: `h2-${row.server}-${row.shape}-${row.protocol.replaceAll(" ", "")}`,
    }
    : undefined;
  const args = [row.server, dir, ...(row.shape === "16k" ? ["files"] : [])];
  const server = await startServer(children, spec, args, dir, profile);
  try {
    const wrk = row.protocol === "h1 wrk";
    const url = `https://127.0.0.1:${server.port}${row.shape === "hello" ? "/" : "/16k.bin"}`;
    const load = async (seconds: number) => {
      if (!wrk) return parse(await run(loadArgs(row, server.port, seconds)));
      const report = await runWrk({ url, connections: CONNECTIONS, seconds }, children);
      return {
        rps: report.requestsPerSecond,
        succeeded: report.requests,
        failed: report.errors,
        non2xx: 0,
        meanLatencyMs: report.p50Ms ?? NaN,
      };
    };
    await load(WARMUP);
    const before = await cpuTicks(server.pid);
    const started = performance.now();
    const parsed = await load(SECONDS);
    const wall = (performance.now() - started) / 1000;
    const cpu = (await cpuTicks(server.pid) - before) / ticks;
    const requests = parsed.rps * SECONDS;
    return {
      ...row,
      round,
      ...parsed,
      cpuUsPerRequest: requests > 0 ? (cpu * 1e6) / requests : 0,
      cpuPercent: (cpu / wall) * 100,
    };
  } finally {
    await server.stop();
  }
}

async function makeDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bench-h2-" });
  const file = new Uint8Array(16 * 1024);
  crypto.getRandomValues(file);
  await Deno.writeFile(`${dir}/16k.bin`, file);
  const made = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!made.success) throw new Error(decoder.decode(made.stderr));
  return dir;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function table(results: Result[]): string {
  const lines = [
    "| shape | server | protocol | req/s | vs Deno.serve, same protocol | latency (h2load mean, wrk p50) | CPU µs/req | CPU % | failed / non-2xx |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const row of ROWS) {
    const mine = results.filter((r) =>
      r.shape === row.shape && r.server === row.server && r.protocol === row.protocol
    );
    if (mine.length === 0) continue;
    const pick = (f: (r: Result) => number) => median(mine.map(f));
    const baseline = results.filter((r) =>
      r.shape === row.shape && r.server === "deno_serve" && r.protocol === row.protocol
    );
    const rps = pick((r) => r.rps);
    const ratio = baseline.length > 0
      ? `${(rps / median(baseline.map((r) => r.rps))).toFixed(2)}×`
      : "—";
    const bad = mine.reduce((n, r) => n + r.failed, 0) + " / " +
      mine.reduce((n, r) => n + r.non2xx, 0);
    lines.push(
      `| ${row.shape === "hello" ? "hello world" : "16 KiB file"} | ${
        LABELS[row.server]
      } | ${row.protocol} | ${Math.round(rps).toLocaleString("en")} | ${ratio} | ${
        pick((r) => r.meanLatencyMs).toFixed(2)
      } ms | ${pick((r) => r.cpuUsPerRequest).toFixed(1)} | ${
        Math.round(pick((r) => r.cpuPercent))
      }% | ${bad} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<number> {
  const dir = await makeDir();
  const ticks = await clockTicksPerSecond();
  const results: Result[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const row of ROWS) {
        const result = await measure(row, round, dir, ticks);
        console.error(
          `round ${round}: ${row.shape} ${row.server} ${row.protocol}: ${
            Math.round(result.rps)
          } req/s`,
        );
        results.push(result);
      }
    }
  } finally {
    await children.killAll();
    await Deno.remove(dir, { recursive: true });
  }
  const h2load = decoder.decode(
    (await new Deno.Command("h2load", { args: ["--version"], stdout: "piped" }).output()).stdout,
  ).trim();
  console.log(
    `h2load ${SECONDS} s per row (after ${WARMUP} s of warm-up), ${CONNECTIONS} connections, TLS, ${ROUNDS} round(s); ${h2load}; Deno ${Deno.version.deno}\n`,
  );
  console.log(table(results));
  await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(
    new URL("./out/h2.json", import.meta.url),
    JSON.stringify(results, null, 2),
  );
  return results.some((r) => r.failed > 0 || r.non2xx > 0) ? 1 : 0;
}

Deno.exit(await main());
