/**
 * `deno run -A scripts/differential.ts --cases 30000`: the mutated requests of the differential
 * fuzzer (tests/h1/_mutate.ts) sent over sockets to our server, `Deno.serve` and nginx side by
 * side, each case on its own connection to each, every answer classified:
 *
 * - `2xx`: accepted (the handler ran and read the whole body);
 * - `4xx`/`5xx`: rejected (1xx interim responses such as 100 Continue are skipped);
 * - `closed`: the connection ended without an answer;
 * - `timeout`: no answer within `--timeout` ms: the server is waiting for more bytes (a head or
 *   body it has not seen end: where servers disagree on framing).
 *
 * It prints the count of every combination, and the cases we accept that both nginx and
 * `Deno.serve` refuse (the issue 13 target: 0 apart from the leniencies docs/security.md lists),
 * each with what the RFC oracle (tests/h1/_oracle.ts) makes of it.
 *
 * Our server and `Deno.serve` run in this process with the same handler (read the body, answer
 * 200 "ok"). nginx's `return 200` answers before it has read (and so checked) a request body, so
 * nginx proxies instead (`proxy_pass` with request buffering, its default): it reads and
 * de-chunks the whole body, refusing a malformed one with 400, before it passes the request to a
 * tiny upstream in this process that answers 200 to whatever nginx sends. nginx is started as in
 * tests/e2e/nginx_test.ts: a config in a temporary directory, a free port, stopped by its pid.
 *
 *   --cases N         how many cases (default 30000)
 *   --seed N          the mutation seed (default the differential test's)
 *   --concurrency N   cases in flight (default 24; each opens three connections)
 *   --timeout MS      how long to wait for an answer (default 400)
 *   --list N          how many cases of each list to print (default 50)
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serve } from "../lib/mod.ts";
import {
  chunkedSeeds,
  latin1Bytes,
  mutatedChunked,
  mutatedRequest,
  Rng,
  seeds,
} from "../tests/h1/_mutate.ts";
import {
  oracleChunked,
  oracleHead,
  type OracleOptions,
  OUR_LENIENCIES,
  STRICT,
} from "../tests/h1/_oracle.ts";

const HOST = "127.0.0.1";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a server did with one case. */
export type Outcome = "2xx" | "4xx" | "5xx" | "closed" | "timeout";

export const SERVERS = ["ours", "deno", "nginx"] as const;
export type ServerName = typeof SERVERS[number];

export interface Target {
  name: ServerName;
  port: number;
}

/** The handler both in-process servers run: read the whole body, then answer 200. */
async function handler(request: Request): Promise<Response> {
  await request.arrayBuffer();
  return new Response("ok");
}

const silent500 = () => new Response("error", { status: 500 });

/** Our server and Deno.serve on free ports, with the same handler. */
export function startInProcess(): {
  ours: Target;
  deno: Target;
  stop(): Promise<void>;
} {
  const ours = serve({ hostname: HOST, port: 0, onListen() {}, onError: silent500 }, handler);
  const deno = Deno.serve({ hostname: HOST, port: 0, onListen() {}, onError: silent500 }, handler);
  return {
    ours: { name: "ours", port: ours.addr.port },
    deno: { name: "deno", port: deno.addr.port },
    async stop() {
      await Promise.all([ours.shutdown(), deno.shutdown()]);
    },
  };
}

/**
 * The upstream nginx proxies to: reads a request head and its Content-Length body (nginx sends a
 * length, having buffered the body), answers 200 and closes.
 */
