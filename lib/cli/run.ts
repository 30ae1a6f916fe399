/**
 * From a command-line configuration to a running server: the handler (demo site, directory or
 * app), the middleware the flags ask for (rate limit), the access log, and the listener. Used by
 * the CLI's main thread and by each worker isolate alike.
 *
 * @module
 */

import { type CliConfig, CliError } from "./flags.ts";
import { serve, type ServeOptions, type Server } from "../engine/server.ts";
import type { Handler } from "../shared/types.ts";
import { demoSite } from "./demo.ts";
import { loadApp } from "../handlers/app.ts";
import { createAccessLogger } from "../handlers/log.ts";
import { rateLimit } from "../handlers/ratelimit.ts";
import { TrustedProxies } from "../handlers/clientip.ts";
import { directoryHandler, withAuth } from "./files.ts";
import { withAppFlags } from "./app_flags.ts";
import { jsonOnError } from "./json_errors.ts";

/**
 * Builds the request handler the configuration describes. What must be stopped with the server
 * (`--watch`'s watcher) is pushed on `cleanups`.
 */
export async function buildHandler(
  config: CliConfig,
  trusted: TrustedProxies = new TrustedProxies(config.trustedProxies),
  cleanups: (() => void)[] = [],
): Promise<Handler> {
  let handler: Handler;
  if (config.app !== undefined) {
    try {
      handler = await loadApp(config.app);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    handler = withAppFlags(handler, config);
  } else if (config.root !== undefined) {
    const fsRoot = await checkRoot(config.root);
    const options = {
      fsRoot,
      listing: config.listing,
      dotfiles: config.dotfiles,
      followSymlinks: config.followSymlinks,
      spa: config.spa,
      cors: config.cors,
      compress: config.compress,
      etag: config.etag,
      headers: config.headers,
      cacheControl: config.cacheControl,
    };
    handler = directoryHandler(config, options, cleanups);
  } else {
    handler = demoSite().fetch;
  }
  handler = withAuth(config, handler);
  if (config.rateLimit !== undefined) {
    handler = rateLimit(handler, {
      rate: config.rateLimit,
      burst: config.rateBurst ?? Math.max(1, Math.ceil(config.rateLimit * 2)),
      trusted,
    });
  }
  return handler;
}

/** The served directory must exist and be readable: say so in one line if not. */
async function checkRoot(root: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new CliError(`no such directory: ${root}`);
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new CliError(`no permission to read ${root} (run with --allow-read)`);
    }
    throw new CliError(`cannot read ${root}: ${(error as Error).message}`);
  }
  if (!info.isDirectory) throw new CliError(`not a directory: ${root}`);
  try {
    for await (const _ of Deno.readDir(root)) break;
  } catch (error) {
    throw new CliError(`cannot read ${root}: ${(error as Error).message}`);
  }
  return await Deno.realPath(root);
}

/** Reads the PEM files named by --cert and --key. */
async function readTls(config: CliConfig): Promise<{ cert?: string; key?: string }> {
  if (config.cert === undefined || config.key === undefined) return {};
  const read = async (flag: string, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new CliError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
    }
  };
  return { cert: await read("--cert", config.cert), key: await read("--key", config.key) };
}

/** Options shared by every way of starting the server. */
export interface StartOptions {
  /** Share the port with other isolates (`--workers`). */
  reusePort?: boolean;
  onListen?: (addr: Deno.NetAddr) => void;
}

/** Starts serving as the configuration says. Throws {@link CliError} with a one-line message. */
export async function startServer(config: CliConfig, start: StartOptions = {}): Promise<Server> {
  const trusted = new TrustedProxies(config.trustedProxies);
  const cleanups: (() => void)[] = [];
  const handler = await buildHandler(config, trusted, cleanups);
  const tls = await readTls(config);
  const options: ServeOptions = {
    hostname: config.host,
    port: config.port,
    reusePort: start.reusePort,
    onListen: start.onListen ?? (() => {}),
    gracePeriod: config.gracePeriod * 1000,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    headerTimeout: config.headerTimeout,
    idleTimeout: config.idleTimeout,
    maxBodyBytes: config.maxBodyBytes,
    http2: config.http2,
    ...tls,
  };
  if (!config.quiet) {
    options.onExchange = createAccessLogger({ format: config.logFormat, trusted });
  }
  if (config.logFormat === "json") options.onError = jsonOnError;
  let server: Server;
  try {
    server = serve(options, handler);
  } catch (error) {
    for (const cleanup of cleanups) cleanup();
    throw listenError(error, config);
  }
  server.finished.finally(() => cleanups.forEach((cleanup) => cleanup()));
  return server;
}

/** One line for each way listening fails. */
function listenError(error: unknown, config: CliConfig): CliError {
  const where = `${config.host}:${config.port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new CliError(`port ${config.port} on ${config.host} is already in use`);
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new CliError(`no permission to listen on ${where} (run with --allow-net)`);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new CliError(
      `permission denied to listen on ${where}` +
        (config.port < 1024 ? " (ports below 1024 need privileges)" : ""),
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new CliError(`cannot listen on ${config.host}: address not available here`);
  }
  const message = (error as Error)?.message?.split("\n")[0] ?? String(error);
  if (config.cert !== undefined) {
    return new CliError(`cannot start HTTPS with ${config.cert} and ${config.key}: ${message}`);
  }
  return new CliError(`cannot listen on ${where}: ${message}`);
}
