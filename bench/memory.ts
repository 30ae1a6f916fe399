/**
 * The memory shape: what a server's resident memory grows by per idle keep-alive connection.
 *
 * @module
 */

import { get } from "./http1.ts";
import { delay, rssKiB } from "./procs.ts";

/** What the memory shape measured. */
export interface IdleMemory {
  /** Idle connections held open when `rssWithKiB` was read. */
  connections: number;
  /** RSS of the fresh, listening server before any request. */
  rssStartKiB: number;
  /** RSS with `connections` idle keep-alive connections open, each after one exchange. */
  rssWithKiB: number;
  /** (rssWithKiB - rssStartKiB) / connections. */
  kibPerConnection: number;
}

/** Connections opened at once while setting up. */
const BATCH = 100;
/** Time the server gets to settle before each RSS reading. */
const SETTLE_MS = 500;
/** All of it must be done by then; the connections are closed either way. */
const DEADLINE_MS = 60_000;

/**
 * Reads the RSS of the server `pid` (listening on `port`, not yet used), then opens
 * `connections` keep-alive connections, makes one request on each and reads the answer, reads
 * the RSS again while they sit idle, and closes them all.
 */
export async function measureIdleMemory(
  pid: number,
  port: number,
  connections: number,
): Promise<IdleMemory> {
  await delay(SETTLE_MS);
  const rssStartKiB = await rssKiB(pid);
  const open: Deno.Conn[] = [];
  // Closing every connection makes any read still waiting fail, so a stuck server cannot
  // hold the harness past the deadline.
  const deadline = setTimeout(() => closeAll(open), DEADLINE_MS);
  try {
    for (let started = 0; started < connections; started += BATCH) {
      const batch = Math.min(BATCH, connections - started);
      await Promise.all(Array.from({ length: batch }, () => openIdle(port, open)));
    }
    await delay(SETTLE_MS);
    const rssWithKiB = await rssKiB(pid);
    return {
      connections,
      rssStartKiB,
      rssWithKiB,
      kibPerConnection: (rssWithKiB - rssStartKiB) / connections,
    };
  } finally {
    clearTimeout(deadline);
    closeAll(open);
  }
}

async function openIdle(port: number, open: Deno.Conn[]): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  open.push(conn);
  const reply = await get(conn, "/");
  if (reply.status !== 200) throw new Error(`an idle connection's request got ${reply.status}`);
}

function closeAll(conns: Deno.Conn[]): void {
  for (const conn of conns.splice(0)) {
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }
}
