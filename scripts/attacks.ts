/**
 * `deno run -A scripts/attacks.ts`: the hostile clients of issue 13, each against our server,
 * `Deno.serve` and nginx side by side, all on 127.0.0.1, bounded in count and time.
 *
 * For each attack and server it reports the server's open descriptors and memory before, at the
 * end of the attack and after it, how long they took to come back to their starting level once
 * the attackers left, and what a normal client saw during the attack (a fresh connection and a
 * GET every 250 ms: the slowest answer, and how many got none).
 *
 *   --servers ours,ours-limited,deno,nginx   which servers (ours-limited: --max-connections 1000)
 *   --attacks slowloris,tls,slow-readers,pipeliners,abandoned
 *   --hold SECONDS                           how long each attack lasts (default 14: past the
 *                                            10 s header timeout)
 *
 * The servers it starts are stopped by their process ids. With `--serve IMPL` it is itself the
 * server under test (used internally).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { serve } from "../lib/mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    servers: { type: "string", default: "ours,ours-limited,deno,nginx" },
    attacks: { type: "string", default: "slowloris,tls,slow-readers,pipeliners,abandoned" },
    hold: { type: "string", default: "14" },
    serve: { type: "string" },
    port: { type: "string" },
    "tls-port": { type: "string" },
    dir: { type: "string" },
  },
});

const HOST = "127.0.0.1";
const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- The servers under test -------------------------------------------------------------------

/** The handler every Deno-based target runs: "/", a 1 MiB "/big", and a "/hang" that never ends. */
function handler(big: Uint8Array): (request: Request) => Response | Promise<Response> {
  return (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/big") return new Response(big.slice());
    if (path === "/hang") return new Promise<Response>(() => {});
    return new Response("ok\n");
  };
}

if (values.serve !== undefined) {
  const dir = values.dir!;
  const big = await Deno.readFile(`${dir}/big.bin`);
  const cert = await Deno.readTextFile(`${dir}/cert.pem`);
  const key = await Deno.readTextFile(`${dir}/key.pem`);
  const port = Number(values.port);
  const tlsPort = Number(values["tls-port"]);
  const handle = handler(big);
  if (values.serve === "deno") {
    const quiet = { onListen() {}, onError: () => new Response("error", { status: 500 }) };
    Deno.serve({ hostname: HOST, port, ...quiet }, handle);
    Deno.serve({ hostname: HOST, port: tlsPort, cert, key, ...quiet }, handle);
  } else {
    const limits = values.serve === "ours-limited" ? { maxConnections: 1000 } : {};
    serve({ hostname: HOST, port, onListen() {}, ...limits }, handle);
    serve({ hostname: HOST, port: tlsPort, cert, key, onListen() {}, ...limits }, handle);
  }
  console.log("READY");
  await new Promise(() => {});
}

/** A port nobody listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface Target {
  name: string;
  port: number;
  tlsPort: number;
  /** The processes whose descriptors and memory count (nginx: master and workers). */
  pids(): number[];
  stop(): Promise<void>;
}

