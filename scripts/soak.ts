/**
 * `deno task soak [--seconds N]`: a bounded run of mixed valid, invalid and slow traffic against
 * one server process, reporting requests served, errors, RSS and open file descriptors at the
 * start and the end. It fails (exit 1) if memory or descriptors keep growing.
 *
 * Traffic goes to 127.0.0.1 only, every client loop is bounded by the deadline, and the server
 * it started is stopped by its process id at the end.
 *
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "180" },
    clients: { type: "string", default: "32" },
  },
});
const SECONDS = Number(values.seconds);
const CLIENTS = Number(values.clients);
if (!(SECONDS >= 10) || !(CLIENTS >= 4)) {
  console.error("soak: --seconds must be at least 10 and --clients at least 4");
  Deno.exit(2);
}

const encoder = new TextEncoder();
const server = new URL("../server.ts", import.meta.url).pathname;

// A small site with a file big enough that clients hang up halfway through it.
const root = await Deno.makeTempDir({ prefix: "soak-" });
await Deno.writeTextFile(`${root}/index.html`, "<h1>soak</h1>\n");
await Deno.writeFile(`${root}/big.bin`, new Uint8Array(2 * 1024 * 1024).fill(120));

const child = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-net",
    `--allow-read=${root}`,
    server,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--quiet",
    "--header-timeout",
    "1",
    "--idle-timeout",
    "2",
    root,
  ],
  stdout: "piped",
  stderr: "inherit",
}).spawn();
const pid = child.pid;

const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
let banner = "";
while (!/:\d+\//.test(banner)) {
  const { value, done } = await stdout.read();
  if (done) throw new Error("server exited before listening");
  banner += value;
}
const port = Number(/:(\d+)\//.exec(banner)![1]);
// Keep draining its stdout so it never blocks on a full pipe.
(async () => {
  while (!(await stdout.read()).done) { /* discard */ }
})();

function rssKiB(): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}
function openFds(): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

const stats = { served: 0, rejected: 0, slowClosed: 0, abandoned: 0, errors: 0 };
const deadline = Date.now() + SECONDS * 1000;

async function withConn(work: (conn: Deno.TcpConn) => Promise<void>): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await work(conn);
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** Reads until `count` responses' status lines were seen, or EOF; returns the statuses. */
async function readStatuses(conn: Deno.Conn, count: number, until?: string): Promise<number[]> {
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  const statuses: number[] = [];
  while (statuses.length < count) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += new TextDecoder("latin1").decode(buf.subarray(0, n));
    for (const m of text.matchAll(/HTTP\/1\.1 (\d{3})/g)) statuses.push(Number(m[1]));
    text = text.slice(Math.max(0, text.lastIndexOf("HTTP/1.1 ") + 12));
    if (until && text.includes(until)) break;
  }
  return statuses;
}

const kinds: Record<string, () => Promise<void>> = {
  // Keep-alive GETs.
  async valid() {
    await withConn(async (conn) => {
      for (let i = 0; i < 20 && Date.now() < deadline; i++) {
        await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: soak\r\n\r\n"));
        const [status] = await readStatuses(conn, 1);
        if (status === 200) stats.served++;
        else stats.errors++;
      }
    });
  },
  // 16 pipelined requests in one write, with a POST body among them.
  async pipelined() {
    await withConn(async (conn) => {
      let batch = "";
      for (let i = 0; i < 15; i++) batch += "GET /index.html HTTP/1.1\r\nHost: soak\r\n\r\n";
      batch += "POST / HTTP/1.1\r\nHost: soak\r\nContent-Length: 5\r\n\r\nhello";
      await conn.write(encoder.encode(batch));
      const statuses = await readStatuses(conn, 16);
      stats.served += statuses.filter((s) => s === 200 || s === 405).length;
      if (statuses.length !== 16) stats.errors++;
    });
  },
  // Garbage, smuggling attempts and oversized heads: each must get a 4xx/5xx and a close.
  async invalid() {
    const bad = [
      "GET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      `GET /${"a".repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET / HTTP/1.1\r\nHost: x\r\nX: ${"b".repeat(20000)}\r\n\r\n`,
      "\x00\x01\x02 garbage \xff\r\n\r\n",
    ];
    const request = bad[Math.floor(Math.random() * bad.length)];
    await withConn(async (conn) => {
      await conn.write(encoder.encode(request)).catch(() => 0);
      const statuses = await readStatuses(conn, 1).catch(() => []);
      if (statuses.length === 1 && statuses[0] >= 400) stats.rejected++;
      else stats.errors++;
    });
  },
  // Slowloris: part of a head, then silence until the header timeout closes us.
  async slow() {
    await withConn(async (conn) => {
      await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: soak\r\nX-Slow: "));
      const closed = await readStatuses(conn, 1).then(() => true, () => true);
      if (closed) stats.slowClosed++;
    });
  },
  // Asks for a big file and hangs up after the first bytes.
  async abandon() {
    await withConn(async (conn) => {
      await conn.write(encoder.encode("GET /big.bin HTTP/1.1\r\nHost: soak\r\n\r\n"));
      await conn.read(new Uint8Array(4096));
      stats.abandoned++;
    });
  },
};
const mix = ["valid", "valid", "valid", "pipelined", "pipelined", "invalid", "slow", "abandon"];

async function client(id: number): Promise<void> {
  let turn = id;
  while (Date.now() < deadline) {
    const kind = mix[turn++ % mix.length];
    try {
      await kinds[kind]();
    } catch {
      if (kind !== "abandon" && kind !== "slow") stats.errors++;
    }
  }
}

// Warm up so the start figures are the server's steady state, not its empty start.
await Promise.all(Array.from({ length: 4 }, () => kinds.valid()));
const start = { rss: rssKiB(), fds: openFds() };
const samples: number[] = [];
const sampler = setInterval(() => samples.push(rssKiB()), 1000);
console.log(`soak: ${SECONDS} s, ${CLIENTS} clients, server pid ${pid} on port ${port}`);
console.log(`start: RSS ${start.rss} KiB, open fds ${start.fds}`);

await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
clearInterval(sampler);
// Let timeouts close whatever the clients left behind.
await new Promise((resolve) => setTimeout(resolve, 3000));
const end = { rss: rssKiB(), fds: openFds() };

child.kill("SIGTERM");
await child.status;
await Deno.remove(root, { recursive: true });

// Growth test: the last third of the run must not sit well above the middle third.
const third = Math.floor(samples.length / 3);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const middle = avg(samples.slice(third, 2 * third));
const last = avg(samples.slice(2 * third));
const rssGrowing = last > middle * 1.25 && last - middle > 20 * 1024;
const fdsLeaked = end.fds > start.fds + 2;

console.log(`end:   RSS ${end.rss} KiB, open fds ${end.fds}`);
console.log(
  `RSS middle third ${Math.round(middle)} KiB, last third ${Math.round(last)} KiB, ` +
    `peak ${Math.max(...samples)} KiB`,
);
console.log(
  `served ${stats.served}, rejected ${stats.rejected} (as they should be), slow clients closed ` +
    `${stats.slowClosed}, abandoned downloads ${stats.abandoned}, errors ${stats.errors}`,
);
const failures = [
  rssGrowing ? "memory kept growing" : "",
  fdsLeaked ? "file descriptors leaked" : "",
  stats.errors > 0 ? `${stats.errors} unexpected errors` : "",
].filter(Boolean);
console.log(failures.length ? `soak: FAILED: ${failures.join(", ")}` : "soak: ok");
Deno.exit(failures.length ? 1 : 0);