function startUpstream(): { port: number; stop(): void } {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const answer = new TextEncoder().encode(
    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
  );
  (async () => {
    for await (const conn of listener) {
      (async () => {
        try {
          let text = "";
          const buf = new Uint8Array(16384);
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) break;
            for (let i = 0; i < n; i++) text += String.fromCharCode(buf[i]);
            const end = text.indexOf("\r\n\r\n");
            if (end === -1) continue;
            const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
            if (text.length >= end + 4 + length) break;
          }
          await conn.write(answer);
        } catch {
          // nginx gave up on it
        } finally {
          try {
            conn.close();
          } catch {
            // already closed
          }
        }
      })();
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, stop: () => listener.close() };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Whether `nginx` can be run here. */
export async function haveNginx(): Promise<boolean> {
  try {
    return (await new Deno.Command("nginx", { args: ["-v"], stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

/** nginx proxying everything to an upstream that answers 200 (see the module's notes). */
export async function startNginx(): Promise<Target & { stop(): Promise<void> }> {
  const upstream = startUpstream();
  const prefix = await Deno.makeTempDir({ prefix: "differential-nginx-" });
  await Deno.chmod(prefix, 0o755); // run as root, nginx's workers are "nobody"
  const port = freePort();
  await Deno.writeTextFile(
    `${prefix}/nginx.conf`,
    `
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log crit;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  server {
    listen ${HOST}:${port};
    location / {
      proxy_pass http://${HOST}:${upstream.port};
    }
  }
}
`,
  );
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
  const stop = async () => {
    // By the pid in nginx's pid file (the master), falling back to the child we spawned.
    const pid = Number(await Deno.readTextFile(`${prefix}/nginx.pid`).catch(() => "")) ||
      child.pid;
    try {
      Deno.kill(pid, "SIGQUIT");
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
    await stderr;
    upstream.stop();
    await Deno.remove(prefix, { recursive: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      const log = await Deno.readTextFile(`${prefix}/error.log`).catch(() => "");
      upstream.stop();
      throw new Error(`nginx exited at start: ${await stderr}${log}`);
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
  return { name: "nginx", port, stop };
}

/**
 * Sends `bytes` on a new connection and classifies the first final answer. The connection is
 * closed by us once the status line is read, or after `timeoutMs`.
 */
export async function exchange(port: number, bytes: Uint8Array, timeoutMs: number): Promise<{
  outcome: Outcome;
  status?: number;
}> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: HOST, port });
  } catch {
    await sleep(50);
    conn = await Deno.connect({ hostname: HOST, port });
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // closed
    }
  }, timeoutMs);
  try {
    try {
      await conn.write(bytes);
    } catch {
      // The server may close before it has read everything; its answer may still be there.
    }
    let text = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) return { outcome: timedOut ? "timeout" : "closed" };
      for (let i = 0; i < n; i++) text += String.fromCharCode(buf[i]);
      // Skip interim answers (100 Continue), then read the final status.
      for (;;) {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        if (m === null) break;
        const status = Number(m[1]);
        if (status >= 200) {
          const outcome: Outcome = status < 300 ? "2xx" : status < 500 ? "4xx" : "5xx";
          return { outcome, status };
        }
        const end = text.indexOf("\r\n\r\n");
        if (end === -1) break;
        text = text.slice(end + 4);
      }
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

/** A valid chunked POST head, for cases that mutate only the body. */
const CHUNKED_HEAD = "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

/** The cases: 80% mutated requests, 20% a valid chunked head with a mutated body. */
export function* cases(count: number, seed: number): Generator<string> {
  const rng = new Rng(seed);
  const base = seeds();
  const bodies = chunkedSeeds();
  for (let i = 0; i < count; i++) {
    yield rng.chance(0.2) ? CHUNKED_HEAD + mutatedChunked(rng, bodies) : mutatedRequest(rng, base);
  }
}

export interface CaseResult {
  input: string;
  outcomes: Record<string, { outcome: Outcome; status?: number }>;
}

/** Runs every case against every target, `concurrency` cases at a time. */
export async function runCases(
  inputs: Iterable<string>,
  targets: Target[],
  options: { concurrency: number; timeoutMs: number; onProgress?: (done: number) => void },
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const iterator = inputs[Symbol.iterator]();
  let done = 0;
  const worker = async () => {
    for (;;) {
      const next = iterator.next();
      if (next.done) return;
      const input = next.value;
      const bytes = latin1Bytes(input);
      const answers = await Promise.all(
        targets.map((t) => exchange(t.port, bytes, options.timeoutMs)),
      );
      const outcomes: CaseResult["outcomes"] = {};
      targets.forEach((t, i) => (outcomes[t.name] = answers[i]));
      results.push({ input, outcomes });
      if (++done % 1000 === 0) options.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return results;
}

const LENIENCY_NAMES = Object.keys(STRICT) as (keyof OracleOptions)[];

/**
 * What the oracle makes of a request: "valid" (the grammar accepts it), the leniencies it needs
 * (valid with our leniencies, not without: each one that alone makes the difference), or
 * "invalid" (not even with our leniencies).
 */
export function grammarVerdict(input: string): string {
  const bytes = latin1Bytes(input);
  if (oracleHead(bytes, STRICT).verdict === "accept") return "valid";
  if (oracleHead(bytes, OUR_LENIENCIES).verdict !== "accept") {
    const v = oracleHead(bytes, OUR_LENIENCIES);
    return `invalid (${v.verdict === "reject" ? v.reason : v.verdict})`;
  }
  const needed = LENIENCY_NAMES.filter((name) =>
    oracleHead(bytes, { ...OUR_LENIENCIES, [name]: false }).verdict !== "accept"
  );
  return `leniency: ${needed.join("+") || "several"}`;
}

/**
 * Whether, by the grammar (with our leniencies), the bytes hold the whole body: "complete",
 * "waiting" for more, "invalid" (the head or the chunked body). A server that answers 2xx while
 * another waits is reading the framing differently only when the body is complete: a handler that
 * answers without reading a body (a GET's) leaves the rest to be drained after its answer.
 */
export function bodyState(input: string): "complete" | "waiting" | "invalid" {
  const bytes = latin1Bytes(input);
  const head = oracleHead(bytes, OUR_LENIENCIES);
  if (head.verdict === "incomplete") return "waiting";
  if (head.verdict === "reject") return "invalid";
  const rest = bytes.length - head.headLength;
  switch (head.framing.kind) {
    case "none":
      return "complete";
    case "length":
      return rest >= head.framing.length ? "complete" : "waiting";
    case "chunked": {
      const body = oracleChunked(bytes, head.headLength).verdict;
      return body === "accept" ? "complete" : body === "incomplete" ? "waiting" : "invalid";
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cases: { type: "string", default: "30000" },
      seed: { type: "string", default: "20240613" },
      concurrency: { type: "string", default: "24" },
      timeout: { type: "string", default: "400" },
      list: { type: "string", default: "50" },
    },
  });
  const count = Number(values.cases);
  const listMax = Number(values.list);
  if (!(await haveNginx())) {
    console.error("nginx is not installed (apt-get install nginx)");
    Deno.exit(1);
  }
  const inProcess = startInProcess();
  const nginx = await startNginx();
  const targets = [inProcess.ours, inProcess.deno, { name: nginx.name, port: nginx.port }];
  const started = performance.now();
  let results: CaseResult[];
  try {
    results = await runCases(cases(count, Number(values.seed)), targets, {
      concurrency: Number(values.concurrency),
      timeoutMs: Number(values.timeout),
      onProgress: (n) => Deno.stderr.writeSync(new TextEncoder().encode(`\r${n}/${count}`)),
    });
  } finally {
    await nginx.stop();
    await inProcess.stop();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`\n${results.length} cases, seed ${values.seed}, ${seconds} s`);

  const combos = new Map<string, number>();
  for (const r of results) {
    const key = SERVERS.map((s) => `${s} ${r.outcomes[s].outcome}`).join(" | ");
    combos.set(key, (combos.get(key) ?? 0) + 1);
  }
  console.log("\nours | Deno.serve | nginx:");
  for (const [k, n] of [...combos].sort((a, b) => b[1] - a[1])) {
    console.log(`${n.toString().padStart(7)}  ${k}`);
  }

  const list = (title: string, pick: (r: CaseResult) => boolean) => {
    const picked = results.filter(pick);
    const byVerdict = new Map<string, CaseResult[]>();
    for (const r of picked) {
      const v = grammarVerdict(r.input);
      byVerdict.set(v, [...(byVerdict.get(v) ?? []), r]);
    }
    console.log(`\n${title}: ${picked.length}`);
    for (const [v, rs] of [...byVerdict].sort((a, b) => b[1].length - a[1].length)) {
      console.log(`  ${rs.length.toString().padStart(6)}  grammar: ${v}`);
      for (const r of rs.slice(0, listMax)) {
        const o = SERVERS.map((s) => `${s} ${r.outcomes[s].status ?? r.outcomes[s].outcome}`);
        console.log(`          ${JSON.stringify(r.input)}  [${o.join(", ")}]`);
      }
    }
  };
  const accepted = (r: CaseResult, s: ServerName) => r.outcomes[s].outcome === "2xx";
  const refused = (r: CaseResult, s: ServerName) =>
    r.outcomes[s].outcome !== "2xx" && r.outcomes[s].outcome !== "timeout";
  list(
    "we accept, nginx and Deno.serve both refuse",
    (r) => accepted(r, "ours") && refused(r, "nginx") && refused(r, "deno"),
  );
  const othersWait = (r: CaseResult) =>
    r.outcomes.nginx.outcome === "timeout" || r.outcomes.deno.outcome === "timeout";
  list(
    "we accept a complete request, nginx or Deno.serve waits for more bytes (framing differs)",
    (r) => accepted(r, "ours") && othersWait(r) && bodyState(r.input) !== "waiting",
  );
  list(
    "we answer before a body the grammar still waits for, nginx or Deno.serve waits (GET/HEAD " +
      "handlers get no body; OPTIONS * is answered by the engine)",
    (r) => accepted(r, "ours") && othersWait(r) && bodyState(r.input) === "waiting",
  );
  list(
    "we wait for more bytes, nginx or Deno.serve accepts (framing differs)",
    (r) => r.outcomes.ours.outcome === "timeout" && (accepted(r, "nginx") || accepted(r, "deno")),
  );
  list(
    "we accept, nginx refuses (Deno.serve accepts)",
    (r) => accepted(r, "ours") && refused(r, "nginx") && accepted(r, "deno"),
  );
  list(
    "we accept, Deno.serve refuses (nginx accepts)",
    (r) => accepted(r, "ours") && refused(r, "deno") && accepted(r, "nginx"),
  );
  list(
    "we wait for more bytes, nginx and Deno.serve both refuse",
    (r) => r.outcomes.ours.outcome === "timeout" && refused(r, "nginx") && refused(r, "deno"),
  );
  list("we close without an answer", (r) => r.outcomes.ours.outcome === "closed");
}

if (import.meta.main) await main();
