/**
 * WebSocket echo benchmark: our server against `Deno.serve` + `Deno.upgradeWebSocket`, in the
 * same run, both running the same handler (bench/servers/ws_deno_serve.ts's `echo`).
 *
 *     deno run --allow-all bench/websocket.ts [--duration S] [--rounds N] [--sockets N]
 *                                             [--shapes a,b] [--servers ours,deno_serve]
 *                                             [--before DIR]
 *
 * `--servers` may name `raw` too (servers/ws_raw.ts: the floor, an echo loop that parses
 * nothing it need not).
 * `--before DIR` adds a server `before`: `DIR/bench/servers/ws_ours.ts`, our server from another
 * checkout (`git worktree add /tmp/ws_before HEAD`), so that a change is judged by old and new
 * taking turns in the same run on a shared machine.
 *
 * Each shape is 50 sockets (`--sockets`) driven by bench/ws_load.ts in its own process:
 *
 * | shape               | each socket                                                  |
 * | ------------------- | ------------------------------------------------------------ |
 * | `small-rtt`         | one 100-byte text message, waits for its echo, again         |
 * | `small-stream`      | 16 messages of 100 bytes in one write, waits for 16 echoes   |
 * | `64k-rtt`           | one 64 KiB binary message at a time                          |
 * | `64k-stream`        | 4 messages of 64 KiB at a time                               |
 * | `…-deflate`         | the same, offering permessage-deflate: what compression costs |
 *
 * `rtt` shapes measure round trips per second, `stream` shapes messages per second. Deno.serve
 * does not agree to permessage-deflate, so its `-deflate` rows are its plain ones again (the
 * table says "not agreed"). The server's CPU time is read from /proc around the measured run
 * (after a warm-up run of the same shape), as bench/run.ts does for HTTP.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Children, clockTicksPerSecond, cpuTicks, freePort, waitForPort } from "./procs.ts";
import { count, ratio } from "./format.ts";

interface Shape {
  name: string;
  inflight: number;
  size: number;
  deflate: boolean;
}

const BASE: Omit<Shape, "deflate">[] = [
  { name: "small-rtt", inflight: 1, size: 100 },
  { name: "small-stream", inflight: 16, size: 100 },
  { name: "64k-rtt", inflight: 1, size: 64 * 1024 },
  { name: "64k-stream", inflight: 4, size: 64 * 1024 },
];
const SHAPES: Shape[] = BASE.flatMap((s) => [
  { ...s, deflate: false },
  { ...s, name: `${s.name}-deflate`, deflate: true },
]);
const SERVERS: Record<string, string> = {
  ours: "servers/ws_ours.ts",
  deno_serve: "servers/ws_deno_serve.ts",
  raw: "servers/ws_raw.ts",
};

interface Row {
  shape: string;
  server: string;
  round: number;
  perSecond: number;
  cpuMicros: number;
  cpuPercent: number;
  deflate: boolean;
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    rounds: { type: "string", default: "1" },
    sockets: { type: "string", default: "50" },
    shapes: { type: "string" },
    servers: { type: "string", default: "ours,deno_serve" },
    before: { type: "string" },
  },
});
if (values.before !== undefined) {
  SERVERS.before = `${values.before.replace(/\/$/, "")}/bench/servers/ws_ours.ts`;
}
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const rounds = Number(values.rounds);
const sockets = Number(values.sockets);
const shapes = values.shapes
  ? SHAPES.filter((s) => values.shapes!.split(",").includes(s.name))
  : SHAPES;
const servers = values.servers.split(",").filter((s) => s in SERVERS);
if (values.before !== undefined && !servers.includes("before")) servers.push("before");
const here = new URL(".", import.meta.url).pathname;
const children = new Children();
const ticksPerSecond = await clockTicksPerSecond();
Deno.addSignalListener("SIGINT", async () => {
  await children.killAll();
  Deno.exit(130);
});

function serverPath(path: string): string {
  return path.startsWith("/") ? path : `${here}${path}`;
}

async function load(port: number, shape: Shape, seconds: number) {
  const args = [
    "run",
    "--allow-net",
    `${here}ws_load.ts`,
    String(port),
    String(sockets),
    String(shape.inflight),
    String(shape.size),
    String(seconds),
    ...(shape.deflate ? ["deflate"] : []),
  ];
  const child = children.spawn(Deno.execPath(), args, { stdout: "piped", stderr: "piped" });
  const { success, stdout, stderr } = await child.output();
  if (!success) throw new Error(`ws_load failed: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as {
    messages: number;
    seconds: number;
    deflate: boolean;
  };
}

const rows: Row[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    // The order of the servers rotates each round, as bench/run.ts does.
    const order = servers.map((_, i) => servers[(i + round - 1) % servers.length]);
    for (const server of order) {
      const port = freePort();
      const child = children.spawn(
        Deno.execPath(),
        ["run", "--allow-net", serverPath(SERVERS[server]), String(port)],
        { stdout: "null", stderr: "inherit" },
      );
      try {
        await waitForPort(port, 20_000, child.status);
        for (const shape of shapes) {
          console.error(`round ${round}: ${server} ${shape.name}`);
          await load(port, shape, warmup);
          const before = await cpuTicks(child.pid);
          const result = await load(port, shape, duration);
          const ticks = await cpuTicks(child.pid) - before;
          const cpuSeconds = ticks / ticksPerSecond;
          rows.push({
            shape: shape.name,
            server,
            round,
            perSecond: result.messages / result.seconds,
            cpuMicros: cpuSeconds * 1e6 / Math.max(1, result.messages),
            // The load run's process start and handshakes are in the CPU time but not in the
            // measured window: the percentage is over the whole run, about a second more.
            cpuPercent: 100 * cpuSeconds / (result.seconds + 0.5),
            deflate: result.deflate,
          });
        }
      } finally {
        await children.killAll("SIGTERM");
      }
    }
  }
} finally {
  await children.killAll();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const lines = [
  `WebSocket echo, ${sockets} sockets, ${duration} s per shape, ${rounds} round(s), ` +
  `Deno ${Deno.version.deno}, ${new Date().toISOString()}`,
  "",
  "| shape | server | msgs/s | range | vs Deno.serve | CPU µs/msg | CPU % | deflate |",
  "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
];
for (const shape of shapes) {
  const base = rows.filter((r) => r.shape === shape.name && r.server === "deno_serve");
  const baseRate = base.length ? median(base.map((r) => r.perSecond)) : undefined;
  for (const server of servers) {
    const mine = rows.filter((r) => r.shape === shape.name && r.server === server);
    if (mine.length === 0) continue;
    const rate = median(mine.map((r) => r.perSecond));
    const low = Math.min(...mine.map((r) => r.perSecond));
    const high = Math.max(...mine.map((r) => r.perSecond));
    lines.push(
      `| ${shape.name} | ${server} | ${count(Math.round(rate))} | ` +
        `${count(Math.round(low))}–${count(Math.round(high))} | ` +
        `${baseRate ? ratio(rate / baseRate) : "—"} | ` +
        `${median(mine.map((r) => r.cpuMicros)).toFixed(1)} | ` +
        `${Math.round(median(mine.map((r) => r.cpuPercent)))}% | ` +
        `${shape.deflate ? (mine.every((r) => r.deflate) ? "agreed" : "not agreed") : "off"} |`,
    );
  }
}
console.log(lines.join("\n"));
await Deno.mkdir(`${here}out`, { recursive: true });
await Deno.writeTextFile(`${here}out/websocket.json`, JSON.stringify(rows, null, 1));
