/**
 * The command line every benchmark server takes: `PORT [ARG]`.
 *
 * @module
 */

/** What a benchmark server was asked to do. */
export interface ServerArgs {
  /** The port to bind on 127.0.0.1. */
  port: number;
  /**
   * The optional second argument: for ours and Deno.serve, a directory to serve files from
   * instead of answering "Hello, World!"; for the raw loop, the word `close`.
   */
  extra?: string;
}

/** Reads `PORT [ARG]`; exits with a usage line when PORT is not a port number. */
export function parseServerArgs(args: readonly string[]): ServerArgs {
  const port = Number(args[0]);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    console.error("usage: deno run --allow-net --allow-read SERVER.ts PORT [ARG]");
    Deno.exit(2);
  }
  return { port, extra: args[1] };
}

/**
 * Exit cleanly on SIGINT and SIGTERM (which is how the harness stops a server), so that a server
 * run with `--cpu-prof` writes its profile: Deno writes it on exit, not when killed by a signal.
 */
export function exitOnSignals(): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => Deno.exit(0));
  }
}
