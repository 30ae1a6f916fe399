/**
 * The command line from arguments to exit code: parse the flags, run one server or supervise
 * `--workers` isolates, stop on SIGINT/SIGTERM, and say what went wrong in one line.
 *
 * @example
 * ```ts
 * import { main } from "./main.ts";
 * Deno.exit(await main(Deno.args, "0.1.0"));
 * ```
 *
 * @module
 */

import { type CliConfig, parseCommandLine, USAGE } from "./flags.ts";
import { startServer } from "./run.ts";
import { superviseWorkers } from "./workers.ts";
import { announce, onShutdownSignal } from "./lifecycle.ts";
import { flushLog } from "../handlers/log.ts";
import { plainHttpWarning } from "./files.ts";

/** How long buffered access-log lines get at exit: a stuck stdout must not keep us running. */
const FLUSH_TIMEOUT_MS = 2000;

/**
 * Runs the CLI and resolves with the process exit code: 0, 2 for a bad command line, 1 for
 * anything else. `version` is what `--version` prints (the entry point reads it from deno.json).
 */
export async function main(args: string[], version: string): Promise<number> {
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
    console.log(`tcp-http ${version} (Deno ${Deno.version.deno})`);
    return 0;
  }
  const warning = plainHttpWarning(config);
  if (warning !== null) console.error(warning);
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
    onShutdownSignal(() => server.shutdown(), () => server.inFlight, config.gracePeriod);
    await server.finished;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise((resolve) => timer = setTimeout(resolve, FLUSH_TIMEOUT_MS));
    await Promise.race([flushLog(), stuck]);
    clearTimeout(timer);
    return 0;
  } catch (error) {
    return fail(error, 1);
  }
}

/** One line on stderr, no stack trace; returns `code`. */
function fail(error: unknown, code: number): number {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`tcp-http: ${message.split("\n")[0]}`);
  return code;
}
