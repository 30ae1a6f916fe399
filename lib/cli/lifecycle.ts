/**
 * What the CLI process does around a running server, whether it runs one server or supervises
 * `--workers` isolates: say where it listens, and stop gracefully on a signal.
 *
 * @module
 */

import type { CliConfig } from "./flags.ts";
import { urlOf } from "../shared/address.ts";

/** Prints the URL to open: the name the user gave, with the port actually bound. */
export function announce(config: CliConfig, addr: Deno.NetAddr, workers = 1): void {
  const tls = config.cert !== undefined;
  const url = urlOf({ ...addr, hostname: config.host }, tls);
  const what = config.app ?? config.root ?? "the demo site";
  const plural = workers > 1 ? ` with ${workers} workers` : "";
  console.log(`Serving ${what} on ${url}${plural}`);
}

/** SIGINT and SIGTERM shut down gracefully; a second one exits at once with 130 (128 + SIGINT). */
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
