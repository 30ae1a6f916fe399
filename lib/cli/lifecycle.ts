/**
 * What the CLI process does around a running server, whether it runs one server or supervises
 * `--workers` isolates: say where it listens, and stop gracefully on a signal.
 *
 * @module
 */

import type { CliConfig } from "./flags.ts";
import { urlOf } from "../shared/address.ts";

/** The addresses that mean every interface of the machine. */
const WILDCARDS = new Set(["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"]);

/** Where to find the machine's addresses; tests pass their own. */
export type InterfaceLister = () => Deno.NetworkInterfaceInfo[];

/**
 * Prints the URL to open: the name the user gave, with the port actually bound. On a wildcard
 * address (`0.0.0.0`, `::`) that is `localhost`, followed by each address other machines can
 * reach, as `serve` and `http-server` print them; listing them needs
 * `--allow-sys=networkInterfaces`, and without it the line says so (never a prompt, never a
 * failure). With `--log-format json` the announcement is one JSON line, like the access log.
 */
export function announce(
  config: CliConfig,
  addr: Deno.NetAddr,
  workers = 1,
  interfaces: InterfaceLister = Deno.networkInterfaces,
): void {
  const tls = config.cert !== undefined;
  const wildcard = WILDCARDS.has(config.host);
  const url = urlOf({ ...addr, hostname: wildcard ? "localhost" : config.host }, tls);
  const what = config.app ?? config.root ?? "the demo site";
  const plural = workers > 1 ? ` with ${workers} workers` : "";
  const network = wildcard ? networkUrls(config.host, addr.port, tls, interfaces) : [];
  if (config.logFormat === "json") {
    console.log(JSON.stringify({
      time: new Date().toISOString(),
      level: "info",
      message: `Serving ${what}${plural}`,
      url,
      ...(wildcard ? { network: network ?? [] } : {}),
      ...(network === null ? { hint: ALLOW_SYS } : {}),
    }));
    return;
  }
  console.log(`Serving ${what} on ${url}${plural}`);
  if (!wildcard) return;
  if (network === null) console.log(`  on your network: every address here (${ALLOW_SYS})`);
  else if (network.length === 0) console.log("  on your network: none (loopback only)");
  else for (const other of network) console.log(`  on your network: ${other}`);
}

const ALLOW_SYS = "run with --allow-sys=networkInterfaces to list them";

/**
 * The URLs of this machine's non-loopback addresses for a wildcard `host`: IPv4 for `0.0.0.0`,
 * both families for `::` (dual-stack), link-local IPv6 left out (it needs a zone). Null when
 * the permission to list interfaces is not granted: asking would prompt at start-up.
 */
export function networkUrls(
  host: string,
  port: number,
  tls: boolean,
  interfaces: InterfaceLister = Deno.networkInterfaces,
): string[] | null {
  if (interfaces === Deno.networkInterfaces) {
    const state = Deno.permissions.querySync({ name: "sys", kind: "networkInterfaces" }).state;
    if (state !== "granted") return null;
  }
  let list: Deno.NetworkInterfaceInfo[];
  try {
    list = interfaces();
  } catch {
    return null;
  }
  const ipv6 = host !== "0.0.0.0";
  const urls = new Set<string>();
  for (const { family, address } of list) {
    if (family === "IPv4" && !address.startsWith("127.")) {
      urls.add(urlOf({ transport: "tcp", hostname: address, port }, tls));
    } else if (
      family === "IPv6" && ipv6 && address !== "::1" && !/^fe[89ab]/i.test(address)
    ) {
      urls.add(urlOf({ transport: "tcp", hostname: address, port }, tls));
    }
  }
  return [...urls];
}

/**
 * SIGINT and SIGTERM shut down gracefully, saying what the shutdown waits for (the responses in
 * flight, for at most `graceSeconds`); a second one exits at once with 130 (128 + SIGINT).
 */
export function onShutdownSignal(
  shutdown: () => Promise<void>,
  inFlight?: () => number,
  graceSeconds?: number,
): void {
  let signalled = false;
  const handle = () => {
    if (signalled) Deno.exit(130);
    signalled = true;
    console.error(shutdownMessage(inFlight?.() ?? 0, graceSeconds));
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

/** The line printed on the first signal. */
export function shutdownMessage(busy: number, graceSeconds?: number): string {
  if (busy === 0) return "tcp-http: shutting down (again to force)";
  const within = graceSeconds === undefined ? "" : ` (at most ${graceSeconds} s)`;
  return `tcp-http: shutting down, waiting for ${busy} response${busy === 1 ? "" : "s"}` +
    `${within}; Ctrl-C again to force`;
}
