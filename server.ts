/**
 * The command line: `deno run --allow-net server.ts [options] [DIR]`.
 *
 * With no arguments it serves the tutorial's demo site on http://localhost:8080/. See `--help`
 * and the README for every flag.
 *
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { type CliConfig, parseCommandLine, USAGE } from "./lib/cli/flags.ts";
import { startServer } from "./lib/cli/run.ts";
import { urlOf } from "./lib/shared/address.ts";
import { flushLog } from "./lib/handlers/log.ts";
import { superviseWorkers } from "./lib/cli/workers.ts";

/** Runs the CLI and resolves with the process exit code. */
export async function main(args: string[]): Promise<number> {
  let config: CliConfig;
  try {
    config = parseCommandLine(args, Deno.stdout.isTerminal());
  } catch (error) {
    return fail(error, 2);
  }
  if (config.help) {
    console.log(USAGE);
    return 0;
  }
  if (config.version) {
    console.log(`tcp-http ${denoJson.version} (Deno ${Deno.version.deno})`);
    return 0;
  }
  try {
    if (config.workers > 1 && Deno.build.os !== "linux") {
      // Without SO_REUSEPORT every isolate but one would fail to bind.
      console.error(`tcp-http: --workers needs Linux (SO_REUSEPORT); running one worker`);
      config.workers = 1;
    }
    if (config.workers > 1) return await superviseWorkers(config, args);
    const server = await startServer(config, {
      onListen: (addr) => announce(config, addr),
    });
    onShutdownSignal(() => server.shutdown());
    await server.finished;
    // Buffered access-log lines go out, unless stdout itself is stuck.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([flushLog(), new Promise((resolve) => timer = setTimeout(resolve, 2000))]);
    clearTimeout(timer);
    return 0;
  } catch (error) {
    return fail(error, 1);
  }
}

/** Prints the URL to open: the name the user gave, with the port actually bound. */
export function announce(config: CliConfig, addr: Deno.NetAddr, workers = 1): void {
  const tls = config.cert !== undefined;
  const url = urlOf({ ...addr, hostname: config.host }, tls);
  const what = config.app ?? config.root ?? "the demo site";
  const plural = workers > 1 ? ` with ${workers} workers` : "";
  console.log(`Serving ${what} on ${url}${plural}`);
}

/** SIGINT and SIGTERM shut down gracefully; a second one exits at once. */
export function onShutdownSignal(shutdown: () => Promise<void>): void {
  let signalled = false;
  const handle = () => {
    if (signalled) Deno.exit(130);
    signalled = true;
    console.error("tcp-http: shutting down (again to force)");
    shutdown();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, handle);
    } catch {
      // SIGTERM cannot be listened for on some platforms; SIGINT still works.
    }
  }
}

/** One line on stderr, no stack trace: 2 for a bad command line, 1 for anything else. */
function fail(error: unknown, code: number): number {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`tcp-http: ${message.split("\n")[0]}`);
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
