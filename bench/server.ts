/**
 * Starting a benchmark server as a child process, and stopping it.
 *
 * @module
 */

import { type Children, freePort, stop, waitForPort } from "./procs.ts";
import type { ServerSpec } from "./suite.ts";

/** How long a server gets to start listening. */
const START_MS = 20_000;
/** How much of a server's stderr is kept, to explain a failure. */
const STDERR_KEPT = 2_000;
/** How long a stopped server gets to exit (and, when profiled, to write its profile). */
const STOP_MS = 3_000;
const STOP_PROFILED_MS = 30_000;

/** Where a profiled server writes its CPU profile, with a Markdown summary and a flamegraph. */
export interface Profile {
  dir: string;
  /** The file name without extension, e.g. "ours-hello". */
  name: string;
}

/** A server process the harness started. */
export interface RunningServer {
  pid: number;
  port: number;
  /** Whether the process has exited (it should not, until stopped). */
  readonly exited: boolean;
  /** The last lines it wrote to stderr. */
  stderr(): string;
  /** SIGTERM, then SIGKILL if it lingers; resolves once it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `spec`'s server on a free port with `args` after the port, from the repository root,
 * allowed to listen on 127.0.0.1 and to read `readDir`; resolves once it accepts connections.
 */
export async function startServer(
  children: Children,
  spec: ServerSpec,
  args: string[],
  readDir: string,
  profile?: Profile,
): Promise<RunningServer> {
  const port = freePort();
  const bench = new URL(".", import.meta.url);
  const profiling = profile
    ? [
      `--cpu-prof-dir=${profile.dir}`,
      `--cpu-prof-name=${profile.name}.cpuprofile`,
      "--cpu-prof-md",
      "--cpu-prof-flamegraph",
    ]
    : [];
  const command = spec.command ? await spec.command(port, args) : null;
  const child = children.spawn(
    command?.cmd ?? Deno.execPath(),
    command?.args ?? [
      "run",
      ...profiling,
      "--allow-net=127.0.0.1",
      `--allow-read=${readDir}`,
      new URL(spec.file, bench).pathname,
      String(port),
      ...args,
    ],
    { cwd: new URL("..", bench).pathname, stdin: "null", stdout: "null", stderr: "piped" },
  );
  let exited = false;
  child.status.then(() => exited = true);
  let stderr = "";
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      stderr = (stderr + text).slice(-STDERR_KEPT);
    }
  })().catch(() => {});

  const server: RunningServer = {
    pid: child.pid,
    port,
    get exited() {
      return exited;
    },
    stderr: () => stderr.trim(),
    stop: async () => {
      await stop(child, "SIGTERM", profile ? STOP_PROFILED_MS : STOP_MS);
      await command?.cleanup();
    },
  };
  try {
    await waitForPort(port, START_MS, child.status);
  } catch (error) {
    await server.stop();
    const said = server.stderr();
    throw new Error(`${spec.label}: ${(error as Error).message}${said ? `\n${said}` : ""}`);
  }
  return server;
}