async function startDeno(impl: string, dir: string): Promise<Target> {
  const port = freePort();
  const tlsPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--serve",
      impl,
      "--port",
      String(port),
      "--tls-port",
      String(tlsPort),
      "--dir",
      dir,
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("READY")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${impl} exited before it was ready`);
    text += value;
  }
  (async () => {
    while (!(await reader.read()).done) { /* keep the pipe drained */ }
  })();
  return {
    name: impl === "deno" ? "Deno.serve" : impl,
    port,
    tlsPort,
    pids: () => [child.pid],
    async stop() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

async function startNginx(dir: string): Promise<Target> {
  const port = freePort();
  const tlsPort = freePort();
  const prefix = await Deno.makeTempDir({ prefix: "attacks-nginx-" });
  await Deno.chmod(prefix, 0o755);
  // The same timeouts as our defaults where nginx has them.
  await Deno.writeTextFile(
    `${prefix}/nginx.conf`,
    `
worker_processes 1;
worker_rlimit_nofile 20000;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log crit;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  client_header_timeout 10s;
  keepalive_timeout 30s;
  send_timeout 30s;
  server {
    listen ${HOST}:${port};
    listen ${HOST}:${tlsPort} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    location = / { return 200 "ok\\n"; }
    location = /big { alias ${dir}/big.bin; }
  }
}
`,
  );
  const child = new Deno.Command("nginx", {
    args: ["-p", prefix, "-c", `${prefix}/nginx.conf`, "-g", "daemon off;"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 50; i++) {
    try {
      (await Deno.connect({ hostname: HOST, port })).close();
      break;
    } catch {
      await sleep(100);
    }
  }
  return {
    name: "nginx",
    port,
    tlsPort,
    pids: () => [child.pid, ...childrenOf(child.pid)],
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(prefix, { recursive: true });
    },
  };
}

/** The processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry.name));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

function descriptors(target: Target): number {
  let n = 0;
  for (const pid of target.pids()) {
    try {
      n += [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
    } catch {
      // gone
    }
  }
  return n;
}

function rssMiB(target: Target): number {
  let kib = 0;
  for (const pid of target.pids()) {
    try {
      kib += Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]);
    } catch {
      // gone
    }
  }
  return kib / 1024;
}

// ---- The attacks ----------------------------------------------------------------------------

/** One attack: opens its connections and keeps them busy until `until`, then lets go. */
type Attack = (target: Target, until: number) => Promise<Deno.Conn[]>;

async function connectMany(port: number, count: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from(
      { length: Math.min(100, count - i) },
      () => Deno.connect({ hostname: HOST, port }).catch(() => null),
    );
    for (const conn of await Promise.all(batch)) if (conn !== null) conns.push(conn);
  }
  return conns;
}

function writeQuietly(conn: Deno.Conn, text: string | Uint8Array): Promise<void> {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  return conn.write(bytes).then(() => {}, () => {});
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

const ATTACKS: Record<string, { count: number; tls: boolean; run: Attack }> = {
  // Heads that trickle in a field every 2 s and never end.
  slowloris: {
    count: 2000,
    tls: false,
    async run(target, until) {
      const conns = await connectMany(target.port, 2000);
      await Promise.all(conns.map((conn) => writeQuietly(conn, "GET / HTTP/1.1\r\nHost: a\r\n")));
      (async () => {
        while (Date.now() < until) {
          await sleep(2000);
          await Promise.all(conns.map((conn) => writeQuietly(conn, "X-a: b\r\n")));
        }
      })();
      return conns;
    },
  },
  // TLS handshakes that never finish: half send nothing, half five bytes of a ClientHello.
  tls: {
    count: 1000,
    tls: true,
    async run(target) {
      const conns = await connectMany(target.tlsPort, 1000);
      const hello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00]);
      await Promise.all(conns.filter((_, i) => i % 2 === 1).map((c) => writeQuietly(c, hello)));
      return conns;
    },
  },
  // Clients that ask for 1 MiB and never read it.
  "slow-readers": {
    count: 200,
    tls: false,
    async run(target) {
      const conns = await connectMany(target.port, 200);
      await Promise.all(conns.map((conn) => writeQuietly(conn, GET("/big"))));
      return conns;
    },
  },
  // Clients that pipeline 1,000 requests and never read an answer.
  pipeliners: {
    count: 200,
    tls: false,
    async run(target) {
      const conns = await connectMany(target.port, 200);
      const batch = encoder.encode(GET("/").repeat(1000));
      await Promise.all(conns.map((conn) => writeQuietly(conn, batch)));
      return conns;
    },
  },
  // Clients that leave at once while their handler never answers (nginx has no such handler).
  abandoned: {
    count: 500,
    tls: false,
    async run(target) {
      const conns = await connectMany(target.port, 500);
      await Promise.all(conns.map((conn) => writeQuietly(conn, GET("/hang"))));
      for (const conn of conns) conn.close();
      return [];
    },
  },
};

/** One normal request on a fresh connection: its latency in ms, or null with no answer in 2 s. */
async function probe(target: Target, tls: boolean, cert: string): Promise<number | null> {
  const started = performance.now();
  const attempt = (async () => {
    const conn = tls
      ? await Deno.connectTls({ hostname: "localhost", port: target.tlsPort, caCerts: [cert] })
      : await Deno.connect({ hostname: HOST, port: target.port });
    try {
      await conn.write(
        encoder.encode(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`),
      );
      const buf = new Uint8Array(4096);
      let text = "";
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      return text.startsWith("HTTP/1.1 200") ? performance.now() - started : null;
    } finally {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  })().catch(() => null);
  return await Promise.race([attempt, sleep(2000).then(() => null)]);
}

interface Row {
  attack: string;
  server: string;
  fdsBefore: number;
  fdsDuring: number;
  fdsAfter: number;
  recoveredMs: number | null;
  rssBefore: number;
  rssAfter: number;
  /** When RSS was back near its starting level after the attack ended, if within 15 s. */
  rssRecoveredMs: number | null;
  slowestMs: number | null;
  medianMs: number | null;
  unanswered: number;
  probes: number;
}

