/**
 * What an idle connection costs Deno itself, below any HTTP code: RSS per connection of a
 * server child that accepts connections and does only what the variant says.
 *
 * `deno run --allow-all bench/idle_floor.ts [CONNECTIONS] [VARIANT...]`
 *
 * Variants: `accept` (hold the connection, no read), `nodelay` (plus setNoDelay), `read:N`
 * (a pending read into an N-byte buffer), `exchange:M:N` (the request read into M bytes and
 * answered, then a pending read into N bytes, or into the same buffer for `same`), each with
 * `,gc` appended to collect garbage in the server every 200 ms. Only 127.0.0.1; the child is
 * killed by its pid at the end.
 *
 * @module
 */

import { delay, rssKiB, stop } from "./procs.ts";

const SETTLE_MS = 1000;
const BATCH = 100;
const RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\ncontent-type: text/plain;charset=UTF-8\r\ncontent-length: 13\r\n\r\n" +
    "Hello, World!",
);
const REQUEST = new TextEncoder().encode("GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");

if (Deno.args[0] === "--server") await server(Deno.args[1]);
else await main();

async function server(variant: string): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log(listener.addr.port);
  const [kind, a, b] = variant.replace(/,gc$/, "").split(":");
  if (variant.endsWith(",gc")) {
    // Garbage collected before each reading, to tell retained memory from uncollected garbage.
    const gc = (globalThis as unknown as { gc: () => void }).gc;
    setInterval(gc, 200);
  }
  const held: Deno.Conn[] = [];
  for await (const conn of listener) {
    held.push(conn);
    if (kind !== "accept") conn.setNoDelay(true);
    if (kind === "read") conn.read(new Uint8Array(Number(a))).catch(() => {});
    if (kind === "exchange") exchange(conn, Number(a), b).catch(() => {});
  }
}

/** Reads the request into `size` bytes, answers, then waits in a read of `idle` bytes. */
async function exchange(conn: Deno.Conn, size: number, idle: string): Promise<void> {
  const first = new Uint8Array(size);
  if (await conn.read(first) === null) return;
  await conn.write(RESPONSE);
  await conn.read(idle === "same" ? first : new Uint8Array(Number(idle)));
}

async function main(): Promise<void> {
  const connections = Number(Deno.args[0] ?? 2000);
  const variants = Deno.args.length > 1 ? Deno.args.slice(1) : [
    "accept",
    "nodelay",
    ...[1, 64, 1024, 4096, 16384].map((n) => `read:${n}`),
    "exchange:4096:1",
    "exchange:4096:same",
    "exchange:16384:same",
  ];
  console.log(`| variant | KiB/conn (${connections} connections) |`);
  console.log("|---|---|");
  for (const variant of variants) {
    console.log(`| ${variant} | ${(await measure(variant, connections)).toFixed(1)} |`);
  }
}

async function measure(variant: string, connections: number): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      "--server",
      variant,
    ],
    stdout: "piped",
  }).spawn();
  const open: Deno.Conn[] = [];
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await reader.read()).value);
    reader.releaseLock();
    await delay(SETTLE_MS);
    const before = await rssKiB(child.pid);
    const exchange = variant.startsWith("exchange:");
    for (let started = 0; started < connections; started += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        open.push(conn);
        if (!exchange) return;
        await conn.write(REQUEST);
        // The response is one small segment.
        if (await conn.read(new Uint8Array(1024)) === null) throw new Error("closed");
      }));
    }
    await delay(SETTLE_MS);
    return (await rssKiB(child.pid) - before) / connections;
  } finally {
    for (const conn of open) conn.close();
    await stop(child, "SIGKILL");
  }
}
