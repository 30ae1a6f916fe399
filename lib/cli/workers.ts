/**
 * `--workers N`: N isolates (Web Workers) that each run a full server on the same port with
 * SO_REUSEPORT, so the kernel spreads connections over them and every core is used. The main
 * isolate only supervises: it restarts a worker that dies and shuts all of them down on a signal.
 *
 * @module
 */

import { type CliConfig, CliError } from "./flags.ts";
import { announce, onShutdownSignal } from "./lifecycle.ts";

/** Messages from a worker to the supervisor. */
export type WorkerReport =
  | { type: "listening"; addr: Deno.NetAddr }
  | { type: "failed"; message: string }
  | { type: "stopped" };

/** Messages from the supervisor to a worker. */
export type WorkerCommand =
  | { type: "start"; args: string[]; port: number; id: number }
  | { type: "shutdown" };

const RESTART_DELAY_MS = 250;

/**
 * Runs `config.workers` workers until SIGINT or SIGTERM, then shuts them down gracefully.
 * Resolves with the exit code.
 */
export async function superviseWorkers(config: CliConfig, args: string[]): Promise<number> {
  if (!unstableNet()) {
    throw new CliError(
      "--workers needs Deno's --unstable-net (deno.json turns it on; with --no-config, add " +
        "--unstable-net to deno run)",
    );
  }
  const workers = new Map<number, Worker>();
  let stopping = false;
  let port = config.port;

  const start = (id: number): Promise<Deno.NetAddr> => {
    const { promise, resolve, reject } = Promise.withResolvers<Deno.NetAddr>();
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    workers.set(id, worker);
    worker.onmessage = (event: MessageEvent<WorkerReport>) => {
      const report = event.data;
      if (report.type === "listening") resolve(report.addr);
      else if (report.type === "failed") reject(new Error(report.message));
    };
    worker.onerror = (event) => {
      // An uncaught error ends the worker; keep the process and start a fresh one.
      event.preventDefault();
      worker.terminate();
      workers.delete(id);
      reject(new Error(event.message));
      if (stopping) return;
      console.error(`tcp-http: worker ${id} died (${event.message}); restarting it`);
      setTimeout(() => {
        if (!stopping) start(id).catch((e) => console.error(`tcp-http: ${e.message}`));
      }, RESTART_DELAY_MS);
    };
    worker.postMessage({ type: "start", args, port, id } satisfies WorkerCommand);
    return promise;
  };

  // The first worker binds (possibly port 0); the rest join the port it got.
  const first = await start(1);
  port = first.port;
  await Promise.all(Array.from({ length: config.workers - 1 }, (_, i) => start(i + 2)));
  announce(config, first, config.workers);

  const { promise: stopped, resolve: allStopped } = Promise.withResolvers<void>();
  onShutdownSignal(async () => {
    stopping = true;
    const deadline = setTimeout(() => {
      for (const worker of workers.values()) worker.terminate();
      allStopped();
    }, config.gracePeriod * 1000 + 2000);
    await Promise.all([...workers.values()].map((worker) =>
      new Promise<void>((resolve) => {
        worker.onmessage = (event: MessageEvent<WorkerReport>) => {
          if (event.data.type === "stopped") {
            worker.terminate();
            resolve();
          }
        };
        worker.postMessage({ type: "shutdown" } satisfies WorkerCommand);
      })
    ));
    clearTimeout(deadline);
    allStopped();
  });
  await stopped;
  return 0;
}

/**
 * Whether `Deno.listen`'s `reusePort` may be used: it is unstable, and without `--unstable-net`
 * Deno ends the process with its own text instead of throwing. `Deno.listenDatagram`, another
 * API behind the same flag, exists exactly when it is on.
 */
export function unstableNet(): boolean {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
}
