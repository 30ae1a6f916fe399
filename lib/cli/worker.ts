/**
 * The body of one `--workers` isolate: parse the same command line, serve on the shared port,
 * and stop gracefully when the supervisor says so.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { parseCommandLine } from "./flags.ts";
import { startServer } from "./run.ts";
import { flushLog } from "../handlers/log.ts";
import type { Server } from "../engine/server.ts";
import type { WorkerCommand, WorkerReport } from "./workers.ts";

let server: Server | undefined;

function report(message: WorkerReport): void {
  self.postMessage(message);
}

self.onmessage = async (event: MessageEvent<WorkerCommand>) => {
  const command = event.data;
  if (command.type === "start") {
    try {
      const config = parseCommandLine(command.args, Deno.stdout.isTerminal());
      config.port = command.port;
      server = await startServer(config, {
        reusePort: true,
        onListen: (addr) => report({ type: "listening", addr }),
      });
    } catch (error) {
      report({ type: "failed", message: (error as Error).message });
    }
  } else if (command.type === "shutdown") {
    await server?.shutdown();
    await flushLog();
    report({ type: "stopped" });
  }
};