/** Milliseconds from `left` until `back()` held, polled every 250 ms; null if not within 15 s. */
async function backWithin15s(left: number, back: () => boolean): Promise<number | null> {
  while (Date.now() - left < 15_000) {
    if (back()) return Date.now() - left;
    await sleep(250);
  }
  return null;
}

async function runAttack(
  name: string,
  target: Target,
  holdMs: number,
  cert: string,
): Promise<Row> {
  const attack = ATTACKS[name];
  await sleep(500);
  const fdsBefore = descriptors(target);
  const rssBefore = rssMiB(target);
  const until = Date.now() + holdMs;
  const conns = await attack.run(target, until);
  const latencies: (number | null)[] = [];
  while (Date.now() < until) {
    latencies.push(await probe(target, attack.tls, cert));
    await sleep(250);
  }
  const fdsDuring = descriptors(target);
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // closed by the server
    }
  }
  const left = Date.now();
  const recoveredMs = await backWithin15s(left, () => descriptors(target) <= fdsBefore + 2);
  // Memory gets the same 15 s from the attackers' leaving: back means within 10% (and 5 MiB) of
  // where it started.
  const rssRecoveredMs = await backWithin15s(left, () => rssMiB(target) <= rssBefore * 1.1 + 5);
  const answered = latencies.filter((l): l is number => l !== null).sort((a, b) => a - b);
  return {
    attack: `${name} ×${attack.count}`,
    server: target.name,
    fdsBefore,
    fdsDuring,
    fdsAfter: descriptors(target),
    recoveredMs,
    rssBefore,
    rssAfter: rssMiB(target),
    rssRecoveredMs,
    slowestMs: answered.at(-1) ?? null,
    medianMs: answered.length ? answered[Math.floor(answered.length / 2)] : null,
    unanswered: latencies.length - answered.length,
    probes: latencies.length,
  };
}

// ---- The run ----------------------------------------------------------------------------------

const dir = await Deno.makeTempDir({ prefix: "attacks-" });
await Deno.chmod(dir, 0o755);
await Deno.writeFile(`${dir}/big.bin`, new Uint8Array(1024 * 1024).fill(0x61));
// A throwaway CA and a server certificate it signs (rustls refuses a CA certificate as a leaf).
async function openssl(args: string[]): Promise<void> {
  const { success } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "null",
  }).output();
  if (!success) throw new Error(`openssl ${args[0]} failed`);
}
const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
await openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1"]
  .concat(["-subj", "/CN=attacks CA", "-addext", "basicConstraints=critical,CA:TRUE"]));
await openssl(["req", ...ec, "-keyout", "key.pem", "-out", "server.csr", "-subj", "/CN=localhost"]);
await Deno.writeTextFile(
  `${dir}/server.ext`,
  "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n" +
    "extendedKeyUsage = serverAuth\n",
);
await openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key"]
  .concat(["-CAcreateserial", "-out", "cert.pem", "-days", "1", "-extfile", "server.ext"]));
/** The CA the probes trust. */
const cert = await Deno.readTextFile(`${dir}/ca.pem`);

const hold = Number(values.hold) * 1000;
const rows: Row[] = [];
try {
  for (const attack of values.attacks!.split(",")) {
    if (!(attack in ATTACKS)) throw new Error(`unknown attack ${attack}`);
    for (const server of values.servers!.split(",")) {
      if (server === "nginx" && attack === "abandoned") continue; // no never-ending handler
      const target = server === "nginx" ? await startNginx(dir) : await startDeno(server, dir);
      try {
        const row = await runAttack(attack, target, hold, cert);
        rows.push(row);
        console.error(JSON.stringify(row));
      } finally {
        await target.stop();
      }
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

const ms = (v: number | null) => v === null ? "—" : `${v.toFixed(0)} ms`;
console.log(
  "| attack | server | descriptors before / during / after | back to start | RSS MiB before / after | RSS back | normal client: median, slowest | no answer |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.attack} | ${r.server} | ${r.fdsBefore} / ${r.fdsDuring} / ${r.fdsAfter} | ` +
      `${r.recoveredMs === null ? "not within 15 s" : ms(r.recoveredMs)} | ` +
      `${r.rssBefore.toFixed(0)} / ${r.rssAfter.toFixed(0)} | ` +
      `${r.rssRecoveredMs === null ? "not within 15 s" : ms(r.rssRecoveredMs)} | ${
        ms(r.medianMs)
      }, ` +
      `${ms(r.slowestMs)} | ${r.unanswered} of ${r.probes} |`,
  );
}
