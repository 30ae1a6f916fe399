/**
 * The processes the harness starts, and what it reads about them from /proc.
 *
 * Every child goes through {@link Children}, so the harness can kill exactly the processes it
 * started (never by name) when a run ends, fails, or is interrupted.
 *
 * @module
 */

/** The children started so far and still running. */
export class Children {
  readonly #running = new Set<Deno.ChildProcess>();

  /** Starts `command args`; it is tracked until it exits. */
  spawn(command: string, args: string[], options: Deno.CommandOptions = {}): Deno.ChildProcess {
    const child = new Deno.Command(command, { ...options, args }).spawn();
    this.#running.add(child);
    child.status.finally(() => this.#running.delete(child));
    return child;
  }

  /** Sends `signal` to every child still running and waits (at most `ms`) for them to exit. */
  async killAll(signal: Deno.Signal = "SIGKILL", ms = 3_000): Promise<void> {
    const exits = [...this.#running].map((child) => stop(child, signal, ms));
    await Promise.all(exits);
  }

  /** How many children are still running. */
  get size(): number {
    return this.#running.size;
  }
}

/** Sends `signal` to `child`, then SIGKILL if it has not exited within `ms`. */
export async function stop(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
  ms = 3_000,
): Promise<void> {
  kill(child, signal);
  const timer = setTimeout(() => kill(child, "SIGKILL"), ms);
  try {
    await child.status;
  } finally {
    clearTimeout(timer);
  }
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // It has exited already.
  }
}

/** User plus system CPU time of process `pid` (all its threads), in clock ticks. */
export async function cpuTicks(pid: number): Promise<number> {
  return parseCpuTicks(await Deno.readTextFile(`/proc/${pid}/stat`));
}

/**
 * utime + stime from the text of /proc/PID/stat (fields 14 and 15, counted from 1). The second
 * field, the command name in parentheses, may hold spaces, so counting starts after its ")".
 */
export function parseCpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (the state), so field N is fields[N - 3].
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`bad stat: ${stat}`);
  return utime + stime;
}

/** Resident set size of process `pid`, in KiB (VmRSS in /proc/PID/status). */
export async function rssKiB(pid: number): Promise<number> {
  return parseRssKiB(await Deno.readTextFile(`/proc/${pid}/status`));
}

/** VmRSS from the text of /proc/PID/status, in KiB. */
export function parseRssKiB(status: string): number {
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB$/m);
  if (!match) throw new Error("no VmRSS line in /proc/PID/status");
  return Number(match[1]);
}

/** The soft limit on open files of process `pid` ("self" for this one), from /proc/PID/limits. */
export async function openFilesLimit(pid: number | "self" = "self"): Promise<number> {
  const limits = await Deno.readTextFile(`/proc/${pid}/limits`);
  const match = limits.match(/^Max open files\s+(\d+|unlimited)/m);
  if (!match) throw new Error("no 'Max open files' line in /proc/PID/limits");
  return match[1] === "unlimited" ? Infinity : Number(match[1]);
}

/** Clock ticks per second, as `getconf CLK_TCK` says (the unit of /proc/PID/stat times). */
export async function clockTicksPerSecond(): Promise<number> {
  const { success, stdout } = await new Deno.Command("getconf", { args: ["CLK_TCK"] }).output();
  const ticks = Number(new TextDecoder().decode(stdout).trim());
  if (!success || !Number.isInteger(ticks) || ticks <= 0) {
    throw new Error("`getconf CLK_TCK` gave no clock tick rate");
  }
  return ticks;
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`; rejects past `ms`. */
export async function waitForPort(port: number, ms: number, exited: Promise<unknown>) {
  let gone = false;
  exited.then(() => gone = true);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (gone) throw new Error("the server exited before listening");
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await delay(50);
    }
  }
  throw new Error(`nothing listened on port ${port} within ${ms} ms`);
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sockets in TIME_WAIT on this machine (IPv4 and IPv6), from /proc/net/tcp and tcp6. */
export async function timeWaitSockets(): Promise<number> {
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      // Each socket is a line "  sl: local remote st …"; st 06 is TIME_WAIT.
      count += (await Deno.readTextFile(table)).match(/^\s*\d+: \S+ \S+ 06 /gm)?.length ?? 0;
    } catch {
      // No IPv6 here.
    }
  }
  return count;
}
